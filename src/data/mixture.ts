// A weighted mixture of datasets with deterministic shuffling and an exactly resumable state.
//
// At step s the source is chosen by a counter-based hash of (seed, s) against the normalized
// weights, so the choice needs no hidden RNG state; inside source d, epoch e reads a permutation of
// its records drawn by MT19937 seeded from (seed, d, e). The whole state is therefore
// {seed, step, epoch[d], position[d]}: saving it in a checkpoint and restoring it resumes the
// exact same stream mid-epoch. A source that runs out starts its next epoch (new permutation).
// Default weights = dataset sizes, which in expectation matches VILA's shuffled ConcatDataset.

import { Generator } from "../tensor/random.js";
import { type BadSamples, DataError } from "./bad_samples.js";
import type { SourceDataset } from "./dataset.js";
import type { DataRecord } from "./records.js";

export interface MixtureSource {
  dataset: SourceDataset;
  /** Relative sampling weight (default: the dataset's length). */
  weight?: number;
}

/** Everything needed to resume the stream exactly (plain JSON). */
export interface MixtureState {
  seed: number;
  /** Records drawn so far (including skipped bad ones). */
  step: number;
  /** Per source: current epoch and position inside that epoch's permutation. */
  epoch: number[];
  position: number[];
  /** Source names, checked on restore so a state is not applied to a different mixture. */
  names: string[];
}

// murmur3's 32-bit finalizer.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform [0, 1) from (seed, counter), 53 bits. */
export function hashUniform(seed: number, counter: number): number {
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 4294967296) >>> 0;
  const a = fmix32(fmix32(seed ^ 0x9e3779b9) ^ lo ^ fmix32(hi + 0x632be5ab));
  const b = fmix32(a ^ 0x7f4a7c15 ^ lo);
  return ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992;
}

/** A deterministic weighted sampler over several datasets. */
export class Mixture {
  private readonly cum: number[];
  private st: MixtureState;
  private readonly perms = new Map<number, { epoch: number; perm: Uint32Array }>();

  constructor(
    readonly sources: MixtureSource[],
    seed: number,
  ) {
    if (sources.length === 0) throw new Error("mixture: no datasets");
    const w = sources.map((s) => s.weight ?? s.dataset.length);
    sources.forEach((s, i) => {
      if (!(w[i] >= 0) || !Number.isFinite(w[i]))
        throw new Error(`mixture: dataset "${s.dataset.name}" has invalid weight ${w[i]}`);
      if (w[i] > 0 && s.dataset.length === 0)
        throw new Error(`mixture: dataset "${s.dataset.name}" is empty`);
    });
    const total = w.reduce((a, b) => a + b, 0);
    if (total <= 0) throw new Error("mixture: all weights are zero");
    let acc = 0;
    this.cum = w.map((x) => (acc += x / total));
    this.st = {
      seed: seed >>> 0,
      step: 0,
      epoch: sources.map(() => 0),
      position: sources.map(() => 0),
      names: sources.map((s) => s.dataset.name),
    };
  }

  /** A copy of the current state (put it in a checkpoint). */
  state(): MixtureState {
    return structuredClone(this.st);
  }

  /** Restores a state saved by {@link state}; the mixture must have the same sources. */
  restore(state: MixtureState): void {
    if (
      state.names.length !== this.sources.length ||
      state.names.some((n, i) => n !== this.sources[i].dataset.name)
    ) {
      throw new Error(
        `mixture: saved state is for datasets [${state.names.join(", ")}], not [${this.st.names.join(", ")}]`,
      );
    }
    this.st = structuredClone(state);
  }

  private permutation(d: number, epoch: number): Uint32Array {
    const cached = this.perms.get(d);
    if (cached && cached.epoch === epoch) return cached.perm;
    const n = this.sources[d].dataset.length;
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const g = new Generator(fmix32(this.st.seed ^ fmix32(d * 0x1000193 + 1) ^ fmix32(epoch + 0x51ed27)));
    for (let i = n - 1; i > 0; i--) {
      const j = g.randint(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    this.perms.set(d, { epoch, perm });
    return perm;
  }

  /** Advances the state by one draw and returns which record it is. */
  nextIndex(): { source: number; index: number; epoch: number } {
    const u = hashUniform(this.st.seed, this.st.step);
    let d = this.cum.findIndex((c) => u < c);
    if (d < 0) d = this.cum.length - 1;
    while (this.cum[d] === (d > 0 ? this.cum[d - 1] : 0)) d--; // a zero-weight source never wins
    const n = this.sources[d].dataset.length;
    if (this.st.position[d] >= n) {
      this.st.epoch[d]++;
      this.st.position[d] = 0;
    }
    const epoch = this.st.epoch[d];
    const index = this.permutation(d, epoch)[this.st.position[d]];
    this.st.position[d]++;
    this.st.step++;
    return { source: d, index, epoch };
  }

  /**
   * The next record. A bad record throws its DataError, or (with `bad.skip`) is counted and the
   * next one is drawn.
   */
  async next(bad?: BadSamples): Promise<{ record: DataRecord; source: number }> {
    for (;;) {
      const { source, index } = this.nextIndex();
      try {
        return { record: await this.sources[source].dataset.get(index), source };
      } catch (e) {
        if (!(e instanceof DataError) || !bad) throw e;
        bad.handle(e);
      }
    }
  }
}

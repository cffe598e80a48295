// Seeded randomness for the world: a thin convenience layer over tensor/random.ts's MT19937
// Generator, and sub-seeds derived from (seed, label) so each stream (pairs, corpus, one image's
// noise) is independent of how many draws the others made.

import { Generator } from "../tensor/random.js";

/** A 32-bit seed derived from a base seed and a label (FNV-1a over "seed:label"). */
export function subSeed(seed: number, label: string): number {
  let h = 0x811c9dc5;
  const s = `${seed >>> 0}:${label}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Random draws used by the generators; deterministic from the seed. */
export class Rng {
  private readonly g: Generator;

  constructor(seed: number) {
    this.g = new Generator(seed >>> 0);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.g.random();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.g.random();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return this.g.randint(n);
  }

  /** Integer in [lo, hi], both ends included. */
  range(lo: number, hi: number): number {
    return lo + this.g.randint(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.g.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty list");
    return items[this.g.randint(items.length)];
  }

  /** k distinct items in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (k > items.length) throw new Error(`Rng.sample: k=${k} > ${items.length} items`);
    return this.g.shuffle([...items]).slice(0, k);
  }

  shuffle<T>(items: T[]): T[] {
    return this.g.shuffle(items);
  }

  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.g.random() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** A fresh 32-bit seed for a child stream. */
  seed(): number {
    return this.g.nextU32();
  }
}

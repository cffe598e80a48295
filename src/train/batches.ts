// From the data mixture to model inputs, one optimizer step at a time: draw `global_batch_size`
// records from the weighted Mixture (data/mixture.ts), build VILA samples (data/samples.ts),
// truncate to `model_max_length` in spliced positions (data/pack.ts), split into micro-batches,
// and make each one a padded (or packed, VILA1.5 repack) batch of tensors with its images decoded
// by the ImagePool (data/images.ts). The mixture state before and after each step's draws is kept
// with the batch, so a checkpoint saves exactly where the data stream stands even while the next
// batch is being prefetched.

import { BadSamples, DataError } from "../data/bad_samples.js";
import { openDataset } from "../data/dataset.js";
import { ImagePool } from "../data/images.js";
import { Mixture, type MixtureState } from "../data/mixture.js";
import { packSamples, truncateSample } from "../data/pack.js";
import { buildSample, type TokenizedSample } from "../data/samples.js";
import type { PreprocessConfig } from "../io/image.js";
import { Tensor } from "../tensor/tensor.js";
import { IGNORE_INDEX } from "../tokenizer/constants.js";
import { getConvTemplate } from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { DatasetConfig } from "./config.js";

/** Model inputs for one forward pass. */
export interface MicroBatch {
  /** (B, L) i32, -200 where images go */
  inputIds: Tensor;
  /** (B, L) i32, -100 = no loss */
  labels: Tensor;
  /** (B, L) i32, 1 = token, 0 = padding */
  attentionMask: Tensor;
  /** (B, L) i32 packed-sample ids (packing only) */
  segments: Tensor | null;
  /** (nImg, 3, H, W) in the order of the -200 markers, row by row */
  images: Tensor | null;
  /** each image's path (null for an image given as bytes): the key of its kept tower features */
  imageKeys: (string | null)[];
  /** "dataset file:line" of every sample */
  sources: string[];
}

/** Everything one optimizer step consumes. */
export interface StepBatch {
  micro: MicroBatch[];
  /** mixture state before / after this step's draws */
  dataBefore: MixtureState;
  dataAfter: MixtureState;
}

export interface BatchOptions {
  datasets: DatasetConfig[];
  seed: number;
  tokenizer: Tokenizer;
  convTemplate: string;
  maxImages: number;
  microBatchSize: number;
  accumulation: number;
  maxLength: number;
  /** embeddings per image after the projector (spliced positions per -200) */
  imageTokens: number;
  packing: boolean;
  preprocess: PreprocessConfig;
  /** square image side the tower expects */
  imageSize: number;
  imageThreads: number;
  /** decoded images kept by the ImagePool (in-thread only) */
  imageCacheBytes?: number;
  /** tokenized samples kept in memory, in bytes (0 = build every draw again) */
  sampleCacheBytes?: number;
  skipBadSamples: boolean;
}

type Drawn = { sample: TokenizedSample; dataset: string };

/** Draws step batches from the mixture; see the file header. */
export class BatchLoader {
  readonly bad: BadSamples;
  private constructor(
    private readonly opts: BatchOptions,
    readonly mixture: Mixture,
    /** records in all datasets together (one epoch) */
    readonly totalRecords: number,
    private readonly pool: ImagePool,
  ) {
    this.bad = new BadSamples(opts.skipBadSamples);
  }

  /** Opens every dataset (indexes files); errors name the dataset and the file. */
  static async open(opts: BatchOptions): Promise<BatchLoader> {
    const sources = await Promise.all(
      opts.datasets.map(async (d) => {
        const dataset = await openDataset({
          name: d.name,
          format: d.format,
          paths: d.paths,
          mediaDir: d.media_dir,
        }).catch((e: Error) => {
          throw new Error(`dataset "${d.name}": ${e.message}`);
        });
        if (dataset.length === 0)
          throw new Error(`dataset "${d.name}" (${d.paths.join(", ")}) has no records`);
        return { dataset, weight: d.weight };
      }),
    );
    const mixture = new Mixture(sources, opts.seed);
    const total = sources.reduce((n, s) => n + s.dataset.length, 0);
    const pool = new ImagePool({
      config: opts.preprocess,
      threads: opts.imageThreads,
      cacheBytes: opts.imageCacheBytes ?? 0,
    });
    return new BatchLoader(opts, mixture, total, pool);
  }

  /** Tokenized, truncated samples by source and record index, while they fit `sampleCacheBytes`:
   * a record drawn epoch after epoch is tokenized once (building samples was 7% of a world-tiny SFT
   * stage's time, every epoch again). A sample is a function of its record and the loader's fixed
   * options, so what a step sees is the same either way. */
  private readonly built = new Map<number, TokenizedSample>();
  private builtBytes = 0;

  private remember(key: number, s: TokenizedSample): void {
    const bytes = 8 * s.inputIds.length + 64 * s.images.length + 256;
    if (this.builtBytes + bytes > (this.opts.sampleCacheBytes ?? 0)) return;
    this.built.set(key, s);
    this.builtBytes += bytes;
  }

  /** Draw and build the next step's samples (global batch = micro x accumulation). */
  async next(): Promise<StepBatch> {
    const o = this.opts;
    const dataBefore = this.mixture.state();
    const drawn: Drawn[] = [];
    const n = o.microBatchSize * o.accumulation;
    while (drawn.length < n) {
      const { source, index } = this.mixture.nextIndex();
      const { dataset } = this.mixture.sources[source];
      const name = dataset.name;
      const key = source * 2 ** 32 + index;
      const known = this.built.get(key); // kept: the record is not read again
      if (known) {
        drawn.push({ sample: known, dataset: name });
        continue;
      }
      try {
        const record = await dataset.get(index);
        const s = buildSample(record, o.tokenizer, {
          template: getConvTemplate(o.convTemplate),
          maxImages: o.maxImages,
        });
        const sample = truncateSample(s, o.maxLength, o.imageTokens);
        drawn.push({ sample, dataset: name });
        this.remember(key, sample);
      } catch (e) {
        this.bad.handle(e);
      }
    }
    const dataAfter = this.mixture.state();
    const micro: MicroBatch[] = [];
    for (let i = 0; i < o.accumulation; i++)
      micro.push(await this.collate(drawn.slice(i * o.microBatchSize, (i + 1) * o.microBatchSize)));
    return { micro, dataBefore, dataAfter };
  }

  /** Samples -> padded (or packed) tensors with decoded images. */
  async collate(items: Drawn[]): Promise<MicroBatch> {
    const o = this.opts;
    type Row = {
      ids: ArrayLike<number>;
      labels: ArrayLike<number>;
      segs: ArrayLike<number> | null;
      images: TokenizedSample["images"];
      where: { file: string; line: number }[];
    };
    let rows: Row[];
    if (o.packing) {
      const packed = packSamples(
        items.map((d) => d.sample),
        { maxLength: o.maxLength, imageTokens: o.imageTokens, padId: o.tokenizer.padId ?? 0 },
      );
      rows = packed.map((r) => ({
        ids: r.inputIds,
        labels: r.labels,
        segs: r.segmentIds,
        images: r.images,
        where: r.sources.map((s) => {
          const k = s.lastIndexOf(":");
          return { file: s.slice(0, k), line: Number(s.slice(k + 1)) };
        }),
      }));
    } else {
      rows = items.map((d) => ({
        ids: d.sample.inputIds,
        labels: d.sample.labels,
        segs: null,
        images: d.sample.images,
        where: [d.sample],
      }));
    }
    rows = rows.filter((r) => r.ids.length > 0);
    if (rows.length === 0)
      throw new Error(`micro-batch is empty after truncation to model_max_length ${o.maxLength}`);
    const B = rows.length;
    const L = Math.max(...rows.map((r) => r.ids.length));
    const ids = new Int32Array(B * L).fill(o.tokenizer.padId ?? 0);
    const labels = new Int32Array(B * L).fill(IGNORE_INDEX);
    const mask = new Int32Array(B * L);
    const segs = o.packing ? new Int32Array(B * L) : null;
    rows.forEach((r, b) => {
      for (let t = 0; t < r.ids.length; t++) {
        ids[b * L + t] = r.ids[t];
        labels[b * L + t] = r.labels[t];
        mask[b * L + t] = r.segs ? (r.segs[t] > 0 ? 1 : 0) : 1;
        if (segs && r.segs) segs[b * L + t] = r.segs[t];
      }
    });
    const refs = rows.flatMap((r) => r.images.map((im) => ({ im, where: r.where[0] })));
    const H = o.imageSize;
    let images: Tensor | null = null;
    if (refs.length) {
      const pix = await Promise.all(refs.map((x) => this.pool.load(x.im, x.where)));
      const data = new Float32Array(refs.length * 3 * H * H);
      pix.forEach((p, i) => {
        if (p.length !== 3 * H * H)
          throw new DataError(
            refs[i].where.file,
            refs[i].where.line,
            "image",
            `preprocessed image has ${p.length} values, expected 3x${H}x${H}`,
          );
        data.set(p, i * 3 * H * H);
      });
      images = new Tensor(data, [refs.length, 3, H, H]);
    }
    const byFile = new Map(items.map((d) => [`${d.sample.file}:${d.sample.line}`, d.dataset]));
    const sources = rows.flatMap((r) =>
      r.where.map((w) => `${byFile.get(`${w.file}:${w.line}`) ?? "?"} ${w.file}:${w.line}`),
    );
    return {
      inputIds: new Tensor(ids, [B, L]),
      labels: new Tensor(labels, [B, L]),
      attentionMask: new Tensor(mask, [B, L]),
      segments: segs ? new Tensor(segs, [B, L]) : null,
      images,
      imageKeys: refs.map((x) => (x.im.kind === "path" ? x.im.path : null)),
      sources,
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

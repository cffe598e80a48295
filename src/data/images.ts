// Image decoding + preprocessing off the main thread: a pool of worker_threads, each importing an
// injectable preprocess function `(pathOrBytes, config) -> Float32Array (3, H, W)` (or an object
// with such `pixels`) from a module (by default io's `loadImage` in src/io/image.ts). With `threads: 0` the function runs in-thread.
// In-thread with the default preprocessing, decoded images can be kept (`cacheBytes`): a training
// run draws the same files epoch after epoch, and sharp's decode is most of a small image's cost
// (measured, world-tiny stage 1: a 32-image batch ~28 ms to load uncached, ~5 ms cached).
// A missing or corrupt image becomes a DataError naming the sample's file:line and the image.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { decodeImage, type PreprocessConfig, preprocessImage, type RgbImage } from "../io/image.js";
import { DataError } from "./bad_samples.js";
import { describeImage, type ImageRef } from "./image_ref.js";
import type { Where } from "./records.js";

/** The preprocess function contract (exported by the module the pool loads). */
export type ImagePreprocessFn<C = unknown> = (
  input: string | Uint8Array,
  config: C,
) => Promise<Float32Array | { pixels: Float32Array }> | Float32Array | { pixels: Float32Array };

/** io's sharp-based preprocessing: `loadImage(pathOrBytes, config) -> Float32Array (3, H, W)`. */
export const DEFAULT_PREPROCESS_MODULE = new URL("../io/image.js", import.meta.url).href;
export const DEFAULT_PREPROCESS_EXPORT = "loadImage";

export interface ImagePoolOptions {
  /** Module URL or absolute path exporting the preprocess function. */
  module?: string;
  exportName?: string;
  /** Passed to the function unchanged (structured-cloned into workers). */
  config: unknown;
  /** Worker threads (default: available cores - 1, at least 1); 0 = run in this thread. */
  threads?: number;
  /** In-thread with the default module: keep decoded images of files (before resizing and
   * normalising) up to this many bytes, first come first kept (default 0 = none). Files must not
   * change while the pool is open. */
  cacheBytes?: number;
}

type Pending = { resolve: (a: Float32Array) => void; reject: (e: Error) => void };

/**
 * Decodes images in parallel with worker threads.
 * @example
 * const pool = new ImagePool({ config: { size: 384, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } });
 * const pixels = await pool.load(sample.images[0], sample); // Float32Array (3, 384, 384)
 * await pool.close();
 */
export class ImagePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load1: Promise<ImagePreprocessFn> | null = null;
  private nextId = 0;
  private rr = 0;
  private closed = false;
  /** decoded images by path (cacheBytes), and their bytes */
  private readonly decoded: Map<string, RgbImage> | null = null;
  private decodedBytes = 0;

  constructor(private readonly opts: ImagePoolOptions) {
    const module = opts.module ?? DEFAULT_PREPROCESS_MODULE;
    const exportName = opts.exportName ?? DEFAULT_PREPROCESS_EXPORT;
    const threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
    if (threads === 0 && (opts.cacheBytes ?? 0) > 0 && module === DEFAULT_PREPROCESS_MODULE)
      this.decoded = new Map();
    if (threads === 0) {
      this.load1 = import(module).then((m: Record<string, unknown>) => {
        const fn = m[exportName];
        if (typeof fn !== "function")
          throw new Error(`image pool: ${module} does not export a function "${exportName}"`);
        return fn as ImagePreprocessFn;
      });
      return;
    }
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL("./image_worker.js", import.meta.url), {
        workerData: { module, exportName, config: opts.config },
      });
      w.on("message", (msg: { id: number; ok: boolean; data?: Float32Array; message?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.data as Float32Array);
        else p.reject(new Error(msg.message));
      });
      w.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Decodes + preprocesses one image; `where` (the sample) is named in errors. */
  async load(ref: ImageRef, where?: Where): Promise<Float32Array> {
    if (this.closed) throw new Error("image pool: closed");
    const input = ref.kind === "path" ? ref.path : ref.data;
    try {
      if (this.decoded && typeof input === "string") return await this.loadCached(input);
      if (this.load1) {
        const r = await (await this.load1)(input, this.opts.config);
        return r instanceof Float32Array ? r : r.pixels;
      }
      const id = this.nextId++;
      const w = this.workers[this.rr++ % this.workers.length];
      w.ref();
      try {
        return await new Promise<Float32Array>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          w.postMessage({ id, input });
        });
      } finally {
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
      }
    } catch (e) {
      throw new DataError(
        where?.file ?? describeImage(ref),
        where?.line ?? 0,
        "image",
        `image ${describeImage(ref)}: ${(e as Error).message}`,
      );
    }
  }

  /** The default preprocessing of a file, decoded once while the cache has room. */
  private async loadCached(path: string): Promise<Float32Array> {
    const cache = this.decoded as Map<string, RgbImage>;
    let img = cache.get(path);
    if (!img) {
      img = await decodeImage(path);
      if (this.decodedBytes + img.data.byteLength <= (this.opts.cacheBytes ?? 0)) {
        cache.set(path, img);
        this.decodedBytes += img.data.byteLength;
      }
    }
    return preprocessImage(img, this.opts.config as PreprocessConfig).pixels;
  }

  /** Bytes of decoded images held (cacheBytes). */
  get cachedBytes(): number {
    return this.decodedBytes;
  }

  /** Loads all images of a sample (in order). */
  loadAll(refs: ImageRef[], where?: Where): Promise<Float32Array[]> {
    return Promise.all(refs.map((r) => this.load(r, where)));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.decoded?.clear();
    this.decodedBytes = 0;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// The world's images: a registry that names each scene's file (images/<split>/NNNNNN.png) and
// gives it a numeric image id, PNG encoding through sharp, and rendering + encoding + writing
// all images on a pool of worker threads. Every image depends only on its scene, so the bytes
// are the same whatever the number of workers or the order they finish in.

import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import sharp from "sharp";
import { IMAGES_BENCH_DIR, IMAGES_SUPPORT_DIR, IMAGES_TRAIN_DIR } from "./layout.js";
import { type RgbImage, renderScene } from "./render.js";
import type { Scene } from "./scene.js";

export type ImageSplit = "train" | "bench" | "support";

const SPLIT_DIRS: Record<ImageSplit, string> = {
  train: IMAGES_TRAIN_DIR,
  bench: IMAGES_BENCH_DIR,
  support: IMAGES_SUPPORT_DIR,
};

export interface ImageJob {
  /** Path relative to the world root. */
  path: string;
  scene: Scene;
}

export interface ImageRef {
  path: string;
  id: number;
  split: ImageSplit;
  scene: Scene;
}

/** Names images and remembers their scenes, in the order they are added. */
export class ImageRegistry {
  readonly jobs: ImageJob[] = [];
  private readonly counters: Record<ImageSplit, number> = { train: 0, bench: 0, support: 0 };

  add(split: ImageSplit, scene: Scene): ImageRef {
    const n = this.counters[split]++;
    const path = `${SPLIT_DIRS[split]}/${String(n).padStart(6, "0")}.png`;
    this.jobs.push({ path, scene });
    return { path, id: this.jobs.length, split, scene };
  }

  count(split: ImageSplit): number {
    return this.counters[split];
  }
}

/** Encode an RGB image as PNG. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

/** Render, encode and write a batch of jobs under `root` (what each worker runs). */
export async function writeImageBatch(root: string, jobs: readonly ImageJob[]): Promise<void> {
  await Promise.all(
    jobs.map(async (j) => writeFile(join(root, j.path), await encodePng(renderScene(j.scene)))),
  );
}

export interface RenderOptions {
  /** Worker threads (0 or 1: render on the calling thread). Default: available cores, at most 8. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

const BATCH = 48;

/** Render every registered image into `root`, in parallel on worker threads. */
export async function renderImages(
  root: string,
  jobs: readonly ImageJob[],
  opts: RenderOptions = {},
): Promise<void> {
  const dirs = new Set(jobs.map((j) => dirname(j.path)));
  for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  const batches: ImageJob[][] = [];
  for (let i = 0; i < jobs.length; i += BATCH) batches.push(jobs.slice(i, i + BATCH));
  // A worker costs ~0.3 s to start (sharp loads in each), so by default small jobs stay on this thread.
  const nWorkers = Math.min(
    opts.workers ?? Math.min(8, availableParallelism(), Math.ceil(jobs.length / 400)),
    batches.length,
  );
  let done = 0;
  if (nWorkers <= 1) {
    for (const b of batches) {
      await writeImageBatch(root, b);
      done += b.length;
      opts.onProgress?.(done, jobs.length);
    }
    return;
  }
  let next = 0;
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL("./image_worker.js", import.meta.url), { workerData: { root } });
      const feed = () => {
        if (next >= batches.length) {
          w.postMessage(null);
          return;
        }
        w.postMessage(batches[next++]);
      };
      w.on("message", (m: { done?: number; error?: string }) => {
        if (m.error) {
          reject(new Error(`world: image worker failed: ${m.error}`));
          w.terminate();
          return;
        }
        done += m.done ?? 0;
        opts.onProgress?.(done, jobs.length);
        feed();
      });
      w.on("error", reject);
      w.on("exit", () => resolve());
      feed();
    });
  await Promise.all(Array.from({ length: nWorkers }, runWorker));
  if (done !== jobs.length) throw new Error(`world: rendered ${done} of ${jobs.length} images`);
}

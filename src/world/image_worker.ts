// Worker-thread entry for image rendering: receives batches of image jobs, renders, encodes
// and writes them, and answers {done: n} per batch; a null message ends the worker.

import { parentPort, workerData } from "node:worker_threads";
import sharp from "sharp";
import { type ImageJob, writeImageBatch } from "./images.js";

// One libvips thread per worker: parallelism comes from the workers.
sharp.concurrency(1);
sharp.cache(false);

const root = (workerData as { root: string }).root;
parentPort!.on("message", (batch: ImageJob[] | null) => {
  if (batch === null) {
    parentPort!.close();
    return;
  }
  writeImageBatch(root, batch).then(
    () => parentPort!.postMessage({ done: batch.length }),
    (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
});

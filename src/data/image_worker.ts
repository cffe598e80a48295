// Worker-thread entry of the image pool (images.ts): imports the preprocess function named in
// workerData, then answers {id, input} messages with the (3, H, W) Float32Array it returns
// (or the `pixels` of the {pixels, width, height} object io's loadImage returns), transferred, not
// copied, or with the error message.

import { parentPort, workerData } from "node:worker_threads";

type Out = Float32Array | { pixels: Float32Array };
type Fn = (input: string | Uint8Array, config: unknown) => Promise<Out> | Out;
const { module, exportName, config } = workerData as { module: string; exportName: string; config: unknown };

const mod = (await import(module)) as Record<string, unknown>;
const fn = mod[exportName];
if (typeof fn !== "function")
  throw new Error(`image worker: ${module} does not export a function "${exportName}"`);

parentPort?.on("message", async (msg: { id: number; input: string | Uint8Array }) => {
  try {
    const r = await (fn as Fn)(msg.input, config);
    const out = r instanceof Float32Array ? r : r.pixels;
    parentPort?.postMessage({ id: msg.id, ok: true, data: out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});

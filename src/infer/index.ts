// The inference API: generation (KV cache, sampling, stop conditions, streaming, batches), prompt
// building with conversation templates and images, chat sessions, and checkpoint loading for it.

export * from "./generate.js";
export * from "./pipeline.js";
export * from "./prompt.js";
export * from "./sampling.js";
export * from "./session.js";
export * from "./streamer.js";

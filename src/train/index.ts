// The trainer's public API: run a VILA training stage from a config (see trainer.ts runStage),
// load/validate configs, LoRA, checkpoints with trainer state, metrics and the HTML report.

export { BatchLoader, type MicroBatch, type StepBatch } from "./batches.js";
export * from "./config.js";
export * from "./lora.js";
export * from "./metrics.js";
export * from "./progress.js";
export * from "./report.js";
export * from "./setup.js";
export * from "./state.js";
export * from "./trainer.js";

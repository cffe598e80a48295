// Evaluation: the official metrics (metrics/), benchmark readers for the public file formats and the
// world (benchmarks.ts), k-shot prompts (prompts.ts), the runner that generates and scores
// (runner.ts), scoring and baselines (score.ts), and the output files (report.ts). docs/EVAL.md.

export * from "./benchmarks.js";
export * from "./metrics/index.js";
export * from "./prompts.js";
export * from "./report.js";
export * from "./runner.js";
export * from "./score.js";

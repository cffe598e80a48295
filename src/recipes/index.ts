// Recipes: a chain of stages (world, tokenizer, base LLM, vision tower, VILA stages 0-2 with an
// optional stage 1.5, evaluation)
// run from a preset, each finished stage cached by the hash of its config and inputs. See run.ts.

export * from "./cache.js";
export * from "./executors.js";
export * from "./presets.js";
export * from "./report.js";
export * from "./run.js";
export * from "./stages.js";

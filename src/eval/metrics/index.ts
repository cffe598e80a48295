// The official evaluation metrics (VQA accuracy two ways, CIDEr, multiple choice, exact match,
// POPE) and the readers for their public file formats. docs/METRICS.md says how each is computed.

export * from "./choice.js";
export * from "./cider.js";
export * from "./pope.js";
export * from "./ptb_tokenize.js";
export * from "./py_text.js";
export * from "./readers.js";
export * from "./vqa.js";

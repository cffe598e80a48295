// The public tensor API: Tensor and autograd, creation, random numbers, dtype conversion and
// every op (elementwise, reductions, matmul, shape, indexing, nn).

export * from "./create.js";
export * from "./dtype.js";
export * from "./ops/elementwise.js";
export * from "./ops/index.js";
export * from "./ops/matmul.js";
export * from "./ops/nn.js";
export * from "./ops/reduce.js";
export * from "./ops/shape.js";
export * from "./random.js";
export * from "./tensor.js";

// The js backend: plain TypeScript loops, the reference definition of every kernel.
// core.ts: gemm, elementwise, reductions, data movement, optimiser, dtype conversion.
// nn.ts: softmax, norms, rope, attention, cross-entropy.
// half.ts: gemmHalf (linear with a bf16 / f16 weight).
// decode.ts: decodeLayer (one decoder layer for one token against a KV cache).

import type { Backend } from "../backend.js";
import * as core from "./core.js";
import * as decode from "./decode.js";
import * as half from "./half.js";
import * as nn from "./nn.js";

export const jsBackend: Backend = { name: "js", ...core, ...nn, ...half, ...decode };

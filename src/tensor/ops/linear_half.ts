// linear with a 16-bit weight (bf16 / f16 storage of a model loaded in its checkpoint dtype):
// y = x @ w^T + b through the backend's gemmHalf, which reads the 16-bit weight directly (decode
// streams it once at 2 bytes per element; no f32 copy of the weight is made). Inference only:
// `linear` (matmul.ts) sends a 16-bit weight here when no gradient is to flow through x.

import { backend } from "../../backend/index.js";
import { Tensor } from "../tensor.js";
import { requireF32 } from "./shape.js";

/** x (..., in) @ w^T (w (out, in) bf16 / f16) + b (out) -> (..., out) f32; not differentiated. */
export function linearHalf(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.dtype !== "bf16" && w.dtype !== "f16")
    throw new Error(`linearHalf: the weight must be bf16 or f16, got ${w.dtype} [${w.shape}]`);
  requireF32("linear", x);
  if (b) requireF32("linear (bias)", b);
  if (w.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== w.shape[1]) {
    throw new Error(
      `linear: input [${x.shape}] does not match weight [${w.shape}] (expects (..., in) and (out, in))`,
    );
  }
  const [O, I] = w.shape;
  if (b && (b.ndim !== 1 || b.shape[0] !== O))
    throw new Error(`linear: bias [${b.shape}] does not match weight [${w.shape}]`);
  const R = x.size / I; // rows of the folded (R, in) input
  const out = new Float32Array(R * O);
  // (R, I) @ (O, I)^T + b -> (R, O), the bias added as the gemm stores its result
  backend().gemmHalf({
    M: R,
    N: O,
    K: I,
    A: x.f32,
    offA: 0,
    lda: I,
    W: w.data as Uint16Array,
    offW: 0,
    ldw: I,
    dtype: w.dtype,
    beta: 0,
    bias: b ? b.f32 : null,
    C: out,
    offC: 0,
    ldc: O,
  });
  return new Tensor(out, [...x.shape.slice(0, -1), O]);
}

// Storage dtype conversion. f32 is the compute dtype; bf16 and f16 are storage for weights
// (Uint16Array), converted exactly through the backend kernels: widening is exact and narrowing
// rounds to nearest, ties to even, as PyTorch and NumPy do. i32 widens to f32 (exact below 2^24).
// Conversions are not differentiated (a bf16 tensor cannot require grad).

import { backend } from "../backend/index.js";
import { type DType, Tensor } from "./tensor.js";

/** Convert t to dtype "f32", "bf16" or "f16" (returns t itself when it already has that dtype).
 * @example const w32 = toDtype(wBf16, "f32") */
export function toDtype(t: Tensor, dtype: Exclude<DType, "i32">): Tensor {
  if (t.dtype === dtype) return t;
  const n = t.size;
  if (dtype === "f32") {
    const out = new Float32Array(n);
    if (t.dtype === "bf16") backend().bf16ToF32(t.data as Uint16Array, out);
    else if (t.dtype === "f16") backend().f16ToF32(t.data as Uint16Array, out);
    else if (t.dtype === "i32") out.set(t.i32);
    else throw new Error(`toDtype: cannot convert ${t.dtype} of shape [${t.shape}] to f32`);
    return new Tensor(out, t.shape, "f32");
  }
  if (dtype !== "bf16" && dtype !== "f16") throw new Error(`toDtype: unknown target dtype "${dtype}"`);
  if (t.dtype === "i32")
    throw new Error(`toDtype: convert i32 tensor of shape [${t.shape}] to f32 before ${dtype}`);
  const src = t.dtype === "f32" ? t.f32 : toDtype(t, "f32").f32;
  const out = new Uint16Array(n);
  if (dtype === "bf16") backend().f32ToBf16(src, out);
  else backend().f32ToF16(src, out);
  return new Tensor(out, t.shape, dtype);
}

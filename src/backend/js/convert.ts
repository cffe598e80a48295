// js backend, dtype conversion kernels (re-exported by core.ts): bf16/f16 <-> f32.
// Widening is exact; f32 -> 16-bit rounds to nearest, ties to even, like PyTorch, NumPy and
// hardware converters, with overflow to Inf, subnormals, and NaN kept a NaN.

import type { F32, U16 } from "../backend.js";

function checkLen(kernel: string, want: number, got: number): void {
  if (want !== got) throw new Error(`${kernel}: array of length ${got} where ${want} is needed`);
}

/** bf16 is the top half of an f32: exact. */
export function bf16ToF32(x: U16, out: F32): void {
  checkLen("bf16ToF32", x.length, out.length);
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < x.length; i++) u[i] = x[i] << 16;
}

/** Round-to-nearest-even on the low 16 bits; overflow rounds to Inf; NaN stays a (quiet) NaN
 * with its sign. */
export function f32ToBf16(x: F32, out: U16): void {
  checkLen("f32ToBf16", x.length, out.length);
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) {
    const b = u[i];
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x0040;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

let f16Table: Float32Array | null = null;

/** Exact via a 65536-entry table built once. */
export function f16ToF32(x: U16, out: F32): void {
  checkLen("f16ToF32", x.length, out.length);
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  const t = f16Table;
  for (let i = 0; i < x.length; i++) out[i] = t[x[i]];
}

function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Exact round-to-nearest-even f32 -> IEEE half: subnormals, overflow to Inf, NaN -> quiet NaN
 * 0x7e00 with the sign (as PyTorch). */
export function f32ToF16(x: F32, out: U16): void {
  checkLen("f32ToF16", x.length, out.length);
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToF16(u[i]);
}

function f32BitsToF16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 : sign | 0x7c00;
  if (exp === 0) return sign; // f32 subnormals are far below half's smallest subnormal (2^-24)
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // normal half: keep 10 of 23 mantissa bits; a carry out of the mantissa bumps the exponent
    // (and from e = 15 reaches 0x7c00 = Inf), which is exactly the rounded result
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  // subnormal half: value = full * 2^(e-23) = (full >> shift) units of 2^-24, shift = -(e + 1)
  const shift = -(e + 1);
  if (shift > 24) return sign;
  const full = mant | 0x800000;
  let q = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && q & 1)) q++;
  return sign | q;
}

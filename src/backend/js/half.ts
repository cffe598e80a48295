// js backend, gemmHalf: C = A @ W^T + beta C (+ bias) with W (N, K) bf16 / f16 storage (backend.ts).
// The reference definition: each weight row is widened exactly (the dtype conversion kernels) and
// dotted with every row of A, the sum carried in a JS number (f64) and rounded to f32 once.

import type { GemmHalfArgs } from "../backend.js";
import { bf16ToF32, f16ToF32 } from "./convert.js";

function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(`gemmHalf: ${what}`);
}

export function gemmHalf(g: GemmHalfArgs): void {
  const { M, N, K, A, offA, lda, W, offW, ldw, C, offC, ldc, beta } = g;
  for (const [v, n] of [
    [M, "M"],
    [N, "N"],
    [K, "K"],
    [offA, "offA"],
    [offW, "offW"],
    [offC, "offC"],
  ] as const)
    need(Number.isInteger(v) && v >= 0, `${n} must be a non-negative integer, got ${v}`);
  need(g.dtype === "bf16" || g.dtype === "f16", `dtype must be bf16 or f16, got ${g.dtype}`);
  if (M === 0 || N === 0) return;
  need(
    lda >= K && ldw >= K && ldc >= N,
    `leading dims lda=${lda} ldw=${ldw} ldc=${ldc} too small for N=${N} K=${K}`,
  );
  need(offA + (M - 1) * lda + K <= A.length, `A (length ${A.length}) too short`);
  need(offW + (N - 1) * ldw + K <= W.length, `W (length ${W.length}) too short`);
  need(offC + (M - 1) * ldc + N <= C.length, `C (length ${C.length}) too short`);
  const bias = g.bias ?? null;
  need(!bias || bias.length >= N, `bias (length ${bias?.length}) shorter than N=${N}`);
  const widen = g.dtype === "bf16" ? bf16ToF32 : f16ToF32;
  const row = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    widen(W.subarray(offW + n * ldw, offW + n * ldw + K), row);
    for (let m = 0; m < M; m++) {
      const a = offA + m * lda;
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += A[a + k] * row[k];
      const c = offC + m * ldc + n;
      C[c] = beta === 0 ? s : s + beta * C[c];
    }
  }
}

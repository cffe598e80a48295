// gemmHalf's js reference (src/backend/js/half.ts) against an independent path: the weight widened
// by the dtype conversion kernels and multiplied by the f32 gemm; and `linear` with a bf16 / f16
// weight (the gemmHalf route, src/tensor/ops/linear_half.ts) against linear with the widened weight.
// Native builds are checked against this reference in parity.test.ts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { jsBackend as js } from "../../src/backend/js/index.js";
import { toDtype } from "../../src/tensor/dtype.js";
import { linear } from "../../src/tensor/ops/matmul.js";
import { noGrad, Tensor } from "../../src/tensor/tensor.js";
import { checkTensor } from "../helpers.js";

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 2 * scale;
  });
}

test("js gemmHalf equals widen + f32 gemm (bf16, f16, beta 0 and 1)", () => {
  for (const [M, N, K] of [
    [1, 5, 3],
    [4, 9, 17],
    [6, 2, 40],
  ]) {
    for (const dtype of ["bf16", "f16"] as const) {
      for (const beta of [0, 1]) {
        const A = rand(M * K, M + N);
        const W = new Uint16Array(N * K);
        if (dtype === "bf16") js.f32ToBf16(rand(N * K, K), W);
        else js.f32ToF16(rand(N * K, K), W);
        const Wf = new Float32Array(N * K);
        if (dtype === "bf16") js.bf16ToF32(W, Wf);
        else js.f16ToF32(W, Wf);
        const C0 = rand(M * N, 7);
        const want = C0.slice();
        js.gemm({
          transA: false,
          transB: true,
          M,
          N,
          K,
          alpha: 1,
          A,
          offA: 0,
          lda: K,
          strideA: 0,
          B: Wf,
          offB: 0,
          ldb: K,
          strideB: 0,
          beta,
          C: want,
          offC: 0,
          ldc: N,
          strideC: 0,
          batch: 1,
        });
        const got = C0.slice();
        js.gemmHalf({
          M,
          N,
          K,
          A,
          offA: 0,
          lda: K,
          W,
          offW: 0,
          ldw: K,
          dtype,
          beta,
          C: got,
          offC: 0,
          ldc: N,
        });
        checkTensor(got, want, { atol: 1e-6, rtol: 1e-6 }, `gemmHalf ${dtype} ${M}x${N}x${K} beta ${beta}`);
      }
    }
  }
  assert.throws(
    () =>
      js.gemmHalf({
        M: 1,
        N: 1,
        K: 2,
        A: new Float32Array(2),
        offA: 0,
        lda: 2,
        W: new Uint16Array(2),
        offW: 0,
        ldw: 2,
        dtype: "f32" as "bf16",
        beta: 0,
        C: new Float32Array(1),
        offC: 0,
        ldc: 1,
      }),
    /dtype must be bf16 or f16/,
  );
});

test("linear with a 16-bit weight equals linear with the widened weight (with bias, 3-D input)", () => {
  const x = new Tensor(rand(2 * 3 * 24, 3), [2, 3, 24]);
  const b = new Tensor(rand(10, 4), [10]);
  for (const dtype of ["bf16", "f16"] as const) {
    const w16 = toDtype(new Tensor(rand(10 * 24, 5, 0.3), [10, 24]), dtype);
    const w32 = toDtype(w16, "f32");
    const got = noGrad(() => linear(x, w16, b));
    const want = noGrad(() => linear(x, w32, b));
    checkTensor(got, want, { atol: 1e-5, rtol: 1e-5 }, `linear ${dtype}`);
    // a gradient through x still works (the weight is widened for the backward)
    const xg = new Tensor(x.f32.slice(), x.shape);
    xg.requiresGrad = true;
    const y = linear(xg, w16, b);
    assert.deepEqual(y.shape, [2, 3, 10]);
    checkTensor(y, want, { atol: 1e-5, rtol: 1e-5 }, `linear ${dtype} with grad`);
  }
});

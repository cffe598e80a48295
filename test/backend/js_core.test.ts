// The js core kernels against independent references: gemm against a float64 triple loop over
// every transA/transB combination with batch strides, offsets, padded leading dims and beta;
// AdamW against a float64 hand-written step; unary ops against PyTorch (fixture); the rest
// against small hand-computed cases.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNARY_OPS, type UnaryOp } from "../../src/backend/backend.js";
import * as core from "../../src/backend/js/core.js";
import { checkTensor } from "../helpers.js";
import { loadCoreFixture } from "../tensor/fixtures.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function randArray(n: number, rnd: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => rnd() * 2);
}

describe("gemm", () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const beta of [0, 1, 0.5]) {
        test(`transA=${transA} transB=${transB} beta=${beta}, batch strides, offsets, padded ld`, () => {
          const rnd = lcg(7 + (transA ? 1 : 0) + (transB ? 2 : 0) + beta * 4);
          const [M, N, K, batch] = [5, 7, 9, 3];
          const alpha = 0.75;
          const [ar, ac] = transA ? [K, M] : [M, K];
          const [br, bc] = transB ? [N, K] : [K, N];
          const lda = ac + 2;
          const ldb = bc + 1;
          const ldc = N + 3;
          const strideA = ar * lda + 5;
          const strideB = br * ldb + 1;
          const strideC = M * ldc + 2;
          const [offA, offB, offC] = [3, 1, 4];
          const A = randArray(offA + batch * strideA, rnd);
          const B = randArray(offB + batch * strideB, rnd);
          const C = randArray(offC + batch * strideC, rnd);
          if (beta === 0) C.fill(Number.NaN); // beta = 0 must not read C
          const before = Float64Array.from(C);
          const want = Float64Array.from(C);
          for (let b = 0; b < batch; b++) {
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) {
                let s = 0;
                for (let k = 0; k < K; k++) {
                  const a = transA
                    ? A[offA + b * strideA + k * lda + i]
                    : A[offA + b * strideA + i * lda + k];
                  const bb = transB
                    ? B[offB + b * strideB + j * ldb + k]
                    : B[offB + b * strideB + k * ldb + j];
                  s += a * bb;
                }
                const c = offC + b * strideC + i * ldc + j;
                want[c] = alpha * s + (beta === 0 ? 0 : beta * before[c]);
              }
            }
          }
          core.gemm({
            transA,
            transB,
            M,
            N,
            K,
            alpha,
            A,
            offA,
            lda,
            strideA,
            B,
            offB,
            ldb,
            strideB,
            beta,
            C,
            offC,
            ldc,
            strideC,
            batch,
          });
          checkTensor(C, want, { atol: 1e-5, rtol: 1e-5 }, "gemm"); // padding (NaN or old) untouched too
        });
      }
    }
  }

  test("strideB = 0 shares one B across the batch; bad sizes throw", () => {
    const rnd = lcg(3);
    const A = randArray(2 * 2 * 3, rnd);
    const B = randArray(3 * 2, rnd);
    const C = new Float32Array(2 * 2 * 2);
    core.gemm({
      transA: false,
      transB: false,
      M: 2,
      N: 2,
      K: 3,
      alpha: 1,
      A,
      offA: 0,
      lda: 3,
      strideA: 6,
      B,
      offB: 0,
      ldb: 2,
      strideB: 0,
      beta: 0,
      C,
      offC: 0,
      ldc: 2,
      strideC: 4,
      batch: 2,
    });
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          let s = 0;
          for (let k = 0; k < 3; k++) s += A[b * 6 + i * 3 + k] * B[k * 2 + j];
          assert.ok(Math.abs(C[b * 4 + i * 2 + j] - s) < 1e-6);
        }
      }
    }
    assert.throws(
      () =>
        core.gemm({
          transA: false,
          transB: false,
          M: 2,
          N: 2,
          K: 3,
          alpha: 1,
          A,
          offA: 0,
          lda: 3,
          strideA: 6,
          B,
          offB: 0,
          ldb: 2,
          strideB: 0,
          beta: 0,
          C,
          offC: 0,
          ldc: 2,
          strideC: 4,
          batch: 3,
        }),
      /A \(length 12\) too short/,
    );
  });
});

describe("adamw", () => {
  test("matches a float64 reference over 5 steps, with weight decay", () => {
    const rnd = lcg(11);
    const n = 37;
    const p = randArray(n, rnd);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const P = Float64Array.from(p);
    const Mo = new Float64Array(n);
    const Vo = new Float64Array(n);
    const [lr, b1, b2, eps, wd] = [1e-2, 0.9, 0.95, 1e-8, 0.1];
    for (let t = 1; t <= 5; t++) {
      const g = randArray(n, rnd);
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      core.adamw(p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2);
      for (let i = 0; i < n; i++) {
        P[i] *= 1 - lr * wd;
        Mo[i] = b1 * Mo[i] + (1 - b1) * g[i];
        Vo[i] = b2 * Vo[i] + (1 - b2) * g[i] * g[i];
        P[i] -= (lr * Mo[i]) / bc1 / (Math.sqrt(Vo[i] / bc2) + eps);
      }
    }
    checkTensor(p, P, { atol: 1e-6, rtol: 1e-5 }, "p");
    checkTensor(m, Mo, { atol: 1e-7, rtol: 1e-5 }, "m");
    checkTensor(v, Vo, { atol: 1e-8, rtol: 1e-5 }, "v");
  });
});

describe("unary kernels against PyTorch (float64)", () => {
  const fx = loadCoreFixture<Record<string, { x: number[]; y: number[]; dy: number[] }>>("unary");
  for (const op of UNARY_OPS) {
    test(op, () => {
      const c = fx[op as UnaryOp];
      assert.ok(c, `fixture has ${op}`);
      const x = Float32Array.from(c.x);
      const y = new Float32Array(x.length);
      core.unary(op, x, y);
      checkTensor(y, c.y, { atol: 1e-6, rtol: 2e-6 }, `${op} forward`);
      const gy = Float32Array.from(x, (_, i) => ((i % 7) - 3) / 3);
      const gx = new Float32Array(x.length);
      core.unaryBackward(op, x, y, gy, gx);
      checkTensor(
        gx,
        c.dy.map((d, i) => d * gy[i]),
        { atol: 1e-6, rtol: 1e-5 },
        `${op} backward`,
      );
    });
  }

  test("erf matches known values to 1e-15", () => {
    // erf(0.5), erf(1), erf(2), erf(3.5) from Abramowitz & Stegun table 7.1 / mpmath
    const cases: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
    ];
    for (const [x, e] of cases) {
      assert.ok(Math.abs(core.erf(x) - e) < 1e-15, `erf(${x}) = ${core.erf(x)}`);
      assert.ok(Math.abs(core.erf(-x) + e) < 1e-15);
    }
  });
});

describe("elementwise and data-movement kernels", () => {
  test("binary broadcasts through zero strides; comparisons give 0/1", () => {
    // a (2, 1) broadcast against b (3): out (2, 3)
    const a = Float32Array.from([1, 2]);
    const b = Float32Array.from([10, 20, 2]);
    const out = new Float32Array(6);
    core.binary("sub", a, [1, 0], b, [0, 1], out, [2, 3]);
    assert.deepEqual([...out], [-9, -19, -1, -8, -18, 0]);
    core.binary("gt", a, [1, 0], b, [0, 1], out, [2, 3]);
    assert.deepEqual([...out], [0, 0, 0, 0, 0, 0]);
    core.binary("eq", a, [1, 0], b, [0, 1], out, [2, 3]);
    assert.deepEqual([...out], [0, 0, 0, 0, 0, 1]);
    const s = new Float32Array(1);
    core.binary("pow", Float32Array.from([2]), [], Float32Array.from([10]), [], s, []);
    assert.equal(s[0], 1024);
  });

  test("reduce over the middle axis; argmax takes the first maximum", () => {
    // x (2, 3, 2)
    const x = Float32Array.from([1, 5, 3, 5, 2, -1, 0, 0, 0, 0, -4, 7]);
    const out = new Float32Array(4);
    core.reduce("sum", x, 2, 3, 2, out);
    assert.deepEqual([...out], [6, 9, -4, 7]);
    core.reduce("max", x, 2, 3, 2, out);
    assert.deepEqual([...out], [3, 5, 0, 7]);
    core.reduce("min", x, 2, 3, 2, out);
    assert.deepEqual([...out], [1, -1, -4, 0]);
    const idx = new Int32Array(4);
    core.argmax(x, 2, 3, 2, idx);
    assert.deepEqual([...idx], [1, 0, 0, 2]);
    const withNaN = new Int32Array(1);
    core.argmax(Float32Array.from([1, Number.NaN, 9]), 1, 3, 1, withNaN);
    assert.equal(withNaN[0], 1);
  });

  test("permute, gatherRows, scatterAddRows (repeated indices add up)", () => {
    // x (2, 3, 2) -> perm [2, 0, 1] -> (2, 2, 3)
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    const out = new Float32Array(12);
    core.permute(x, [2, 3, 2], [2, 0, 1], out);
    assert.deepEqual([...out], [0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
    const table = Float32Array.from([1, 2, 3, 4, 5, 6]); // (3, 2)
    const g = new Float32Array(6);
    core.gatherRows(table, 2, Int32Array.from([2, 0, 2]), g);
    assert.deepEqual([...g], [5, 6, 1, 2, 5, 6]);
    const acc = new Float32Array(6);
    core.scatterAddRows(acc, 2, Int32Array.from([2, 0, 2]), Float32Array.from([1, 1, 2, 2, 3, 3]));
    assert.deepEqual([...acc], [2, 2, 0, 0, 4, 4]);
    assert.throws(
      () => core.gatherRows(table, 2, Int32Array.from([3]), new Float32Array(2)),
      /index 3 at position 0 out of range \[0, 3\)/,
    );
  });

  test("affine, clamp, where, axpy, sumSquares", () => {
    const x = Float32Array.from([-2, 0.5, 3]);
    const out = new Float32Array(3);
    core.affine(x, 2, 1, out);
    assert.deepEqual([...out], [-3, 2, 7]);
    core.clamp(x, -1, 1, out);
    assert.deepEqual([...out], [-1, 0.5, 1]);
    core.where(Float32Array.from([1, 0, 2]), x, Float32Array.from([9, 9, 9]), out);
    assert.deepEqual([...out], [-2, 9, 3]);
    const y = Float32Array.from([1, 1, 1]);
    core.axpy(0.5, x, y);
    assert.deepEqual([...y], [0, 1.25, 2.5]);
    assert.equal(core.sumSquares(x), 4 + 0.25 + 9);
  });
});

// Parity suite: every kernel of every available backend (availableBackends() plus each kernel build
// of the native addon this CPU runs) against the js reference (src/backend/js), on seeded random
// inputs with odd sizes (1, 7, 33, 1023), every gemm transpose combination, gemmHalf (bf16/f16
// weights: the decode and packed paths), batches, strides,
// offsets and subarray views, beta 0 over NaN, masks, aliasing and the error paths.
// Tolerances: exact where the reference's float64 result rounds to the same f32 (add, mul, dtype
// conversions, data movement); otherwise a few ulp, or K * 1e-6 for sums of K products.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AttentionArgs,
  type Backend,
  BINARY_OPS,
  REDUCE_OPS,
  UNARY_OPS,
} from "../../src/backend/backend.js";
import { availableBackends, nativeLoadError } from "../../src/backend/index.js";
import { jsBackend as js } from "../../src/backend/js/index.js";
import { loadNativeBackend, nativeIsas } from "../../src/backend/native/index.js";
import { checkTensor } from "../helpers.js";

/** Deterministic uniform floats in [lo, hi) (LCG). */
function rng(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 4294967296;
  };
}
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r(lo, hi));
}
function ints(n: number, seed: number, hi: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r(0, hi)));
}

const backends: Backend[] = [];
for (const b of availableBackends()) if (b.name !== "js") backends.push(b);
for (const isa of nativeIsas()) {
  const r = loadNativeBackend(undefined, isa);
  if (r.backend && !backends.some((b) => b.name === r.backend!.name)) backends.push(r.backend);
}

if (backends.length === 0) {
  test("native backend parity", {
    skip: `native addon unavailable: ${nativeLoadError ?? "not built"}`,
  }, () => {});
}

const SIZES = [1, 7, 33, 1023];

for (const nb of backends) {
  describe(`parity ${nb.name} vs js`, () => {
    test("gemm: trans combos, alpha/beta, bias, batch, strides, offsets, padding", () => {
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [7, 33, 5],
        [33, 7, 1023],
        [1, 1023, 33],
        [1, 1003, 257], // decode, large enough to run split in row blocks over the pool
        [3, 517, 300],
        [130, 97, 300],
        [200, 160, 64],
        [16, 64, 7],
      ];
      let seed = 1;
      for (const [M, N, K] of shapes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const [alpha, beta, batch, withBias] of [
              [1, 0, 1, 0],
              [0.5, 1, 2, 0],
              [-1.5, 0.25, 3, 1],
              [1, 0, 2, 1],
            ]) {
              const r = rng(seed++);
              const [ar, ac] = transA ? [K, M] : [M, K];
              const [br, bc] = transB ? [N, K] : [K, N];
              const lda = ac + (seed % 3);
              const ldb = bc + (seed % 2);
              const ldc = N + (seed % 4);
              const offA = seed % 5;
              const offB = seed % 3;
              const offC = seed % 7;
              const strideA = ar * lda + 3;
              const strideB = br * ldb + 1;
              const strideC = M * ldc + 2;
              const A = rand(offA + batch * strideA, seed + 11);
              const B = rand(offB + batch * strideB + 4, seed + 12).subarray(4); // a view with a byte offset
              const C0 =
                beta === 0
                  ? new Float32Array(offC + batch * strideC).fill(Number.NaN)
                  : rand(offC + batch * strideC, seed + 13);
              const args = {
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
                offC,
                ldc,
                strideC,
                batch,
                // a view with a byte offset, as a bias tensor inside a larger buffer may be
                bias: withBias ? rand(N + 3, seed + 14, -2, 2).subarray(3) : null,
              };
              const want = C0.slice();
              js.gemm({ ...args, C: want });
              const got = C0.slice();
              nb.gemm({ ...args, C: got });
              if (beta === 0) {
                // only C's own elements change: NaN elsewhere (padding) must stay, and no NaN is read
                for (let b = 0; b < batch; b++)
                  for (let i = 0; i < M; i++)
                    for (let j = 0; j < N; j++)
                      assert.ok(!Number.isNaN(got[offC + b * strideC + i * ldc + j]), "beta 0 read C");
              }
              checkTensor(
                got,
                want,
                { atol: 2e-6 * K + 1e-6, rtol: 1e-5 },
                `gemm M${M} N${N} K${K} tA${transA} tB${transB} bias${withBias} r${r()}`,
              );
            }
          }
        }
      }
    });

    test("gemm: K = 0 scales C by beta and adds the bias; bad sizes throw", () => {
      const C = rand(6, 3);
      const want = C.slice();
      const args = {
        transA: false,
        transB: false,
        M: 2,
        N: 3,
        K: 0,
        alpha: 1,
        A: new Float32Array(0),
        offA: 0,
        lda: 0,
        strideA: 0,
      };
      const rest = {
        B: new Float32Array(0),
        offB: 0,
        ldb: 3,
        strideB: 0,
        beta: 0.5,
        offC: 0,
        ldc: 3,
        strideC: 0,
        batch: 1,
      };
      js.gemm({ ...args, ...rest, C: want });
      nb.gemm({ ...args, ...rest, C });
      checkTensor(C, want, 0, "gemm K=0");
      const bias = new Float32Array([1, -2, 0.5]);
      const scaled = C.slice();
      js.gemm({ ...args, ...rest, bias, C: want });
      nb.gemm({ ...args, ...rest, bias, C });
      checkTensor(C, want, 0, "gemm K=0 with bias");
      for (let i = 0; i < 6; i++) assert.equal(C[i], Math.fround(0.5 * scaled[i] + bias[i % 3]));
      const short = { ...args, ...rest, bias: new Float32Array(2), C: C.slice() };
      assert.throws(() => js.gemm(short), /bias .*shorter/);
      assert.throws(() => nb.gemm(short), /bias .*shorter/);
      const bad = {
        ...args,
        K: 4,
        lda: 4,
        A: new Float32Array(7),
        ...rest,
        ldb: 3,
        B: new Float32Array(12),
        C,
      };
      assert.throws(() => js.gemm(bad));
      assert.throws(() => nb.gemm(bad), /A .*too short/);
    });

    test("gemmHalf: bf16 and f16 weights, decode and packed sizes, offsets, leading dims, beta, bias", () => {
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [1, 37, 33],
        [1, 300, 1023],
        [3, 64, 100],
        [13, 33, 70],
        [14, 64, 300],
        [130, 97, 300],
        [200, 160, 64],
      ];
      let seed = 900;
      for (const [M, N, K] of shapes) {
        for (const dtype of ["bf16", "f16"] as const) {
          for (const [beta, withBias] of [
            [0, false],
            [0.5, false],
            [0, true],
            [0.5, true],
          ] as const) {
            const r = rng(seed++);
            const lda = K + (seed % 3);
            const ldw = K + (seed % 2);
            const ldc = N + (seed % 4);
            const offA = seed % 5;
            const offW = seed % 3;
            const offC = seed % 2;
            const A = rand(offA + (M - 1) * lda + K, seed + 1);
            const Wf = rand(offW + (N - 1) * ldw + K, seed + 2, -0.5, 0.5);
            const W = new Uint16Array(Wf.length);
            if (dtype === "bf16") js.f32ToBf16(Wf, W);
            else js.f32ToF16(Wf, W);
            const C0 = rand(offC + (M - 1) * ldc + N, seed + 3);
            if (beta === 0) for (let i = 0; i < C0.length; i++) C0[i] = Number.NaN;
            const bias = withBias ? rand(N, seed + 4, -2, 2) : null;
            const args = { M, N, K, A, offA, lda, W, offW, ldw, dtype, beta, offC, ldc, bias };
            const want = C0.slice();
            js.gemmHalf({ ...args, C: want });
            const got = C0.slice();
            nb.gemmHalf({ ...args, C: got });
            for (let i = 0; i < M; i++)
              for (let j = 0; j < N; j++) {
                const v = got[offC + i * ldc + j];
                assert.ok(!Number.isNaN(v), `gemmHalf ${dtype} M${M} N${N} K${K}: C[${i},${j}] is NaN`);
              }
            checkTensor(
              got,
              want,
              { atol: 1e-6 * K + 1e-6, rtol: 1e-5 },
              `gemmHalf ${dtype} M${M} N${N} K${K} bias${withBias} r${r()}`,
            );
          }
        }
      }
      const bad = {
        M: 2,
        N: 3,
        K: 4,
        A: new Float32Array(8),
        offA: 0,
        lda: 4,
        W: new Uint16Array(11),
        offW: 0,
        ldw: 4,
      };
      const rest = { dtype: "bf16" as const, beta: 0, C: new Float32Array(6), offC: 0, ldc: 3 };
      assert.throws(() => js.gemmHalf({ ...bad, ...rest }), /W .*too short/);
      assert.throws(() => nb.gemmHalf({ ...bad, ...rest }), /W .*too short/);
    });

    test("unary and unaryBackward: every op", () => {
      for (const op of UNARY_OPS) {
        for (const n of [...SIZES, 70001]) {
          const positive = op === "log" || op === "sqrt" || op === "rsqrt";
          const x = positive ? rand(n, n + 1, 0.01, 9) : rand(n, n + 1, -6, 6);
          const y = new Float32Array(n);
          const yr = new Float32Array(n);
          js.unary(op, x, yr);
          nb.unary(op, x, y);
          checkTensor(y, yr, { atol: 2e-6, rtol: 3e-6 }, `unary ${op} n${n}`);
          const gy = rand(n, n + 2);
          const g = new Float32Array(n);
          const gr = new Float32Array(n);
          js.unaryBackward(op, x, yr, gy, gr);
          nb.unaryBackward(op, x, yr, gy, g);
          checkTensor(g, gr, { atol: 3e-6, rtol: 1e-5 }, `unaryBackward ${op} n${n}`);
          const inPlace = gy.slice(); // out aliasing gy
          nb.unaryBackward(op, x, yr, inPlace, inPlace);
          checkTensor(inPlace, g, 0, `unaryBackward ${op} in place`);
        }
        const x = rand(33, 5, 0.5, 3);
        const y = x.slice();
        nb.unary(op, y, y);
        const yr = new Float32Array(33);
        nb.unary(op, x, yr);
        checkTensor(y, yr, 0, `unary ${op} in place`);
      }
      assert.throws(() => nb.unary("exp", new Float32Array(3), new Float32Array(2)));
    });

    test("binary: every op, same shape and broadcast", () => {
      const cases: [number[], number[], number[]][] = [
        [[1023], [1], [1]], // out shape, a strides, b strides (contiguous)
        [
          [3, 4, 5],
          [5, 0, 1],
          [0, 5, 1],
        ],
        [
          [7, 33],
          [0, 1],
          [1, 0],
        ],
        [
          [2, 1, 3],
          [3, 3, 1],
          [0, 0, 0],
        ],
        [[], [], []],
      ];
      for (const op of BINARY_OPS) {
        for (const n of [...SIZES, 70001]) {
          const a = op === "pow" ? rand(n, 1, 0.1, 3) : rand(n, 1, -3, 3);
          const b = op === "pow" ? rand(n, 2, -2, 2) : rand(n, 2, -3, 3);
          if (op === "eq") for (let i = 0; i < n; i += 3) b[i] = a[i];
          const o = new Float32Array(n);
          const or = new Float32Array(n);
          js.binary(op, a, [1], b, [1], or, [n]);
          nb.binary(op, a, [1], b, [1], o, [n]);
          checkTensor(o, or, op === "pow" ? { atol: 1e-6, rtol: 2e-7 } : 0, `binary ${op} n${n}`);
        }
        for (const [shape, as, bs] of cases) {
          const total = shape.reduce((p, d) => p * d, 1);
          const span = (st: number[]) => 1 + shape.reduce((p, d, i) => p + (d - 1) * st[i], 0);
          const a = rand(span(as), 3, 0.1, 3);
          const b = rand(span(bs), 4, -2, 2);
          const o = new Float32Array(total);
          const or = new Float32Array(total);
          js.binary(op, a, as, b, bs, or, shape);
          nb.binary(op, a, as, b, bs, o, shape);
          checkTensor(o, or, op === "pow" ? { atol: 1e-6, rtol: 2e-7 } : 0, `binary ${op} [${shape}]`);
        }
      }
      const nan = Float32Array.of(Number.NaN, 1, -0);
      const other = Float32Array.of(1, Number.NaN, 0);
      for (const op of ["max", "min"] as const) {
        const o = new Float32Array(3);
        const or = new Float32Array(3);
        js.binary(op, nan, [1], other, [1], or, [3]);
        nb.binary(op, nan, [1], other, [1], o, [3]);
        assert.deepEqual([...o].map(String), [...or].map(String), `${op} NaN / signed zero`);
      }
    });

    test("affine, clamp, where, axpy", () => {
      for (const n of [...SIZES, 70001]) {
        const x = rand(n, n, -3, 3);
        const y = rand(n, n + 1);
        const c = rand(n, n + 2).map((v) => (v > 0 ? 1 : 0));
        const pairs: [string, (b: Backend, out: Float32Array) => void][] = [
          ["affine", (b, o) => b.affine(x, 1.7, -0.3, o)],
          ["clamp", (b, o) => b.clamp(x, -1, 0.5, o)],
          ["where", (b, o) => b.where(c, x, y, o)],
          [
            "axpy",
            (b, o) => {
              o.set(y);
              b.axpy(0.37, x, o);
            },
          ],
        ];
        for (const [name, f] of pairs) {
          const o = new Float32Array(n);
          const or = new Float32Array(n);
          f(js, or);
          f(nb, o);
          checkTensor(o, or, { atol: 1e-6, rtol: 1e-6 }, `${name} n${n}`);
        }
      }
    });

    test("reduce and argmax over (outer, n, inner)", () => {
      const shapes = [
        [1, 1023, 1],
        [7, 33, 1],
        [3, 7, 5],
        [2, 1, 33],
        [4, 0, 3],
        [1, 70001, 1],
      ];
      for (const [outer, n, inner] of shapes) {
        const x = rand(outer * n * inner, n + inner).map((v) => Math.round(v * 8) / 8); // ties for argmax
        if (x.length > 5) x[5] = Number.NaN;
        for (const op of REDUCE_OPS) {
          const o = new Float32Array(outer * inner);
          const or = new Float32Array(outer * inner);
          js.reduce(op, x, outer, n, inner, or);
          nb.reduce(op, x, outer, n, inner, o);
          checkTensor(o, or, { atol: 1e-6, rtol: 1e-6 }, `reduce ${op} (${outer}, ${n}, ${inner})`);
        }
        if (n === 0) continue;
        const a = new Int32Array(outer * inner);
        const ar = new Int32Array(outer * inner);
        js.argmax(x, outer, n, inner, ar);
        nb.argmax(x, outer, n, inner, a);
        assert.deepEqual(a, ar, `argmax (${outer}, ${n}, ${inner})`);
      }
    });

    test("permute, gatherRows, scatterAddRows", () => {
      const cases: [number[], number[]][] = [
        [
          [2, 3, 4],
          [2, 0, 1],
        ],
        [
          [2, 3, 4],
          [1, 0, 2],
        ],
        [
          [1, 7, 1, 33],
          [3, 1, 0, 2],
        ],
        [
          [3, 2, 5, 2, 3],
          [4, 2, 0, 3, 1],
        ],
        [[1023], [0]],
        [
          [33, 65],
          [1, 0],
        ],
      ];
      for (const [shape, perm] of cases) {
        const x = rand(
          shape.reduce((p, d) => p * d, 1),
          9,
        );
        const o = new Float32Array(x.length);
        const or = new Float32Array(x.length);
        js.permute(x, shape, perm, or);
        nb.permute(x, shape, perm, o);
        checkTensor(o, or, 0, `permute [${shape}] [${perm}]`);
      }
      for (const cols of [1, 7, 33]) {
        const table = rand(11 * cols, cols);
        const idx = Int32Array.from([3, 0, 10, 3, 3, 7, 1]);
        const o = new Float32Array(idx.length * cols);
        const or = new Float32Array(idx.length * cols);
        js.gatherRows(table, cols, idx, or);
        nb.gatherRows(table, cols, idx, o);
        checkTensor(o, or, 0, `gatherRows cols ${cols}`);
        const t1 = table.slice();
        const t2 = table.slice();
        js.scatterAddRows(t1, cols, idx, o);
        nb.scatterAddRows(t2, cols, idx, o);
        checkTensor(t2, t1, 0, `scatterAddRows cols ${cols}`);
        assert.throws(
          () => nb.gatherRows(table, cols, Int32Array.of(11), new Float32Array(cols)),
          /out of range/,
        );
      }
    });

    test("softmax, logSoftmax and their backward", () => {
      for (const [rows, cols] of [
        [1, 1],
        [7, 33],
        [3, 1023],
        [40, 513],
      ]) {
        const x = rand(rows * cols, cols, -8, 8);
        if (rows > 1) x.fill(Number.NEGATIVE_INFINITY, 0, cols); // a fully masked row
        const gy = rand(rows * cols, cols + 1);
        for (const [f, bw] of [
          ["softmax", "softmaxBackward"],
          ["logSoftmax", "logSoftmaxBackward"],
        ] as const) {
          const xs = f === "logSoftmax" ? x.map((v) => (Number.isFinite(v) ? v : 0)) : x;
          const y = new Float32Array(rows * cols);
          const yr = new Float32Array(rows * cols);
          js[f](xs, rows, cols, yr);
          nb[f](xs, rows, cols, y);
          checkTensor(y, yr, { atol: 2e-6, rtol: 3e-6 }, `${f} (${rows}, ${cols})`);
          const g = new Float32Array(rows * cols);
          const gr = new Float32Array(rows * cols);
          js[bw](yr, gy, rows, cols, gr);
          nb[bw](yr, gy, rows, cols, g);
          checkTensor(g, gr, { atol: 1e-5, rtol: 1e-5 }, `${bw} (${rows}, ${cols})`);
          const inPlace = gy.slice();
          nb[bw](yr, inPlace, rows, cols, inPlace);
          checkTensor(inPlace, g, 0, `${bw} in place`);
        }
      }
    });

    test("layerNorm, rmsNorm and their backward (with and without weights)", () => {
      for (const [rows, cols] of [
        [1, 1],
        [7, 33],
        [3, 1023],
        [64, 768],
      ]) {
        const x = rand(rows * cols, cols, -2, 3);
        const w = rand(cols, 2, 0.5, 1.5);
        const b = rand(cols, 3);
        const gy = rand(rows * cols, 4);
        for (const withW of [true, false]) {
          const W = withW ? w : null;
          const run = (be: Backend) => {
            const out = new Float32Array(rows * cols);
            const mean = new Float32Array(rows);
            const rstd = new Float32Array(rows);
            be.layerNorm(x, W, withW ? b : null, rows, cols, 1e-5, out, mean, rstd);
            const gx = new Float32Array(rows * cols);
            const gw = withW ? Float32Array.from(w) : null; // accumulates onto existing values
            const gb = withW ? Float32Array.from(b) : null;
            be.layerNormBackward(x, W, mean, rstd, gy, rows, cols, gx, gw, gb);
            const rout = new Float32Array(rows * cols);
            const rr = new Float32Array(rows);
            be.rmsNorm(x, W, rows, cols, 1e-6, rout, rr);
            const rgx = new Float32Array(rows * cols);
            const rgw = withW ? Float32Array.from(w) : null;
            be.rmsNormBackward(x, W, rr, gy, rows, cols, rgx, rgw);
            return { out, mean, rstd, gx, gw, gb, rout, rr, rgx, rgw };
          };
          const got = run(nb);
          const want = run(js);
          for (const key of Object.keys(want) as (keyof typeof want)[]) {
            const g = got[key];
            const r = want[key];
            if (r === null || g === null) assert.equal(g, r);
            else checkTensor(g, r, { atol: 2e-5, rtol: 2e-5 }, `norms ${key} (${rows}, ${cols}) w=${withW}`);
          }
        }
      }
    });

    test("rope forward and inverse, in place", () => {
      for (const [B, T, nh, hs] of [
        [1, 1, 1, 2],
        [2, 7, 3, 8],
        [1, 33, 2, 64],
      ]) {
        const maxPos = T + 5;
        const cos = rand(maxPos * (hs / 2), 1);
        const sin = rand(maxPos * (hs / 2), 2);
        const pos = ints(B * T, 3, maxPos);
        const x = rand(B * T * nh * hs, 4);
        for (const inverse of [false, true]) {
          const o = new Float32Array(x.length);
          const or = new Float32Array(x.length);
          js.rope(x, B, T, nh, hs, cos, sin, pos, inverse, or);
          nb.rope(x, B, T, nh, hs, cos, sin, pos, inverse, o);
          checkTensor(
            o,
            or,
            { atol: 1e-6, rtol: 1e-6 },
            `rope (${B}, ${T}, ${nh}, ${hs}) inverse=${inverse}`,
          );
          const inPlace = x.slice();
          nb.rope(inPlace, B, T, nh, hs, cos, sin, pos, inverse, inPlace);
          checkTensor(inPlace, o, 0, "rope in place");
        }
        const bad = Int32Array.from(pos);
        bad[0] = maxPos;
        assert.throws(
          () => nb.rope(x, B, T, nh, hs, cos, sin, bad, false, new Float32Array(x.length)),
          /outside the cache/,
        );
      }
    });

    test("attention forward and backward: causal, KV cache, GQA, padding, segments", () => {
      type Cfg = {
        B: number;
        T: number;
        S: number;
        nh: number;
        nkv: number;
        hs: number;
        causal: boolean;
        pad?: boolean;
        seg?: boolean;
      };
      const cfgs: Cfg[] = [
        { B: 1, T: 1, S: 1, nh: 1, nkv: 1, hs: 1, causal: false },
        { B: 2, T: 7, S: 7, nh: 4, nkv: 2, hs: 16, causal: true },
        { B: 1, T: 5, S: 33, nh: 2, nkv: 1, hs: 8, causal: true },
        { B: 2, T: 33, S: 33, nh: 2, nkv: 2, hs: 8, causal: true, pad: true, seg: true },
        { B: 1, T: 3, S: 130, nh: 3, nkv: 1, hs: 33, causal: false, pad: true },
        { B: 2, T: 70, S: 70, nh: 4, nkv: 2, hs: 64, causal: true },
        // packed rows over several 64-row blocks: whole tiles masked by segments are skipped
        { B: 2, T: 200, S: 200, nh: 2, nkv: 1, hs: 16, causal: true, seg: true },
        { B: 1, T: 150, S: 150, nh: 2, nkv: 2, hs: 8, causal: false, seg: true },
        // short sequences (a ViT's 16 patches): only the key columns a block has are computed
        { B: 3, T: 16, S: 16, nh: 4, nkv: 4, hs: 24, causal: false },
        { B: 2, T: 17, S: 49, nh: 2, nkv: 2, hs: 24, causal: true, pad: true },
      ];
      let seed = 100;
      for (const c of cfgs) {
        const { B, T, S, nh, nkv, hs } = c;
        const keyPadding = c.pad ? ints(B * S, seed++, 4).map((v) => (v === 0 ? 0 : 1)) : null;
        if (keyPadding && c.seg) keyPadding.fill(0, 0, S); // batch 0: every key masked
        // segments of 8 positions, ids restarting at 128: tiles of 64 x 64 with disjoint ids are
        // skipped, while block 2 shares ids with block 0 (no ordering of ids is assumed)
        const segments = c.seg
          ? Int32Array.from({ length: B * T }, (_, i) => Math.floor(((i % T) % 128) / 8))
          : null;
        const a: AttentionArgs = {
          ...c,
          scale: 1 / Math.sqrt(hs),
          q: rand(B * T * nh * hs, seed++, -2, 2),
          k: rand(B * S * nkv * hs, seed++, -2, 2),
          v: rand(B * S * nkv * hs, seed++),
          keyPadding,
          segments,
        };
        const label = JSON.stringify(c);
        const run = (be: Backend) => {
          const out = new Float32Array(B * T * nh * hs);
          const lse = new Float32Array(B * nh * T);
          be.attention(a, out, lse);
          const gOut = rand(out.length, 7);
          const gq = new Float32Array(a.q.length).fill(9); // overwritten, not accumulated
          const gk = new Float32Array(a.k.length).fill(9);
          const gv = new Float32Array(a.v.length).fill(9);
          be.attentionBackward(a, out, lse, gOut, gq, gk, gv);
          return { out, lse, gq, gk, gv };
        };
        const got = run(nb);
        const want = run(js);
        for (const key of ["out", "lse", "gq", "gk", "gv"] as const) {
          checkTensor(got[key], want[key], { atol: 2e-5, rtol: 2e-5 }, `attention ${key} ${label}`);
        }
      }
      const bad: AttentionArgs = {
        B: 1,
        T: 2,
        S: 1,
        nh: 2,
        nkv: 1,
        hs: 2,
        scale: 1,
        causal: true,
        q: new Float32Array(8),
        k: new Float32Array(2),
        v: new Float32Array(2),
        keyPadding: null,
        segments: null,
      };
      assert.throws(() => nb.attention(bad, new Float32Array(8), new Float32Array(4)), /causal needs S >= T/);
    });

    test("crossEntropy and its backward, ignore index, aliasing", () => {
      for (const [rows, V] of [
        [1, 1],
        [7, 33],
        [5, 1023],
        [3, 32001],
      ]) {
        const logits = rand(rows * V, V, -10, 10);
        const targets = ints(rows, V, V);
        if (rows > 2) targets[1] = -100;
        const run = (be: Backend) => {
          const losses = new Float32Array(rows);
          const lse = new Float32Array(rows);
          be.crossEntropy(logits, targets, rows, V, -100, losses, lse);
          const g = logits.slice(); // glogits aliasing logits
          be.crossEntropyBackward(g, targets, lse, rows, V, -100, 0.25, g);
          return { losses, lse, g };
        };
        const got = run(nb);
        const want = run(js);
        for (const key of ["losses", "lse", "g"] as const) {
          checkTensor(got[key], want[key], { atol: 2e-6, rtol: 2e-6 }, `crossEntropy ${key} (${rows}, ${V})`);
        }
      }
      const bad = Int32Array.of(5);
      assert.throws(
        () => nb.crossEntropy(new Float32Array(3), bad, 1, 3, -100, new Float32Array(1), new Float32Array(1)),
        /target 5/,
      );
    });

    test("adamw and sumSquares", () => {
      for (const n of [...SIZES, 70001]) {
        const state = () => ({
          p: rand(n, 1),
          g: rand(n, 2),
          m: rand(n, 3, -0.1, 0.1),
          v: rand(n, 4, 0, 0.01),
        });
        const s1 = state();
        const s2 = state();
        for (const [be, s] of [
          [js, s1],
          [nb, s2],
        ] as const) {
          be.adamw(s.p, s.g, s.m, s.v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1 - 0.9 ** 3, 1 - 0.999 ** 3);
        }
        checkTensor(s2.p, s1.p, { atol: 1e-7, rtol: 1e-6 }, `adamw p n${n}`);
        checkTensor(s2.m, s1.m, { atol: 1e-8, rtol: 1e-6 }, `adamw m n${n}`);
        checkTensor(s2.v, s1.v, { atol: 1e-9, rtol: 1e-6 }, `adamw v n${n}`);
        const ss = nb.sumSquares(s1.g);
        const ssr = js.sumSquares(s1.g);
        assert.ok(Math.abs(ss - ssr) <= 1e-12 * ssr + 1e-12, `sumSquares n${n}: ${ss} vs ${ssr}`);
      }
    });

    test("dtype conversions: every 16-bit pattern, f32 specials and rounding ties, exact", () => {
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      for (const f of ["bf16ToF32", "f16ToF32"] as const) {
        const o = new Float32Array(65536);
        const or = new Float32Array(65536);
        js[f](all, or);
        nb[f](all, o);
        assert.deepEqual(new Uint32Array(o.buffer), new Uint32Array(or.buffer), f);
      }
      const specials = [
        0,
        -0,
        1,
        -1,
        65504,
        65519.99,
        65520,
        1e-8,
        6e-8,
        2 ** -24,
        2.98e-8,
        1e-40,
        3.4e38,
        Infinity,
        -Infinity,
        NaN,
        -NaN,
      ];
      const x = new Float32Array(70000);
      const r = rng(5);
      for (let i = 0; i < x.length; i++)
        x[i] = i < specials.length ? specials[i] : r(-1, 1) * 2 ** Math.floor(r(-30, 20));
      const u = new Uint32Array(x.buffer);
      for (let i = specials.length; i < 2000; i++) u[i] = (u[i] & 0xffff0000) | (i % 2 ? 0x8000 : 0x1000); // bf16 / f16 ties
      u[1999] = 0xffc12345; // a NaN with a payload and the sign set
      for (const f of ["f32ToBf16", "f32ToF16"] as const) {
        const o = new Uint16Array(x.length);
        const or = new Uint16Array(x.length);
        js[f](x, or);
        nb[f](x, o);
        assert.deepEqual(o, or, f);
      }
    });
  });
}

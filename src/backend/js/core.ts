// js backend, core kernels: gemm, elementwise, reductions, data movement, AdamW, and (from
// convert.ts) dtype conversion.
// Plain loops in llm.c style; this file is the reference definition that every other backend is
// tested against (test/backend/parity.test.ts), so correctness and readability come first.
// Sums accumulate in float64 (JS numbers) and round to f32 once on store.
// Contract: src/backend/backend.ts.

import type { BinaryOp, F32, GemmArgs, I32, ReduceOp, UnaryOp } from "../backend.js";

export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./convert.js";

// ---------------------------------------------------------------------------------------------
// linear algebra

/** Batched sgemm, C_b = alpha * op(A_b) @ op(B_b) + beta * C_b (+ bias) (see GemmArgs).
 * op(A) is packed into a contiguous (M, K) buffer when transA, so only two inner loops remain:
 * i-k-j with a float64 row accumulator for B (K, N), and row dot products for B^T (N, K). */
export function gemm(g: GemmArgs): void {
  const { M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, batch } = g;
  checkGemm(g);
  const bias = g.bias ?? null;
  const packed = g.transA ? new Float32Array(M * K) : null;
  const acc = new Float64Array(N); // one row of alpha-free op(A) @ op(B)
  for (let b = 0; b < batch; b++) {
    let a = A;
    let aOff = g.offA + b * g.strideA;
    let aLd = lda;
    if (packed) {
      // A_b is (K, M) with leading dim lda -> packed (M, K)
      for (let k = 0; k < K; k++) {
        const src = aOff + k * lda;
        for (let i = 0; i < M; i++) packed[i * K + k] = A[src + i];
      }
      a = packed;
      aOff = 0;
      aLd = K;
    }
    const bOff = g.offB + b * g.strideB;
    const cOff = g.offC + b * g.strideC;
    for (let i = 0; i < M; i++) {
      const aRow = aOff + i * aLd;
      if (g.transB) {
        // B_b is (N, K): acc[j] = dot(A[i, :], B[j, :]), four columns per pass over A's row
        let j = 0;
        for (; j + 4 <= N; j += 4) {
          const b0 = bOff + j * ldb;
          const b1 = b0 + ldb;
          const b2 = b1 + ldb;
          const b3 = b2 + ldb;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let k = 0; k < K; k++) {
            const aik = a[aRow + k];
            s0 += aik * B[b0 + k];
            s1 += aik * B[b1 + k];
            s2 += aik * B[b2 + k];
            s3 += aik * B[b3 + k];
          }
          acc[j] = s0;
          acc[j + 1] = s1;
          acc[j + 2] = s2;
          acc[j + 3] = s3;
        }
        for (; j < N; j++) {
          const bRow = bOff + j * ldb;
          let s = 0;
          for (let k = 0; k < K; k++) s += a[aRow + k] * B[bRow + k];
          acc[j] = s;
        }
      } else {
        // B_b is (K, N): acc[:] += A[i, k] * B[k, :], four rows of B per pass over acc
        acc.fill(0);
        let k = 0;
        for (; k + 4 <= K; k += 4) {
          const a0 = a[aRow + k];
          const a1 = a[aRow + k + 1];
          const a2 = a[aRow + k + 2];
          const a3 = a[aRow + k + 3];
          const b0 = bOff + k * ldb;
          const b1 = b0 + ldb;
          const b2 = b1 + ldb;
          const b3 = b2 + ldb;
          for (let j = 0; j < N; j++)
            acc[j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
        }
        for (; k < K; k++) {
          const aik = a[aRow + k];
          const bRow = bOff + k * ldb;
          for (let j = 0; j < N; j++) acc[j] += aik * B[bRow + j];
        }
      }
      const cRow = cOff + i * ldc;
      if (bias) for (let j = 0; j < N; j++) acc[j] = alpha * acc[j] + bias[j];
      else if (alpha !== 1) for (let j = 0; j < N; j++) acc[j] *= alpha;
      if (beta === 0) for (let j = 0; j < N; j++) C[cRow + j] = acc[j];
      else for (let j = 0; j < N; j++) C[cRow + j] = acc[j] + beta * C[cRow + j];
    }
  }
}

function checkGemm(g: GemmArgs): void {
  const { M, N, K, batch } = g;
  const dims = `gemm(M=${M}, N=${N}, K=${K}, batch=${batch}, transA=${g.transA}, transB=${g.transB})`;
  if (![M, N, K, batch].every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`${dims}: bad dimensions`);
  if (M === 0 || N === 0 || batch === 0) return;
  const [ar, ac] = g.transA ? [K, M] : [M, K];
  const [br, bc] = g.transB ? [N, K] : [K, N];
  const last = (off: number, stride: number, rows: number, ld: number, cols: number) =>
    rows === 0 || cols === 0 ? off : off + (batch - 1) * stride + (rows - 1) * ld + cols;
  if (g.lda < ac || g.ldb < bc || g.ldc < N) {
    throw new Error(`${dims}: leading dims lda=${g.lda} ldb=${g.ldb} ldc=${g.ldc} too small`);
  }
  if (last(g.offA, g.strideA, ar, g.lda, ac) > g.A.length)
    throw new Error(`${dims}: A (length ${g.A.length}) too short`);
  if (last(g.offB, g.strideB, br, g.ldb, bc) > g.B.length)
    throw new Error(`${dims}: B (length ${g.B.length}) too short`);
  if (last(g.offC, g.strideC, M, g.ldc, N) > g.C.length)
    throw new Error(`${dims}: C (length ${g.C.length}) too short`);
  if (g.bias && g.bias.length < N) throw new Error(`${dims}: bias (length ${g.bias.length}) shorter than N`);
}

// ---------------------------------------------------------------------------------------------
// elementwise

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const GELU_TANH_K = Math.sqrt(2 / Math.PI);
const GELU_TANH_C = 0.044715;

/** erf in float64 to ~1e-15: the all-positive series erf(x) = 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!!
 * for |x| < 3 (no cancellation), and the Laplace continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 0; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
    }
    const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }
  const r = 1 - erfcLarge(ax);
  return x < 0 ? -r : r;
}

/** erfc(x) for x >= 3: e^{-x^2}/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...)))), evaluated
 * bottom-up with a fixed depth that converges to float64 precision for x >= 3. */
function erfcLarge(x: number): number {
  if (x > 27) return 0;
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** 0.5 * (1 + erf(x / sqrt 2)) = Phi(x), accurate in the far left tail (via erfc). */
function normalCdf(x: number): number {
  const z = x * SQRT1_2;
  if (z < -3) return 0.5 * erfcLarge(-z);
  return 0.5 * (1 + erf(z));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** out[i] = f(x[i]); out may alias x. */
export function unary(op: UnaryOp, x: F32, out: F32): void {
  const n = x.length;
  checkLen("unary", op, n, out.length);
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case "rsqrt":
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]);
      return;
    case "relu":
      for (let i = 0; i < n; i++) out[i] = Math.max(x[i], 0);
      return;
    case "gelu":
      for (let i = 0; i < n; i++) out[i] = x[i] * normalCdf(x[i]);
      return;
    case "gelu_tanh":
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = 0.5 * v * (1 + Math.tanh(GELU_TANH_K * (v + GELU_TANH_C * v * v * v)));
      }
      return;
    case "quick_gelu":
      for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(1.702 * x[i]);
      return;
    case "silu":
      for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(x[i]);
      return;
    case "abs":
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
    case "square":
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      return;
    case "sin":
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      return;
    case "cos":
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      return;
    default:
      throw new Error(`unary: unknown op "${op}"`);
  }
}

/** out[i] = gy[i] * f'(x[i]). exp, sigmoid and tanh read y = f(x); the others read x only. */
export function unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, out: F32): void {
  const n = x.length;
  checkLen("unaryBackward", op, n, gy.length);
  checkLen("unaryBackward", op, n, out.length);
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -gy[i];
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = gy[i] * y[i];
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = gy[i] / x[i];
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = (0.5 * gy[i]) / Math.sqrt(x[i]);
      return;
    case "rsqrt":
      // d/dx x^{-1/2} = -0.5 x^{-3/2}
      for (let i = 0; i < n; i++) {
        const r = 1 / Math.sqrt(x[i]);
        out[i] = -0.5 * gy[i] * r * r * r;
      }
      return;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = gy[i] * (1 - y[i] * y[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) out[i] = gy[i] * y[i] * (1 - y[i]);
      return;
    case "relu":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? gy[i] : 0;
      return;
    case "gelu":
      // Phi(x) + x phi(x)
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = gy[i] * (normalCdf(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
      return;
    case "gelu_tanh":
      // 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2),  t = tanh(k (x + c x^3))
      for (let i = 0; i < n; i++) {
        const v = x[i];
        const t = Math.tanh(GELU_TANH_K * (v + GELU_TANH_C * v * v * v));
        const du = GELU_TANH_K * (1 + 3 * GELU_TANH_C * v * v);
        out[i] = gy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
      }
      return;
    case "quick_gelu":
      // s + 1.702 x s (1 - s),  s = sigmoid(1.702 x)
      for (let i = 0; i < n; i++) {
        const s = sigmoid(1.702 * x[i]);
        out[i] = gy[i] * (s + 1.702 * x[i] * s * (1 - s));
      }
      return;
    case "silu":
      // s (1 + x (1 - s)),  s = sigmoid(x)
      for (let i = 0; i < n; i++) {
        const s = sigmoid(x[i]);
        out[i] = gy[i] * s * (1 + x[i] * (1 - s));
      }
      return;
    case "abs":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? gy[i] : x[i] < 0 ? -gy[i] : 0;
      return;
    case "square":
      for (let i = 0; i < n; i++) out[i] = 2 * x[i] * gy[i];
      return;
    case "sin":
      for (let i = 0; i < n; i++) out[i] = gy[i] * Math.cos(x[i]);
      return;
    case "cos":
      for (let i = 0; i < n; i++) out[i] = -gy[i] * Math.sin(x[i]);
      return;
    default:
      throw new Error(`unaryBackward: unknown op "${op}"`);
  }
}

/** Broadcasting binary op over outShape; aStrides/bStrides have 0 on broadcast dimensions.
 * Walks out in row-major order one last-axis row at a time. */
export function binary(
  op: BinaryOp,
  a: F32,
  aStrides: number[],
  b: F32,
  bStrides: number[],
  out: F32,
  outShape: number[],
): void {
  const r = outShape.length;
  if (aStrides.length !== r || bStrides.length !== r) {
    throw new Error(
      `binary ${op}: strides of rank ${aStrides.length}/${bStrides.length} for an output of rank ${r}`,
    );
  }
  let total = 1;
  for (const d of outShape) total *= d;
  checkLen("binary", op, total, out.length);
  if (total === 0) return;
  if (r === 0) {
    binaryRow(op, a, 0, 0, b, 0, 0, out, 0, 1);
    return;
  }
  const n = outShape[r - 1];
  const sa = aStrides[r - 1];
  const sb = bStrides[r - 1];
  const idx = new Array<number>(r - 1).fill(0); // index over the leading r-1 axes
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < total; o += n) {
    binaryRow(op, a, ia, sa, b, ib, sb, out, o, n);
    // increment the multi-index, moving ia/ib by the strides
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ia += aStrides[d];
      ib += bStrides[d];
      if (idx[d] < outShape[d]) break;
      ia -= aStrides[d] * outShape[d];
      ib -= bStrides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

function binaryRow(
  op: BinaryOp,
  a: F32,
  ia: number,
  sa: number,
  b: F32,
  ib: number,
  sb: number,
  out: F32,
  o: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] + b[ib + j * sb];
      return;
    case "sub":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] - b[ib + j * sb];
      return;
    case "mul":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] * b[ib + j * sb];
      return;
    case "div":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] / b[ib + j * sb];
      return;
    case "pow":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] ** b[ib + j * sb];
      return;
    case "max":
      for (let j = 0; j < n; j++) out[o + j] = Math.max(a[ia + j * sa], b[ib + j * sb]);
      return;
    case "min":
      for (let j = 0; j < n; j++) out[o + j] = Math.min(a[ia + j * sa], b[ib + j * sb]);
      return;
    case "eq":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] === b[ib + j * sb] ? 1 : 0;
      return;
    case "lt":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] < b[ib + j * sb] ? 1 : 0;
      return;
    case "gt":
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] > b[ib + j * sb] ? 1 : 0;
      return;
    default:
      throw new Error(`binary: unknown op "${op}"`);
  }
}

/** out[i] = x[i] * s + t; out may alias x. */
export function affine(x: F32, s: number, t: number, out: F32): void {
  checkLen("affine", "", x.length, out.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * s + t;
}

/** out[i] = min(max(x[i], lo), hi). */
export function clamp(x: F32, lo: number, hi: number, out: F32): void {
  checkLen("clamp", "", x.length, out.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(Math.max(x[i], lo), hi);
}

/** out[i] = cond[i] != 0 ? a[i] : b[i]. */
export function where(cond: F32, a: F32, b: F32, out: F32): void {
  const n = out.length;
  if (cond.length !== n || a.length !== n || b.length !== n) {
    throw new Error(`where: lengths cond ${cond.length}, a ${a.length}, b ${b.length}, out ${n} differ`);
  }
  for (let i = 0; i < n; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
}

/** y += alpha * x. */
export function axpy(alpha: number, x: F32, y: F32): void {
  checkLen("axpy", "", x.length, y.length);
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
}

function checkLen(kernel: string, op: string, want: number, got: number): void {
  if (want !== got)
    throw new Error(`${kernel}${op ? ` ${op}` : ""}: array of length ${got} where ${want} is needed`);
}

// ---------------------------------------------------------------------------------------------
// reductions over the middle axis of (outer, n, inner)

/** out (outer, inner) = reduce over n. Empty sum is 0; empty max/min are -Inf/+Inf; NaN propagates. */
export function reduce(op: ReduceOp, x: F32, outer: number, n: number, inner: number, out: F32): void {
  checkLen("reduce", op, outer * n * inner, x.length);
  checkLen("reduce", op, outer * inner, out.length);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    if (op === "sum") {
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      }
    } else if (op === "max") {
      acc.fill(Number.NEGATIVE_INFINITY);
      for (let k = 0; k < n; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] = Math.max(acc[i], x[row + i]);
      }
    } else if (op === "min") {
      acc.fill(Number.POSITIVE_INFINITY);
      for (let k = 0; k < n; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] = Math.min(acc[i], x[row + i]);
      }
    } else {
      throw new Error(`reduce: unknown op "${op}"`);
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i];
  }
}

/** out (outer, inner) = index of the first maximum over n (a NaN counts as the maximum, as in
 * PyTorch); n must be positive. */
export function argmax(x: F32, outer: number, n: number, inner: number, out: I32): void {
  checkLen("argmax", "", outer * n * inner, x.length);
  checkLen("argmax", "", outer * inner, out.length);
  if (n === 0 && outer * inner > 0) throw new Error("argmax: cannot take the argmax of an empty axis");
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let i = 0; i < inner; i++) {
      let best = x[base + i];
      let bi = 0;
      for (let k = 1; k < n && !Number.isNaN(best); k++) {
        const v = x[base + k * inner + i];
        if (v > best || Number.isNaN(v)) {
          best = v;
          bi = k;
        }
      }
      out[o * inner + i] = bi;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// data movement

/** out = x permuted: out has shape shape[perm[i]]; walks out row-major. */
export function permute(x: F32, shape: number[], perm: number[], out: F32): void {
  const r = shape.length;
  if (perm.length !== r || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${r} axes`);
  }
  let total = 1;
  for (const d of shape) total *= d;
  checkLen("permute", "", total, x.length);
  checkLen("permute", "", total, out.length);
  if (total === 0) return;
  if (r === 0) {
    out[0] = x[0];
    return;
  }
  const inStrides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    inStrides[d] = acc;
    acc *= shape[d];
  }
  const oShape = perm.map((p) => shape[p]);
  const oStrides = perm.map((p) => inStrides[p]); // input stride of each output axis
  const n = oShape[r - 1];
  const s = oStrides[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let ix = 0;
  for (let o = 0; o < total; o += n) {
    for (let j = 0; j < n; j++) out[o + j] = x[ix + j * s];
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ix += oStrides[d];
      if (idx[d] < oShape[d]) break;
      ix -= oStrides[d] * oShape[d];
      idx[d] = 0;
    }
  }
}

/** out[r, :] = table[idx[r], :]. */
export function gatherRows(table: F32, cols: number, idx: I32, out: F32): void {
  checkRows("gatherRows", table, cols, idx);
  checkLen("gatherRows", "", idx.length * cols, out.length);
  for (let r = 0; r < idx.length; r++) {
    const src = idx[r] * cols;
    const dst = r * cols;
    for (let j = 0; j < cols; j++) out[dst + j] = table[src + j];
  }
}

/** table[idx[r], :] += src[r, :] (accumulates; repeated indices add up). */
export function scatterAddRows(table: F32, cols: number, idx: I32, src: F32): void {
  checkRows("scatterAddRows", table, cols, idx);
  checkLen("scatterAddRows", "", idx.length * cols, src.length);
  for (let r = 0; r < idx.length; r++) {
    const dst = idx[r] * cols;
    const s = r * cols;
    for (let j = 0; j < cols; j++) table[dst + j] += src[s + j];
  }
}

function checkRows(kernel: string, table: F32, cols: number, idx: I32): number {
  if (cols <= 0 ? table.length !== 0 : table.length % cols !== 0) {
    throw new Error(`${kernel}: table of length ${table.length} is not a whole number of rows of ${cols}`);
  }
  const rows = cols > 0 ? table.length / cols : 0;
  for (let r = 0; r < idx.length; r++) {
    if (idx[r] < 0 || idx[r] >= rows)
      throw new Error(`${kernel}: index ${idx[r]} at position ${r} out of range [0, ${rows})`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// optimiser

/** One AdamW step in place (decoupled weight decay, bias-corrected; see Backend.adamw). */
export function adamw(
  p: F32,
  g: F32,
  m: F32,
  v: F32,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  bc1: number,
  bc2: number,
): void {
  const n = p.length;
  if (g.length !== n || m.length !== n || v.length !== n) {
    throw new Error(`adamw: lengths p ${n}, g ${g.length}, m ${m.length}, v ${v.length} differ`);
  }
  for (let i = 0; i < n; i++) {
    const pi = p[i] - lr * weightDecay * p[i];
    const mi = beta1 * m[i] + (1 - beta1) * g[i];
    const vi = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

/** sum of squares, accumulated in float64. */
export function sumSquares(x: F32): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

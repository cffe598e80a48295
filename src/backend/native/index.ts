// The native backend: the C Node-API addon (native/*.c, built by node-gyp from binding.gyp) wrapped
// as a Backend named "native-<isa>". Contract: src/backend/backend.ts; reference: src/backend/js.
// The addon holds three builds of every kernel (avx512, avx2, generic) and reports which ones this
// CPU runs; the best is the default, and tests load each one. Loading never throws: any failure
// (no build, wrong platform, missing symbol) comes back as { backend: null, error } and the caller
// falls back to js. Every Backend kernel runs in C; only `binary` with rank above 8 (which no model
// produces) goes to the js reference.
// Per-call overhead is kept small: typed arrays and numbers go straight to C (Node passes the
// data pointer of the view, so subarray byte offsets are honoured), and the many scalars of gemm,
// attention, binary and permute travel in reused Float64Array scratch buffers.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type AttentionArgs,
  type Backend,
  BINARY_OPS,
  type BinaryOp,
  type DecodeLayerArgs,
  type F32,
  type GemmArgs,
  type GemmHalfArgs,
  type I32,
  REDUCE_OPS,
  type ReduceOp,
  type U16,
  UNARY_OPS,
  type UnaryOp,
} from "../backend.js";
import { binary as jsBinary } from "../js/core.js";

/** A kernel build of the addon: AVX-512, AVX2 + FMA, or portable C. */
export type NativeIsa = "avx512" | "avx2" | "generic";

type P = Float64Array;

/** The addon's kernel object for one ISA (native/addon.c, native/addon_nn.c). */
interface AddonKernels {
  gemm(A: F32, B: F32, C: F32, p: P, bias: F32 | null): void;
  gemmHalf(A: F32, W: U16, C: F32, p: P, bias: F32 | null): void;
  unary(op: number, x: F32, out: F32): void;
  unaryBackward(op: number, x: F32, y: F32, gy: F32, out: F32): void;
  binaryFlat(op: number, a: F32, b: F32, out: F32): void;
  binary(op: number, a: F32, b: F32, out: F32, meta: P): void;
  affine(x: F32, s: number, t: number, out: F32): void;
  clamp(x: F32, lo: number, hi: number, out: F32): void;
  where(c: F32, a: F32, b: F32, out: F32): void;
  axpy(alpha: number, x: F32, y: F32): void;
  reduce(op: number, x: F32, outer: number, n: number, inner: number, out: F32): void;
  argmax(x: F32, outer: number, n: number, inner: number, out: I32): void;
  permute(x: F32, meta: P, out: F32): void;
  gatherRows(table: F32, cols: number, idx: I32, out: F32): void;
  scatterAddRows(table: F32, cols: number, idx: I32, src: F32): void;
  softmax(x: F32, rows: number, cols: number, out: F32): void;
  softmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void;
  logSoftmax(x: F32, rows: number, cols: number, out: F32): void;
  logSoftmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void;
  layerNorm(
    x: F32,
    w: F32 | null,
    b: F32 | null,
    rows: number,
    cols: number,
    eps: number,
    out: F32,
    mean: F32,
    rstd: F32,
  ): void;
  layerNormBackward(
    x: F32,
    w: F32 | null,
    mean: F32,
    rstd: F32,
    gy: F32,
    rows: number,
    cols: number,
    gx: F32,
    gw: F32 | null,
    gb: F32 | null,
  ): void;
  rmsNorm(x: F32, w: F32 | null, rows: number, cols: number, eps: number, out: F32, rstd: F32): void;
  rmsNormBackward(
    x: F32,
    w: F32 | null,
    rstd: F32,
    gy: F32,
    rows: number,
    cols: number,
    gx: F32,
    gw: F32 | null,
  ): void;
  rope(
    x: F32,
    B: number,
    T: number,
    nh: number,
    hs: number,
    cos: F32,
    sin: F32,
    pos: I32,
    inverse: number,
    out: F32,
  ): void;
  attention(q: F32, k: F32, v: F32, kp: I32 | null, seg: I32 | null, p: P, out: F32, lse: F32): void;
  attentionBackward(
    q: F32,
    k: F32,
    v: F32,
    kp: I32 | null,
    seg: I32 | null,
    p: P,
    out: F32,
    lse: F32,
    gOut: F32,
    gq: F32,
    gk: F32,
    gv: F32,
  ): void;
  decodeLayer(
    h: F32,
    ln1: F32,
    ln2: F32,
    wq: F32 | U16,
    wk: F32 | U16,
    wv: F32 | U16,
    wo: F32 | U16,
    wg: F32 | U16,
    wu: F32 | U16,
    wd: F32 | U16,
    bq: F32 | null,
    bk: F32 | null,
    bv: F32 | null,
    cos: F32,
    sin: F32,
    kCache: F32,
    vCache: F32,
    scratch: F32,
    p: P,
  ): void;
  crossEntropy(
    logits: F32,
    targets: I32,
    rows: number,
    V: number,
    ignoreIndex: number,
    losses: F32,
    lse: F32,
  ): void;
  crossEntropyBackward(
    logits: F32,
    targets: I32,
    lse: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    scale: number,
    g: F32,
  ): void;
  adamw(
    p: F32,
    g: F32,
    m: F32,
    v: F32,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void;
  sumSquares(x: F32): number;
  bf16ToF32(x: U16, out: F32): void;
  f32ToBf16(x: F32, out: U16): void;
  f16ToF32(x: U16, out: F32): void;
  f32ToF16(x: F32, out: U16): void;
}

interface Addon {
  isas(): NativeIsa[];
  setThreads(n: number): number;
  threads(): number;
  kernels(isa: NativeIsa): AddonKernels;
  allocHuge(bytes: number): [ArrayBuffer, number];
  streamRead(x: F32, streams: number): number;
}

let addon: Addon | null = null;
let addonError: string | null = null;
let threadsSet = false;

/** build/Release/vila_native.node in this file's directory or the nearest one above it (the
 * package root, also when this file runs from dist/ or .build/<name>/). */
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, "build", "Release", "vila_native.node");
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function loadAddon(): Addon | null {
  if (addon || addonError) return addon;
  try {
    const path = findAddon();
    if (!path) {
      addonError =
        "build/Release/vila_native.node not found (run `npx node-gyp rebuild` in the package root)";
      return null;
    }
    const a = createRequire(import.meta.url)(path) as Addon;
    if (typeof a.kernels !== "function" || typeof a.isas !== "function") {
      addonError = `${path} is not the vila-ts addon`;
      return null;
    }
    addon = a;
  } catch (e) {
    addonError = e instanceof Error ? e.message : String(e);
  }
  return addon;
}

/** The kernel builds this CPU can run, best first ([] when the addon does not load). */
export function nativeIsas(): NativeIsa[] {
  return loadAddon()?.isas() ?? [];
}

/** Threads the native pool uses per kernel, the calling thread included (0 when not loaded). */
export function nativeThreads(): number {
  return loadAddon()?.threads() ?? 0;
}

/** Resize the native thread pool (the calling thread counts as one); returns the size in use. */
export function setNativeThreads(n: number): number {
  const a = requireAddon();
  threadsSet = true;
  return a.setThreads(n);
}

function requireAddon(): Addon {
  const a = loadAddon();
  if (!a) throw new Error(`native backend unavailable: ${addonError}`);
  return a;
}

/** A zero-filled buffer of `bytes` bytes; at 2 MB and up (Linux) its own 2 MB-aligned mapping
 * advised for transparent huge pages before first touch (huge: true), unmapped when collected;
 * otherwise an ordinary ArrayBuffer (huge: false). */
export function nativeAllocHuge(bytes: number): { buffer: ArrayBuffer; huge: boolean } {
  const [buffer, huge] = requireAddon().allocHuge(bytes);
  return { buffer, huge: huge === 1 };
}

/** Read all of x once on the native thread pool (4 MB blocks handed out dynamically) and return
 * its sum: the memory-bandwidth probe. streams 1 reads each block front to back, 4 as four
 * interleaved streams with software prefetch (the decode kernels' access pattern). */
export function nativeStreamRead(x: F32, streams: 1 | 4): number {
  return requireAddon().streamRead(x, streams);
}

/** Load the addon and wrap one of its kernel builds (default: the best this CPU runs).
 * numThreads sizes the shared thread pool (default: the number of cores). Never throws. */
export function loadNativeBackend(
  numThreads?: number,
  isa?: NativeIsa,
): { backend: Backend | null; error: string | null } {
  try {
    const a = loadAddon();
    if (!a) return { backend: null, error: addonError };
    const isas = a.isas();
    const chosen = isa ?? isas[0];
    if (!isas.includes(chosen))
      return {
        backend: null,
        error: `this CPU cannot run the ${chosen} kernels (it runs ${isas.join(", ")})`,
      };
    if (numThreads !== undefined || !threadsSet) {
      a.setThreads(numThreads ?? availableParallelism());
      threadsSet = true;
    }
    return { backend: wrapKernels(a.kernels(chosen), `native-${chosen}`), error: null };
  } catch (e) {
    return { backend: null, error: e instanceof Error ? e.message : String(e) };
  }
}

function opCodes<T extends string>(ops: readonly T[]): Record<T, number> {
  return Object.fromEntries(ops.map((op, i) => [op, i])) as Record<T, number>;
}
const UNARY = opCodes(UNARY_OPS);
const BINARY = opCodes(BINARY_OPS);
const REDUCE = opCodes(REDUCE_OPS);

function code<T extends string>(table: Record<T, number>, kernel: string, op: T): number {
  const c = table[op];
  if (c === undefined) throw new Error(`${kernel}: unknown op "${op}"`);
  return c;
}

/** Whether strides are the row-major strides of shape (dimensions of size 1 match anything). */
function isContiguous(strides: number[], shape: number[]): boolean {
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== s) return false;
    s *= shape[d];
  }
  return true;
}

const MAX_RANK = 8;

function wrapKernels(k: AddonKernels, name: string): Backend {
  const gemmP = new Float64Array(17);
  const halfP = new Float64Array(11);
  const attnP = new Float64Array(8);
  const decodeP = new Float64Array(9);
  const meta = new Float64Array(1 + 3 * MAX_RANK);
  const setAttn = (a: AttentionArgs): P => {
    attnP[0] = a.B;
    attnP[1] = a.T;
    attnP[2] = a.S;
    attnP[3] = a.nh;
    attnP[4] = a.nkv;
    attnP[5] = a.hs;
    attnP[6] = a.scale;
    attnP[7] = a.causal ? 1 : 0;
    return attnP;
  };
  return {
    name,
    gemm(g: GemmArgs): void {
      const p = gemmP;
      p[0] = g.transA ? 1 : 0;
      p[1] = g.transB ? 1 : 0;
      p[2] = g.M;
      p[3] = g.N;
      p[4] = g.K;
      p[5] = g.alpha;
      p[6] = g.offA;
      p[7] = g.lda;
      p[8] = g.strideA;
      p[9] = g.offB;
      p[10] = g.ldb;
      p[11] = g.strideB;
      p[12] = g.beta;
      p[13] = g.offC;
      p[14] = g.ldc;
      p[15] = g.strideC;
      p[16] = g.batch;
      k.gemm(g.A, g.B, g.C, p, g.bias ?? null);
    },
    gemmHalf(g: GemmHalfArgs): void {
      const p = halfP;
      p[0] = g.M;
      p[1] = g.N;
      p[2] = g.K;
      p[3] = g.offA;
      p[4] = g.lda;
      p[5] = g.offW;
      p[6] = g.ldw;
      p[7] = g.offC;
      p[8] = g.ldc;
      p[9] = g.beta;
      p[10] = g.dtype === "bf16" ? 1 : g.dtype === "f16" ? 2 : 0;
      k.gemmHalf(g.A, g.W, g.C, p, g.bias ?? null);
    },
    unary: (op: UnaryOp, x, out) => k.unary(code(UNARY, "unary", op), x, out),
    unaryBackward: (op: UnaryOp, x, y, gy, out) =>
      k.unaryBackward(code(UNARY, "unaryBackward", op), x, y, gy, out),
    binary(op: BinaryOp, a, aStrides, b, bStrides, out, outShape): void {
      const r = outShape.length;
      if (aStrides.length !== r || bStrides.length !== r) {
        throw new Error(
          `binary ${op}: strides of rank ${aStrides.length}/${bStrides.length} for an output of rank ${r}`,
        );
      }
      const c = code(BINARY, "binary", op);
      if (
        a.length === out.length &&
        b.length === out.length &&
        isContiguous(aStrides, outShape) &&
        isContiguous(bStrides, outShape)
      ) {
        k.binaryFlat(c, a, b, out);
        return;
      }
      if (r > MAX_RANK) {
        jsBinary(op, a, aStrides, b, bStrides, out, outShape);
        return;
      }
      meta[0] = r;
      for (let d = 0; d < r; d++) {
        meta[1 + d] = outShape[d];
        meta[1 + r + d] = aStrides[d];
        meta[1 + 2 * r + d] = bStrides[d];
      }
      k.binary(c, a, b, out, meta);
    },
    affine: (x, s, t, out) => k.affine(x, s, t, out),
    clamp: (x, lo, hi, out) => k.clamp(x, lo, hi, out),
    where: (c, a, b, out) => k.where(c, a, b, out),
    axpy: (alpha, x, y) => k.axpy(alpha, x, y),
    reduce: (op: ReduceOp, x, outer, n, inner, out) =>
      k.reduce(code(REDUCE, "reduce", op), x, outer, n, inner, out),
    argmax: (x, outer, n, inner, out) => k.argmax(x, outer, n, inner, out),
    permute(x, shape, perm, out): void {
      const r = shape.length;
      if (perm.length !== r || r > MAX_RANK)
        throw new Error(`permute: [${perm}] is not a permutation of ${r} axes (at most ${MAX_RANK})`);
      meta[0] = r;
      for (let d = 0; d < r; d++) {
        meta[1 + d] = shape[d];
        meta[1 + r + d] = perm[d];
      }
      k.permute(x, meta, out);
    },
    gatherRows: (table, cols, idx, out) => k.gatherRows(table, cols, idx, out),
    scatterAddRows: (table, cols, idx, src) => k.scatterAddRows(table, cols, idx, src),
    softmax: (x, rows, cols, out) => k.softmax(x, rows, cols, out),
    softmaxBackward: (y, gy, rows, cols, gx) => k.softmaxBackward(y, gy, rows, cols, gx),
    logSoftmax: (x, rows, cols, out) => k.logSoftmax(x, rows, cols, out),
    logSoftmaxBackward: (y, gy, rows, cols, gx) => k.logSoftmaxBackward(y, gy, rows, cols, gx),
    layerNorm: (x, w, b, rows, cols, eps, out, mean, rstd) =>
      k.layerNorm(x, w, b, rows, cols, eps, out, mean, rstd),
    layerNormBackward: (x, w, mean, rstd, gy, rows, cols, gx, gw, gb) =>
      k.layerNormBackward(x, w, mean, rstd, gy, rows, cols, gx, gw, gb),
    rmsNorm: (x, w, rows, cols, eps, out, rstd) => k.rmsNorm(x, w, rows, cols, eps, out, rstd),
    rmsNormBackward: (x, w, rstd, gy, rows, cols, gx, gw) =>
      k.rmsNormBackward(x, w, rstd, gy, rows, cols, gx, gw),
    rope: (x, B, T, nh, hs, cos, sin, pos, inverse, out) =>
      k.rope(x, B, T, nh, hs, cos, sin, pos, inverse ? 1 : 0, out),
    attention: (a, out, lse) => k.attention(a.q, a.k, a.v, a.keyPadding, a.segments, setAttn(a), out, lse),
    attentionBackward: (a, out, lse, gOut, gq, gk, gv) =>
      k.attentionBackward(a.q, a.k, a.v, a.keyPadding, a.segments, setAttn(a), out, lse, gOut, gq, gk, gv),
    decodeLayer(a: DecodeLayerArgs): void {
      const p = decodeP;
      p[0] = a.C;
      p[1] = a.F;
      p[2] = a.nh;
      p[3] = a.nkv;
      p[4] = a.hs;
      p[5] = a.past;
      p[6] = a.capacity;
      p[7] = a.eps;
      p[8] = a.wdtype === "f32" ? 0 : a.wdtype === "bf16" ? 1 : a.wdtype === "f16" ? 2 : 3;
      k.decodeLayer(
        a.h,
        a.inputNorm,
        a.postNorm,
        a.wq,
        a.wk,
        a.wv,
        a.wo,
        a.wgate,
        a.wup,
        a.wdown,
        a.bq,
        a.bk,
        a.bv,
        a.cos,
        a.sin,
        a.kCache,
        a.vCache,
        a.scratch,
        p,
      );
    },
    crossEntropy: (logits, targets, rows, V, ignoreIndex, losses, lse) =>
      k.crossEntropy(logits, targets, rows, V, ignoreIndex, losses, lse),
    crossEntropyBackward: (logits, targets, lse, rows, V, ignoreIndex, scale, glogits) =>
      k.crossEntropyBackward(logits, targets, lse, rows, V, ignoreIndex, scale, glogits),
    adamw: (p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2) => k.adamw(p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2),
    sumSquares: (x) => k.sumSquares(x),
    bf16ToF32: (x, out) => k.bf16ToF32(x, out),
    f32ToBf16: (x, out) => k.f32ToBf16(x, out),
    f16ToF32: (x, out) => k.f16ToF32(x, out),
    f32ToF16: (x, out) => k.f32ToF16(x, out),
  };
}

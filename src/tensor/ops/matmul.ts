// Matrix products: matmul (2-D and batched N-D with NumPy batch broadcasting, optional
// transposes), bmm, and linear (x @ w^T + b with PyTorch's (out, in) weight layout).
// Each op is one batched gemm call forward and one per input backward (GemmArgs strides/batch);
// (..., M, K) @ (K, N) folds the batch into M. Gradients of C = op(A) op(B):
//   d op(A) = G op(B)^T,   d op(B) = op(A)^T G.

import type { GemmArgs } from "../../backend/backend.js";
import { backend } from "../../backend/index.js";
import { toDtype } from "../dtype.js";
import { allocF32 } from "../pool.js";
import { isGradEnabled, numel, record, Tensor } from "../tensor.js";
import { linearHalf } from "./linear_half.js";
import { broadcastShapes, broadcastTo, requireF32, reshape, sumTo } from "./shape.js";

export interface MatmulOptions {
  /** use A^T: a's last two axes are (K, M) */
  transA?: boolean;
  /** use B^T: b's last two axes are (N, K) */
  transB?: boolean;
}

type Gemm = Omit<GemmArgs, "alpha" | "beta" | "offA" | "offB" | "offC" | "bias">;

function runGemm(g: Gemm, beta = 0, bias: Float32Array | null = null): void {
  backend().gemm({ ...g, alpha: 1, beta, offA: 0, offB: 0, offC: 0, bias });
}

/** op(a) @ op(b) over the last two axes, batch axes broadcast.
 * @example matmul(q, k, { transB: true }) // (B, nh, T, hs) @ (B, nh, S, hs)^T -> (B, nh, T, S) */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  requireF32("matmul", a, b);
  if (a.ndim < 2 || b.ndim < 2)
    throw new Error(`matmul: needs tensors of rank >= 2, got [${a.shape}] and [${b.shape}]`);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    const t = (x: boolean) => (x ? "^T" : "");
    throw new Error(
      `matmul: inner dimensions differ: [${a.shape}]${t(transA)} @ [${b.shape}]${t(transB)} (${K} vs ${Kb})`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);

  // (..., M, K) @ (K, N): fold the batch into the rows, one plain gemm
  if (b.ndim === 2 && !transA && a.ndim > 2) {
    const rows = numel(aBatch) * M;
    const a2 = reshape(a, [rows, K]);
    return reshape(matmul(a2, b, { transB }), [...aBatch, M, N]);
  }

  const batchShape = broadcastShapes("matmul (batch axes)", aBatch, bBatch);
  const batch = numel(batchShape);
  // a side whose batch is all ones is shared by every batch entry (stride 0); a partial
  // broadcast is materialised
  const aFull = numel(aBatch) === 1 ? a : broadcastTo(a, [...batchShape, ar, ac]);
  const bFull = numel(bBatch) === 1 ? b : broadcastTo(b, [...batchShape, br, bc]);
  const out = new Tensor(allocF32(batch * M * N, K === 0), [...batchShape, M, N]);
  runGemm({
    transA,
    transB,
    M,
    N,
    K,
    A: aFull.f32,
    lda: ac,
    strideA: numel(aBatch) === 1 ? 0 : M * K,
    B: bFull.f32,
    ldb: bc,
    strideB: numel(bBatch) === 1 ? 0 : K * N,
    C: out.f32,
    ldc: N,
    strideC: M * N,
    batch,
  });
  return record(out, "matmul", [a, b], (g) => {
    // dA: G op(B)^T (M, K), or op(B) G^T (K, M) when transA
    const ga = a.requiresGrad
      ? transA
        ? matmul(b, g, { transA: transB, transB: true })
        : matmul(g, b, { transB: !transB })
      : null;
    // dB: op(A)^T G (K, N), or G^T op(A) (N, K) when transB
    const gb = b.requiresGrad
      ? transB
        ? matmul(g, a, { transA: true, transB: transA })
        : matmul(a, g, { transA: !transA })
      : null;
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

/** Batched matmul of (b, M, K) @ (b, K, N) with equal batch sizes. */
export function bmm(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0]) {
    throw new Error(`bmm: needs (b, M, K) and (b, K, N) with the same b, got [${a.shape}] and [${b.shape}]`);
  }
  return matmul(a, b, opts);
}

/** y = x @ w^T + b with w (out, in), as torch.nn.functional.linear.
 * @example linear(x, w, b) // (B, T, in) @ (out, in)^T + (out) -> (B, T, out) */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  // bf16/f16 weights are storage (inference), never trained: read directly by a 16-bit gemm, or
  // widened per call when a gradient must flow to x (the backward needs the weight as f32)
  if ((w.dtype === "bf16" || w.dtype === "f16") && !w.requiresGrad) {
    if (!(isGradEnabled() && x.requiresGrad)) return linearHalf(x, w, b);
    w = toDtype(w, "f32");
  }
  requireF32("linear", x, w);
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
  const outShape = [...x.shape.slice(0, -1), O];
  const out = allocF32(R * O, !b && I === 0);
  // (R, I) @ (O, I)^T + b -> (R, O), the bias added as the gemm stores its result
  runGemm(
    {
      transA: false,
      transB: true,
      M: R,
      N: O,
      K: I,
      A: x.f32,
      lda: I,
      strideA: 0,
      B: w.f32,
      ldb: I,
      strideB: 0,
      C: out,
      ldc: O,
      strideC: 0,
      batch: 1,
    },
    0,
    b ? b.f32 : null,
  );
  const inputs = b ? [x, w, b] : [x, w];
  return record(new Tensor(out, outShape), "linear", inputs, (g) => {
    const G = g.f32; // (R, O)
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (x.requiresGrad) {
      // (R, O) @ (O, I) -> (R, I)
      const d = allocF32(R * I, O === 0);
      runGemm({
        transA: false,
        transB: false,
        M: R,
        N: I,
        K: O,
        A: G,
        lda: O,
        strideA: 0,
        B: w.f32,
        ldb: I,
        strideB: 0,
        C: d,
        ldc: I,
        strideC: 0,
        batch: 1,
      });
      gx = new Tensor(d, x.shape);
    }
    if (w.requiresGrad) {
      // (R, O)^T @ (R, I) -> (O, I)
      const d = allocF32(O * I, R === 0);
      runGemm({
        transA: true,
        transB: false,
        M: O,
        N: I,
        K: R,
        A: G,
        lda: O,
        strideA: 0,
        B: x.f32,
        ldb: I,
        strideB: 0,
        C: d,
        ldc: I,
        strideC: 0,
        batch: 1,
      });
      gw = new Tensor(d, w.shape);
    }
    if (b?.requiresGrad) {
      const d = allocF32(O);
      backend().reduce("sum", G, 1, R, O, d);
      gb = new Tensor(d, b.shape);
    }
    return b ? [gx, gw, gb] : [gx, gw];
  });
}

// The kernel interface: every primitive the engine needs, on flat typed arrays.
// `backend/` knows nothing of Tensor. Arrays are row-major and contiguous unless a stride says
// otherwise; "out" arrays are written (never read) unless the doc says "accumulates".
// The js backend (backend/js) is the reference definition of every kernel; native must match it
// (test/backend/parity.test.ts runs every kernel of every available backend against js).
// Dimension glossary: see src/tensor/README.md (B batch, T time, C channels, V vocab,
// nh heads, nkv key/value heads, hs head size, P patches).

export type F32 = Float32Array;
export type U16 = Uint16Array;
export type I32 = Int32Array;

export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "sigmoid",
  "relu",
  "gelu", // erf form: x * 0.5 * (1 + erf(x / sqrt 2))
  "gelu_tanh", // tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  "quick_gelu", // x * sigmoid(1.702 x)
  "silu", // x * sigmoid(x)
  "abs",
  "square",
  "sin",
  "cos",
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = ["add", "sub", "mul", "div", "pow", "max", "min", "eq", "lt", "gt"] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const REDUCE_OPS = ["sum", "max", "min"] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Batched sgemm: for b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b (+ bias).
 * op(A_b) is (M, K): A_b row-major (M, K) with leading dim lda, or (K, M) when transA.
 * op(B_b) is (K, N): B_b row-major (K, N) with leading dim ldb, or (N, K) when transB.
 * A_b starts at offA + b * strideA (likewise B, C). beta = 0 means C is not read (NaN-safe).
 * bias (N floats, not overlapping C) is added to every row of every C_b: a linear layer's bias,
 * without a pass that fills C with it first. */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  A: F32;
  offA: number;
  lda: number;
  strideA: number;
  B: F32;
  offB: number;
  ldb: number;
  strideB: number;
  beta: number;
  C: F32;
  offC: number;
  ldc: number;
  strideC: number;
  batch: number;
  bias?: F32 | null;
}

/** Linear with a 16-bit weight: C = A @ W^T + beta * C (+ bias on every row, as gemm's), A (M, K)
 * with leading dim lda, W (N, K)
 * bf16 or f16 bits (storage of a model loaded in its checkpoint dtype) with leading dim ldw,
 * C (M, N) with leading dim ldc; each array starts at its offset. W is widened exactly to f32 and
 * the products are summed in f32 (order unspecified). beta = 0 means C is not read (NaN-safe). */
export interface GemmHalfArgs {
  M: number;
  N: number;
  K: number;
  A: F32;
  offA: number;
  lda: number;
  W: U16;
  offW: number;
  ldw: number;
  dtype: "bf16" | "f16";
  beta: number;
  C: F32;
  offC: number;
  ldc: number;
  bias?: F32 | null;
}

/** Scaled-dot-product attention, fused (online softmax: never the full (T, S) score matrix for
 * all heads). q (B, T, nh, hs), k and v (B, S, nkv, hs) with nh % nkv == 0 (GQA: head h reads
 * kv head floor(h / (nh / nkv))), out (B, T, nh, hs), lse (B, nh, T) = log-sum-exp of the scaled
 * scores of each query row (saved for backward).
 * Masking, all optional and combined:
 *  - causal: query t (absolute position t + S - T) sees keys s <= t + S - T (so a KV cache works);
 *  - keyPadding (B, S) of 0/1: keys with 0 are masked;
 *  - segments (B, T) and (B, S) when T == S: query and key must carry the same segment id
 *    (packed sequences).
 * A row with every key masked yields zeros and lse = -Infinity. */
export interface AttentionArgs {
  B: number;
  T: number;
  S: number;
  nh: number;
  nkv: number;
  hs: number;
  scale: number;
  causal: boolean;
  q: F32;
  k: F32;
  v: F32;
  keyPadding: I32 | null;
  segments: I32 | null;
}

/** One Llama / Qwen2 decoder layer (HF LlamaDecoderLayer, pre-norm, SwiGLU, GQA, rotate-half
 * RoPE, optional q/k/v biases) for a single new token (B = 1, T = 1) against a KV cache, in one
 * call: the fused decode path (models/llm/llama.ts). In terms of the other kernels:
 *   xn = rmsNorm(h, inputNorm);  q = xn Wq^T + bq;  k = xn Wk^T + bk;  v = xn Wv^T + bv
 *   q, k = rope(q), rope(k) at the token's position (cos, sin);  kCache[past] = k;  vCache[past] = v
 *   h += attention(q, kCache[0..past], vCache[0..past]) Wo^T   (every cached key visible, scale hs^-1/2)
 *   xn = rmsNorm(h, postNorm);  h += (silu(xn Wg^T) * (xn Wu^T)) Wd^T
 * Weights are (out, in) row-major like Linear's, all seven f32 (Float32Array) or all 16-bit
 * storage of `wdtype` (Uint16Array, read as gemmHalf reads it). The cache buffers hold rows
 * (capacity, nkv, hs) of which [0, past) are filled; row `past` is written, rows beyond it are
 * neither read nor written. `scratch` holds decodeScratchSize(...) floats of working memory,
 * allocated once by the caller; it must not overlap any other argument. */
export interface DecodeLayerArgs {
  /** hidden size, feed-forward width, query heads, key/value heads, head size */
  C: number;
  F: number;
  nh: number;
  nkv: number;
  hs: number;
  /** RMSNorm epsilon of both norms */
  eps: number;
  /** (C) hidden state of the token, updated in place */
  h: F32;
  /** (C) input_layernorm and post_attention_layernorm weights */
  inputNorm: F32;
  postNorm: F32;
  wdtype: "f32" | "bf16" | "f16";
  /** (nh hs, C), (nkv hs, C), (nkv hs, C), (C, nh hs) */
  wq: F32 | U16;
  wk: F32 | U16;
  wv: F32 | U16;
  wo: F32 | U16;
  /** (F, C), (F, C), (C, F) */
  wgate: F32 | U16;
  wup: F32 | U16;
  wdown: F32 | U16;
  /** (nh hs), (nkv hs), (nkv hs) or null (Qwen2 has them, Llama not) */
  bq: F32 | null;
  bk: F32 | null;
  bv: F32 | null;
  /** (hs / 2) rows of the RoPE tables at the token's position */
  cos: F32;
  sin: F32;
  /** (capacity, nkv, hs) key and value storage of this layer */
  kCache: F32;
  vCache: F32;
  capacity: number;
  /** cached positions (past < capacity): the new key and value go to row past, and the token
   * attends over S = past + 1 keys */
  past: number;
  scratch: F32;
}

/** Floats of scratch decodeLayer needs: xn (C), q and the attention output (nh hs each), the
 * SwiGLU activation (F). */
export function decodeScratchSize(C: number, nh: number, hs: number, F: number): number {
  return C + 2 * nh * hs + F;
}

export interface Backend {
  readonly name: string;

  // --- linear algebra ---
  gemm(a: GemmArgs): void;
  /** x @ W^T with W 16-bit storage (decode streams W once: 2 bytes per weight). */
  gemmHalf(a: GemmHalfArgs): void;

  // --- elementwise ---
  /** out[i] = f(x[i]); alpha is unused by the ops above but reserved. out may alias x. */
  unary(op: UnaryOp, x: F32, out: F32): void;
  /** out[i] = gy[i] * f'(x[i]) for every unary op (y = f(x) may help: exp, sigmoid, tanh use y). */
  unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, out: F32): void;
  /** Broadcasting binary op. outShape has rank r; aStrides/bStrides are element strides of length
   * r with 0 on broadcast dimensions. Comparison ops write 1 or 0. */
  binary(
    op: BinaryOp,
    a: F32,
    aStrides: number[],
    b: F32,
    bStrides: number[],
    out: F32,
    outShape: number[],
  ): void;
  /** out[i] = x[i] * s + t (scalar affine); out may alias x. */
  affine(x: F32, s: number, t: number, out: F32): void;
  /** out[i] = min(max(x[i], lo), hi). */
  clamp(x: F32, lo: number, hi: number, out: F32): void;
  /** out[i] = cond[i] != 0 ? a[i] : b[i]   (inputs pre-broadcast to out's size). */
  where(cond: F32, a: F32, b: F32, out: F32): void;
  /** y += alpha * x (accumulates). */
  axpy(alpha: number, x: F32, y: F32): void;

  // --- reductions over the middle axis of an (outer, n, inner) view ---
  reduce(op: ReduceOp, x: F32, outer: number, n: number, inner: number, out: F32): void;
  /** index of the first maximum along the middle axis; out (outer, inner). */
  argmax(x: F32, outer: number, n: number, inner: number, out: I32): void;

  // --- data movement ---
  /** out = x permuted: x has shape `shape`; out has shape shape[perm[i]]. */
  permute(x: F32, shape: number[], perm: number[], out: F32): void;
  /** out[r, :] = table[idx[r], :] for r in [0, idx.length); table has `cols` columns. */
  gatherRows(table: F32, cols: number, idx: I32, out: F32): void;
  /** table[idx[r], :] += src[r, :] (accumulates; repeated indices add up). */
  scatterAddRows(table: F32, cols: number, idx: I32, src: F32): void;

  // --- normalisation and softmax over the last axis of (rows, cols) ---
  softmax(x: F32, rows: number, cols: number, out: F32): void;
  /** gx = y * (gy - sum(gy * y)) */
  softmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void;
  logSoftmax(x: F32, rows: number, cols: number, out: F32): void;
  /** gx = gy - exp(y) * sum(gy) */
  logSoftmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void;
  /** out = (x - mean) * rstd * w + b; saves mean and rstd (rows). w, b may be null. */
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
  /** writes gx; accumulates gw, gb when given. */
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
  /** out = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps); saves rstd (rows). w may be null. */
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

  // --- transformer pieces ---
  /** Rotary embedding, Hugging Face rotate-half convention, on x (B, T, nh, hs) in place-safe
   * fashion (out may alias x). cos/sin are (maxPos, hs/2); pos (B, T) are position ids.
   * out[..., i] = x_i cos - x_{i+hs/2} sin,  out[..., i+hs/2] = x_{i+hs/2} cos + x_i sin.
   * inverse = true applies the transpose rotation (the backward). */
  rope(
    x: F32,
    B: number,
    T: number,
    nh: number,
    hs: number,
    cos: F32,
    sin: F32,
    pos: I32,
    inverse: boolean,
    out: F32,
  ): void;
  attention(a: AttentionArgs, out: F32, lse: F32): void;
  /** Given out, lse and gOut (B, T, nh, hs): writes gq, gk, gv (shapes of q, k, v). */
  attentionBackward(a: AttentionArgs, out: F32, lse: F32, gOut: F32, gq: F32, gk: F32, gv: F32): void;
  /** One decoder layer for one token against a KV cache (see DecodeLayerArgs). */
  decodeLayer(a: DecodeLayerArgs): void;
  /** Cross-entropy of logits (rows, V) against targets (rows); targets == ignoreIndex are skipped.
   * losses[r] = lse_r - logit[r, t_r] (0 for ignored rows); lse saved (rows). */
  crossEntropy(
    logits: F32,
    targets: I32,
    rows: number,
    V: number,
    ignoreIndex: number,
    losses: F32,
    lse: F32,
  ): void;
  /** glogits[r, :] = scale * (softmax(logits[r]) - onehot(t_r)) for non-ignored rows, 0 otherwise.
   * glogits may alias logits (the fused path frees the (T, V) buffer this way). */
  crossEntropyBackward(
    logits: F32,
    targets: I32,
    lse: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    scale: number,
    glogits: F32,
  ): void;

  // --- optimiser ---
  /** One AdamW step in place (decoupled weight decay, bias-corrected):
   * p -= lr * wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
   * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)  with bc1 = 1 - b1^t, bc2 = 1 - b2^t. */
  adamw(
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
  ): void;
  /** sum of squares (accumulated in f64). */
  sumSquares(x: F32): number;

  // --- dtype conversion (storage) ---
  bf16ToF32(x: U16, out: F32): void;
  f32ToBf16(x: F32, out: U16): void;
  f16ToF32(x: U16, out: F32): void;
  f32ToF16(x: F32, out: U16): void;
}

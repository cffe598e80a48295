// Neural-network ops with autograd: softmax, log-softmax, LayerNorm, RMSNorm, activations,
// dropout, rotary embedding, fused attention and fused cross-entropy.
// Each op calls the current backend's kernel and records its gradient rule with record(); the
// fused ones (norms, attention, cross-entropy) carry a hand-written backward kernel that
// recomputes what it needs instead of keeping intermediates alive (FlashAttention-2 for
// attention, Liger-style fused loss for cross-entropy). Semantics follow PyTorch / Hugging Face:
// F.softmax, F.layer_norm, LlamaRMSNorm, F.gelu, F.dropout, LlamaRotaryEmbedding +
// apply_rotary_pos_emb, F.scaled_dot_product_attention, F.cross_entropy.

import type { UnaryOp } from "../../backend/backend.js";
import { backend } from "../../backend/index.js";
import { allocF32 } from "../pool.js";
import type { Generator } from "../random.js";
import { normAxis, numel, record, sameShape, Tensor } from "../tensor.js";
import { unaryOp } from "./elementwise.js";

type F32 = Float32Array;

/** The f32 storage of t, or an error that names the op and the argument. */
function f32Of(t: Tensor, op: string, name: string): F32 {
  if (t.dtype !== "f32") throw new Error(`${op}: ${name} must be f32, got ${t.dtype} of shape [${t.shape}]`);
  return t.data as F32;
}

function i32Of(t: Tensor, op: string, name: string): Int32Array {
  if (t.dtype !== "i32") throw new Error(`${op}: ${name} must be i32, got ${t.dtype} of shape [${t.shape}]`);
  return t.data as Int32Array;
}

// ---------------------------------------------------------------------------------------------
// softmax / log-softmax along any axis

type RowKernel = (x: F32, rows: number, cols: number, out: F32) => void;
type RowBackward = (y: F32, gy: F32, rows: number, cols: number, gx: F32) => void;

/** Run a last-axis row kernel along `axis`: view x as (outer, n, inner) and, when inner > 1,
 * transpose to (outer, inner, n), apply, and transpose back. */
function alongAxis(
  shape: readonly number[],
  axis: number,
  inputs: F32[],
  kernel: (xs: F32[], rows: number, n: number, out: F32) => void,
): F32 {
  const n = shape[axis];
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  const size = outer * n * inner;
  if (inner === 1) {
    const out = new Float32Array(size);
    kernel(inputs, outer, n, out);
    return out;
  }
  const be = backend();
  const view = [outer, n, inner];
  const moved = inputs.map((x) => {
    const t = new Float32Array(size);
    be.permute(x, view, [0, 2, 1], t); // (outer, n, inner) -> (outer, inner, n)
    return t;
  });
  const tmp = new Float32Array(size);
  kernel(moved, outer * inner, n, tmp);
  const out = new Float32Array(size);
  be.permute(tmp, [outer, inner, n], [0, 2, 1], out); // back to (outer, n, inner)
  return out;
}

function rowOp(op: string, fwd: RowKernel, bwd: RowBackward, x: Tensor, axis: number): Tensor {
  const xd = f32Of(x, op, "x");
  const ax = normAxis(axis, x.ndim, op);
  const y = alongAxis(x.shape, ax, [xd], ([a], r, c, o) => fwd(a, r, c, o));
  const out = new Tensor(y, x.shape);
  return record(out, op, [x], (g) => [
    new Tensor(
      alongAxis(x.shape, ax, [y, g.f32], ([yy, gg], r, c, o) => bwd(yy, gg, r, c, o)),
      x.shape,
    ),
  ]);
}

/** softmax(x) along `axis` (PyTorch F.softmax). A slice that is all -Infinity gives zeros.
 * @example softmax(scores, -1) // each row sums to 1 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return rowOp(
    "softmax",
    (a, r, c, o) => backend().softmax(a, r, c, o),
    (y, g, r, c, o) => backend().softmaxBackward(y, g, r, c, o),
    x,
    axis,
  );
}

/** log(softmax(x)) along `axis`, computed stably (PyTorch F.log_softmax). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return rowOp(
    "logSoftmax",
    (a, r, c, o) => backend().logSoftmax(a, r, c, o),
    (y, g, r, c, o) => backend().logSoftmaxBackward(y, g, r, c, o),
    x,
    axis,
  );
}

// ---------------------------------------------------------------------------------------------
// normalisation over the last axis

function checkNormWeight(op: string, x: Tensor, t: Tensor | null, name: string): F32 | null {
  if (!t) return null;
  const C = x.shape[x.ndim - 1];
  if (t.ndim !== 1 || t.shape[0] !== C)
    throw new Error(`${op}: ${name} has shape [${t.shape}], expected [${C}] for x of shape [${x.shape}]`);
  return f32Of(t, op, name);
}

/** LayerNorm over the last axis (PyTorch F.layer_norm with normalized_shape = [C]): x (..., C),
 * optional weight and bias (C).
 * @example layerNorm(x, ln.weight, ln.bias, 1e-5) */
export function layerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps = 1e-5): Tensor {
  const op = "layerNorm";
  if (x.ndim === 0) throw new Error(`${op}: x must have at least one dimension, got shape [${x.shape}]`);
  const xd = f32Of(x, op, "x");
  const wd = checkNormWeight(op, x, w, "weight");
  const bd = checkNormWeight(op, x, b, "bias");
  const C = x.shape[x.ndim - 1];
  const rows = x.size / Math.max(C, 1);
  const out = allocF32(x.size, false);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  backend().layerNorm(xd, wd, bd, rows, C, eps, out, mean, rstd);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  return record(new Tensor(out, x.shape), op, inputs, (g) => {
    const gx = allocF32(x.size);
    const gw = w ? new Float32Array(C) : null;
    const gb = b ? new Float32Array(C) : null;
    backend().layerNormBackward(xd, wd, mean, rstd, g.f32, rows, C, gx, gw, gb);
    const grads: (Tensor | null)[] = [new Tensor(gx, x.shape)];
    if (gw) grads.push(new Tensor(gw, [C]));
    if (gb) grads.push(new Tensor(gb, [C]));
    return grads;
  });
}

/** RMSNorm over the last axis with Hugging Face LlamaRMSNorm semantics, in f32:
 * y = w * (x / sqrt(mean(x^2) + eps)). x (..., C), weight (C) or null.
 * @example rmsNorm(h, norm.weight, config.rms_norm_eps) */
export function rmsNorm(x: Tensor, w: Tensor | null, eps = 1e-6): Tensor {
  const op = "rmsNorm";
  if (x.ndim === 0) throw new Error(`${op}: x must have at least one dimension, got shape [${x.shape}]`);
  const xd = f32Of(x, op, "x");
  const wd = checkNormWeight(op, x, w, "weight");
  const C = x.shape[x.ndim - 1];
  const rows = x.size / Math.max(C, 1);
  const out = allocF32(x.size, false);
  const rstd = new Float32Array(rows);
  backend().rmsNorm(xd, wd, rows, C, eps, out, rstd);
  return record(new Tensor(out, x.shape), op, w ? [x, w] : [x], (g) => {
    const gx = allocF32(x.size);
    const gw = w ? new Float32Array(C) : null;
    backend().rmsNormBackward(xd, wd, rstd, g.f32, rows, C, gx, gw);
    return gw ? [new Tensor(gx, x.shape), new Tensor(gw, [C])] : [new Tensor(gx, x.shape)];
  });
}

// ---------------------------------------------------------------------------------------------
// activations and dropout

/** GELU (PyTorch F.gelu): "none" is the exact erf form, "tanh" the tanh approximation
 * (gelu_pytorch_tanh, used by SigLIP). */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  if (approximate !== "none" && approximate !== "tanh")
    throw new Error(`gelu: approximate must be "none" or "tanh", got "${approximate}"`);
  const op: UnaryOp = approximate === "tanh" ? "gelu_tanh" : "gelu";
  return unaryOp(op, x);
}

/** x * sigmoid(1.702 x) (CLIP's quick_gelu). */
export function quickGelu(x: Tensor): Tensor {
  return unaryOp("quick_gelu", x);
}

/** x * sigmoid(x) (SiLU / swish, Llama's MLP activation). */
export function silu(x: Tensor): Tensor {
  return unaryOp("silu", x);
}

/** Inverted dropout (PyTorch F.dropout): in training each element is zeroed with probability p
 * and the rest scaled by 1 / (1 - p); the identity when not training or p = 0. The mask is drawn
 * from `gen`, one uniform per element in row-major order.
 * @example dropout(h, 0.1, gen, model.training) */
export function dropout(x: Tensor, p: number, gen: Generator, training: boolean): Tensor {
  const op = "dropout";
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const xd = f32Of(x, op, "x");
  const mask = new Float32Array(x.size);
  const keep = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = gen.random() < p ? 0 : keep;
  const out = allocF32(x.size, false);
  for (let i = 0; i < out.length; i++) out[i] = xd[i] * mask[i];
  return record(new Tensor(out, x.shape), op, [x], (g) => {
    const gd = g.f32;
    const gx = allocF32(gd.length, false);
    for (let i = 0; i < gx.length; i++) gx[i] = gd[i] * mask[i];
    return [new Tensor(gx, x.shape)];
  });
}

// ---------------------------------------------------------------------------------------------
// rotary position embedding

/** cos and sin tables (maxPos, headDim/2) of the rotary embedding. */
export interface RopeCache {
  cos: Tensor;
  sin: Tensor;
  /** positions covered: [0, maxPos) */
  maxPos: number;
}

/** Rotary tables as Hugging Face LlamaRotaryEmbedding builds them: inv_freq_i = 1 / theta^(2i/hs),
 * angle(p, i) = p * inv_freq_i, with "linear" scaling dividing positions by `factor`. Every step
 * is rounded to f32 like HF's float32 computation, so long positions match it too.
 * @example const rc = ropeCache(64, 2048, 10000) */
export function ropeCache(
  headDim: number,
  maxPos: number,
  theta = 10000,
  scaling?: { type: "linear"; factor: number },
): RopeCache {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0)
    throw new Error(`ropeCache: headDim must be a positive even integer, got ${headDim}`);
  if (!Number.isInteger(maxPos) || maxPos <= 0)
    throw new Error(`ropeCache: maxPos must be a positive integer, got ${maxPos}`);
  if (scaling && (scaling.type !== "linear" || !(scaling.factor > 0))) {
    throw new Error(
      `ropeCache: only {type: "linear", factor > 0} scaling is supported, got ${JSON.stringify(scaling)}`,
    );
  }
  const f = Math.fround;
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = f(1 / f(theta ** f((2 * i) / headDim)));
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    const t = scaling ? f(p / scaling.factor) : p;
    for (let i = 0; i < half; i++) {
      const a = f(t * invFreq[i]);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos: new Tensor(cos, [maxPos, half]), sin: new Tensor(sin, [maxPos, half]), maxPos };
}

/** Rotate x (B, T, nh, hs) by the angles of `positions` (B, T) (HF rotate-half:
 * x * cos + rotate_half(x) * sin). The backward is the inverse rotation.
 * @example q = applyRope(q, rc, positions) */
export function applyRope(x: Tensor, cache: RopeCache, positions: Tensor): Tensor {
  const op = "applyRope";
  if (x.ndim !== 4) throw new Error(`${op}: x must be (B, T, nh, hs), got shape [${x.shape}]`);
  const [B, T, nh, hs] = x.shape;
  const xd = f32Of(x, op, "x");
  const pos = i32Of(positions, op, "positions");
  if (!sameShape(positions.shape, [B, T]))
    throw new Error(
      `${op}: positions has shape [${positions.shape}], expected (B, T) = [${B}, ${T}] for x [${x.shape}]`,
    );
  if (cache.cos.ndim !== 2 || cache.cos.shape[1] * 2 !== hs || !sameShape(cache.cos.shape, cache.sin.shape)) {
    throw new Error(
      `${op}: cache cos [${cache.cos.shape}] / sin [${cache.sin.shape}] do not fit head size ${hs} (expected (maxPos, ${hs / 2}))`,
    );
  }
  const cos = f32Of(cache.cos, op, "cos");
  const sin = f32Of(cache.sin, op, "sin");
  const out = allocF32(x.size, false);
  backend().rope(xd, B, T, nh, hs, cos, sin, pos, false, out);
  return record(new Tensor(out, x.shape), op, [x], (g) => {
    const gx = allocF32(x.size, false);
    backend().rope(g.f32, B, T, nh, hs, cos, sin, pos, true, gx);
    return [new Tensor(gx, x.shape)];
  });
}

// ---------------------------------------------------------------------------------------------
// fused attention

export interface AttentionOptions {
  /** query t sees keys s <= t + S - T (the queries are the last T of S positions). */
  causal?: boolean;
  /** (B, S) i32 of 0/1: keys with 0 are masked. */
  keyPadding?: Tensor;
  /** (B, T) i32 segment ids (needs T == S): queries see only keys of their own segment. */
  segments?: Tensor;
  /** score scale, default 1 / sqrt(hs). */
  scale?: number;
}

/** Scaled-dot-product attention, fused (F.scaled_dot_product_attention with the masks combined,
 * GQA when nkv < nh). q (B, T, nh, hs), k and v (B, S, nkv, hs) -> (B, T, nh, hs). The forward
 * keeps only the output and the log-sum-exp (B, nh, T); the backward recomputes the probabilities.
 * A query row that sees no key at all outputs zeros and gets no gradient.
 * @example attention(q, k, v, { causal: true }) */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const op = "attention";
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new Error(`${op}: q, k, v must be 4-d, got q [${q.shape}], k [${k.shape}], v [${v.shape}]`);
  }
  const [B, T, nh, hs] = q.shape;
  const [, S, nkv] = k.shape;
  if (!sameShape(k.shape, v.shape) || k.shape[0] !== B || k.shape[3] !== hs || nkv === 0 || nh % nkv !== 0) {
    throw new Error(
      `${op}: expected q (B, T, nh, hs), k and v (B, S, nkv, hs) with nh % nkv == 0, got q [${q.shape}], k [${k.shape}], v [${v.shape}]`,
    );
  }
  const causal = opts.causal ?? false;
  if (causal && S < T) throw new Error(`${op}: causal needs S >= T, got q [${q.shape}] and k [${k.shape}]`);
  let keyPadding: Int32Array | null = null;
  if (opts.keyPadding) {
    keyPadding = i32Of(opts.keyPadding, op, "keyPadding");
    if (!sameShape(opts.keyPadding.shape, [B, S]))
      throw new Error(
        `${op}: keyPadding has shape [${opts.keyPadding.shape}], expected (B, S) = [${B}, ${S}]`,
      );
  }
  let segments: Int32Array | null = null;
  if (opts.segments) {
    segments = i32Of(opts.segments, op, "segments");
    if (T !== S || !sameShape(opts.segments.shape, [B, T])) {
      throw new Error(
        `${op}: segments has shape [${opts.segments.shape}], expected (B, T) = [${B}, ${T}] with T == S (k [${k.shape}])`,
      );
    }
  }
  const args = {
    B,
    T,
    S,
    nh,
    nkv,
    hs,
    scale: opts.scale ?? 1 / Math.sqrt(hs),
    causal,
    q: f32Of(q, op, "q"),
    k: f32Of(k, op, "k"),
    v: f32Of(v, op, "v"),
    keyPadding,
    segments,
  };
  const out = allocF32(q.size, false);
  const lse = new Float32Array(B * nh * T);
  backend().attention(args, out, lse);
  return record(new Tensor(out, q.shape), op, [q, k, v], (g) => {
    const gq = allocF32(q.size);
    const gk = allocF32(k.size);
    const gv = allocF32(v.size);
    backend().attentionBackward(args, out, lse, g.f32, gq, gk, gv);
    return [new Tensor(gq, q.shape), new Tensor(gk, k.shape), new Tensor(gv, v.shape)];
  });
}

// ---------------------------------------------------------------------------------------------
// fused cross-entropy

export interface CrossEntropyOptions {
  /** Write the gradient into the logits' own storage during backward instead of a fresh
   * (rows, V) buffer. Saves one vocabulary-sized buffer for the LM head; the logits' values are
   * destroyed by backward(), so only use it when nothing reads them afterwards. Default false. */
  gradInPlace?: boolean;
}

/** Mean cross-entropy of logits (..., V) against i32 targets (...), skipping targets equal to
 * ignoreIndex (PyTorch F.cross_entropy, reduction "mean"). Returns a scalar.
 * Fused: the forward keeps only the log-sum-exp per row (no probabilities); the backward writes
 * softmax - onehot straight into one buffer (fresh, or the logits' own with gradInPlace).
 * When every target is ignored the loss is 0 with a zero gradient (PyTorch returns NaN), so a
 * fully masked micro-batch does not poison gradient accumulation.
 * @example const loss = crossEntropy(logits, labels); loss.backward() */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  ignoreIndex = -100,
  opts: CrossEntropyOptions = {},
): Tensor {
  const op = "crossEntropy";
  if (logits.ndim < 1 || !sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new Error(
      `${op}: logits [${logits.shape}] must be (..., V) with targets (...), got targets [${targets.shape}]`,
    );
  }
  const x = f32Of(logits, op, "logits");
  const tgt = i32Of(targets, op, "targets");
  const V = logits.shape[logits.ndim - 1];
  const rows = targets.size;
  const losses = new Float32Array(rows);
  const lse = new Float32Array(rows);
  backend().crossEntropy(x, tgt, rows, V, ignoreIndex, losses, lse);
  let count = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    if (tgt[r] === ignoreIndex) continue;
    count++;
    total += losses[r];
  }
  const out = new Tensor(new Float32Array([count > 0 ? total / count : 0]), []);
  return record(out, op, [logits], (g) => {
    const scale = count > 0 ? g.f32[0] / count : 0;
    const gl = opts.gradInPlace ? x : allocF32(x.length);
    backend().crossEntropyBackward(x, tgt, lse, rows, V, ignoreIndex, scale, gl);
    return [new Tensor(gl, logits.shape)];
  });
}

// The js backend's neural-network kernels: softmax / log-softmax, LayerNorm, RMSNorm, rotary
// embedding, fused attention and fused cross-entropy, on flat row-major Float32Arrays.
// Plain loops in the style of llm.c (`layernorm_forward`, `attention_forward`), the reference
// definition that every faster backend must match (see backend.ts for each contract).
// Sums are accumulated in float64 (JS numbers) and stored as f32.
// Attention follows FlashAttention-2 (Dao, 2023): the forward walks the keys of each query row in
// blocks with a running max and sum (online softmax), so no (T, S) score matrix is ever built;
// the backward recomputes the probabilities from q, k and the saved log-sum-exp.

import type { AttentionArgs, F32, I32 } from "../backend.js";

// ---------------------------------------------------------------------------------------------
// softmax over the last axis of (rows, cols)

/** out[r] = softmax(x[r]); out may alias x. */
export function softmax(x: F32, rows: number, cols: number, out: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < cols; i++) if (x[o + i] > max) max = x[o + i];
    if (max === Number.NEGATIVE_INFINITY) {
      // every entry is -inf (a fully masked row): define the result as zeros, not NaN
      for (let i = 0; i < cols; i++) out[o + i] = 0;
      continue;
    }
    let sum = 0;
    for (let i = 0; i < cols; i++) {
      const e = Math.exp(x[o + i] - max);
      out[o + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < cols; i++) out[o + i] *= inv;
  }
}

/** gx = y * (gy - sum(gy * y)) per row; gx may alias gy. */
export function softmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let i = 0; i < cols; i++) dot += gy[o + i] * y[o + i];
    for (let i = 0; i < cols; i++) gx[o + i] = y[o + i] * (gy[o + i] - dot);
  }
}

/** out[r] = x[r] - logsumexp(x[r]); out may alias x. */
export function logSoftmax(x: F32, rows: number, cols: number, out: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < cols; i++) if (x[o + i] > max) max = x[o + i];
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += Math.exp(x[o + i] - max);
    const lse = max + Math.log(sum);
    for (let i = 0; i < cols; i++) out[o + i] = x[o + i] - lse;
  }
}

/** gx = gy - exp(y) * sum(gy) per row (y = logSoftmax(x)); gx may alias gy. */
export function logSoftmaxBackward(y: F32, gy: F32, rows: number, cols: number, gx: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += gy[o + i];
    for (let i = 0; i < cols; i++) gx[o + i] = gy[o + i] - Math.exp(y[o + i]) * sum;
  }
}

// ---------------------------------------------------------------------------------------------
// normalisation over the last axis of (rows, cols)

/** out = (x - mean) * rstd * w + b with the biased variance; saves mean and rstd (rows). */
export function layerNorm(
  x: F32,
  w: F32 | null,
  b: F32 | null,
  rows: number,
  cols: number,
  eps: number,
  out: F32,
  mean: F32,
  rstd: F32,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = 0;
    for (let i = 0; i < cols; i++) m += x[o + i];
    m /= cols;
    let v = 0;
    for (let i = 0; i < cols; i++) {
      const d = x[o + i] - m;
      v += d * d;
    }
    v /= cols;
    const s = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < cols; i++) {
      const n = (x[o + i] - m) * s;
      out[o + i] = n * (w ? w[i] : 1) + (b ? b[i] : 0);
    }
    mean[r] = m;
    rstd[r] = s;
  }
}

/** gx = rstd * (dn - mean(dn) - n * mean(dn * n)) with n the normalised x and dn = gy * w;
 * accumulates gw += gy * n and gb += gy over rows. */
export function layerNormBackward(
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
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const m = mean[r];
    const s = rstd[r];
    let dnMean = 0;
    let dnNMean = 0;
    for (let i = 0; i < cols; i++) {
      const n = (x[o + i] - m) * s;
      const dn = gy[o + i] * (w ? w[i] : 1);
      dnMean += dn;
      dnNMean += dn * n;
    }
    dnMean /= cols;
    dnNMean /= cols;
    for (let i = 0; i < cols; i++) {
      const n = (x[o + i] - m) * s;
      const g = gy[o + i];
      const dn = g * (w ? w[i] : 1);
      if (gw) gw[i] += g * n;
      if (gb) gb[i] += g;
      gx[o + i] = s * (dn - dnMean - n * dnNMean);
    }
  }
}

/** out = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps); saves rstd (rows). */
export function rmsNorm(
  x: F32,
  w: F32 | null,
  rows: number,
  cols: number,
  eps: number,
  out: F32,
  rstd: F32,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ms = 0;
    for (let i = 0; i < cols; i++) ms += x[o + i] * x[o + i];
    ms /= cols;
    const s = 1 / Math.sqrt(ms + eps);
    // HF LlamaRMSNorm rounds x * rstd to the activation dtype before the weight; in f32 it is exact
    for (let i = 0; i < cols; i++) out[o + i] = Math.fround(x[o + i] * s) * (w ? w[i] : 1);
    rstd[r] = s;
  }
}

/** y_j = x_j r w_j with r = (mean(x^2) + eps)^(-1/2) and dr/dx_j = -r^3 x_j / cols, so
 * gx_j = r w_j gy_j - x_j r^3 / cols * sum_i(gy_i w_i x_i); accumulates gw += gy * x * r. */
export function rmsNormBackward(
  x: F32,
  w: F32 | null,
  rstd: F32,
  gy: F32,
  rows: number,
  cols: number,
  gx: F32,
  gw: F32 | null,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const s = rstd[r];
    let dot = 0;
    for (let i = 0; i < cols; i++) dot += gy[o + i] * (w ? w[i] : 1) * x[o + i];
    const c = (s * s * s * dot) / cols;
    for (let i = 0; i < cols; i++) {
      const g = gy[o + i];
      if (gw) gw[i] += g * x[o + i] * s;
      gx[o + i] = s * g * (w ? w[i] : 1) - x[o + i] * c;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// rotary embedding (HF rotate-half): x (B, T, nh, hs), cos/sin (maxPos, hs/2), pos (B, T)

export function rope(
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
): void {
  if (hs % 2 !== 0) throw new Error(`rope: head size ${hs} must be even`);
  const half = hs / 2;
  const maxPos = cos.length / half;
  const sgn = inverse ? -1 : 1; // the inverse rotation is the rotation by -theta
  for (let bt = 0; bt < B * T; bt++) {
    const p = pos[bt];
    if (!(p >= 0 && p < maxPos)) {
      throw new Error(
        `rope: position ${p} at (b, t) = (${Math.floor(bt / T)}, ${bt % T}) is outside the cache [0, ${maxPos})`,
      );
    }
    const cs = p * half;
    for (let h = 0; h < nh; h++) {
      const o = (bt * nh + h) * hs;
      for (let i = 0; i < half; i++) {
        const c = cos[cs + i];
        const s = sgn * sin[cs + i];
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        out[o + i] = x1 * c - x2 * s;
        out[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// fused attention: q (B, T, nh, hs), k v (B, S, nkv, hs), out (B, T, nh, hs), lse (B, nh, T)

/** Keys per block of the online softmax (the only scratch is one block of scores per row). */
const KEY_BLOCK = 64;

function checkAttention(a: AttentionArgs): void {
  const { B, T, S, nh, nkv, hs } = a;
  if (nkv <= 0 || nh % nkv !== 0) throw new Error(`attention: nh ${nh} is not a multiple of nkv ${nkv}`);
  if (a.q.length !== B * T * nh * hs)
    throw new Error(
      `attention: q has ${a.q.length} elements, expected (B, T, nh, hs) = (${B}, ${T}, ${nh}, ${hs})`,
    );
  for (const [name, t] of [
    ["k", a.k],
    ["v", a.v],
  ] as const) {
    if (t.length !== B * S * nkv * hs)
      throw new Error(
        `attention: ${name} has ${t.length} elements, expected (B, S, nkv, hs) = (${B}, ${S}, ${nkv}, ${hs})`,
      );
  }
  if (a.causal && S < T) throw new Error(`attention: causal needs S >= T, got T ${T} and S ${S}`);
  if (a.keyPadding && a.keyPadding.length !== B * S)
    throw new Error(
      `attention: keyPadding has ${a.keyPadding.length} elements, expected (B, S) = (${B}, ${S})`,
    );
  if (a.segments) {
    if (T !== S) throw new Error(`attention: segments need T == S, got T ${T} and S ${S}`);
    if (a.segments.length !== B * T)
      throw new Error(
        `attention: segments has ${a.segments.length} elements, expected (B, T) = (${B}, ${T})`,
      );
  }
}

/** The keys [0, end) query t of batch b may look at, before padding and segment masks. */
function keyEnd(a: AttentionArgs, t: number): number {
  return a.causal ? t + a.S - a.T + 1 : a.S;
}

/** Whether key s is visible to query t of batch b (beyond the causal limit from keyEnd). */
function visible(a: AttentionArgs, b: number, t: number, s: number): boolean {
  if (a.keyPadding && a.keyPadding[b * a.S + s] === 0) return false;
  if (a.segments && a.segments[b * a.T + t] !== a.segments[b * a.S + s]) return false;
  return true;
}

export function attention(a: AttentionArgs, out: F32, lse: F32): void {
  checkAttention(a);
  const { B, T, S, nh, nkv, hs, scale, q, k, v } = a;
  const group = nh / nkv;
  const scores = new Float64Array(KEY_BLOCK); // scratch: one block of scaled scores
  const acc = new Float64Array(hs); // running sum of p * v for the current row
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * nh + h) * hs;
        let m = Number.NEGATIVE_INFINITY; // running max of the scores seen
        let l = 0; // running sum of exp(score - m)
        acc.fill(0);
        const end = keyEnd(a, t);
        for (let s0 = 0; s0 < end; s0 += KEY_BLOCK) {
          const n = Math.min(KEY_BLOCK, end - s0);
          // scores of this block: (hs) . (n, hs) -> (n)
          let blockMax = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < n; j++) {
            const s = s0 + j;
            if (!visible(a, b, t, s)) {
              scores[j] = Number.NEGATIVE_INFINITY;
              continue;
            }
            const ko = ((b * S + s) * nkv + kh) * hs;
            let dot = 0;
            for (let i = 0; i < hs; i++) dot += q[qo + i] * k[ko + i];
            scores[j] = dot * scale;
            if (scores[j] > blockMax) blockMax = scores[j];
          }
          if (blockMax === Number.NEGATIVE_INFINITY) continue; // the whole block is masked
          // rescale what was accumulated under the old max
          if (blockMax > m) {
            const corr = Math.exp(m - blockMax); // 0 when m is still -inf
            l *= corr;
            for (let i = 0; i < hs; i++) acc[i] *= corr;
            m = blockMax;
          }
          // acc += p @ v: (n) @ (n, hs) -> (hs)
          for (let j = 0; j < n; j++) {
            if (scores[j] === Number.NEGATIVE_INFINITY) continue;
            const p = Math.exp(scores[j] - m);
            l += p;
            const vo = ((b * S + s0 + j) * nkv + kh) * hs;
            for (let i = 0; i < hs; i++) acc[i] += p * v[vo + i];
          }
        }
        const oo = qo; // out has q's layout
        if (l === 0) {
          for (let i = 0; i < hs; i++) out[oo + i] = 0;
          lse[(b * nh + h) * T + t] = Number.NEGATIVE_INFINITY;
        } else {
          const inv = 1 / l;
          for (let i = 0; i < hs; i++) out[oo + i] = acc[i] * inv;
          lse[(b * nh + h) * T + t] = m + Math.log(l);
        }
      }
    }
  }
}

/** FlashAttention-2 backward. With P_ts = exp(scale q_t.k_s - lse_t), D_t = dO_t . O_t and
 * dP_ts = dO_t . v_s:  dS = P (dP - D);  gq_t = scale sum_s dS_ts k_s;  gk_s = scale sum_t dS_ts q_t;
 * gv_s = sum_t P_ts dO_t  (gk, gv summed over the heads that share a kv head). */
export function attentionBackward(
  a: AttentionArgs,
  out: F32,
  lse: F32,
  gOut: F32,
  gq: F32,
  gk: F32,
  gv: F32,
): void {
  checkAttention(a);
  const { B, T, S, nh, nkv, hs, scale, q, k, v } = a;
  const group = nh / nkv;
  const masked = a.keyPadding !== null || a.segments !== null;
  const gqRow = new Float64Array(hs); // scratch: gq of the current query row
  gk.fill(0);
  gv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * nh + h) * hs;
        gqRow.fill(0);
        const L = lse[(b * nh + h) * T + t];
        // a fully masked row (lse -inf) had output 0 and gets no gradient
        const end = L === Number.NEGATIVE_INFINITY ? 0 : keyEnd(a, t);
        let D = 0;
        for (let i = 0; i < hs; i++) D += gOut[qo + i] * out[qo + i];
        for (let s = 0; s < end; s++) {
          if (masked && !visible(a, b, t, s)) continue;
          const ko = ((b * S + s) * nkv + kh) * hs;
          // (hs) . (hs): the score q_t.k_s and dP_ts = dO_t.v_s
          let dot = 0;
          let dP = 0;
          for (let i = 0; i < hs; i++) {
            dot += q[qo + i] * k[ko + i];
            dP += gOut[qo + i] * v[ko + i];
          }
          const P = Math.exp(dot * scale - L);
          const dS = P * (dP - D) * scale;
          for (let i = 0; i < hs; i++) {
            gqRow[i] += dS * k[ko + i];
            gk[ko + i] += dS * q[qo + i];
            gv[ko + i] += P * gOut[qo + i];
          }
        }
        for (let i = 0; i < hs; i++) gq[qo + i] = gqRow[i];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// fused cross-entropy: logits (rows, V), targets (rows)

function checkTarget(t: number, r: number, V: number, ignoreIndex: number): void {
  if (t !== ignoreIndex && !(t >= 0 && t < V)) {
    throw new Error(
      `crossEntropy: target ${t} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`,
    );
  }
}

/** losses[r] = lse_r - logits[r, t_r] (0 for ignored rows); lse (rows) saved for every row. */
export function crossEntropy(
  logits: F32,
  targets: I32,
  rows: number,
  V: number,
  ignoreIndex: number,
  losses: F32,
  lse: F32,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    checkTarget(t, r, V, ignoreIndex);
    const o = r * V;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < V; i++) if (logits[o + i] > max) max = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - max);
    const L = max + Math.log(sum);
    lse[r] = L;
    losses[r] = t === ignoreIndex ? 0 : L - logits[o + t];
  }
}

/** glogits[r] = scale * (softmax(logits[r]) - onehot(t_r)), 0 for ignored rows. Each element is
 * read before it is written, so glogits may alias logits. */
export function crossEntropyBackward(
  logits: F32,
  targets: I32,
  lse: F32,
  rows: number,
  V: number,
  ignoreIndex: number,
  scale: number,
  glogits: F32,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    checkTarget(t, r, V, ignoreIndex);
    const o = r * V;
    if (t === ignoreIndex) {
      for (let i = 0; i < V; i++) glogits[o + i] = 0;
      continue;
    }
    const L = lse[r];
    for (let i = 0; i < V; i++) glogits[o + i] = scale * Math.exp(logits[o + i] - L);
    glogits[o + t] -= scale;
  }
}

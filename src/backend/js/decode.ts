// js backend, decodeLayer: one Llama / Qwen2 decoder layer for one new token against a KV cache
// (contract: backend.ts DecodeLayerArgs). The reference definition, written out step by step in
// the order HF's LlamaDecoderLayer runs it; sums in float64 (JS numbers), each intermediate
// vector stored as f32 where the unfused layer stores an f32 tensor.

import { type DecodeLayerArgs, decodeScratchSize, type F32, type U16 } from "../backend.js";
import { bf16ToF32, f16ToF32 } from "./convert.js";

function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(`decodeLayer: ${what}`);
}

function checkDecode(a: DecodeLayerArgs): void {
  const { C, F, nh, nkv, hs, past, capacity } = a;
  for (const [v, n] of [
    [C, "C"],
    [F, "F"],
    [nh, "nh"],
    [nkv, "nkv"],
    [hs, "hs"],
  ] as const)
    need(Number.isInteger(v) && v > 0, `${n} must be a positive integer, got ${v}`);
  need(hs % 2 === 0, `head size ${hs} must be even`);
  need(nh % nkv === 0, `nh ${nh} is not a multiple of nkv ${nkv}`);
  need(
    Number.isInteger(past) && past >= 0 && past < capacity,
    `past ${past} leaves no free row in a cache of capacity ${capacity}`,
  );
  const half = a.wdtype !== "f32";
  need(a.wdtype === "f32" || a.wdtype === "bf16" || a.wdtype === "f16", `unknown wdtype ${a.wdtype}`);
  const qd = nh * hs;
  const kd = nkv * hs;
  const lens: [string, F32 | U16 | null, number][] = [
    ["h", a.h, C],
    ["inputNorm", a.inputNorm, C],
    ["postNorm", a.postNorm, C],
    ["wq", a.wq, qd * C],
    ["wk", a.wk, kd * C],
    ["wv", a.wv, kd * C],
    ["wo", a.wo, C * qd],
    ["wgate", a.wgate, F * C],
    ["wup", a.wup, F * C],
    ["wdown", a.wdown, C * F],
    ["bq", a.bq, qd],
    ["bk", a.bk, kd],
    ["bv", a.bv, kd],
    ["cos", a.cos, hs / 2],
    ["sin", a.sin, hs / 2],
  ];
  for (const [name, x, n] of lens) {
    if (x === null) continue;
    need(x.length === n, `${name} has ${x.length} elements where ${n} are needed`);
    if (name.startsWith("w"))
      need(x instanceof (half ? Uint16Array : Float32Array), `${name} must match wdtype ${a.wdtype}`);
  }
  need(a.kCache.length >= capacity * kd, `kCache has ${a.kCache.length} elements, ${capacity * kd} needed`);
  need(a.vCache.length >= capacity * kd, `vCache has ${a.vCache.length} elements, ${capacity * kd} needed`);
  const ns = decodeScratchSize(C, nh, hs, F);
  need(a.scratch.length >= ns, `scratch has ${a.scratch.length} elements, ${ns} needed`);
}

/** out = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps), as the rmsNorm kernel. */
function rmsNormRow(x: F32, w: F32, eps: number, out: F32): void {
  let ms = 0;
  for (let i = 0; i < x.length; i++) ms += x[i] * x[i];
  const s = 1 / Math.sqrt(ms / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = Math.fround(x[i] * s) * w[i];
}

/** (K) @ (N, K)^T -> (N): out[n] = x . W[n] (+ bias[n]), or out[n] += x . W[n] when accumulate. */
function linearRow(
  x: F32,
  W: F32 | U16,
  wdtype: DecodeLayerArgs["wdtype"],
  bias: F32 | null,
  out: F32,
  accumulate: boolean,
): void {
  const K = x.length;
  const row = new Float32Array(K);
  for (let n = 0; n < out.length; n++) {
    const w = W.subarray(n * K, (n + 1) * K);
    if (wdtype === "bf16") bf16ToF32(w as U16, row);
    else if (wdtype === "f16") f16ToF32(w as U16, row);
    else row.set(w);
    let s = 0;
    for (let k = 0; k < K; k++) s += x[k] * row[k];
    if (accumulate) out[n] += Math.fround(s);
    else out[n] = bias ? s + bias[n] : s;
  }
}

/** rotate-half RoPE in place on heads of hs (as the rope kernel with one position). */
function ropeRow(x: F32, heads: number, hs: number, cos: F32, sin: F32): void {
  const half = hs / 2;
  for (let h = 0; h < heads; h++) {
    const o = h * hs;
    for (let i = 0; i < half; i++) {
      const x1 = x[o + i];
      const x2 = x[o + i + half];
      x[o + i] = x1 * cos[i] - x2 * sin[i];
      x[o + i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

/** att (nh, hs) = softmax(q k^T / sqrt(hs)) v over the S = past + 1 cached keys, every one visible. */
function attendRow(a: DecodeLayerArgs, q: F32, att: F32): void {
  const { nh, nkv, hs } = a;
  const S = a.past + 1;
  const group = nh / nkv;
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(S);
  for (let h = 0; h < nh; h++) {
    const kh = Math.floor(h / group);
    let max = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < S; s++) {
      const ko = (s * nkv + kh) * hs;
      let dot = 0;
      for (let i = 0; i < hs; i++) dot += q[h * hs + i] * a.kCache[ko + i];
      scores[s] = dot * scale;
      if (scores[s] > max) max = scores[s];
    }
    let l = 0;
    for (let s = 0; s < S; s++) {
      scores[s] = Math.exp(scores[s] - max);
      l += scores[s];
    }
    for (let i = 0; i < hs; i++) {
      let acc = 0;
      for (let s = 0; s < S; s++) acc += scores[s] * a.vCache[(s * nkv + kh) * hs + i];
      att[h * hs + i] = acc / l;
    }
  }
}

/** x * sigmoid(x), as the unary kernel computes it. */
function silu(x: number): number {
  if (x >= 0) return x * (1 / (1 + Math.exp(-x)));
  const e = Math.exp(x);
  return x * (e / (1 + e));
}

export function decodeLayer(a: DecodeLayerArgs): void {
  checkDecode(a);
  const { C, F, nh, nkv, hs, past, h, wdtype } = a;
  const qd = nh * hs;
  const kd = nkv * hs;
  const xn = a.scratch.subarray(0, C);
  const q = a.scratch.subarray(C, C + qd);
  const att = a.scratch.subarray(C + qd, C + 2 * qd);
  const act = a.scratch.subarray(C + 2 * qd, C + 2 * qd + F);
  const k = a.kCache.subarray(past * kd, (past + 1) * kd);
  const v = a.vCache.subarray(past * kd, (past + 1) * kd);

  // h += o_proj(attention(rope(q), cache ++ rope(k), cache ++ v)) of the normed h
  rmsNormRow(h, a.inputNorm, a.eps, xn);
  linearRow(xn, a.wq, wdtype, a.bq, q, false); // (C) -> (nh hs)
  linearRow(xn, a.wk, wdtype, a.bk, k, false); // (C) -> (nkv hs), cache row past
  linearRow(xn, a.wv, wdtype, a.bv, v, false);
  ropeRow(q, nh, hs, a.cos, a.sin);
  ropeRow(k, nkv, hs, a.cos, a.sin);
  attendRow(a, q, att); // (nh, hs) against (past + 1, nkv, hs) -> (nh, hs)
  linearRow(att, a.wo, wdtype, null, h, true); // h += (nh hs) -> (C)

  // h += down(silu(gate(xn)) * up(xn)) of the normed h
  rmsNormRow(h, a.postNorm, a.eps, xn);
  const up = new Float32Array(F);
  linearRow(xn, a.wgate, wdtype, null, act, false); // (C) -> (F)
  linearRow(xn, a.wup, wdtype, null, up, false);
  for (let i = 0; i < F; i++) act[i] = Math.fround(silu(act[i])) * up[i];
  linearRow(act, a.wdown, wdtype, null, h, true); // h += (F) -> (C)
}

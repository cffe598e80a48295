// decodeLayer (one fused decoder layer for one token against a KV cache) on every backend — js,
// native, and each native kernel build this CPU runs — against the same layer run as the unfused
// sequence of that backend's own kernels (rmsNorm, gemm / gemmHalf, rope, attention, silu, add,
// mul; each parity-tested against js in parity.test.ts): f32, bf16 and f16 weights, GQA and
// multi-head, Qwen2 q/k/v biases, sizes that are not multiples of 4, 8 or 16, an empty cache and
// caches longer than one 64-key block, sizes large enough to split over the thread pool.
// Cache rows past the new one and the scratch start as NaN: a kernel that reads them fails.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Backend, type DecodeLayerArgs, decodeScratchSize } from "../../src/backend/backend.js";
import { availableBackends } from "../../src/backend/index.js";
import { jsBackend as js } from "../../src/backend/js/index.js";
import { loadNativeBackend, nativeIsas } from "../../src/backend/native/index.js";
import { checkTensor } from "../helpers.js";

type F32 = Float32Array;

function rand(n: number, seed: number, scale = 1): F32 {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 2 * scale;
  });
}

const backends: Backend[] = [...availableBackends()];
for (const isa of nativeIsas()) {
  const r = loadNativeBackend(undefined, isa);
  if (r.backend && !backends.some((b) => b.name === r.backend?.name)) backends.push(r.backend);
}

interface Case {
  C: number;
  F: number;
  nh: number;
  nkv: number;
  hs: number;
  past: number;
  capacity: number;
  bias: boolean;
}

type WDtype = DecodeLayerArgs["wdtype"];

/** Random layer weights, a hidden state, RoPE rows and a cache with `past` filled rows. */
function makeArgs(c: Case, wdtype: WDtype, seed: number): DecodeLayerArgs {
  const { C, F, nh, nkv, hs, past, capacity } = c;
  const qd = nh * hs;
  const kd = nkv * hs;
  const weight = (rows: number, cols: number, s: number) => {
    const w = rand(rows * cols, s, 1 / Math.sqrt(cols));
    if (wdtype === "f32") return w;
    const u = new Uint16Array(w.length);
    if (wdtype === "bf16") js.f32ToBf16(w, u);
    else js.f32ToF16(w, u);
    return u;
  };
  const angles = rand(hs / 2, seed + 9, 3);
  const kCache = new Float32Array(capacity * kd).fill(Number.NaN);
  const vCache = new Float32Array(capacity * kd).fill(Number.NaN);
  kCache.set(rand(past * kd, seed + 10));
  vCache.set(rand(past * kd, seed + 11));
  return {
    C,
    F,
    nh,
    nkv,
    hs,
    eps: 1e-5,
    h: rand(C, seed, 2),
    inputNorm: rand(C, seed + 1, 1.5),
    postNorm: rand(C, seed + 2, 1.5),
    wdtype,
    wq: weight(qd, C, seed + 3),
    wk: weight(kd, C, seed + 4),
    wv: weight(kd, C, seed + 5),
    wo: weight(C, qd, seed + 6),
    wgate: weight(F, C, seed + 7),
    wup: weight(F, C, seed + 8),
    wdown: weight(C, F, seed + 12),
    bq: c.bias ? rand(qd, seed + 13, 0.5) : null,
    bk: c.bias ? rand(kd, seed + 14, 0.5) : null,
    bv: c.bias ? rand(kd, seed + 15, 0.5) : null,
    cos: angles.map(Math.cos),
    sin: angles.map(Math.sin),
    kCache,
    vCache,
    capacity,
    past,
    scratch: new Float32Array(decodeScratchSize(C, nh, hs, F)).fill(Number.NaN),
  };
}

/** The layer as the unfused model runs it, through be's own kernels: new h, and the new k, v rows. */
function unfusedLayer(be: Backend, a: DecodeLayerArgs): { h: F32; k: F32; v: F32 } {
  const { C, F, nh, nkv, hs, past, eps } = a;
  const qd = nh * hs;
  const kd = nkv * hs;
  const S = past + 1;
  // (K) @ (N, K)^T + bias -> (N)
  const linear = (x: F32, W: F32 | Uint16Array, N: number, K: number, bias: F32 | null): F32 => {
    const out = new Float32Array(N);
    if (bias) out.set(bias);
    const beta = bias ? 1 : 0;
    if (a.wdtype === "f32") {
      be.gemm({
        transA: false,
        transB: true,
        M: 1,
        N,
        K,
        alpha: 1,
        A: x,
        offA: 0,
        lda: K,
        strideA: 0,
        B: W as F32,
        offB: 0,
        ldb: K,
        strideB: 0,
        beta,
        C: out,
        offC: 0,
        ldc: N,
        strideC: 0,
        batch: 1,
      });
    } else {
      const W16 = W as Uint16Array;
      be.gemmHalf({
        M: 1,
        N,
        K,
        A: x,
        offA: 0,
        lda: K,
        W: W16,
        offW: 0,
        ldw: K,
        dtype: a.wdtype,
        beta,
        C: out,
        offC: 0,
        ldc: N,
      });
    }
    return out;
  };
  const norm = (x: F32, w: F32): F32 => {
    const out = new Float32Array(C);
    be.rmsNorm(x, w, 1, C, eps, out, new Float32Array(1));
    return out;
  };
  const add = (x: F32, y: F32): F32 => {
    const out = new Float32Array(x.length);
    be.binary("add", x, [1], y, [1], out, [x.length]);
    return out;
  };
  const pos = Int32Array.of(0); // cos / sin are the one row of the token's position
  const xn = norm(a.h, a.inputNorm);
  const q = linear(xn, a.wq, qd, C, a.bq);
  const k = linear(xn, a.wk, kd, C, a.bk);
  const v = linear(xn, a.wv, kd, C, a.bv);
  const qr = new Float32Array(qd);
  const kr = new Float32Array(kd);
  be.rope(q, 1, 1, nh, hs, a.cos, a.sin, pos, false, qr);
  be.rope(k, 1, 1, nkv, hs, a.cos, a.sin, pos, false, kr);
  // cached rows ++ the new one: (1, S, nkv, hs)
  const keys = new Float32Array(S * kd);
  const values = new Float32Array(S * kd);
  keys.set(a.kCache.subarray(0, past * kd));
  values.set(a.vCache.subarray(0, past * kd));
  keys.set(kr, past * kd);
  values.set(v, past * kd);
  const att = new Float32Array(qd);
  be.attention(
    {
      B: 1,
      T: 1,
      S,
      nh,
      nkv,
      hs,
      scale: 1 / Math.sqrt(hs),
      causal: true,
      q: qr,
      k: keys,
      v: values,
      keyPadding: null,
      segments: null,
    },
    att,
    new Float32Array(nh),
  );
  const h1 = add(a.h, linear(att, a.wo, C, qd, null));
  const xn2 = norm(h1, a.postNorm);
  const g = linear(xn2, a.wgate, F, C, null);
  const u = linear(xn2, a.wup, F, C, null);
  const sg = new Float32Array(F);
  be.unary("silu", g, sg);
  const act = new Float32Array(F);
  be.binary("mul", sg, [1], u, [1], act, [F]);
  return { h: add(h1, linear(act, a.wdown, C, F, null)), k: kr, v };
}

const CASES: Case[] = [
  { C: 13, F: 23, nh: 4, nkv: 2, hs: 6, past: 0, capacity: 1, bias: false }, // empty cache, GQA
  { C: 5, F: 7, nh: 2, nkv: 2, hs: 4, past: 1, capacity: 3, bias: true }, // multi-head, Qwen2 biases
  { C: 37, F: 53, nh: 4, nkv: 1, hs: 8, past: 5, capacity: 9, bias: true }, // one kv head
  { C: 30, F: 29, nh: 3, nkv: 3, hs: 10, past: 70, capacity: 80, bias: false }, // two key blocks
  { C: 259, F: 701, nh: 8, nkv: 2, hs: 32, past: 130, capacity: 131, bias: true }, // split over the pool
];

for (const be of backends) {
  describe(`decodeLayer ${be.name}`, () => {
    test("equals the unfused kernel sequence: f32 / bf16 / f16, GQA, biases, odd sizes, S = 1 to 131", () => {
      let seed = 1;
      for (const c of CASES) {
        for (const wdtype of ["f32", "bf16", "f16"] as const) {
          const label = `${be.name} ${wdtype} ${JSON.stringify(c)}`;
          const a = makeArgs(c, wdtype, (seed += 100));
          const want = unfusedLayer(be, a);
          const cachedK = a.kCache.slice(0, c.past * c.nkv * c.hs);
          be.decodeLayer(a);
          const kd = c.nkv * c.hs;
          checkTensor(a.h, want.h, { atol: 2e-5, rtol: 1e-4 }, `${label}: h`);
          checkTensor(
            a.kCache.subarray(c.past * kd, (c.past + 1) * kd),
            want.k,
            { atol: 1e-5, rtol: 1e-5 },
            `${label}: k row`,
          );
          checkTensor(
            a.vCache.subarray(c.past * kd, (c.past + 1) * kd),
            want.v,
            { atol: 1e-5, rtol: 1e-5 },
            `${label}: v row`,
          );
          assert.deepEqual(a.kCache.subarray(0, c.past * kd), cachedK, `${label}: cached rows changed`);
          const rest = a.kCache.subarray((c.past + 1) * kd);
          assert.ok(
            rest.every((x) => Number.isNaN(x)),
            `${label}: rows past the new one were written`,
          );
        }
      }
    });

    test("agrees with the js reference on a Qwen2-like layer", () => {
      const c: Case = { C: 67, F: 131, nh: 6, nkv: 2, hs: 12, past: 20, capacity: 24, bias: true };
      for (const wdtype of ["f32", "bf16"] as const) {
        const a = makeArgs(c, wdtype, 7);
        const b = makeArgs(c, wdtype, 7);
        js.decodeLayer(a);
        be.decodeLayer(b);
        checkTensor(b.h, a.h, { atol: 2e-5, rtol: 1e-4 }, `${be.name} ${wdtype}: h vs js`);
        checkTensor(
          b.kCache.subarray(0, 21 * 24),
          a.kCache.subarray(0, 21 * 24),
          1e-5,
          `${be.name}: cache vs js`,
        );
      }
    });

    test("bad arguments throw", () => {
      const c: Case = { C: 8, F: 12, nh: 2, nkv: 1, hs: 4, past: 2, capacity: 3, bias: false };
      const a = makeArgs(c, "f32", 3);
      assert.throws(() => be.decodeLayer({ ...a, past: 3 }), /past 3/);
      assert.throws(() => be.decodeLayer({ ...a, nkv: 3 }), /multiple of nkv/);
      assert.throws(() => be.decodeLayer({ ...a, wdtype: "bf16" }), /wq/);
      assert.throws(() => be.decodeLayer({ ...a, wo: a.wo.subarray(1) }), /wo/);
      assert.throws(() => be.decodeLayer({ ...a, scratch: new Float32Array(4) }), /scratch/);
      assert.throws(() => be.decodeLayer({ ...a, kCache: a.kCache.subarray(0, 8) }), /kCache/);
    });
  });
}

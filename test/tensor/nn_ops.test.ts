// Tests of src/tensor/ops/nn.ts (and the js kernels in src/backend/js/nn.ts): forward values and
// gradients against PyTorch fixtures (scripts/make_nn_fixtures.py), finite-difference gradchecks
// of every op, fused attention against an unfused plain-loop composition, and the invariants
// (KV-cache rows, fully masked rows, ignored targets, in-place gradients).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as jsnn from "../../src/backend/js/nn.js";
import { randn, tensor } from "../../src/tensor/create.js";
import {
  applyRope,
  attention,
  crossEntropy,
  dropout,
  gelu,
  layerNorm,
  logSoftmax,
  quickGelu,
  rmsNorm,
  ropeCache,
  silu,
  softmax,
} from "../../src/tensor/ops/nn.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad, Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";

// ---------------------------------------------------------------------------------------------
// helpers

interface Arr {
  shape: number[];
  data: number[];
}
type Case = Record<string, unknown> & { op: string };

/** test/fixtures/nn/nn_ops.json, found by walking up from the compiled test (dist/ or .build/x/). */
function loadFixtures(): { cases: Record<string, Case> } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, "test", "fixtures", "nn", "nn_ops.json");
    if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8"));
    const up = dirname(dir);
    if (up === dir)
      throw new Error(
        "nn_ops.test: test/fixtures/nn/nn_ops.json not found (run scripts/make_nn_fixtures.py)",
      );
    dir = up;
  }
}
const fixtures = loadFixtures();

const f32 = (a: Arr, grad = false): Tensor => {
  const t = new Tensor(Float32Array.from(a.data), a.shape);
  return grad ? t.requireGrad() : t;
};
const i32 = (a: Arr): Tensor => new Tensor(Int32Array.from(a.data), a.shape);
const arr = (c: Case, key: string): Arr => c[key] as Arr;

let seed = 100;
/** A fresh seeded leaf needing grad. */
function leaf(shape: number[], std = 1): Tensor {
  return randn(shape, new Generator(seed++), std).requireGrad();
}

const TOL = { atol: 2e-5, rtol: 2e-4 };

// ---------------------------------------------------------------------------------------------
// against PyTorch

describe("nn ops vs PyTorch fixtures", () => {
  for (const [name, c] of Object.entries(fixtures.cases)) {
    it(name, () => {
      const gy = f32(arr(c, "gy"));
      const check = (got: Tensor | null, key: string): void => {
        assert.ok(got, `${name}: no gradient for ${key}`);
        checkTensor(got.f32, arr(c, key).data, TOL, `${name} ${key}`);
      };
      switch (c.op) {
        case "softmax":
        case "log_softmax": {
          const x = f32(arr(c, "x"), true);
          const y = (c.op === "softmax" ? softmax : logSoftmax)(x, c.axis as number);
          check(y, "out");
          y.backward(gy);
          check(x.grad, "gx");
          break;
        }
        case "layer_norm": {
          const x = f32(arr(c, "x"), true);
          const w = c.w ? f32(arr(c, "w"), true) : null;
          const b = c.b ? f32(arr(c, "b"), true) : null;
          const y = layerNorm(x, w, b, c.eps as number);
          check(y, "out");
          y.backward(gy);
          check(x.grad, "gx");
          if (w) check(w.grad, "gw");
          if (b) check(b.grad, "gb");
          break;
        }
        case "rms_norm": {
          const x = f32(arr(c, "x"), true);
          const w = f32(arr(c, "w"), true);
          const y = rmsNorm(x, w, c.eps as number);
          check(y, "out");
          y.backward(gy);
          check(x.grad, "gx");
          check(w.grad, "gw");
          break;
        }
        case "gelu":
        case "gelu_tanh":
        case "silu":
        case "quick_gelu": {
          const x = f32(arr(c, "x"), true);
          const fn = {
            gelu: (t: Tensor) => gelu(t),
            gelu_tanh: (t: Tensor) => gelu(t, "tanh"),
            silu,
            quick_gelu: quickGelu,
          }[c.op];
          const y = fn(x);
          check(y, "out");
          y.backward(gy);
          check(x.grad, "gx");
          break;
        }
        case "rope": {
          const x = f32(arr(c, "x"), true);
          const pos = i32(arr(c, "positions"));
          const hs = x.shape[3];
          const scaling = c.factor ? { type: "linear" as const, factor: c.factor as number } : undefined;
          const rc = ropeCache(hs, c.maxPos as number, c.theta as number, scaling);
          // the tables themselves, row by row at the used positions, against HF's float32 tables
          const half = hs / 2;
          const cosRows = new Float32Array(pos.size * half);
          const sinRows = new Float32Array(pos.size * half);
          pos.i32.forEach((p, r) => {
            cosRows.set(rc.cos.f32.subarray(p * half, (p + 1) * half), r * half);
            sinRows.set(rc.sin.f32.subarray(p * half, (p + 1) * half), r * half);
          });
          checkTensor(cosRows, arr(c, "cos").data, 2e-6, `${name} cos`);
          checkTensor(sinRows, arr(c, "sin").data, 2e-6, `${name} sin`);
          const y = applyRope(x, rc, pos);
          check(y, "out");
          y.backward(gy);
          check(x.grad, "gx");
          break;
        }
        case "attention": {
          const [q, k, v] = ["q", "k", "v"].map((s) => f32(arr(c, s), true));
          const kp = c.keyPadding ? i32(arr(c, "keyPadding")) : undefined;
          const seg = c.segments ? i32(arr(c, "segments")) : undefined;
          const y = attention(q, k, v, { causal: c.causal as boolean, keyPadding: kp, segments: seg });
          check(y, "out");
          y.backward(gy);
          check(q.grad, "gq");
          check(k.grad, "gk");
          check(v.grad, "gv");
          break;
        }
        case "cross_entropy": {
          const x = f32(arr(c, "x"), true);
          const loss = crossEntropy(x, i32(arr(c, "targets")));
          check(loss, "out");
          loss.backward(gy);
          check(x.grad, "gx");
          break;
        }
        default:
          assert.fail(`unknown fixture op ${c.op}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// finite differences

describe("nn ops gradcheck", () => {
  it("softmax / logSoftmax along the last and a middle axis", () => {
    gradcheck((x) => softmax(x), [leaf([3, 5])], { label: "softmax -1" });
    gradcheck((x) => softmax(x, 1), [leaf([2, 3, 4])], { label: "softmax 1" });
    gradcheck((x) => logSoftmax(x), [leaf([3, 5])], { label: "logSoftmax -1" });
    gradcheck((x) => logSoftmax(x, 0), [leaf([3, 2, 2])], { label: "logSoftmax 0" });
  });

  it("layerNorm with and without affine", () => {
    gradcheck((x, w, b) => layerNorm(x, w, b, 1e-5), [leaf([4, 7]), leaf([7]), leaf([7])], {
      label: "layerNorm affine",
    });
    gradcheck((x) => layerNorm(x, null, null), [leaf([2, 3, 5])], { label: "layerNorm plain" });
    gradcheck((x, w) => layerNorm(x, w, null), [leaf([3, 6]), leaf([6])], { label: "layerNorm weight only" });
  });

  it("rmsNorm with and without weight", () => {
    gradcheck((x, w) => rmsNorm(x, w, 1e-6), [leaf([4, 7]), leaf([7])], { label: "rmsNorm" });
    gradcheck((x) => rmsNorm(x, null), [leaf([2, 3, 5])], { label: "rmsNorm plain" });
  });

  it("gelu (both), quickGelu, silu", () => {
    gradcheck((x) => gelu(x), [leaf([13], 2)], { label: "gelu" });
    gradcheck((x) => gelu(x, "tanh"), [leaf([13], 2)], { label: "gelu tanh" });
    gradcheck((x) => quickGelu(x), [leaf([13], 2)], { label: "quickGelu" });
    gradcheck((x) => silu(x), [leaf([13], 2)], { label: "silu" });
  });

  it("dropout (same mask on every call through a freshly seeded generator)", () => {
    gradcheck((x) => dropout(x, 0.4, new Generator(7), true), [leaf([5, 6])], { label: "dropout" });
  });

  it("applyRope", () => {
    const rc = ropeCache(6, 20, 100);
    const pos = tensor([3, 0, 19, 7, 1, 2, 5, 11], [2, 4], "i32");
    gradcheck((x) => applyRope(x, rc, pos), [leaf([2, 4, 3, 6])], { label: "rope" });
  });

  it("attention: GQA + causal + keyPadding + segments, T=7, hs=6", () => {
    const kp = tensor([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1], [2, 7], "i32");
    const seg = tensor([0, 0, 0, 1, 1, 1, 1, 5, 5, 6, 6, 6, 6, 6], [2, 7], "i32");
    gradcheck(
      (q, k, v) => attention(q, k, v, { causal: true, keyPadding: kp, segments: seg }),
      [leaf([2, 7, 4, 6]), leaf([2, 7, 2, 6]), leaf([2, 7, 2, 6])],
      {
        label: "attention masks",
      },
    );
  });

  it("attention: KV cache shape (T=3 < S=8), MQA, custom scale", () => {
    gradcheck(
      (q, k, v) => attention(q, k, v, { causal: true, scale: 0.7 }),
      [leaf([1, 3, 3, 5]), leaf([1, 8, 1, 5]), leaf([1, 8, 1, 5])],
      {
        label: "attention kv cache",
      },
    );
  });

  it("crossEntropy with ignored targets", () => {
    const t = tensor([2, -100, 0, 6, 4, -100, 1], [7], "i32");
    gradcheck((x) => crossEntropy(x, t), [leaf([7, 7], 2)], { label: "crossEntropy" });
    const t3 = tensor([1, 9, 9, 0, 2, 9], [2, 3], "i32");
    gradcheck((x) => crossEntropy(x, t3, 9), [leaf([2, 3, 10])], { label: "crossEntropy ignoreIndex 9" });
  });
});

// ---------------------------------------------------------------------------------------------
// fused attention vs the unfused composition softmax(q k^T * scale + mask) v

/** Plain loops: builds the full (T, S) score matrix per (b, h). Fully masked rows -> zeros. */
function unfusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: { causal: boolean; keyPadding?: Tensor; segments?: Tensor; scale?: number },
): Float32Array {
  const [B, T, nh, hs] = q.shape;
  const [, S, nkv] = k.shape;
  const scale = o.scale ?? 1 / Math.sqrt(hs);
  const out = new Float32Array(q.size);
  const qd = q.f32;
  const kd = k.f32;
  const vd = v.f32;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const kh = Math.floor((h * nkv) / nh);
      for (let t = 0; t < T; t++) {
        const row = new Float64Array(S);
        for (let s = 0; s < S; s++) {
          let ok = !o.causal || s <= t + S - T;
          if (o.keyPadding && o.keyPadding.i32[b * S + s] === 0) ok = false;
          if (o.segments && o.segments.i32[b * T + t] !== o.segments.i32[b * T + s]) ok = false;
          let dot = 0;
          for (let i = 0; i < hs; i++)
            dot += qd[((b * T + t) * nh + h) * hs + i] * kd[((b * S + s) * nkv + kh) * hs + i];
          row[s] = ok ? dot * scale : Number.NEGATIVE_INFINITY;
        }
        const max = Math.max(...row);
        if (max === Number.NEGATIVE_INFINITY) continue;
        let sum = 0;
        for (let s = 0; s < S; s++) sum += Math.exp(row[s] - max);
        for (let s = 0; s < S; s++) {
          const p = Math.exp(row[s] - max) / sum;
          for (let i = 0; i < hs; i++)
            out[((b * T + t) * nh + h) * hs + i] += p * vd[((b * S + s) * nkv + kh) * hs + i];
        }
      }
    }
  }
  return out;
}

describe("fused attention", () => {
  it("equals the unfused composition with every mask, across key blocks (S = 150)", () => {
    const g = new Generator(3);
    const [B, T, nh, nkv, hs] = [2, 150, 4, 2, 8];
    const q = randn([B, T, nh, hs], g);
    const k = randn([B, T, nkv, hs], g);
    const v = randn([B, T, nkv, hs], g);
    const kp = new Int32Array(B * T).map(() => (g.random() < 0.2 ? 0 : 1));
    const seg = new Int32Array(B * T).map((_, i) => Math.floor((i % T) / 40) + 10 * Math.floor(i / T));
    const keyPadding = new Tensor(kp, [B, T]);
    const segments = new Tensor(seg, [B, T]);
    for (const causal of [false, true]) {
      const o = { causal, keyPadding, segments };
      checkTensor(attention(q, k, v, o), unfusedAttention(q, k, v, o), 1e-5, `causal ${causal}`);
    }
    // huge scores: exp would overflow unless each new block maximum rescales the running sums
    // (f32 scores of ~8000 carry ~5e-4 of rounding, so the tolerance grows with the scale; the js
    // reference accumulates in f64 and would pass 1e-5, the native kernels compute in f32)
    for (const scale of [3, 1000]) {
      const o = { causal: true, scale };
      checkTensor(
        attention(q, k, v, o),
        unfusedAttention(q, k, v, o),
        Math.max(1e-5, 1e-6 * scale),
        `scale ${scale}`,
      );
    }
  });

  it("KV-cache decoding: the last T query rows equal full causal attention", () => {
    const g = new Generator(4);
    const [S, T, nh, nkv, hs] = [9, 3, 2, 1, 4];
    const qFull = randn([1, S, nh, hs], g);
    const k = randn([1, S, nkv, hs], g);
    const v = randn([1, S, nkv, hs], g);
    const full = attention(qFull, k, v, { causal: true }).f32;
    const qLast = new Tensor(qFull.f32.slice((S - T) * nh * hs), [1, T, nh, hs]);
    checkTensor(
      attention(qLast, k, v, { causal: true }).f32,
      full.slice((S - T) * nh * hs),
      1e-6,
      "kv cache rows",
    );
  });

  it("a fully masked row gives zeros, lse -Infinity and no gradient", () => {
    const [B, T, nh, hs] = [1, 4, 2, 3];
    const q = leaf([B, T, nh, hs]);
    const k = leaf([B, T, nh, hs]);
    const v = leaf([B, T, nh, hs]);
    // key 0 is padding, so causal query 0 sees nothing
    const keyPadding = tensor([0, 1, 1, 1], [1, 4], "i32");
    const y = attention(q, k, v, { causal: true, keyPadding });
    for (let i = 0; i < nh * hs; i++) assert.equal(y.f32[i], 0);
    const lse = new Float32Array(B * nh * T);
    jsnn.attention(
      {
        B,
        T,
        S: T,
        nh,
        nkv: nh,
        hs,
        scale: 1,
        causal: true,
        q: q.f32,
        k: k.f32,
        v: v.f32,
        keyPadding: keyPadding.i32,
        segments: null,
      },
      new Float32Array(q.size),
      lse,
    );
    assert.equal(lse[0], Number.NEGATIVE_INFINITY);
    assert.equal(lse[T], Number.NEGATIVE_INFINITY);
    assert.ok(Number.isFinite(lse[1]));
    y.backward(randn(y.shape, new Generator(1)));
    for (let i = 0; i < nh * hs; i++) assert.equal(q.grad!.f32[i], 0);
    for (let i = 0; i < nh * hs; i++) assert.equal(k.grad!.f32[i], 0, "padded key gets no gradient");
    assert.ok(q.grad!.f32.slice(nh * hs).some((x) => x !== 0));
  });

  it("rejects bad shapes with the op name and the shapes", () => {
    const q = randn([1, 4, 3, 8]);
    const k = randn([1, 4, 2, 8]);
    assert.throws(() => attention(q, k, k), /attention: .*nh % nkv.*\[1,4,3,8\].*\[1,4,2,8\]/);
    const k1 = randn([1, 3, 1, 8]);
    assert.throws(() => attention(q, k1, k1, { causal: true }), /attention: causal needs S >= T/);
    assert.throws(
      () => attention(q, q, q, { keyPadding: tensor([1, 1], [1, 2], "i32") }),
      /keyPadding has shape \[1,2\], expected \(B, S\) = \[1, 4\]/,
    );
    assert.throws(
      () => attention(q, q, q, { segments: tensor([1, 1, 1, 1], [1, 4]) }),
      /segments must be i32/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// other invariants

describe("cross-entropy details", () => {
  it("every target ignored: loss 0 and a zero gradient (documented; PyTorch gives NaN)", () => {
    const x = leaf([3, 5]);
    const loss = crossEntropy(x, tensor([-100, -100, -100], [3], "i32"));
    assert.equal(loss.item(), 0);
    loss.backward();
    assert.ok(x.grad!.f32.every((g) => g === 0));
  });

  it("gradInPlace writes the same gradient into the logits' storage", () => {
    const t = tensor([1, -100, 4], [3], "i32");
    const a = leaf([3, 6]);
    const b = new Tensor(new Float32Array(a.f32), a.shape).requireGrad();
    crossEntropy(a, t).backward();
    const storage = b.f32;
    const loss = crossEntropy(b, t, -100, { gradInPlace: true });
    loss.backward();
    checkTensor(b.grad!.f32, a.grad!.f32, 0, "in-place gradient");
    checkTensor(storage, a.grad!.f32, 0, "logits storage now holds the gradient");
  });

  it("kernel: glogits may alias logits", () => {
    const g = new Generator(9);
    const logits = randn([4, 9], g).f32;
    const targets = Int32Array.from([3, -100, 8, 0]);
    const losses = new Float32Array(4);
    const lse = new Float32Array(4);
    jsnn.crossEntropy(logits, targets, 4, 9, -100, losses, lse);
    const fresh = new Float32Array(logits.length);
    jsnn.crossEntropyBackward(logits, targets, lse, 4, 9, -100, 0.25, fresh);
    jsnn.crossEntropyBackward(logits, targets, lse, 4, 9, -100, 0.25, logits);
    checkTensor(logits, fresh, 0, "aliased");
  });

  it("rejects a target outside the vocabulary and mismatched shapes", () => {
    assert.throws(
      () => crossEntropy(randn([2, 4]), tensor([1, 4], [2], "i32")),
      /crossEntropy: target 4 at row 1 is outside \[0, 4\)/,
    );
    assert.throws(
      () => crossEntropy(randn([2, 4]), tensor([1, 2, 3], [3], "i32")),
      /crossEntropy: logits \[2,4\].*targets \[3\]/,
    );
  });
});

describe("dropout, softmax edge cases, rope inverse", () => {
  it("dropout is the identity when not training or p = 0, zeros at p = 1, and scales kept values", () => {
    const x = randn([1000], new Generator(2));
    assert.equal(dropout(x, 0.5, new Generator(1), false), x);
    assert.equal(dropout(x, 0, new Generator(1), true), x);
    assert.ok(dropout(x, 1, new Generator(1), true).f32.every((v) => v === 0));
    const y = dropout(x, 0.25, new Generator(1), true).f32;
    let dropped = 0;
    y.forEach((v, i) => {
      if (v === 0) dropped++;
      else assert.ok(Math.abs(v - x.f32[i] / 0.75) < 1e-6);
    });
    assert.ok(dropped > 200 && dropped < 300, `dropped ${dropped} of 1000 at p = 0.25`);
    assert.throws(() => dropout(x, 1.5, new Generator(1), true), /dropout: p must be in \[0, 1\]/);
  });

  it("softmax of an all -Infinity row is zeros (masked rows), not NaN", () => {
    const y = softmax(
      tensor([
        [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
        [0, Math.log(3)],
      ]),
    );
    checkTensor(y.f32, [0, 0, 0.25, 0.75], 1e-7, "masked softmax");
  });

  it("rope backward is the inverse rotation: rope^-1(rope(x)) = x", () => {
    const rc = ropeCache(8, 50, 10000);
    const x = randn([1, 5, 2, 8], new Generator(5));
    const pos = tensor([0, 4, 49, 10, 3], [1, 5], "i32");
    const y = noGrad(() => applyRope(x, rc, pos));
    const back = new Float32Array(x.size);
    jsnn.rope(y.f32, 1, 5, 2, 8, rc.cos.f32, rc.sin.f32, pos.i32, true, back);
    checkTensor(back, x.f32, 1e-6, "inverse rope");
    assert.throws(
      () => applyRope(x, rc, tensor([0, 1, 2, 3, 50], [1, 5], "i32")),
      /rope: position 50 .* outside the cache \[0, 50\)/,
    );
  });

  it("norms reject a weight of the wrong size", () => {
    assert.throws(
      () => layerNorm(randn([2, 4]), randn([5]), null),
      /layerNorm: weight has shape \[5\], expected \[4\]/,
    );
    assert.throws(
      () => rmsNorm(randn([2, 4]), randn([3])),
      /rmsNorm: weight has shape \[3\], expected \[4\]/,
    );
  });
});

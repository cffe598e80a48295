import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AdamW, clipGradNorm, cosineWithWarmup } from "../../src/optim/index.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor } from "../helpers.js";

const fx = JSON.parse(readFileSync("test/fixtures/optim/adamw.json", "utf8"));

function makeParams(): [Tensor, Tensor] {
  const p1 = new Tensor(Float32Array.from(fx.init[0]), [7]).requireGrad();
  const p2 = new Tensor(Float32Array.from(fx.init[1]), [3, 2]).requireGrad();
  return [p1, p2];
}

test("AdamW matches torch.optim.AdamW over 5 steps with two groups and changing lr", () => {
  const [p1, p2] = makeParams();
  const opt = new AdamW(
    [
      { params: [["a", p1]], lr: 1e-2, weightDecay: 0.1 },
      { params: [["b", p2]], lr: 3e-3, weightDecay: 0 },
    ],
    { betas: [0.9, 0.95], eps: 1e-8 },
  );
  for (let s = 0; s < 5; s++) {
    opt.setLrScale(fx.lr_scales[s]);
    p1.grad = new Tensor(Float32Array.from(fx.grads[s][0]), [7]);
    p2.grad = new Tensor(Float32Array.from(fx.grads[s][1]), [3, 2]);
    opt.step();
    checkTensor(p1.f32, fx.after[s][0], { atol: 1e-6, rtol: 1e-5 }, `step ${s} group 0`);
    checkTensor(p2.f32, fx.after[s][1], { atol: 1e-6, rtol: 1e-5 }, `step ${s} group 1`);
  }
});

test("AdamW state save/load resumes exactly", () => {
  const run = (steps: number[], opt: AdamW, p1: Tensor, p2: Tensor) => {
    for (const s of steps) {
      p1.grad = new Tensor(Float32Array.from(fx.grads[s][0]), [7]);
      p2.grad = new Tensor(Float32Array.from(fx.grads[s][1]), [3, 2]);
      opt.step();
    }
  };
  const mk = (a: Tensor, b: Tensor) =>
    new AdamW([
      { params: [["a", a]], lr: 1e-2, weightDecay: 0.1 },
      { params: [["b", b]], lr: 3e-3 },
    ]);
  const [a1, b1] = makeParams();
  const full = mk(a1, b1);
  run([0, 1, 2, 3, 4], full, a1, b1);

  const [a2, b2] = makeParams();
  const first = mk(a2, b2);
  run([0, 1], first, a2, b2);
  const saved = first.stateDict();
  const copy = {
    tensors: Object.fromEntries(
      Object.entries(saved.tensors).map(([k, t]) => [k, new Tensor(new Float32Array(t.f32), t.shape)]),
    ),
    meta: JSON.parse(JSON.stringify(saved.meta)),
  };
  const [a3, b3] = [
    new Tensor(new Float32Array(a2.f32), [7]).requireGrad(),
    new Tensor(new Float32Array(b2.f32), [3, 2]).requireGrad(),
  ];
  const resumed = mk(a3, b3);
  resumed.loadStateDict(copy);
  run([2, 3, 4], resumed, a3, b3);
  assert.deepEqual([...a3.f32], [...a1.f32]);
  assert.deepEqual([...b3.f32], [...b1.f32]);
  assert.throws(
    () => resumed.loadStateDict({ tensors: { "zz.exp_avg": a3 }, meta: copy.meta }),
    /unknown parameter "zz"/,
  );
});

test("AdamW refuses an empty parameter set", () => {
  assert.throws(() => new AdamW([{ params: [], lr: 1 }]), /no parameters/);
});

test("clipGradNorm matches torch.nn.utils.clip_grad_norm_", () => {
  const c = fx.clip;
  const a = new Tensor(new Float32Array(5), [5]).requireGrad();
  const b = new Tensor(new Float32Array(8), [4, 2]).requireGrad();
  a.grad = new Tensor(Float32Array.from(c.grads[0]), [5]);
  b.grad = new Tensor(Float32Array.from(c.grads[1]), [4, 2]);
  const n = clipGradNorm([a, b], c.max_norm);
  assert.ok(Math.abs(n - c.norm) < 1e-5 * c.norm, `norm ${n} vs ${c.norm}`);
  checkTensor(a.grad.f32, c.out[0], 1e-6, "clipped a");
  checkTensor(b.grad.f32, c.out[1], 1e-6, "clipped b");
});

test("cosine schedule with warmup follows Hugging Face's formula", () => {
  // total 100, warmup_ratio 0.03 -> 3 warmup steps
  assert.equal(cosineWithWarmup(0, 100, 0.03), 0);
  assert.ok(Math.abs(cosineWithWarmup(1, 100, 0.03) - 1 / 3) < 1e-12);
  assert.equal(cosineWithWarmup(3, 100, 0.03), 1);
  const mid = 3 + 97 / 2;
  assert.ok(Math.abs(cosineWithWarmup(mid, 100, 0.03) - 0.5) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(100, 100, 0.03)) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(100, 100, 0.03, 0.1) - 0.1) < 1e-12);
  assert.throws(() => cosineWithWarmup(0, 0, 0.03), /totalSteps/);
});

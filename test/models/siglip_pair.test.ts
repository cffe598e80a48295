// SigLIP pair model: the sigmoid loss (values and gradients, learnable t' and b included) against
// HF SiglipModel's formula run in PyTorch float64 (scripts/make_siglip_fixtures.py), the paper's
// initial values, HF names, and finite-difference gradients through both towers on a tiny config.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  l2Normalize,
  logSigmoid,
  SIGLIP_INIT_LOGIT_BIAS,
  SIGLIP_INIT_LOGIT_SCALE,
  SiglipPairModel,
  SiglipPoolingHead,
  sigmoidLoss,
} from "../../src/models/siglip_pair.js";
import type { SiglipTextConfig } from "../../src/models/text_tower.js";
import type { SiglipVisionConfig } from "../../src/models/vision/siglip.js";
import { randn } from "../../src/tensor/create.js";
import { mul, sum } from "../../src/tensor/index.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { loadSiglipFixture } from "./siglip_fixtures.js";

interface LossCase {
  B: number;
  D: number;
  image: number[];
  text: number[];
  logit_scale: number;
  logit_bias: number;
  loss: number;
  logits: number[];
  grad_image: number[];
  grad_text: number[];
  grad_logit_scale: number;
  grad_logit_bias: number;
}

test("sigmoid loss matches PyTorch: loss, logits and gradients incl. t' and b", () => {
  const { cases } = loadSiglipFixture<{ cases: LossCase[] }>("sigmoid_loss.json");
  assert.equal(cases.length, 3);
  cases.forEach((c, k) => {
    const img = new Tensor(Float32Array.from(c.image), [c.B, c.D]).requireGrad();
    const txt = new Tensor(Float32Array.from(c.text), [c.B, c.D]).requireGrad();
    const s = new Tensor(Float32Array.of(c.logit_scale), [1]).requireGrad();
    const b = new Tensor(Float32Array.of(c.logit_bias), [1]).requireGrad();
    const { loss, logits } = sigmoidLoss(l2Normalize(img), l2Normalize(txt), s, b);
    const tag = `case ${k}`;
    assert.ok(Number.isFinite(loss.item()), `${tag}: loss is not finite`);
    checkTensor([loss.item()], [c.loss], { atol: 1e-4, rtol: 1e-5 }, `${tag} loss`);
    checkTensor(logits.f32, c.logits, { atol: 2e-4, rtol: 1e-5 }, `${tag} logits`);
    loss.backward();
    checkTensor(img.grad!.f32, c.grad_image, { atol: 1e-4, rtol: 1e-4 }, `${tag} d image`);
    checkTensor(txt.grad!.f32, c.grad_text, { atol: 1e-4, rtol: 1e-4 }, `${tag} d text`);
    checkTensor(s.grad!.f32, [c.grad_logit_scale], { atol: 1e-4, rtol: 1e-4 }, `${tag} d logit_scale`);
    checkTensor(b.grad!.f32, [c.grad_logit_bias], { atol: 1e-4, rtol: 1e-4 }, `${tag} d logit_bias`);
  });
});

test("logSigmoid is log(sigmoid(x)) and stays finite far out", () => {
  const xs = [-800, -120, -30, -1, -1e-3, 0, 2e-3, 1.5, 30, 120, 800];
  const y = logSigmoid(new Tensor(Float32Array.from(xs), [xs.length])).f32;
  // float64 reference: log sigmoid(x) = -log1p(exp(-x)) for x >= 0, x - log1p(exp(x)) otherwise
  const ref = xs.map((x) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x))));
  checkTensor(y, ref, { atol: 1e-6, rtol: 1e-6 }, "logSigmoid");
});

const vision: SiglipVisionConfig = {
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  image_size: 8,
  patch_size: 4,
  initializer_range: 0.3,
};
const text: SiglipTextConfig = {
  vocab_size: 6,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 4,
  projection_size: 6,
  initializer_range: 0.3,
};

test("pair model: the paper's init, HF names, and the tower is the SiglipVisionModel trained", () => {
  const pair = new SiglipPairModel(vision, text, new Generator(0));
  assert.ok(
    Math.abs(pair.logitScale.item() - Math.log(10)) < 1e-6 && SIGLIP_INIT_LOGIT_SCALE === Math.log(10),
  );
  assert.equal(pair.logitBias.item(), -10);
  assert.equal(SIGLIP_INIT_LOGIT_BIAS, -10);
  const names = pair.namedParameters().map(([n]) => n);
  for (const n of [
    "vision_model.embeddings.patch_embedding.weight",
    "vision_model.encoder.layers.0.self_attn.k_proj.weight",
    "vision_post_layernorm.weight",
    "vision_head.weight",
    "text_model.embeddings.token_embedding.weight",
    "text_model.head.weight",
    "logit_scale",
    "logit_bias",
  ])
    assert.ok(names.includes(n), `missing ${n}`);
  // the tower's own names are SiglipVisionModel's and are the same tensors the pair trains
  const towerSd = pair.tower.stateDict();
  const pairSd = pair.stateDict();
  for (const [n, t] of Object.entries(towerSd)) assert.equal(pairSd[n], t, `${n} is not shared`);
  assert.equal(
    pair.numParameters(),
    names.reduce((a, n) => a + pairSd[n].size, 0),
  );
});

/** Finite differences of the pair loss on three images and captions, wrt each of `params`, with t'
 * and b moved away from the init so every term of the loss matters (b = -10 makes the sigmoid
 * nearly flat). */
function checkPairGradients(pair: SiglipPairModel, params: Tensor[]): void {
  pair.logitScale.f32[0] = 0.5;
  pair.logitBias.f32[0] = -0.3;
  const pixels = randn([3, 3, 8, 8], new Generator(5));
  const ids = new Tensor(Int32Array.from([1, 2, 3, 0, 4, 5, 1, 0, 2, 2, 5, 3]), [3, 4]);
  params.forEach((p, k) => {
    gradcheck(() => pair.forward(pixels, ids).loss, [p], {
      eps: 1e-2,
      atol: 2e-3,
      rtol: 3e-2,
      label: `param ${k}`,
    });
  });
}

test("pair model gradients match finite differences through both towers", () => {
  const pair = new SiglipPairModel(vision, text, new Generator(2));
  const checked = [
    pair.logitScale,
    pair.logitBias,
    pair.tower.visionModel.embeddings.patchEmbedding.weight,
    pair.visionHead.weight,
    pair.text.textModel.embeddings.tokenEmbedding.weight,
    pair.text.textModel.encoder.layers.at(0).selfAttn.vProj.weight,
  ];
  checkPairGradients(pair, checked);
  assert.throws(
    () =>
      pair.forward(randn([3, 3, 8, 8], new Generator(5)), new Tensor(Int32Array.from([1, 2, 3, 0]), [1, 4])),
    /3 images but only 1 texts/,
  );
});

interface PoolFixture {
  config: SiglipVisionConfig;
  params: Record<string, { shape: number[]; data: number[] }>;
  patches: number[];
  patches_shape: number[];
  pooled: number[];
  w: number[];
  grad_patches: number[];
  grad_probe: number[];
}

test("the attention-pooling head matches HF's (torch.nn.MultiheadAttention with a probe): output and gradients", () => {
  const fx = loadSiglipFixture<PoolFixture>("pool_head.json");
  const head = new SiglipPoolingHead(fx.config, new Generator(0));
  head.loadStateDict(
    Object.fromEntries(
      Object.entries(fx.params).map(([k, v]) => [k, new Tensor(Float32Array.from(v.data), v.shape)]),
    ),
  ); // strict: exactly HF's names
  const patches = new Tensor(Float32Array.from(fx.patches), fx.patches_shape);
  patches.requiresGrad = true;
  const pooled = head.forward(patches);
  assert.deepEqual([...pooled.shape], [fx.patches_shape[0], fx.config.hidden_size]);
  checkTensor(pooled.f32, fx.pooled, { atol: 1e-5, rtol: 1e-4 }, "pooled");
  sum(mul(pooled, new Tensor(Float32Array.from(fx.w), pooled.shape))).backward();
  checkTensor(
    patches.grad?.f32 ?? new Float32Array(),
    fx.grad_patches,
    { atol: 1e-5, rtol: 1e-3 },
    "d patches",
  );
  checkTensor(
    head.probe.grad?.f32 ?? new Float32Array(),
    fx.grad_probe,
    { atol: 1e-5, rtol: 1e-3 },
    "d probe",
  );
});

test("pair model with map pooling: the head under vision_pool_head, gradients match finite differences", () => {
  const pair = new SiglipPairModel(vision, text, new Generator(3), "map");
  assert.ok(pair.namedParameters().some(([n]) => n === "vision_pool_head.attention.in_proj_weight"));
  assert.ok(
    !new SiglipPairModel(vision, text, new Generator(3))
      .namedParameters()
      .some(([n]) => n.startsWith("vision_pool_head")),
  );
  const head = pair.visionPoolHead as SiglipPoolingHead;
  const checked = [
    head.probe,
    head.attention.inProjWeight,
    pair.tower.visionModel.embeddings.patchEmbedding.weight,
  ];
  checkPairGradients(pair, checked);
});

test("extra texts are negatives for every image: eq. 1 summed over M texts, divided by B", () => {
  const g = new Generator(7);
  const [B, M, D] = [3, 5, 4];
  const x = l2Normalize(randn([B, D], g));
  const y = l2Normalize(randn([M, D], g));
  const s = new Tensor(Float32Array.of(0.7), [1]);
  const b = new Tensor(Float32Array.of(-0.4), [1]);
  const { loss, logits } = sigmoidLoss(x, y, s, b);
  assert.deepEqual(logits.shape, [B, M]);
  // float64 reference, the paper's eq. 1 written out
  let ref = 0;
  for (let i = 0; i < B; i++)
    for (let j = 0; j < M; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += x.f32[i * D + d] * y.f32[j * D + d];
      const z = i === j ? 1 : -1;
      ref -= Math.log(1 / (1 + Math.exp(-z * (Math.exp(0.7) * dot - 0.4))));
    }
  checkTensor([loss.item()], [ref / B], { atol: 1e-5, rtol: 1e-5 }, "loss with 2 extra negatives");
  assert.throws(() => sigmoidLoss(y, x, s, b), /must be \(B, D\) and \(M >= B, D\)/);
  // and the pair model takes them as extra caption rows, gradients through both towers
  const pair = new SiglipPairModel(vision, text, new Generator(3));
  pair.logitScale.f32[0] = 0.5;
  pair.logitBias.f32[0] = -0.3;
  const pixels = randn([2, 3, 8, 8], new Generator(4));
  const ids = new Tensor(Int32Array.from([1, 2, 3, 0, 4, 5, 1, 0, 1, 2, 4, 0, 4, 3, 1, 0]), [4, 4]);
  assert.deepEqual(pair.forward(pixels, ids).logits.shape, [2, 4]);
  for (const p of [pair.visionHead.weight, pair.text.textModel.embeddings.tokenEmbedding.weight])
    gradcheck(() => pair.forward(pixels, ids).loss, [p], { eps: 1e-2, atol: 2e-3, rtol: 3e-2 });
});

test("a from-scratch SigLIP tower is initialised as HF SigLIP's _init_weights", () => {
  // HF: patch conv lecun normal (std 1/sqrt(fan_in)), position embedding std 1/sqrt(width),
  // attention and MLP weights xavier (std sqrt(2 / (fan_in + fan_out))), their biases zero
  const C = 96;
  const I = 384;
  const vision: SiglipVisionConfig = {
    hidden_size: C,
    intermediate_size: I,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    image_size: 64,
    patch_size: 8,
  };
  const text: SiglipTextConfig = {
    vocab_size: 50,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 8,
    projection_size: C,
  };
  const m = new SiglipPairModel(vision, text, new Generator(0));
  const params = new Map(m.namedParameters());
  const std = (name: string) => {
    const t = params.get(name);
    assert.ok(t, `no parameter ${name} (have ${[...params.keys()].slice(0, 6).join(", ")} ...)`);
    const x = t.f32;
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length;
    return Math.sqrt(s2 / x.length - mean * mean);
  };
  const near = (name: string, want: number) => {
    const got = std(name);
    assert.ok(Math.abs(got / want - 1) < 0.06, `${name}: std ${got.toFixed(4)}, HF ${want.toFixed(4)}`);
  };
  const v = "vision_model.";
  near(`${v}embeddings.patch_embedding.weight`, 1 / Math.sqrt(3 * 8 * 8));
  near(`${v}embeddings.position_embedding.weight`, 1 / Math.sqrt(C));
  for (const p of ["q_proj", "k_proj", "v_proj", "out_proj"])
    near(`${v}encoder.layers.1.self_attn.${p}.weight`, Math.sqrt(2 / (C + C)));
  near(`${v}encoder.layers.0.mlp.fc1.weight`, Math.sqrt(2 / (C + I)));
  near(`${v}encoder.layers.0.mlp.fc2.weight`, Math.sqrt(2 / (C + I)));
  assert.equal(std(`${v}encoder.layers.0.mlp.fc1.bias`), 0);
  assert.equal(std(`${v}encoder.layers.0.self_attn.q_proj.bias`), 0);
});

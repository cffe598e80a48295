// SigLIP text tower: forward and gradient against a PyTorch restatement of HF SiglipTextTransformer
// (scripts/make_siglip_fixtures.py), HF parameter names, bidirectional (not causal) attention,
// finite-difference gradients on a tiny config, and clear errors for bad input.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type SiglipTextConfig, SiglipTextModel } from "../../src/models/text_tower.js";
import { mul, sum } from "../../src/tensor/index.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { loadSiglipFixture } from "./siglip_fixtures.js";

interface TowerFixture {
  config: SiglipTextConfig;
  params: Record<string, { shape: number[]; data: number[] }>;
  ids: number[];
  ids_shape: number[];
  last_hidden_state: number[];
  pooled: number[];
  w: number[];
  grad_token_embedding: number[];
}

const tiny: SiglipTextConfig = {
  vocab_size: 7,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 5,
  projection_size: 3,
  initializer_range: 0.5,
};

const ids = (rows: number[][]) => new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

test("text tower matches PyTorch (HF SiglipTextTransformer): hidden states, pooled output, gradient", () => {
  const fx = loadSiglipFixture<TowerFixture>("text_tower.json");
  const model = new SiglipTextModel(fx.config, new Generator(0));
  const sd = Object.fromEntries(
    Object.entries(fx.params).map(([k, v]) => [k, new Tensor(Float32Array.from(v.data), v.shape)]),
  );
  model.loadStateDict(sd); // strict: every HF name present, none extra
  const input = new Tensor(Int32Array.from(fx.ids), fx.ids_shape);
  const out = model.forward(input);
  const [B, T] = fx.ids_shape;
  assert.deepEqual([...out.lastHiddenState.shape], [B, T, fx.config.hidden_size]);
  assert.deepEqual([...out.pooled.shape], [B, fx.config.projection_size]);
  checkTensor(out.lastHiddenState.f32, fx.last_hidden_state, { atol: 1e-4, rtol: 1e-4 }, "last_hidden_state");
  checkTensor(out.pooled.f32, fx.pooled, { atol: 1e-4, rtol: 1e-4 }, "pooled");
  sum(mul(out.pooled, new Tensor(Float32Array.from(fx.w), out.pooled.shape))).backward();
  const g = model.textModel.embeddings.tokenEmbedding.weight.grad;
  assert.ok(g, "token embedding got no gradient");
  checkTensor(g.f32, fx.grad_token_embedding, { atol: 1e-4, rtol: 1e-3 }, "d token_embedding");
});

test("text tower parameter names are HF SiglipTextModel's", () => {
  const names = new SiglipTextModel(tiny, new Generator(0)).namedParameters().map(([n]) => n);
  for (const n of [
    "text_model.embeddings.token_embedding.weight",
    "text_model.embeddings.position_embedding.weight",
    "text_model.encoder.layers.1.self_attn.q_proj.weight",
    "text_model.encoder.layers.0.mlp.fc2.bias",
    "text_model.final_layer_norm.weight",
    "text_model.head.weight",
    "text_model.head.bias",
  ])
    assert.ok(names.includes(n), `missing ${n}`);
});

test("text tower attention is bidirectional: a later token changes earlier positions", () => {
  const model = new SiglipTextModel(tiny, new Generator(3));
  const a = model.forward(ids([[1, 2, 3, 4, 0]])).lastHiddenState.f32;
  const b = model.forward(ids([[1, 2, 3, 6, 0]])).lastHiddenState.f32;
  const C = tiny.hidden_size;
  let diffAtFirst = 0;
  for (let c = 0; c < C; c++) diffAtFirst = Math.max(diffAtFirst, Math.abs(a[c] - b[c]));
  assert.ok(diffAtFirst > 1e-4, `position 0 did not see token 3 (max diff ${diffAtFirst})`);
  // and the pooled (last-position) output sees the first token
  const p1 = model.forward(ids([[1, 2, 3, 4, 0]])).pooled.f32;
  const p2 = model.forward(ids([[5, 2, 3, 4, 0]])).pooled.f32;
  assert.ok(
    Math.max(...p1.map((v, i) => Math.abs(v - p2[i]))) > 1e-4,
    "pooled output ignores the first token",
  );
  // rows are independent of each other
  const both = model.forward(
    ids([
      [1, 2, 3, 4, 0],
      [5, 2, 3, 4, 0],
    ]),
  ).pooled.f32;
  checkTensor(both.subarray(0, 3), p1, 1e-5, "row 0 in a batch of 2");
  checkTensor(both.subarray(3, 6), p2, 1e-5, "row 1 in a batch of 2");
});

test("text tower gradients match finite differences (tiny config)", () => {
  const model = new SiglipTextModel(tiny, new Generator(1));
  const x = ids([
    [1, 2, 3, 0, 0],
    [4, 5, 6, 2, 1],
  ]);
  const m = model.textModel;
  const checked = [
    m.embeddings.tokenEmbedding.weight,
    m.embeddings.positionEmbedding.weight,
    m.encoder.layers.at(0).selfAttn.qProj.weight,
    m.encoder.layers.at(1).mlp.fc1.weight,
    m.finalLayerNorm.weight!,
    m.head.weight,
  ];
  checked.forEach((p, k) => {
    gradcheck(() => model.forward(x).pooled, [p], { eps: 1e-2, atol: 3e-3, rtol: 3e-2, label: `param ${k}` });
  });
});

test("text tower rejects bad input with a clear message", () => {
  const model = new SiglipTextModel(tiny, new Generator(0));
  assert.throws(() => model.forward(ids([[1, 2, 3]])), /max_position_embeddings = 5/);
  assert.throws(() => model.forward(ids([[1, 2, 3, 9, 0]])), /token id 9 at \[0, 3\]/);
  assert.throws(
    () => new SiglipTextModel({ ...tiny, num_attention_heads: 3 }, new Generator(0)),
    /not a multiple/,
  );
});

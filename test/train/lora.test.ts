// LoRA: merged weights equal W + (alpha/r) B A computed independently in float64; the adapted
// forward equals the merged model's forward; only A and B receive gradients (and those match
// finite differences); unmerging restores the base weights.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadVila } from "../../src/io/model.js";
import { Linear } from "../../src/nn/index.js";
import { randn, tensor } from "../../src/tensor/create.js";
import { sum } from "../../src/tensor/ops/reduce.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad, type Tensor } from "../../src/tensor/tensor.js";
import { applyLora, mergedWeight } from "../../src/train/lora.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { FIXTURE } from "./tiny.js";

function randomize(t: Tensor, gen: Generator, s = 0.1): void {
  const d = t.f32;
  for (let i = 0; i < d.length; i++) d[i] = gen.normal() * s;
}

function setup() {
  const { model } = loadVila(FIXTURE);
  const gen = new Generator(3);
  model.llm.freeze();
  const lora = applyLora(
    model.llm,
    { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj", "down_proj"], gen },
    "llm.",
  );
  for (const a of lora.adapters) randomize(a.B, gen); // B starts at zero; make the adapters matter
  const ids = tensor([1, 5, 9, 12, 40, 7, 3, 2], [1, 8], "i32");
  return { model, lora, ids };
}

test("adapters go on the named Linear layers with PEFT names, A kaiming-uniform, B zeros", () => {
  const { model } = loadVila(FIXTURE);
  const lora = applyLora(
    model.llm,
    { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"], gen: new Generator(0) },
    "llm.",
  );
  const layers = model.llm.config.num_hidden_layers;
  assert.equal(lora.adapters.length, 2 * layers);
  const names = lora.namedParameters().map(([n]) => n);
  assert.ok(names.includes("llm.model.layers.0.self_attn.q_proj.lora_A.weight"));
  assert.ok(names.includes("llm.model.layers.1.self_attn.v_proj.lora_B.weight"));
  for (const a of lora.adapters) {
    const bound = 1 / Math.sqrt(a.layer.inFeatures);
    assert.deepEqual([...a.A.shape], [4, a.layer.inFeatures]);
    assert.deepEqual([...a.B.shape], [a.layer.outFeatures, 4]);
    assert.ok(a.A.f32.every((x) => Math.abs(x) <= bound));
    assert.ok(a.B.f32.every((x) => x === 0));
    assert.equal(a.scale, 2);
    assert.equal(a.layer.weight.requiresGrad, false);
  }
});

test("merged weight = W + scale * B @ A (float64 reference)", () => {
  const { lora } = setup();
  for (const a of lora.adapters.slice(0, 3)) {
    const [out, inp] = a.layer.weight.shape;
    const r = a.A.shape[0];
    const ref = new Float64Array(out * inp);
    for (let i = 0; i < out; i++) {
      for (let j = 0; j < inp; j++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += a.B.f32[i * r + k] * a.A.f32[k * inp + j];
        ref[i * inp + j] = a.layer.weight.f32[i * inp + j] + a.scale * acc;
      }
    }
    checkTensor(mergedWeight(a).f32, ref, 1e-6, a.name);
  }
});

test("the adapted forward equals the merged model's forward, and merging is undone after", () => {
  const { model, lora, ids } = setup();
  const before = lora.adapters.map((a) => Float32Array.from(a.layer.weight.f32));
  const adapted = noGrad(() => model.llm.forward({ inputsEmbeds: model.llm.embed(ids) }));
  const expected = lora.adapters.map((a) => mergedWeight(a));
  const merged = lora.withMerged(() => {
    lora.adapters.forEach((a, i) => {
      checkTensor(a.layer.weight, expected[i], 0, `${a.name} merged in place`);
    });
    return noGrad(() => model.llm.forward({ inputsEmbeds: model.llm.embed(ids) }));
  });
  checkTensor(adapted, merged, 2e-5, "logits adapted vs merged");
  const baseOnly = lora.withMerged(() => null);
  assert.equal(baseOnly, null);
  lora.adapters.forEach((a, i) => {
    checkTensor(a.layer.weight.f32, before[i], 0, `${a.name} restored`);
  });
  const again = noGrad(() => model.llm.forward({ inputsEmbeds: model.llm.embed(ids) }));
  checkTensor(again, adapted, 0, "adapter forward restored after withMerged");
});

test("only the adapters get gradients", () => {
  const { model, lora, ids } = setup();
  const logits = model.llm.forward({ inputsEmbeds: model.llm.embed(ids) });
  sum(logits).backward();
  for (const [name, t] of model.namedParameters()) assert.equal(t.grad, null, `${name} must get no gradient`);
  for (const [name, t] of lora.namedParameters()) {
    assert.ok(t.grad, `${name} must get a gradient`);
    assert.ok(
      t.grad.f32.some((x) => x !== 0),
      `${name} gradient is all zero`,
    );
  }
});

test("adapter gradients match finite differences", () => {
  const gen = new Generator(11);
  const layer = new Linear(6, 5, { gen });
  const lora = applyLora(layer, { r: 3, alpha: 6, dropout: 0, targets: [""], gen });
  assert.equal(lora.adapters.length, 1);
  const a = lora.adapters[0];
  randomize(a.B, gen, 0.5);
  const x = randn([4, 6], gen);
  gradcheck(
    (A: Tensor, B: Tensor) => {
      a.A = A;
      a.B = B;
      return layer.forward(x);
    },
    [a.A, a.B],
  );
});

test("unmerge turns merged weights back into the base weights", () => {
  const { lora } = setup();
  const base = lora.adapters.map((a) => Float32Array.from(a.layer.weight.f32));
  for (const a of lora.adapters) a.layer.weight.f32.set(mergedWeight(a).f32);
  lora.unmergeInPlace();
  lora.adapters.forEach((a, i) => {
    checkTensor(a.layer.weight.f32, base[i], 1e-6, a.name);
  });
});

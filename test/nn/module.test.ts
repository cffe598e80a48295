import assert from "node:assert/strict";
import { test } from "node:test";
import { Embedding, LayerNorm, Linear, Module, ModuleList, RMSNorm } from "../../src/nn/index.js";
import { randn, tensor } from "../../src/tensor/create.js";
import { mul } from "../../src/tensor/ops/elementwise.js";
import { crossEntropy } from "../../src/tensor/ops/nn.js";
import { slice } from "../../src/tensor/ops/shape.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor } from "../helpers.js";

class Block extends Module {
  qProj: Linear;
  norm: RMSNorm;
  constructor(gen: Generator) {
    super();
    this.qProj = this.module("q_proj", new Linear(4, 4, { gen, bias: false }));
    this.norm = this.module("input_layernorm", new RMSNorm(4));
  }
}
class Tiny extends Module {
  embedTokens: Embedding;
  layers: ModuleList<Block>;
  ln: LayerNorm;
  head: Linear;
  constructor(gen = new Generator(1)) {
    super();
    this.embedTokens = this.module("embed_tokens", new Embedding(10, 4, { gen }));
    this.layers = this.module("layers", new ModuleList([new Block(gen), new Block(gen)]));
    this.ln = this.module("ln", new LayerNorm(4));
    this.head = this.module("lm_head", new Linear(4, 10, { gen }));
  }
  forward(ids: Tensor): Tensor {
    let h = this.embedTokens.forward(ids);
    for (const b of this.layers) h = b.norm.forward(b.qProj.forward(h));
    return this.head.forward(this.ln.forward(h));
  }
}

test("parameter names are dotted checkpoint keys", () => {
  const m = new Tiny();
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    [
      "embed_tokens.weight",
      "layers.0.q_proj.weight",
      "layers.0.input_layernorm.weight",
      "layers.1.q_proj.weight",
      "layers.1.input_layernorm.weight",
      "ln.weight",
      "ln.bias",
      "lm_head.weight",
      "lm_head.bias",
    ],
  );
  assert.equal(m.numParameters(), 40 + 16 + 4 + 16 + 4 + 4 + 4 + 40 + 10);
});

test("freeze/unfreeze, train/eval, trainable counts", () => {
  const m = new Tiny();
  m.layers.freeze();
  assert.equal(m.numParameters({ trainableOnly: true }), 40 + 8 + 50);
  m.unfreeze();
  assert.equal(m.numParameters({ trainableOnly: true }), m.numParameters());
  m.eval();
  assert.equal(m.layers.at(1).qProj.training, false);
  m.train();
  assert.equal(m.layers.at(1).qProj.training, true);
});

test("state dict round-trips and load errors name the tensor", () => {
  const a = new Tiny(new Generator(1));
  const b = new Tiny(new Generator(2));
  const ids = tensor([1, 2, 3], [1, 3], "i32");
  b.loadStateDict(a.stateDict());
  checkTensor(b.forward(ids), a.forward(ids), 0, "same weights, same output");
  const sd = a.stateDict();
  assert.throws(
    () => b.loadStateDict({ ...sd, "ln.weight": randn([5]) }),
    /"ln.weight" has shape \[5\], the model expects \[4\]/,
  );
  const { "ln.bias": _drop, ...missing } = sd;
  assert.throws(() => b.loadStateDict(missing), /missing 1: ln.bias/);
  assert.throws(() => b.loadStateDict({ ...sd, extra: randn([1]) }), /unexpected 1: extra/);
  assert.deepEqual(b.loadStateDict(missing, { strict: false }).missing, ["ln.bias"]);
});

test("gradient accumulation: two half-batches with loss/2 equal one full batch", () => {
  const ids = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "i32");
  const tgt = tensor([2, 3, 4, 5, 6, 7, 8, 9], [2, 4], "i32");
  const full = new Tiny(new Generator(3));
  crossEntropy(full.forward(ids), tgt).backward();
  const acc = new Tiny(new Generator(3));
  for (let i = 0; i < 2; i++) {
    // each half has the same number of tokens, so mean(full) = (mean(half0) + mean(half1)) / 2
    const loss = crossEntropy(acc.forward(slice(ids, 0, i, i + 1)), slice(tgt, 0, i, i + 1));
    mul(loss, 0.5).backward();
  }
  const fp = full.namedParameters();
  const ap = acc.namedParameters();
  for (let k = 0; k < fp.length; k++) {
    checkTensor(ap[k][1].grad!.f32, fp[k][1].grad!.f32, { atol: 1e-6, rtol: 1e-5 }, fp[k][0]);
  }
});

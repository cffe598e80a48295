// LlamaForCausalLM single-token decode: the fused path (one backend.decodeLayer call per layer)
// against the op-by-op layers (fusedDecode = false) and against recomputing the whole sequence
// without a cache, over greedy generation of 10 tokens after a 3-token prefill, on every backend:
// Llama with GQA, f32 / bf16 / f16 weights, Qwen2 with q/k/v biases, a cache that starts at 2
// positions and grows during decode. And the cases that must not take the fused path.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Backend } from "../../../src/backend/backend.js";
import { availableBackends, backend, setBackend } from "../../../src/backend/index.js";
import { loadNativeBackend, nativeIsas } from "../../../src/backend/native/index.js";
import { KVCache, type LlamaConfig, LlamaForCausalLM } from "../../../src/models/llm/llama.js";
import { Linear } from "../../../src/nn/index.js";
import { randn } from "../../../src/tensor/create.js";
import { toDtype } from "../../../src/tensor/dtype.js";
import { argmax } from "../../../src/tensor/index.js";
import { linear } from "../../../src/tensor/ops/matmul.js";
import { Generator } from "../../../src/tensor/random.js";
import { noGrad, Tensor } from "../../../src/tensor/tensor.js";
import { checkTensor } from "../../helpers.js";

const backends: Backend[] = [...availableBackends()];
for (const isa of nativeIsas()) {
  const r = loadNativeBackend(undefined, isa);
  if (r.backend && !backends.some((b) => b.name === r.backend?.name)) backends.push(r.backend);
}

const LLAMA: LlamaConfig = {
  architectures: ["LlamaForCausalLM"],
  vocab_size: 61,
  hidden_size: 37,
  intermediate_size: 53,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 10,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  initializer_range: 0.3,
};
const QWEN2: LlamaConfig = {
  ...LLAMA,
  architectures: ["Qwen2ForCausalLM"],
  hidden_size: 30,
  intermediate_size: 43,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  head_dim: 8,
};

/** A seeded model; 16-bit linear weights in the decoder layers when dtype says so; Qwen2's biases
 * random (they start at zero). */
function makeModel(cfg: LlamaConfig, dtype: "f32" | "bf16" | "f16", seed = 1): LlamaForCausalLM {
  const gen = new Generator(seed);
  const model = new LlamaForCausalLM(cfg, gen);
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear) || !name.includes("layers.")) continue;
    if (m.bias) m.setParam("bias", randn([m.outFeatures], gen, 0.3));
    if (dtype !== "f32") m.setParam("weight", toDtype(m.weight, dtype));
  }
  return model;
}

/** Runs on `be` and counts its decodeLayer calls. */
function counting(be: Backend): { be: Backend; calls: () => number } {
  let n = 0;
  return {
    be: {
      ...be,
      decodeLayer: (a) => {
        n++;
        be.decodeLayer(a);
      },
    },
    calls: () => n,
  };
}

const ids = (t: number[]) => new Tensor(Int32Array.from(t), [1, t.length]);

/** Greedy: prefill `prompt`, then `steps` tokens one at a time; logits (V) of every step. */
function greedy(
  model: LlamaForCausalLM,
  prompt: number[],
  steps: number,
  capacity: number,
): { tokens: number[]; logits: Float32Array[] } {
  return noGrad(() => {
    const cache = new KVCache(model.config.num_hidden_layers, { capacity });
    const logits: Float32Array[] = [];
    const tokens: number[] = [];
    let out = model.forward({ inputsEmbeds: model.embed(ids(prompt)), cache }, { lastOnly: true });
    for (let i = 0; i < steps; i++) {
      const next = argmax(out, -1).i32[0];
      tokens.push(next);
      out = model.forward({ inputsEmbeds: model.embed(ids([next])), cache }, { lastOnly: true });
      logits.push(out.f32.slice());
    }
    return { tokens, logits };
  });
}

const previous = backend();

for (const be of backends) {
  describe(`fused decode on ${be.name}`, () => {
    const cases = [
      ["llama GQA f32", LLAMA, "f32"],
      ["llama GQA bf16", LLAMA, "bf16"],
      ["llama GQA f16", LLAMA, "f16"],
      ["qwen2 biases f32", QWEN2, "f32"],
      ["qwen2 biases bf16", QWEN2, "bf16"],
    ] as const;
    for (const [name, cfg, dtype] of cases) {
      test(`${name}: 10 greedy steps equal op-by-op decoding and full recomputation`, () => {
        const model = makeModel(cfg, dtype);
        const spy = counting(be);
        setBackend(spy.be);
        try {
          const L = cfg.num_hidden_layers;
          model.model.fusedDecode = false;
          const plain = greedy(model, [3, 1, 4], 10, 2);
          assert.equal(spy.calls(), 0, "fusedDecode = false still called decodeLayer");
          model.model.fusedDecode = true;
          const fused = greedy(model, [3, 1, 4], 10, 2);
          assert.equal(spy.calls(), 10 * L, "the fused path was not taken at every step");
          assert.deepEqual(fused.tokens, plain.tokens);
          for (let i = 0; i < 10; i++)
            checkTensor(fused.logits[i], plain.logits[i], { atol: 1e-4, rtol: 1e-4 }, `${name} step ${i}`);
          // the last step's logits against the whole sequence run without a cache
          const seq = [3, 1, 4, ...fused.tokens];
          const full = noGrad(() =>
            model.forward({ inputsEmbeds: model.embed(ids(seq)) }, { lastOnly: true }),
          );
          checkTensor(fused.logits[9], full.f32, { atol: 1e-4, rtol: 1e-4 }, `${name}: vs recomputation`);
        } finally {
          setBackend(previous);
          model.model.fusedDecode = true;
        }
      });
    }

    test("op by op when it must: gradients, masked keys, a replaced forward, batches", () => {
      const model = makeModel(LLAMA, "f32");
      const spy = counting(be);
      setBackend(spy.be);
      try {
        const L = LLAMA.num_hidden_layers;
        const prefill = (B: number) => {
          const cache = new KVCache(L);
          const prompt = new Tensor(
            Int32Array.from({ length: B * 3 }, (_, i) => i + 1),
            [B, 3],
          );
          noGrad(() => model.forward({ inputsEmbeds: model.embed(prompt), cache }));
          return cache;
        };
        const step = (cache: KVCache, keyPadding?: Tensor) =>
          model.forward({ inputsEmbeds: model.embed(ids([5])), cache, keyPadding }, { lastOnly: true });

        const want = noGrad(() => step(prefill(1))).f32;
        assert.equal(spy.calls(), L);

        // parameters that require grad, grad on: the graph must be recorded
        const withGrad = step(prefill(1));
        assert.equal(spy.calls(), L, "decoded fused while gradients were wanted");
        assert.ok(withGrad.requiresGrad);
        checkTensor(withGrad.f32, want, { atol: 1e-4, rtol: 1e-4 }, "grad-enabled step");

        // a key-padding mask with a masked key; an all-ones mask is no mask
        noGrad(() => step(prefill(1), new Tensor(Int32Array.from([0, 1, 1, 1]), [1, 4])));
        assert.equal(spy.calls(), L, "decoded fused with a masked key");
        const ones = noGrad(() => step(prefill(1), new Tensor(Int32Array.from([1, 1, 1, 1]), [1, 4])));
        assert.equal(spy.calls(), 2 * L);
        checkTensor(ones.f32, want, { atol: 1e-5, rtol: 1e-5 }, "all-ones mask");

        // a Linear whose forward was replaced on the instance (as LoRA adapters do)
        const q = model.model.layers.at(1).selfAttn.qProj;
        q.forward = (x: Tensor) => linear(x, q.weight, q.bias ?? undefined);
        noGrad(() => step(prefill(1)));
        assert.equal(spy.calls(), 2 * L, "decoded fused through a replaced forward");
        q.forward = Linear.prototype.forward;

        // a batch of two
        const cache = prefill(2);
        noGrad(() =>
          model.forward(
            { inputsEmbeds: model.embed(new Tensor(Int32Array.from([5, 6]), [2, 1])), cache },
            { lastOnly: true },
          ),
        );
        assert.equal(spy.calls(), 2 * L, "decoded fused with a batch of two");
      } finally {
        setBackend(previous);
      }
    });
  });
}

// The buffer pool and backward({ free: true }): buffers come back reused and zeroed, foreign storage
// is never taken, a freed tensor refuses to be read, and training a small VILA model (tower tuned,
// images spliced, attention, norms, cross-entropy) with free on gives the same weights bit for bit
// as with free off, while every handed-back buffer is poisoned with NaN, so a buffer still in use
// when handed back would show as a difference.

import assert from "node:assert/strict";
import { test } from "node:test";
import { VilaForCausalLM } from "../../src/models/vila.js";
import { AdamW, clipGradNorm } from "../../src/optim/index.js";
import { mul } from "../../src/tensor/ops/elementwise.js";
import { concat, reshape, slice } from "../../src/tensor/ops/shape.js";
import {
  allocF32,
  capacityOf,
  clearPool,
  pooledBytes,
  releaseF32,
  setPoolPoison,
  takenBuffers,
  trimPool,
  withPoolScope,
} from "../../src/tensor/pool.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";

test("pool: capacity classes hold the length with at most 12.5% spare", () => {
  for (const n of [17, 100, 1000, 1024, 1025, 4097, 123457, 2 ** 20 + 1]) {
    const c = capacityOf(n);
    assert.ok(c >= n && c <= n * 1.125 + 1, `${n} -> ${c}`);
    assert.equal(capacityOf(c), c, `a class is its own class (${c})`);
  }
});

test("pool: a handed-back buffer is reused, zeroed on request; foreign storage is refused", () => {
  clearPool();
  const a = allocF32(5000);
  a.fill(3);
  assert.equal(releaseF32(a), true);
  assert.ok(pooledBytes() >= 5000 * 4);
  const b = allocF32(4990); // same class
  assert.equal(b.buffer, a.buffer, "the same storage");
  assert.equal(b.length, 4990);
  assert.ok(
    b.every((x) => x === 0),
    "zeroed",
  );
  releaseF32(b);
  const c = allocF32(4990, false);
  assert.equal(c.buffer, a.buffer);
  const foreign = new Float32Array(5000);
  assert.equal(releaseF32(foreign), false);
  assert.equal(releaseF32(foreign.subarray(0, 4990)), false);
  clearPool();
  assert.equal(pooledBytes(), 0);
});

test("pool: a length whose class has no free buffer takes one of a class up to 2x larger", () => {
  clearPool();
  const a = allocF32(12_000);
  releaseF32(a);
  const b = allocF32(7_000); // another class, a free buffer 1.7x larger
  assert.notEqual(capacityOf(7_000), capacityOf(12_000));
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 7_000);
  releaseF32(b);
  const c = allocF32(5_000); // 12,288 / 5,120 > 2: a fresh buffer
  assert.notEqual(c.buffer, a.buffer);
  clearPool();
});

test("pool: trimPool keeps the largest free buffers that serve a class, so a longer step finds them again", () => {
  clearPool();
  const long = allocF32(15_000);
  const short = allocF32(10_000);
  releaseF32(long);
  releaseF32(short);
  trimPool(); // one of each held at once: both kept
  // a short step: it takes its own class's buffer; the trim keeps the long buffer for it instead
  releaseF32(allocF32(10_000));
  trimPool();
  assert.equal(pooledBytes(), capacityOf(15_000) * 4, "the long buffer kept, the short one dropped");
  const again = allocF32(15_000); // a long step after the short one: no fresh buffer
  assert.equal(again.buffer, long.buffer);
  clearPool();
});

test("withPoolScope hands back what its function took except what it keeps; kept buffers belong to the enclosing scope", () => {
  clearPool();
  const prev = setPoolPoison(true);
  try {
    const before = takenBuffers();
    let temp: Float32Array = new Float32Array(0);
    let inner: Float32Array = new Float32Array(0);
    const out = withPoolScope(
      () => {
        const kept = withPoolScope(
          () => {
            temp = allocF32(3000);
            inner = allocF32(3000);
            inner.fill(1);
            return inner;
          },
          (r) => [r],
        );
        assert.ok(temp.every(Number.isNaN), "the inner scope's temporary is handed back when it ends");
        assert.ok(
          kept.every((x) => x === 1),
          "what it keeps is not",
        );
        const view = allocF32(2000).subarray(10, 20); // kept through a view of its storage
        view.fill(2);
        return { kept, view };
      },
      (r) => [r.view],
    );
    assert.ok(inner.every(Number.isNaN), "kept by the inner scope only: handed back by the outer one");
    assert.ok(out.view.every((x) => x === 2));
    assert.equal(takenBuffers(), before + 1, "only the kept buffer is still out");
    assert.throws(
      () =>
        withPoolScope(
          () => {
            allocF32(3000);
            throw new Error("boom");
          },
          () => [],
        ),
      /boom/,
    );
    assert.equal(takenBuffers(), before + 2, "a scope that throws hands nothing back");
  } finally {
    setPoolPoison(prev);
    clearPool();
  }
});

test("pool: trimPool keeps of each capacity only as many free buffers as were held at once", () => {
  clearPool();
  const small = [allocF32(2000), allocF32(2000), allocF32(2000)];
  const big = allocF32(50_000);
  for (const a of [...small, big]) releaseF32(a);
  trimPool(); // held at once: 3 of 2000's class, 1 of 50,000's: all kept
  assert.equal(pooledBytes(), 3 * capacityOf(2000) * 4 + capacityOf(50_000) * 4);
  // this step takes a small buffer, hands it back and takes one again: one at a time
  releaseF32(allocF32(2000));
  const again = allocF32(2000);
  trimPool();
  assert.equal(pooledBytes(), capacityOf(2000) * 4, "one free small buffer kept, the big one dropped");
  releaseF32(again);
  assert.equal(pooledBytes(), 2 * capacityOf(2000) * 4);
  clearPool();
});

test("backward({ free: true }): computed tensors lose their storage, leaves and views of them keep theirs", () => {
  // pool storage for the leaves too, so handing theirs back would be possible, and poisoned
  const prev = setPoolPoison(true);
  const w = new Tensor(allocF32(2048).fill(0.5), [32, 64]).requireGrad();
  const x = new Tensor(allocF32(2048).fill(2), [32, 64]);
  const wv = reshape(w, [64, 32]); // a view of a leaf: its storage is the parameter's
  const h = mul(reshape(wv, [32, 64]), x);
  const total = reshape(mul(h, h), [2048]);
  total.backward(new Tensor(new Float32Array(2048).fill(1), [2048]), { free: true });
  assert.equal(h.isFreed, true);
  assert.throws(() => h.f32, /was freed by backward/);
  assert.equal(wv.isFreed, true, "the view is a computed tensor");
  assert.equal(w.isFreed, false);
  assert.ok(
    w.f32.every((v) => v === 0.5),
    "the parameter's storage was not handed back",
  );
  assert.ok(
    x.f32.every((v) => v === 2),
    "the input's storage was not handed back",
  );
  // d(h^2)/dw = 2 h x = 2 (w x) x = 2 * 0.5 * 2 * 2
  assert.ok(w.grad?.f32.every((v) => v === 4));
  setPoolPoison(prev);
  clearPool();
});

function tinyVila(): VilaForCausalLM {
  return new VilaForCausalLM(
    {
      llm: {
        architectures: ["LlamaForCausalLM"],
        model_type: "llama",
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 50,
        max_position_embeddings: 128,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: true,
        hidden_act: "silu",
        initializer_range: 0.02,
      } as never,
      vision: {
        architectures: ["SiglipVisionModel"],
        model_type: "siglip_vision_model",
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        image_size: 16,
        patch_size: 4,
        hidden_act: "gelu_pytorch_tanh",
        layer_norm_eps: 1e-6,
      },
      projector: { mm_projector_type: "mlp_downsample" },
      mm_vision_select_layer: -1,
      mm_vision_select_feature: "cls_patch",
    },
    new Generator(0),
  );
}

/** Two rows of 40 random ids with two images each. */
function tinyBatch(): { ids: Tensor; labels: Tensor; images: Tensor } {
  const gen = new Generator(1);
  const B = 2;
  const T = 40;
  const ids = new Int32Array(B * T).map(() => 3 + gen.randint(47));
  for (let b = 0; b < B; b++) {
    ids[b * T + 1] = -200;
    ids[b * T + 20] = -200;
  }
  const labels = ids.map((x) => (x === -200 ? -100 : x));
  const images = new Tensor(
    new Float32Array(B * 2 * 3 * 16 * 16).map(() => gen.normal()),
    [B * 2, 3, 16, 16],
  );
  return { ids: new Tensor(ids, [B, T]), labels: new Tensor(labels, [B, T]), images };
}

/** 4 steps of AdamW on every parameter (tower included); the weights after. */
function train(free: boolean): Float32Array[] {
  const model = tinyVila();
  const params = model.namedParameters();
  const opt = new AdamW([{ params, lr: 1e-2 }]);
  const { ids, labels, images } = tinyBatch();
  model.train();
  for (let step = 0; step < 4; step++) {
    const out = model.forward({ inputIds: ids, labels, images });
    (out.loss as Tensor).backward(undefined, { free });
    clipGradNorm(
      params.map(([, t]) => t),
      1,
    );
    opt.step();
    opt.zeroGrad();
  }
  return params.map(([, t]) => new Float32Array(t.f32));
}

test("backward({ free: true }): training a small VILA gives the same weights bit for bit, poisoned", () => {
  clearPool();
  const plain = train(false);
  const prev = setPoolPoison(true);
  try {
    const pooled = train(true);
    assert.ok(pooledBytes() > 0, "buffers were handed back");
    assert.equal(pooled.length, plain.length);
    for (let i = 0; i < plain.length; i++) {
      assert.ok(pooled[i].every(Number.isFinite), `parameter ${i} is finite`);
      assert.deepEqual(pooled[i], plain[i], `parameter ${i}`);
    }
  } finally {
    setPoolPoison(prev);
    clearPool();
  }
});

test("backward({ free: true }) hands back a freeWithGraph input after its last reader, and keeps other inputs", () => {
  clearPool();
  const prev = setPoolPoison(true);
  try {
    const w = new Tensor(new Float32Array(4 * 512).fill(0.5), [4, 512]).requireGrad();
    const constant = new Tensor(allocF32(4 * 512).fill(2), [4, 512]); // from outside the graph
    const temp = new Tensor(allocF32(4 * 512).fill(3), [4, 512]);
    temp.freeWithGraph = true;
    const y = mul(mul(w, temp), mul(w, constant)); // temp read once, by the first product
    y.backward(new Tensor(new Float32Array(4 * 512).fill(1), [4, 512]), { free: true });
    assert.ok(
      w.grad?.f32.every((g) => g === 6),
      "w * 3 * 2 + w * 2 * 3 at w = 0.5",
    );
    assert.ok(
      constant.f32.every((x) => x === 2),
      "an input from outside is kept",
    );
    assert.throws(() => temp.f32, /was freed by backward/);
    assert.equal(takenBuffers(), 1, "only the constant's buffer is out");
    // a whole VILA training step, the image patches (freeWithGraph) included, leaves nothing out
    const model = tinyVila();
    const { ids, labels, images } = tinyBatch();
    clearPool();
    const out = model.forward({ inputIds: ids, labels, images });
    (out.loss as Tensor).backward(undefined, { free: true });
    assert.equal(takenBuffers(), 0);
  } finally {
    setPoolPoison(prev);
    clearPool();
  }
});

test("a tower that records no graph (frozen) hands its activations back at once; a tuned one keeps them for backward", () => {
  clearPool();
  const model = tinyVila();
  const images = new Tensor(new Float32Array(4 * 3 * 16 * 16).fill(0.5), [4, 3, 16, 16]);
  const before = takenBuffers();
  const tuned = model.visionFeatures(images);
  assert.ok(takenBuffers() - before > 4, "the graph holds the tuned tower's activations");
  model.visionTower.freeze();
  const mid = takenBuffers();
  const frozen = model.visionFeatures(images);
  assert.equal(takenBuffers() - mid, 1, "only the features' buffer is still out");
  assert.deepEqual(frozen.f32, tuned.f32);
  clearPool();
});

test("backward({ free: true }) hands back every buffer, also one re-taken for a gradient that is summed", () => {
  // h's gradient is the sum of four padded slices' gradients: the first ones are handed back while
  // the later ones are computed, so those take the same buffers again and are themselves handed back
  clearPool();
  const w = new Tensor(new Float32Array(4 * 512).fill(0.25), [4, 512]).requireGrad();
  const h = mul(w, new Tensor(new Float32Array(4 * 512).fill(3), [4, 512]));
  const parts = [0, 1, 2, 3].map((i) => slice(h, 0, i, i + 1));
  const y = concat(parts, 1);
  y.backward(new Tensor(new Float32Array(4 * 512).fill(1), [1, 4 * 512]), { free: true });
  assert.equal(takenBuffers(), 0, "buffers taken during backward and never handed back");
  assert.ok(w.grad?.f32.every((g) => g === 3));
  clearPool();
});

// The models against PyTorch golden fixtures (scripts/make_model_fixtures.py): per stage (vision
// features, projector output) and end to end (logits, loss), in both checkpoint layouts, with
// bf16/f16/f32 storage, sharding, GQA, an odd 5x5 patch grid, several images and padding.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadVila, saveVila } from "../../src/io/model.js";
import { KVCache } from "../../src/models/llm/llama.js";
import { downsample2x2 } from "../../src/models/projector.js";
import { argmax } from "../../src/tensor/ops/reduce.js";
import { slice } from "../../src/tensor/ops/shape.js";
import { noGrad, Tensor } from "../../src/tensor/tensor.js";
import { checkTensor } from "../helpers.js";

const FX = "test/fixtures/models";
const v15 = JSON.parse(readFileSync(`${FX}/vila15_expected.json`, "utf8"));
const l15 = JSON.parse(readFileSync(`${FX}/llava15_expected.json`, "utf8"));

function ids(rows: number[][]): Tensor {
  const L = Math.max(...rows.map((r) => r.length));
  const d = new Int32Array(rows.length * L);
  for (let b = 0; b < rows.length; b++) d.set(rows[b], b * L);
  return new Tensor(d, [rows.length, L]);
}

test("VILA1.5 layout: vision features, projector, batched logits and loss match PyTorch", () => {
  const { model, checkpoint } = loadVila(`${FX}/vila15`);
  assert.equal(checkpoint.layout, "vila1.5");
  assert.equal(model.llm.config.num_hidden_layers, 2, "the llm/ sub-folder config wins over llm_cfg");
  const pixels = new Tensor(Float32Array.from(v15.pixels), v15.pixels_shape);
  noGrad(() => {
    const feats = model.visionFeatures(pixels);
    checkTensor(
      feats.f32,
      v15.vision_features,
      { atol: 1e-4, rtol: 1e-4 },
      "vision features (hidden_states[-2], cls_patch)",
    );
    const proj = model.mmProjector.forward(feats);
    assert.deepEqual([...proj.shape], v15.projector_out_shape);
    checkTensor(
      proj.f32,
      v15.projector_out,
      { atol: 1e-4, rtol: 1e-4 },
      "mlp_downsample projector (column-major 2x2)",
    );
    const out = model.forward({ inputIds: ids(v15.ids), images: pixels, labels: ids(v15.labels) });
    assert.deepEqual(out.spliced.lengths, v15.lengths);
    assert.deepEqual([...out.logits.shape], v15.logits_shape);
    // padded positions of the shorter row are not compared (PyTorch's are garbage by design)
    const [B, T, V] = v15.logits_shape;
    for (let b = 0; b < B; b++) {
      const n = v15.lengths[b] * V;
      checkTensor(
        out.logits.f32.subarray(b * T * V, b * T * V + n),
        v15.logits.slice(b * T * V, b * T * V + n),
        { atol: 1e-4, rtol: 1e-4 },
        `logits row ${b}`,
      );
    }
    assert.ok(Math.abs(out.loss!.item() - v15.loss) < 1e-4, `loss ${out.loss!.item()} vs ${v15.loss}`);
    const text = model.forward({ inputIds: ids(v15.text_ids) });
    checkTensor(text.logits.f32, v15.text_logits, { atol: 1e-4, rtol: 1e-4 }, "text-only logits");
    // in place of the pixels, the images' embeddings (what evaluation reuses) or the tower's
    // features (a trainer's frozen-tower cache): the same logits and loss
    for (const given of [
      { imageEmbeds: model.encodeImages(pixels) },
      { visionFeats: model.visionFeatures(pixels) },
    ]) {
      const pre = model.forward({ inputIds: ids(v15.ids), labels: ids(v15.labels), ...given });
      assert.deepEqual(pre.logits.f32, out.logits.f32);
      assert.equal(pre.loss!.item(), out.loss!.item());
    }
  });
});

test("lossOnly: logits only where a label is give PyTorch's loss, the full logits' rows and the same gradients; all-labelled text keeps the full logits", () => {
  const { model } = loadVila(`${FX}/vila15`);
  const pixels = new Tensor(Float32Array.from(v15.pixels), v15.pixels_shape);
  const inp = { inputIds: ids(v15.ids), images: pixels, labels: ids(v15.labels) };
  const params = model.namedParameters().filter(([, p]) => p.requiresGrad);
  assert.ok(params.length > 10);
  const run = (lossOnly: boolean) => {
    for (const [, p] of params) p.grad = null;
    const out = model.forward(inp, { lossOnly });
    out.loss!.backward();
    // the vision tower's last layer (features from hidden_states[-2]) gets no gradient
    return {
      out,
      grads: params.map(([name, p]) => [name, p.grad ? Float32Array.from(p.grad.f32) : null] as const),
    };
  };
  const full = run(false);
  const part = run(true);
  assert.ok(
    Math.abs(part.out.loss!.item() - v15.loss) < 1e-4,
    `loss ${part.out.loss!.item()} vs ${v15.loss}`,
  );
  assert.ok(Math.abs(part.out.loss!.item() - full.out.loss!.item()) < 1e-6);
  // the kept rows are the positions whose shifted label is not -100, in order
  const [B, T, V] = full.out.logits.shape;
  const spliced = full.out.spliced.labels!.i32; // (B, T) labels after the image expansion
  const rows: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t + 1 < T; t++) if (spliced[b * T + t + 1] !== -100) rows.push(b * T + t);
  assert.ok(rows.length > 0 && rows.length < B * T, `${rows.length} of ${B * T} positions carry a loss`);
  assert.deepEqual([...part.out.logits.shape], [rows.length, V]);
  for (const [i, k] of rows.entries())
    checkTensor(
      part.out.logits.f32.subarray(i * V, (i + 1) * V),
      full.out.logits.f32.subarray(k * V, (k + 1) * V),
      { atol: 1e-5, rtol: 1e-5 },
      `logits of position ${k}`,
    );
  // text labelled at every position (a base LLM's packed rows): the gather is skipped, the full logits
  const text = ids([[...v15.text_ids[0], ...v15.text_ids[0], ...v15.text_ids[0], ...v15.text_ids[0]]]);
  noGrad(() => {
    const all = model.forward({ inputIds: text, labels: text }, { lossOnly: true });
    const ref = model.forward({ inputIds: text, labels: text });
    assert.deepEqual([...all.logits.shape], [...ref.logits.shape]);
    assert.equal(all.loss!.item(), ref.loss!.item());
  });
  assert.ok(full.grads.filter(([, g]) => g).length > 10);
  full.grads.forEach(([name, g], i) => {
    const h = part.grads[i][1];
    assert.equal(h === null, g === null, `${name}: a gradient on one path only`);
    if (g && h) checkTensor(h, g, { atol: 1e-6, rtol: 1e-4 }, `gradient of ${name}`);
  });
});

test("monolithic LLaVA-1.5 layout (CLIP, mlp2x_gelu, tied head, q/k/v bias, linear rope scaling) matches PyTorch", () => {
  const { model, checkpoint } = loadVila(`${FX}/llava15`);
  assert.equal(checkpoint.layout, "monolithic");
  const pixels = new Tensor(Float32Array.from(l15.pixels), l15.pixels_shape);
  noGrad(() => {
    checkTensor(
      model.visionFeatures(pixels).f32,
      l15.vision_features,
      { atol: 1e-4, rtol: 1e-4 },
      "CLIP features (patch)",
    );
    const out = model.forward({ inputIds: ids(l15.ids), images: pixels });
    checkTensor(out.logits.f32, l15.logits, { atol: 1e-4, rtol: 1e-4 }, "logits");
  });
});

test("bf16/f16 matrices can stay in their storage dtype and give the same logits", () => {
  const { model } = loadVila(`${FX}/vila15`, { keepDtype: true });
  assert.equal(model.llm.model.layers.at(0).selfAttn.qProj.weight.dtype, "bf16");
  assert.equal(model.llm.model.embedTokens.weight.dtype, "bf16");
  assert.equal(model.llm.model.norm.weight.dtype, "f32", "vectors are widened");
  assert.equal(model.visionTower.namedParameters()[0][1].dtype, "f16");
  const pixels = new Tensor(Float32Array.from(v15.pixels), v15.pixels_shape);
  noGrad(() => {
    const out = model.forward({ inputIds: ids(v15.ids), images: pixels });
    const [B, T, V] = v15.logits_shape;
    const n = v15.lengths[0] * V;
    checkTensor(
      out.logits.f32.subarray(0, n),
      v15.logits.slice(0, n),
      { atol: 1e-4, rtol: 1e-4 },
      "logits from bf16 storage",
    );
    assert.equal(B * T * V, out.logits.size);
  });
});

test("KV-cache greedy decoding equals full recomputation", () => {
  const { model } = loadVila(`${FX}/vila15`);
  const pixels = new Tensor(Float32Array.from(v15.pixels.slice(0, 3 * 20 * 20)), [1, 3, 20, 20]);
  noGrad(() => {
    const prompt = [1, 5, -200, 7, 9];
    // cached: prefill, then one token at a time
    const cache = new KVCache(model.llm.config.num_hidden_layers);
    let out = model.forward({ inputIds: ids([prompt]), images: pixels, cache }, { lastOnly: true });
    const cached: number[] = [];
    for (let i = 0; i < 6; i++) {
      const next = argmax(out.logits, -1).i32[0];
      cached.push(next);
      out = model.forward({ inputIds: ids([[next]]), cache }, { lastOnly: true });
    }
    // full: recompute the whole sequence every step
    const seq = [...prompt];
    const full: number[] = [];
    for (let i = 0; i < 6; i++) {
      const o = model.forward({ inputIds: ids([seq]), images: pixels });
      const T = o.logits.shape[1];
      const next = argmax(slice(o.logits, 1, T - 1, T), -1).i32[0];
      full.push(next);
      seq.push(next);
    }
    assert.deepEqual(cached, full);
  });
});

test("save -> load round-trips exactly", () => {
  const { model, checkpoint } = loadVila(`${FX}/vila15`);
  const dir = mkdtempSync(join(tmpdir(), "vila-save-"));
  try {
    const out = join(dir, "ckpt");
    saveVila(out, model, {
      preprocessor: checkpoint.vision_tower.preprocessorConfig,
      tokenizer: checkpoint.tokenizerDir!,
    });
    const { model: again } = loadVila(out);
    const a = model.namedParameters();
    const b = again.namedParameters();
    assert.deepEqual(
      b.map(([n]) => n),
      a.map(([n]) => n),
    );
    for (let i = 0; i < a.length; i++) assert.deepEqual(b[i][1].f32, a[i][1].f32, a[i][0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("2x2 merge token orders: VILA1.5 column-major vs NVILA raster, odd grid zero-padded", () => {
  // 3x3 grid of 1-channel tokens valued 1..9 -> padded 4x4 -> 4 blocks of 4
  const x = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 9, 1]);
  const col = downsample2x2(x, "column").toArray();
  const ras = downsample2x2(x, "raster").toArray();
  assert.deepEqual(ras, [
    [
      [1, 2, 4, 5],
      [3, 0, 6, 0],
      [7, 8, 0, 0],
      [9, 0, 0, 0],
    ],
  ]);
  assert.deepEqual(col, [
    [
      [1, 2, 4, 5],
      [7, 8, 0, 0],
      [3, 0, 6, 0],
      [9, 0, 0, 0],
    ],
  ]);
});

test("bad input: image count mismatch, unknown projector, missing tensor", () => {
  const { model } = loadVila(`${FX}/vila15`);
  assert.throws(
    () => model.forward({ inputIds: ids([[1, -200, 5, -200]]) }),
    /2 image token\(s\) \(-200\) but 0 image\(s\)/,
  );
  const pixels = new Tensor(Float32Array.from(v15.pixels), v15.pixels_shape);
  const embeds = noGrad(() => model.encodeImages(pixels));
  const n = pixels.shape[0];
  const marked = ids([[1, ...new Array(n).fill(-200), 5]]);
  assert.throws(
    () => model.forward({ inputIds: marked, images: pixels, imageEmbeds: embeds }),
    /give one of images, imageEmbeds \(their embeddings\) or visionFeats/,
  );
  const feats = noGrad(() => model.visionFeatures(pixels));
  assert.throws(
    () => model.forward({ inputIds: marked, images: pixels, visionFeats: feats }),
    /give one of images, imageEmbeds \(their embeddings\) or visionFeats/,
  );
  assert.throws(
    () => model.forward({ inputIds: marked, imageEmbeds: slice(embeds, 2, 0, 8) }),
    /imageEmbeds must be \(nImg, \d+, \d+\), got \(\d+, \d+, 8\)/,
  );
  assert.throws(
    () =>
      new (model.constructor as typeof import("../../src/models/vila.js").VilaForCausalLM)({
        ...model.config,
        projector: { mm_projector_type: "resampler" },
      }),
    /unknown mm_projector_type "resampler"/,
  );
});

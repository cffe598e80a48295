// The training loop on the vila15 fixture and tiny data written here: frozen parts, per-part
// learning rates (checked through AdamW's first-step size, |dw| = lr), gradient accumulation
// equivalence, the step's gradient as the token mean (against the model's own loss), overfitting
// one batch, stop + resume exactness (also with LoRA), resume from another model, NaN stop, LoRA
// merged on save, metrics JSONL and the HTML report.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { loadVila, saveVila } from "../../src/io/model.js";
import { openSafetensors } from "../../src/io/safetensors.js";
import { shiftLabels, VilaForCausalLM } from "../../src/models/vila.js";
import type { Module } from "../../src/nn/index.js";
import { add, scale } from "../../src/tensor/ops/elementwise.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { IGNORE_INDEX } from "../../src/tokenizer/constants.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { readMetrics } from "../../src/train/metrics.js";
import { prepareStage, runStage, TrainingError, trainStage } from "../../src/train/trainer.js";
import { checkTensor, timerAbort } from "../helpers.js";
import { FIXTURE, tinyConfig, tmpDir, writeTinyData } from "./tiny.js";

/** Stands for the pairs dataset only (every sample has an image, so every part gets gradients). */
const PAIRS_ONLY = "pairs-only";

async function setup(tag: string, over: Record<string, unknown> = {}) {
  const dir = tmpDir(tag);
  const data = await writeTinyData(dir);
  if (over.datasets === PAIRS_ONLY)
    over = { ...over, datasets: [{ name: "pairs", format: "pairs", paths: [data.pairs] }] };
  return { dir, data, config: resolveTrainConfig(tinyConfig(dir, data, over)) };
}

function weights(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([n, t]) => [n, Float32Array.from(t.f32)]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test("frozen parts get no gradient, no optimizer state, stay in eval mode and do not change", async () => {
  const { config } = await setup("frozen", { tune_vision_tower: false, max_steps: 2, datasets: PAIRS_ONLY });
  const before = weights(loadVila(FIXTURE).model);
  const s = await prepareStage(config);
  const modes: boolean[][] = [];
  const r = await trainStage(s, {
    onStep: () =>
      modes.push([s.model.visionTower.training, s.model.mmProjector.training, s.model.llm.training]),
  });
  assert.deepEqual(modes, [
    [false, true, true],
    [false, true, true],
  ]);
  for (const [n, t] of s.model.visionTower.namedParameters("vision_tower.")) {
    assert.equal(t.requiresGrad, false, n);
    assert.equal(t.grad, null, n);
    checkTensor(t.f32, before.get(n) as Float32Array, 0, `${n} unchanged`);
  }
  const state = Object.keys(s.optimizer.stateDict().tensors);
  assert.ok(!state.some((k) => k.startsWith("vision_tower.")), "no optimizer state for the frozen tower");
  assert.ok(state.some((k) => k.startsWith("mm_projector.")) && state.some((k) => k.startsWith("llm.")));
  const saved = openSafetensors(path.join(r.checkpointDir, "trainer_state", "optimizer.safetensors"));
  assert.ok(!saved.keys().some((k) => k.startsWith("vision_tower.")));
  const moved = [...s.model.mmProjector.namedParameters("mm_projector.")].some(([n, t]) =>
    t.f32.some((x, i) => x !== (before.get(n) as Float32Array)[i]),
  );
  assert.ok(moved, "the projector trained");
});

test("per-part learning rates: AdamW's first step moves each part by its own lr", async () => {
  const { config } = await setup("lr", {
    learning_rate: 1e-3,
    mm_projector_lr: 1e-2,
    tune_vision_tower: true,
    vision_tower_lr: 1e-4,
    lr_scheduler_type: "constant",
    max_steps: 1,
    max_grad_norm: 0,
    weight_decay: 0.1,
    datasets: PAIRS_ONLY,
  });
  const before = weights(loadVila(FIXTURE).model);
  const s = await prepareStage(config);
  const lrs = Object.fromEntries(
    s.optimizer.groups.map((g, i) => [
      (g as { name?: string }).name,
      [s.optimizer.baseLrs[i], g.weightDecay],
    ]),
  );
  assert.deepEqual(lrs, {
    vision_tower: [1e-4, 0.1],
    "vision_tower.no_decay": [1e-4, 0],
    mm_projector: [1e-2, 0.1],
    "mm_projector.no_decay": [1e-2, 0],
    llm: [1e-3, 0.1],
    "llm.no_decay": [1e-3, 0],
  });
  await trainStage(s);
  for (const [part, lr] of [
    ["vision_tower.", 1e-4],
    ["mm_projector.", 1e-2],
    ["llm.", 1e-3],
  ] as const) {
    const deltas: number[] = [];
    for (const [n, t] of s.model.namedParameters()) {
      if (!n.startsWith(part) || t.ndim < 2) continue;
      const w0 = before.get(n) as Float32Array;
      // decayed params: w1 = w0 (1 - lr wd) - lr * m/(sqrt(v)+eps); take the Adam part
      t.f32.forEach((x, i) => {
        const d = Math.abs(x - w0[i] * (1 - lr * 0.1));
        if (d > lr * 1e-3) deltas.push(d);
      });
    }
    assert.ok(deltas.length > 10, `${part}: ${deltas.length} updated weights`);
    const m = median(deltas);
    assert.ok(Math.abs(m / lr - 1) < 0.02, `${part}: median |dw| ${m} vs lr ${lr}`);
  }
});

test("gradient accumulation: micro 2 x accumulation 2 equals one batch of 4", async () => {
  const dir = tmpDir("accum");
  const data = await writeTinyData(dir);
  const run = async (micro: number, accum: number, out: string) => {
    const c = resolveTrainConfig(
      tinyConfig(dir, data, {
        per_device_train_batch_size: micro,
        gradient_accumulation_steps: accum,
        max_steps: 3,
        output_dir: path.join(dir, out),
      }),
    );
    return runStage(c);
  };
  const a = await run(2, 2, "a");
  const b = await run(4, 1, "b");
  assert.equal(a.metrics.length, 3);
  a.metrics.forEach((m, i) => {
    const n = b.metrics[i];
    assert.equal(m.tokens, n.tokens, `step ${m.step} tokens`);
    assert.ok(
      Math.abs(m.loss - n.loss) <= 1e-5 * Math.abs(n.loss),
      `step ${m.step} loss ${m.loss} vs ${n.loss}`,
    );
    assert.ok(
      Math.abs(m.grad_norm - n.grad_norm) <= 1e-4 * n.grad_norm,
      `step ${m.step} grad norm ${m.grad_norm} vs ${n.grad_norm}`,
    );
  });
  const wb = weights(b.model);
  for (const [n, w] of weights(a.model)) checkTensor(w, wb.get(n) as Float32Array, 2e-5, n);
});

test("a step's gradient is the mean over all its target tokens, across micro-batches", async () => {
  // pairs and text mixed: the two micro-batches hold different numbers of target tokens, so a mean
  // of micro-batch means, or a sum, gives another gradient than the token mean
  const { config } = await setup("gradmean", {
    per_device_train_batch_size: 2,
    gradient_accumulation_steps: 2,
    max_steps: 1,
    max_grad_norm: 0,
  });
  const s = await prepareStage(config);
  const start = s.loader.mixture.state();
  const batch = await s.loader.next();
  s.loader.mixture.restore(start);
  // the reference: the same samples through a fresh copy of the model, one loss over all targets
  const ref = loadVila(FIXTURE).model;
  const trainable = new Set(s.trainable);
  const names = s.model
    .namedParameters()
    .filter(([, t]) => trainable.has(t))
    .map(([n]) => n);
  const modules = { vision_tower: ref.visionTower, mm_projector: ref.mmProjector, llm: ref.llm };
  for (const part of s.parts) modules[part.name].train(part.mode !== "frozen");
  let total: Tensor | null = null;
  const counts: number[] = [];
  for (const mb of batch.micro) {
    const { loss, spliced } = ref.forward({
      inputIds: mb.inputIds,
      labels: mb.labels,
      attentionMask: mb.attentionMask,
      segments: mb.segments ?? undefined,
      images: mb.images,
      maxLength: config.model_max_length,
    });
    const labels = spliced.labels as Tensor;
    const k = shiftLabels(labels, spliced.segments).i32.filter((x) => x !== IGNORE_INDEX).length;
    counts.push(k);
    const summed = scale(loss as Tensor, k);
    total = total ? add(total, summed) : summed;
  }
  assert.notEqual(counts[0], counts[1], `micro-batch target counts ${counts}`);
  scale(total as Tensor, 1 / (counts[0] + counts[1])).backward();
  const params = new Map(ref.namedParameters());
  let sq = 0;
  for (const n of names) for (const g of (params.get(n) as Tensor).grad?.f32 ?? []) sq += g * g;
  const r = await trainStage(s);
  const got = r.metrics[0].grad_norm;
  assert.ok(Math.abs(got - Math.sqrt(sq)) <= 1e-4 * Math.sqrt(sq), `grad norm ${got} vs ${Math.sqrt(sq)}`);
});

test("a tiny model overfits one batch", async () => {
  const dir = tmpDir("overfit");
  const data = await writeTinyData(dir, 2, 0);
  const c = resolveTrainConfig(
    tinyConfig(dir, data, {
      datasets: [{ name: "pairs", format: "pairs", paths: [data.pairs] }],
      per_device_train_batch_size: 2,
      max_steps: 40,
      learning_rate: 1e-2,
      lr_scheduler_type: "constant",
    }),
  );
  const r = await runStage(c);
  const first = r.metrics[0].loss;
  const last = r.metrics[r.metrics.length - 1].loss;
  assert.ok(first > 3, `initial loss ${first}`);
  assert.ok(last < 0.15 * first, `loss ${first} -> ${last}`);
});

test("stop (Ctrl-C) saves; resume ends with the same weights as an uninterrupted run", async () => {
  const dir = tmpDir("resume");
  const data = await writeTinyData(dir);
  const over = { max_steps: 7, save_steps: 3, learning_rate: 3e-3, warmup_ratio: 0.2 };
  const full = await runStage(
    resolveTrainConfig(tinyConfig(dir, data, { ...over, output_dir: path.join(dir, "full") })),
  );

  const cut = resolveTrainConfig(tinyConfig(dir, data, { ...over, output_dir: path.join(dir, "cut") }));
  const ctrl = new AbortController();
  const first = await runStage(cut, { signal: ctrl.signal, onStep: (s) => s.step === 5 && ctrl.abort() });
  assert.equal(first.stopped, true);
  assert.equal(first.step, 5);
  assert.equal(path.basename(first.checkpointDir), "checkpoint-5");
  const second = await runStage(cut, { resume: true });
  assert.equal(second.step, 7);
  assert.equal(second.stopped, false);
  const wf = weights(full.model);
  for (const [n, w] of weights(second.model)) checkTensor(w, wf.get(n) as Float32Array, 1e-6, n);
  const saved = weights(loadVila(second.checkpointDir).model);
  for (const [n, w] of saved) checkTensor(w, wf.get(n) as Float32Array, 1e-6, `saved ${n}`);
  // the metrics of the resumed run equal the uninterrupted run's, step by step
  const m1 = readMetrics(full.metricsPath).filter((r) => r.type === "train");
  const m2 = readMetrics(second.metricsPath).filter((r) => r.type === "train");
  assert.deepEqual(
    m2.map((r) => [r.step, r.loss]),
    m1.map((r) => [r.step, r.loss]),
  );
});

test("LoRA: only adapters and the projector train; saved checkpoint is merged; resume is exact", async () => {
  const dir = tmpDir("lora");
  const data = await writeTinyData(dir);
  const over = {
    lora_enable: true,
    lora_r: 4,
    lora_alpha: 8,
    lora_dropout: 0.1,
    max_steps: 5,
    learning_rate: 1e-2,
  };
  const full = await runStage(
    resolveTrainConfig(tinyConfig(dir, data, { ...over, output_dir: path.join(dir, "full") })),
  );
  const base = loadVila(FIXTURE).model;
  // merged on save: llm weights = base + scale B A from the saved adapters; untouched weights = base
  const ck = loadVila(full.checkpointDir).model;
  const ad = openSafetensors(path.join(full.checkpointDir, "trainer_state", "lora.safetensors"));
  const name = "model.layers.1.self_attn.q_proj";
  const A = ad.get(`llm.${name}.lora_A.weight`);
  const B = ad.get(`llm.${name}.lora_B.weight`);
  const W0 = base.llm.stateDict()[`${name}.weight`];
  const [out, inp] = W0.shape;
  const expect = new Float64Array(out * inp);
  for (let i = 0; i < out; i++)
    for (let j = 0; j < inp; j++) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc += B.f32[i * 4 + k] * A.f32[k * inp + j];
      expect[i * inp + j] = W0.f32[i * inp + j] + 2 * acc;
    }
  assert.ok(
    B.f32.some((x) => x !== 0),
    "B trained",
  );
  checkTensor(ck.llm.stateDict()[`${name}.weight`].f32, expect, 1e-6, "merged q_proj");
  checkTensor(
    ck.llm.stateDict()["model.embed_tokens.weight"].f32,
    base.llm.stateDict()["model.embed_tokens.weight"].f32,
    0,
    "embeddings frozen",
  );
  const opt = openSafetensors(path.join(full.checkpointDir, "trainer_state", "optimizer.safetensors")).keys();
  assert.ok(
    opt.every((k) => k.includes(".lora_") || k.startsWith("mm_projector.")),
    "optimizer state only for adapters and projector",
  );

  const cut = resolveTrainConfig(tinyConfig(dir, data, { ...over, output_dir: path.join(dir, "cut") }));
  const ctrl = new AbortController();
  await runStage(cut, { signal: ctrl.signal, onStep: (s) => s.step === 2 && ctrl.abort() });
  const resumed = await runStage(cut, { resume: true });
  const a = weights(loadVila(resumed.checkpointDir).model);
  for (const [n, w] of weights(ck)) checkTensor(a.get(n) as Float32Array, w, 1e-5, n);
});

test("resuming from a checkpoint of another model or another config fails before any work", async () => {
  const { dir, data, config } = await setup("other", { max_steps: 1 });
  const r = await runStage(config);
  // same run, but the checkpoint's llm/ holds a model with a bigger vocabulary
  const { model } = loadVila(FIXTURE);
  const other = new VilaForCausalLM({ ...model.config, llm: { ...model.config.llm, vocab_size: 80 } });
  const otherDir = path.join(dir, "other-model");
  saveVila(otherDir, other, {
    preprocessor: JSON.parse(
      fs.readFileSync(path.join(FIXTURE, "vision_tower", "preprocessor_config.json"), "utf8"),
    ),
  });
  fs.rmSync(path.join(r.checkpointDir, "llm"), { recursive: true });
  fs.cpSync(path.join(otherDir, "llm"), path.join(r.checkpointDir, "llm"), { recursive: true });
  await assert.rejects(
    prepareStage(config, { resume: true }),
    /is of another model: llm tensor "model.embed_tokens.weight" is \[80,32\] there, \[64,32\] in this model/,
  );
  const changed = resolveTrainConfig(tinyConfig(dir, data, { max_steps: 1, learning_rate: 5e-4 }));
  await assert.rejects(
    prepareStage(changed, { resume: true }),
    /trained with a different config: learning_rate \(0\.001 there, 0\.0005 now\)/,
  );
  const empty = resolveTrainConfig(tinyConfig(dir, data, { output_dir: path.join(dir, "nothing-here") }));
  await assert.rejects(prepareStage(empty, { resume: true }), /resume: no checkpoint in .*nothing-here/);
});

test("a NaN loss stops the run naming the step, the samples and the last good checkpoint", async () => {
  const { config } = await setup("nan", { max_steps: 6, save_steps: 2 });
  const s = await prepareStage(config);
  await assert.rejects(
    trainStage(s, { onStep: (st) => st.step === 3 && s.model.llm.lmHead.weight.f32.fill(Number.NaN) }),
    (e: Error) => {
      assert.ok(e instanceof TrainingError);
      assert.match(
        e.message,
        /^loss is NaN at step 4; batch samples: (pairs|text) \S+\.jsonl:\d+, (pairs|text) \S+\.jsonl:\d+; last good checkpoint: \S+checkpoint-2$/,
      );
      return true;
    },
  );
  const good = loadVila(path.join(config.output_dir, "checkpoint-2")).model;
  assert.ok(good.llm.lmHead.weight.f32.every(Number.isFinite));
});

test("metrics JSONL parses and the HTML report has the SVG curves and the eval table", async () => {
  const dir = tmpDir("report");
  const data = await writeTinyData(dir);
  const c = resolveTrainConfig(
    tinyConfig(dir, data, {
      max_steps: 4,
      eval_steps: 2,
      eval_datasets: [{ name: "held", format: "text", paths: [data.text] }],
      eval_samples: 3,
    }),
  );
  const lines: string[] = [];
  const r = await runStage(c, {
    onLog: (l) => lines.push(l),
    evaluate: (_m, { step }) => ({ vqa_accuracy: step / 10 }),
  });
  const recs = fs
    .readFileSync(r.metricsPath, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const train = recs.filter((x) => x.type === "train");
  const evals = recs.filter((x) => x.type === "eval");
  assert.deepEqual(
    train.map((x) => x.step),
    [1, 2, 3, 4],
  );
  for (const x of train)
    for (const k of ["loss", "lr", "grad_norm", "tokens", "ms", "epoch"])
      assert.equal(typeof x[k], "number", k);
  assert.deepEqual(
    evals.map((x) => [x.step, x.vqa_accuracy]),
    [
      [2, 0.2],
      [4, 0.4],
    ],
  );
  assert.ok(evals.every((x) => Number.isFinite(x.eval_loss)));
  assert.equal(evals[0].eval_loss, evals[0].eval_loss);
  const logLines = lines.filter((l) => l.startsWith("step "));
  assert.equal(logLines.length, 4);
  assert.match(logLines[0], /^step 1 \| loss \d+\.\d{4} \| lr 1\.0e-3 \| \d+ ms \| [\d,]+ tok\/s$/);
  const html = fs.readFileSync(r.reportPath, "utf8");
  assert.match(html, /^<!doctype html>/);
  assert.equal((html.match(/<svg /g) ?? []).length, 3, "loss, lr and eval charts");
  assert.match(html, /aria-label="training loss"/);
  assert.match(html, /aria-label="learning rate"/);
  const loss = /<path class="series" data-name="loss" d="([^"]+)"/.exec(html);
  assert.ok(loss && loss[1].split(/[ML]/).filter(Boolean).length === 4, "4 points on the loss curve");
  assert.match(html, /<th>vqa_accuracy<\/th>/);
  assert.match(html, /<th>eval_loss<\/th>/);
  assert.match(html, /<td>0\.4000<\/td>/);
});

test("packing (VILA1.5 repack) gives the same loss, gradient and weights as padding", async () => {
  const dir = tmpDir("pack");
  const data = await writeTinyData(dir);
  const run = (packing: boolean) =>
    runStage(
      resolveTrainConfig(
        tinyConfig(dir, data, {
          packing,
          per_device_train_batch_size: 4,
          max_steps: 2,
          output_dir: path.join(dir, String(packing)),
        }),
      ),
    );
  const padded = await run(false);
  const packed = await run(true);
  padded.metrics.forEach((m, i) => {
    const p = packed.metrics[i];
    assert.equal(p.tokens, m.tokens);
    assert.ok(Math.abs(p.loss - m.loss) <= 1e-5 * m.loss, `step ${m.step} loss ${p.loss} vs ${m.loss}`);
    assert.ok(
      Math.abs(p.grad_norm - m.grad_norm) <= 1e-4 * m.grad_norm,
      `step ${m.step} grad norm ${p.grad_norm} vs ${m.grad_norm}`,
    );
  });
  const w = weights(padded.model);
  for (const [n, t] of weights(packed.model)) checkTensor(t, w.get(n) as Float32Array, 2e-5, n);
});

test("decoding images in worker threads gives the same run as decoding in-thread", async () => {
  const dir = tmpDir("threads");
  const data = await writeTinyData(dir);
  const run = (threads: number) =>
    runStage(
      resolveTrainConfig(
        tinyConfig(dir, data, {
          image_threads: threads,
          max_steps: 2,
          output_dir: path.join(dir, `t${threads}`),
        }),
      ),
    );
  const a = await run(0);
  const b = await run(2);
  assert.deepEqual(
    b.metrics.map((m) => [m.loss, m.grad_norm]),
    a.metrics.map((m) => [m.loss, m.grad_norm]),
  );
});

test("an abort from a timer stops the stage at the next step, even when every batch is already in memory", async () => {
  // Ctrl-C reaches the trainer through a SIGINT listener, which runs only when the event loop turns;
  // a loop whose data settles as microtasks (pairs decoded and cached after the first epoch) never
  // turned it, and a world-tiny SFT stage interrupted at step 300 trained on to step 800
  const { config } = await setup("abort-timer", {
    max_steps: 2000,
    logging_steps: 1000,
    datasets: PAIRS_ONLY,
  });
  const s = await prepareStage(config);
  const abort = timerAbort(40);
  const r = await trainStage(s, { signal: abort.signal, onStep: (st) => abort.at(st.step) });
  assert.equal(abort.fired(), 40, "the timer ran");
  assert.equal(r.stopped, true);
  assert.ok(r.step <= 43, `stopped at step ${r.step}, asked after step 40`); // the timer runs within a turn or two
});

test("tokenized samples are built once and reused; the batches are the same as without the cache", async () => {
  // 12 records (6 pairs, 6 texts) in batches of 2: 18 steps draw each record about three times
  const draws = async (sampleCacheMb: number) => {
    const { config } = await setup(`sample-cache-${sampleCacheMb}`, {
      max_steps: 18,
      sample_cache_mb: sampleCacheMb,
    });
    const tokenizer = await loadTokenizer(path.join(FIXTURE, "llm"));
    let calls = 0;
    const encode = tokenizer.encode.bind(tokenizer);
    tokenizer.encode = (text, opts) => {
      calls++;
      return encode(text, opts);
    };
    const s = await prepareStage(config, { tokenizer });
    const batches: { ids: Int32Array; labels: Int32Array; images: Float32Array | null }[] = [];
    for (let i = 0; i < 18; i++) {
      const b = await s.loader.next();
      for (const mb of b.micro)
        batches.push({
          ids: mb.inputIds.i32,
          labels: mb.labels.i32,
          images: mb.images ? mb.images.f32 : null,
        });
    }
    await s.loader.close();
    return { batches, calls };
  };
  const cached = await draws(256);
  const plain = await draws(0);
  assert.deepEqual(cached.batches, plain.batches);
  assert.ok(
    cached.calls > 0 && 2 * cached.calls <= plain.calls,
    `tokenizer calls: ${cached.calls} with the cache, ${plain.calls} without`,
  );
});

test("a frozen tower's features are computed once per image and reused: the same weights as without", async () => {
  const run = async (featureCacheMb: number) => {
    const { config } = await setup(`feature-cache-${featureCacheMb}`, {
      datasets: PAIRS_ONLY,
      tune_vision_tower: false,
      max_steps: 12,
      feature_cache_mb: featureCacheMb,
    });
    const s = await prepareStage(config);
    assert.equal(s.features !== null, featureCacheMb > 0);
    let towerImages = 0;
    const features = s.model.visionFeatures.bind(s.model);
    s.model.visionFeatures = (images) => {
      towerImages += images.shape[0];
      return features(images);
    };
    const r = await trainStage(s);
    return { weights: weights(r.model), towerImages, losses: r.metrics.map((m) => m.loss) };
  };
  const cached = await run(256);
  const plain = await run(0);
  assert.deepEqual(cached.losses, plain.losses);
  for (const [n, t] of cached.weights) checkTensor(t, plain.weights.get(n) as Float32Array, 0, n);
  assert.ok(
    cached.towerImages > 0 && 2 * cached.towerImages <= plain.towerImages,
    `images through the tower: ${cached.towerImages} with the cache, ${plain.towerImages} without`,
  );
});

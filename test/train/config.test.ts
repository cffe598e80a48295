// Config loading: unknown keys named with their path and line, typed --key=value overrides, and the
// checks that must fail before any work starts (empty trainable set, missing dataset path, batch
// arithmetic, unknown template).

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import {
  applyOverrides,
  ConfigError,
  loadTrainConfig,
  resolveTrainConfig,
  TrainConfigSchema,
} from "../../src/train/config.js";
import { FIXTURE, tinyConfig, tmpDir } from "./tiny.js";

function setup() {
  const dir = tmpDir("config");
  const data = { pairs: path.join(dir, "pairs.jsonl"), text: path.join(dir, "text.jsonl") };
  fs.writeFileSync(data.pairs, "");
  fs.writeFileSync(data.text, "");
  return { dir, data };
}

test("a YAML config resolves with defaults, relative paths and batch arithmetic", () => {
  const { dir } = setup();
  const yaml = [
    "name: sft",
    "output_dir: out",
    `init_from: ${FIXTURE}`,
    "per_device_train_batch_size: 2",
    "global_batch_size: 8",
    "datasets:",
    "  - name: pairs",
    "    format: pairs",
    "    paths: [pairs.jsonl]",
  ].join("\n");
  const f = path.join(dir, "sft.yaml");
  fs.writeFileSync(f, yaml);
  const c = loadTrainConfig(f, [
    "learning_rate=2e-5",
    "tune_vision_tower=true",
    "datasets.0.weight=3",
    "lora_target_modules=[q_proj, v_proj]",
  ]);
  assert.equal(c.output_dir, path.join(dir, "out"));
  assert.equal(c.datasets[0].paths[0], path.join(dir, "pairs.jsonl"));
  assert.equal(c.gradient_accumulation_steps, 4);
  assert.equal(c.global_batch_size, 8);
  assert.equal(c.learning_rate, 2e-5);
  assert.equal(c.tune_vision_tower, true);
  assert.equal(c.datasets[0].weight, 3);
  assert.deepEqual(c.lora_target_modules, ["q_proj", "v_proj"]);
  assert.equal(c.warmup_ratio, 0.03);
  assert.equal(c.lr_scheduler_type, "cosine");
});

test("a typo in a key is an error naming the key, its line and the likely key", () => {
  const { dir } = setup();
  const f = path.join(dir, "typo.yaml");
  fs.writeFileSync(
    f,
    [
      "output_dir: out",
      `init_from: ${FIXTURE}`,
      "lerning_rate: 1e-4",
      "datasets:",
      "  - {name: p, format: pairs, paths: [pairs.jsonl], wieght: 2}",
    ].join("\n"),
  );
  assert.throws(
    () => loadTrainConfig(f),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /unknown key "lerning_rate" \(line 3\) \(did you mean "learning_rate"\?\)/);
      assert.match(e.message, /unknown key "datasets\[0\]\.wieght" \(line 5\) \(did you mean "weight"\?\)/);
      return true;
    },
  );
});

test("JSON configs are read too, and wrong value types name the field", () => {
  const { dir, data } = setup();
  const f = path.join(dir, "c.json");
  fs.writeFileSync(f, JSON.stringify({ ...tinyConfig(dir, data), learning_rate: "fast" }, null, 1));
  assert.throws(() => loadTrainConfig(f), /learning_rate \(line \d+\): Invalid input: expected number/);
});

test("bad overrides: unknown path, wrong type, not key=value", () => {
  const raw = { output_dir: "x" };
  assert.throws(
    () => applyOverrides(raw, ["learning_rat=1"]),
    /unknown key "learning_rat" \(did you mean "learning_rate"\?\)/,
  );
  assert.throws(
    () => applyOverrides(raw, ["learning_rate=fast"]),
    /--learning_rate: expected a number, got "fast"/,
  );
  assert.throws(() => applyOverrides(raw, ["tune_vision_tower=yes"]), /expected true or false/);
  assert.throws(
    () => applyOverrides(raw, ["lr_scheduler_type=linear"]),
    /"linear" is not one of cosine, constant/,
  );
  assert.throws(() => applyOverrides(raw, ["datasets.x.weight=1"]), /"x" must be a list index/);
  assert.throws(() => applyOverrides(raw, ["seed.x=1"]), /"seed" is a value, not a group/);
  assert.throws(() => applyOverrides(raw, ["seed"]), /expected key=value/);
});

test("an empty trainable set is an error before any work", () => {
  const { dir, data } = setup();
  const raw = tinyConfig(dir, data, {
    tune_vision_tower: false,
    tune_mm_projector: false,
    tune_language_model: false,
  });
  assert.throws(
    () => resolveTrainConfig(raw),
    /nothing to train: tune_vision_tower, tune_mm_projector and tune_language_model are all false/,
  );
});

test("a dataset path that does not exist is named with its dataset and field", () => {
  const { dir, data } = setup();
  const raw = tinyConfig(dir, { ...data, text: path.join(dir, "nope.jsonl") });
  assert.throws(
    () => resolveTrainConfig(raw),
    /datasets\[1\]\.paths\[0\] \(dataset "text"\): .*nope\.jsonl does not exist/,
  );
  assert.throws(
    () => resolveTrainConfig(tinyConfig(dir, data, { init_from: path.join(dir, "no-model") })),
    /init_from: .*no-model does not exist/,
  );
});

test("batch arithmetic and template names are checked", () => {
  const { dir, data } = setup();
  assert.throws(
    () => resolveTrainConfig(tinyConfig(dir, data, { global_batch_size: 5 })),
    /global_batch_size 5 is not a multiple of per_device_train_batch_size 2/,
  );
  assert.throws(
    () => resolveTrainConfig(tinyConfig(dir, data, { global_batch_size: 8, gradient_accumulation_steps: 2 })),
    /global_batch_size 8 != per_device_train_batch_size 2 x gradient_accumulation_steps 2/,
  );
  assert.throws(
    () => resolveTrainConfig(tinyConfig(dir, data, { conv_template: "vicuna" })),
    /conv_template "vicuna" is not one of/,
  );
  assert.throws(() => resolveTrainConfig(tinyConfig(dir, data, { datasets: [] })), /datasets: Too small/);
});

test("the presets under configs/train are valid stage configs", () => {
  const dir = path.resolve("configs/train");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const r = TrainConfigSchema.safeParse(parse(fs.readFileSync(path.join(dir, f), "utf8")));
    assert.ok(r.success, `${f}: ${r.success ? "" : JSON.stringify(r.error.issues)}`);
  }
});

test("init_from may name a training run: its latest checkpoint is used", () => {
  const { dir, data } = setup();
  const run = path.join(dir, "run");
  fs.mkdirSync(path.join(run, "checkpoint-3", "trainer_state"), { recursive: true });
  fs.writeFileSync(path.join(run, "checkpoint-3", "trainer_state", "trainer_state.json"), "{}");
  fs.writeFileSync(path.join(run, "latest"), "checkpoint-3\n");
  assert.equal(
    resolveTrainConfig(tinyConfig(dir, data, { init_from: run })).init_from,
    path.join(run, "checkpoint-3"),
  );
  fs.mkdirSync(path.join(dir, "empty-run"));
  assert.throws(
    () => resolveTrainConfig(tinyConfig(dir, data, { init_from: path.join(dir, "empty-run") })),
    /neither a checkpoint \(no config\.json\) nor a training run/,
  );
});

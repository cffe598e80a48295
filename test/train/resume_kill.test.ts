// Crash safety through the real CLI and real processes: a `vila train` run killed with SIGKILL
// after a checkpoint and continued with `--resume` ends with the weights of an uninterrupted run;
// a process killed while it writes checkpoints always leaves `latest` naming a loadable one; a
// save that fails half-way leaves the previous checkpoint in place. Also the CLI's bad-input exits.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadVila } from "../../src/io/model.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import {
  findLatestCheckpoint,
  listCheckpoints,
  removeStaleTemps,
  saveCheckpoint,
  stageCheckpoint,
  type TrainerStateMeta,
} from "../../src/train/state.js";
import { prepareStage, runStage, trainStage } from "../../src/train/trainer.js";
import { checkTensor } from "../helpers.js";
import { tinyConfig, tmpDir, writeTinyData } from "./tiny.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const SAVE_CHILD = fileURLToPath(new URL("./save_child.js", import.meta.url));

function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => p.on("exit", (code, signal) => resolve({ code, signal })));
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stdout?.on("data", (d) => (stdout += d));
  p.stderr?.on("data", (d) => (stderr += d));
  return exited(p).then(({ code }) => ({ code, stdout, stderr }));
}

test("vila train killed with SIGKILL after a checkpoint, then --resume, equals an uninterrupted run", async () => {
  const dir = tmpDir("kill");
  const data = await writeTinyData(dir);
  const over = {
    max_steps: 80,
    save_steps: 10,
    save_total_limit: 2,
    logging_steps: 1000,
    learning_rate: 3e-3,
    warmup_ratio: 0.1,
  };
  const cfgFile = path.join(dir, "stage.json");
  fs.writeFileSync(
    cfgFile,
    JSON.stringify(tinyConfig(dir, data, { ...over, output_dir: "killed" }), null, 1),
  );
  const full = await runStage(
    resolveTrainConfig(tinyConfig(dir, data, { ...over, output_dir: path.join(dir, "full") })),
  );

  const child = spawn(process.execPath, [MAIN, "train", "--config", cfgFile], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d;
    if (/saved \S+checkpoint-\d+/.test(out) && !child.killed) child.kill("SIGKILL");
  });
  const { signal } = await exited(child);
  assert.equal(signal, "SIGKILL", `the run should have been killed mid-run; it ended on its own:\n${out}`);
  const outDir = path.join(dir, "killed");
  assert.ok(!fs.existsSync(path.join(outDir, "checkpoint-80")), "killed before the end");
  const latest = findLatestCheckpoint(outDir);
  assert.ok(latest, "a checkpoint survived the kill");
  loadVila(latest);

  const resumed = await runCli(["train", "--config", cfgFile, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed from \S+checkpoint-\d+ at step \d+/);
  assert.match(resumed.stdout, /checkpoint: \S+checkpoint-80/);
  const a = loadVila(path.join(outDir, "checkpoint-80")).model;
  const b = new Map(full.model.namedParameters());
  for (const [n, t] of a.namedParameters()) checkTensor(t, b.get(n) as typeof t, 1e-6, n);
  assert.deepEqual(listCheckpoints(outDir).length, 2, "save_total_limit 2");
});

test("a process killed while writing checkpoints leaves `latest` naming a loadable checkpoint", async () => {
  const dir = tmpDir("killsave");
  const data = await writeTinyData(dir, 2, 2);
  const cfgFile = path.join(dir, "stage.json");
  fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig(dir, data)));
  for (const delay of [15, 40, 90]) {
    const out = path.join(dir, `out-${delay}`);
    const child = spawn(process.execPath, [SAVE_CHILD, cfgFile, out], { stdio: "ignore" });
    const done = exited(child);
    while (!fs.existsSync(path.join(out, "started"))) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, delay));
    child.kill("SIGKILL");
    assert.equal((await done).signal, "SIGKILL");
    const latest = findLatestCheckpoint(out);
    assert.ok(latest, `delay ${delay}: no checkpoint`);
    loadVila(latest);
    removeStaleTemps(out);
    assert.ok(
      fs.readdirSync(out).every((n) => !/\.(tmp|old)-/.test(n)),
      "stale temporary folders are removed",
    );
  }
});

test("a save that fails half-way leaves the previous checkpoint as `latest`", async () => {
  const dir = tmpDir("atomic");
  const data = await writeTinyData(dir);
  const config = resolveTrainConfig(tinyConfig(dir, data, { max_steps: 2 }));
  const s = await prepareStage(config);
  const r = await trainStage(s);
  const good = r.checkpointDir;
  const meta: TrainerStateMeta = {
    ...JSON.parse(fs.readFileSync(path.join(good, "trainer_state", "trainer_state.json"), "utf8")),
    step: 3,
  };
  const noTokenizer = path.join(dir, "empty");
  fs.mkdirSync(noTokenizer);
  const parts = {
    model: s.model,
    lora: null,
    optimizer: s.optimizer,
    meta,
    config,
    preprocessor: s.preprocessor,
  };
  // the tokenizer copy fails after llm/ weights were written into the staging folder
  assert.throws(
    () => saveCheckpoint(config.output_dir, { ...parts, tokenizerDir: noTokenizer }, 2),
    /has none of tokenizer\.model/,
  );
  assert.equal(findLatestCheckpoint(config.output_dir), good);
  assert.deepEqual(
    fs.readdirSync(config.output_dir).filter((n) => n.startsWith("checkpoint-")),
    ["checkpoint-2"],
  );
  // staged but never committed (a crash before the rename): still the old one
  const staged = stageCheckpoint(config.output_dir, { ...parts, tokenizerDir: s.tokenizerDir });
  assert.ok(fs.existsSync(staged));
  assert.equal(findLatestCheckpoint(config.output_dir), good);
  const back = loadVila(good).model;
  for (const [n, t] of back.namedParameters())
    checkTensor(t, new Map(r.model.namedParameters()).get(n) as typeof t, 0, n);
  // a kill while `latest` was being replaced leaves its atomic-write temp file beside it
  const latestTemp = path.join(config.output_dir, "latest.tmp-4242-k3x9qa");
  fs.writeFileSync(latestTemp, "checkpoint-3");
  removeStaleTemps(config.output_dir);
  assert.ok(!fs.existsSync(staged));
  assert.ok(!fs.existsSync(latestTemp), "the stale temp of `latest` is removed");
  assert.equal(findLatestCheckpoint(config.output_dir), good);
});

test("vila train: --help, and bad input exits 2 with the key named before any work", async () => {
  const help = await runCli(["train", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: vila train --config FILE/);
  const dir = tmpDir("cli");
  const data = await writeTinyData(dir, 1, 1);
  const cfgFile = path.join(dir, "stage.yaml");
  fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig(dir, data, { tune_mm_projecter: true })));
  const typo = await runCli(["train", "--config", cfgFile]);
  assert.equal(typo.code, 2);
  assert.match(
    typo.stderr,
    /unknown key "tune_mm_projecter" \(line 1\) \(did you mean "tune_mm_projector"\?\)/,
  );
  fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig(dir, data)));
  const bad = await runCli(["train", "--config", cfgFile, "--warmup_ratio=lots"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /override --warmup_ratio: expected a number, got "lots"/);
  assert.ok(!fs.existsSync(path.join(dir, "out")), "nothing was written");
});

test("Ctrl-C (SIGINT) stops vila train after the current step with a checkpoint, exit 130", async () => {
  const dir = tmpDir("sigint");
  const data = await writeTinyData(dir);
  const cfgFile = path.join(dir, "stage.json");
  fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig(dir, data, { max_steps: 500, logging_steps: 1 })));
  const child = spawn(process.execPath, [MAIN, "train", "--config", cfgFile], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d));
  child.stdout?.on("data", (d: Buffer) => {
    out += d;
    if (/^step 3 \|/m.test(out) && !child.killed) child.kill("SIGINT");
  });
  const { code } = await exited(child);
  assert.equal(code, 130, `${out}\n${err}`);
  assert.match(err, /stopping after this step and saving a checkpoint/);
  const m = /stopping at step (\d+) \(interrupted\); saving/.exec(out);
  assert.ok(m, out);
  const dirOut = path.join(dir, "out");
  assert.equal(findLatestCheckpoint(dirOut), path.join(dirOut, `checkpoint-${m[1]}`));
  assert.ok(fs.existsSync(path.join(dirOut, "report.html")));
});

// Checkpoints of a training run: the model in the VILA1.5 layout (io/model.ts saveVila; LoRA merged)
// plus `trainer_state/` with what an exact resume needs: `optimizer.safetensors` (AdamW m, v per
// parameter), `lora.safetensors` (adapters, when LoRA is on), `train_config.json` (the resolved
// config) and `trainer_state.json` (step, optimizer meta, data-mixture position, RNG state, config
// hash), written last. The whole folder is built as `checkpoint-N.tmp-*` and renamed into place,
// then `latest` (a one-line file naming it) is replaced atomically, then old checkpoints beyond
// `save_total_limit` are removed: a crash at any moment leaves `latest` naming a complete checkpoint.

import fs from "node:fs";
import path from "node:path";
import type { MixtureState } from "../data/mixture.js";
import type { Json } from "../io/checkpoint.js";
import { saveVila } from "../io/model.js";
import { openSafetensors } from "../io/safetensors.js";
import { isTempName, saveSafetensors, tempPathFor, writeFileAtomic } from "../io/safetensors_writer.js";
import type { VilaForCausalLM } from "../models/vila.js";
import type { AdamW } from "../optim/index.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import type { TrainConfig } from "./config.js";
import type { Lora } from "./lora.js";

export const STATE_DIR = "trainer_state";
const STATE_FILE = "trainer_state.json";
const LATEST = "latest";

/** trainer_state.json */
export interface TrainerStateMeta {
  format: "vila-ts-trainer-state/1";
  /** optimizer steps done */
  step: number;
  total_steps: number;
  tokens_seen: number;
  config_hash: string;
  optimizer: { step: number; lrs: number[]; baseLrs: number[] };
  data: MixtureState;
  rng: ReturnType<Generator["getState"]>;
  lora: boolean;
}

export interface SaveCheckpointParts {
  model: VilaForCausalLM;
  lora: Lora | null;
  optimizer: AdamW;
  meta: TrainerStateMeta;
  config: TrainConfig;
  /** vision_tower/preprocessor_config.json */
  preprocessor: Json;
  /** folder to copy tokenizer files from */
  tokenizerDir?: string;
  /** keys added to the top-level config.json (VILA's tune_* flags, ...) */
  extraConfig?: Json;
}

export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

function writeText(file: string, text: string): void {
  writeFileAtomic(file, (fd) => {
    const b = Buffer.from(text, "utf8");
    let done = 0;
    while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
  });
}

/** Build a checkpoint in a temporary folder next to its final place; returns that folder. */
export function stageCheckpoint(outputDir: string, p: SaveCheckpointParts): string {
  fs.mkdirSync(outputDir, { recursive: true });
  const final = path.join(outputDir, checkpointName(p.meta.step));
  const tmp = tempPathFor(final);
  try {
    const save = () =>
      saveVila(tmp, p.model, {
        preprocessor: p.preprocessor,
        tokenizer: p.tokenizerDir,
        extraConfig: p.extraConfig,
      });
    if (p.lora) p.lora.withMerged(save);
    else save();
    const sd = path.join(tmp, STATE_DIR);
    fs.mkdirSync(sd);
    const opt = p.optimizer.stateDict();
    saveSafetensors(path.join(sd, "optimizer.safetensors"), opt.tensors, { format: "vila-ts-adamw" });
    if (p.lora) saveSafetensors(path.join(sd, "lora.safetensors"), p.lora.stateDict(), { format: "pt" });
    writeText(path.join(sd, "train_config.json"), `${JSON.stringify(p.config, null, 2)}\n`);
    writeText(path.join(sd, STATE_FILE), `${JSON.stringify({ ...p.meta, optimizer: opt.meta }, null, 1)}\n`);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return tmp;
}

/** Move a staged checkpoint into place, point `latest` at it, prune old ones; returns its folder. */
export function commitCheckpoint(outputDir: string, staged: string, step: number, keep: number): string {
  const final = path.join(outputDir, checkpointName(step));
  if (fs.existsSync(final)) {
    const old = `${final}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    fs.renameSync(final, old);
    fs.renameSync(staged, final);
    fs.rmSync(old, { recursive: true, force: true });
  } else fs.renameSync(staged, final);
  writeText(path.join(outputDir, LATEST), `${checkpointName(step)}\n`);
  if (keep > 0) {
    const steps = listCheckpoints(outputDir).filter((s) => s !== step);
    for (const s of steps.slice(0, Math.max(0, steps.length - (keep - 1))))
      fs.rmSync(path.join(outputDir, checkpointName(s)), { recursive: true, force: true });
  }
  return final;
}

/** Save a complete checkpoint atomically (stage + commit). */
export function saveCheckpoint(outputDir: string, p: SaveCheckpointParts, keep: number): string {
  return commitCheckpoint(outputDir, stageCheckpoint(outputDir, p), p.meta.step, keep);
}

/** Steps of the complete checkpoints in a folder, ascending. */
export function listCheckpoints(outputDir: string): number[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs
    .readdirSync(outputDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter(
      (m): m is RegExpExecArray =>
        m !== null && fs.existsSync(path.join(outputDir, m[0], STATE_DIR, STATE_FILE)),
    )
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The checkpoint `latest` names (or the newest complete one); null when there is none. */
export function findLatestCheckpoint(outputDir: string): string | null {
  const latest = path.join(outputDir, LATEST);
  if (fs.existsSync(latest)) {
    const name = fs.readFileSync(latest, "utf8").trim();
    const dir = path.join(outputDir, name);
    if (/^checkpoint-\d+$/.test(name) && fs.existsSync(path.join(dir, STATE_DIR, STATE_FILE))) return dir;
  }
  const steps = listCheckpoints(outputDir);
  return steps.length ? path.join(outputDir, checkpointName(steps[steps.length - 1])) : null;
}

/** Remove what a run that died while saving left in its output folder: checkpoint folders being
 * built or set aside (`checkpoint-N.tmp-*`, `checkpoint-N.old-*`) and the temporary files of atomic
 * writes (`NAME.tmp-PID-XXXXXX`, e.g. of the `latest` pointer). */
export function removeStaleTemps(outputDir: string): void {
  if (!fs.existsSync(outputDir)) return;
  for (const n of fs.readdirSync(outputDir)) {
    if (/^checkpoint-\d+\.(tmp|old)-/.test(n) || isTempName(n))
      fs.rmSync(path.join(outputDir, n), { recursive: true, force: true });
  }
}

export interface LoadedTrainerState {
  meta: TrainerStateMeta;
  config: TrainConfig;
  optimizer: Record<string, Tensor>;
  lora: Record<string, Tensor> | null;
}

/** Read `trainer_state/` of a checkpoint; errors name the file. */
export function readTrainerState(dir: string): LoadedTrainerState {
  const sd = path.join(dir, STATE_DIR);
  const file = path.join(sd, STATE_FILE);
  if (!fs.existsSync(file))
    throw new Error(`${dir} is not a training checkpoint (no ${STATE_DIR}/${STATE_FILE})`);
  const meta = JSON.parse(fs.readFileSync(file, "utf8")) as TrainerStateMeta;
  if (meta.format !== "vila-ts-trainer-state/1")
    throw new Error(`${file}: unknown format ${JSON.stringify(meta.format)}`);
  const config = JSON.parse(fs.readFileSync(path.join(sd, "train_config.json"), "utf8")) as TrainConfig;
  const readAll = (f: string): Record<string, Tensor> => {
    const r = openSafetensors(f);
    return Object.fromEntries(r.keys().map((k) => [k, r.get(k)]));
  };
  const optimizer = readAll(path.join(sd, "optimizer.safetensors"));
  const lora = meta.lora ? readAll(path.join(sd, "lora.safetensors")) : null;
  return { meta, config, optimizer, lora };
}

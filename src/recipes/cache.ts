// The stage cache: every stage writes into its own folder `<out>/<stage>-<hash>`, where hash =
// sha256 of the stage's kind, config and the hashes of its inputs, so a stage is re-run exactly
// when it or something upstream changed, and a variant of a recipe reuses what it shares. The
// folder's `stage.json` (what ran, outputs, timings, metrics) is written last and atomically: a
// folder without it is unfinished (interrupted or failed) and is resumed or redone.

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../io/safetensors_writer.js";
import { canonicalJson } from "../train/config.js";
import type { Stage, StageKind } from "./stages.js";

/** The marker a finished stage leaves in its folder. */
export const FINISHED_FILE = "stage.json";

/** What a finished stage recorded (the content of stage.json). */
export interface StageRecord {
  format: "vila-ts-recipe-stage/1";
  name: string;
  kind: StageKind;
  hash: string;
  config: Record<string, unknown>;
  /** input stage name -> its hash */
  inputs: Record<string, string>;
  /** named outputs, as paths relative to the stage folder ("" = the folder itself) */
  outputs: Record<string, string>;
  /** stage-specific numbers (tokens/s, losses, scores ...) */
  metrics: Record<string, unknown>;
  seconds: number;
  /** the highest resident set size sampled while the stage ran, MiB */
  peak_rss_mib: number;
  finished_at: string;
}

/** sha256 of the stage's kind, config and its inputs' hashes (hex, first 12 characters). */
export function stageHash(stage: Stage, inputHashes: Record<string, string>): string {
  const text = canonicalJson({ kind: stage.kind, config: stage.config, inputs: inputHashes });
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** The stage's folder under the recipe's output folder. */
export function stageDir(outDir: string, stage: Stage, hash: string): string {
  return path.join(outDir, `${stage.name}-${hash}`);
}

/** The record of a finished stage folder, or null when the folder is missing or unfinished. */
export function readFinished(dir: string): StageRecord | null {
  const file = path.join(dir, FINISHED_FILE);
  if (!fs.existsSync(file)) return null;
  const rec = JSON.parse(fs.readFileSync(file, "utf8")) as StageRecord;
  if (rec.format !== "vila-ts-recipe-stage/1")
    throw new Error(`${file}: not a recipe stage record (format ${String(rec.format)})`);
  return rec;
}

/** Mark a stage finished (atomic; the last write of a stage). */
export function writeFinished(dir: string, rec: StageRecord): void {
  const text = `${JSON.stringify(rec, null, 1)}\n`;
  writeFileAtomic(path.join(dir, FINISHED_FILE), (fd) => fs.writeSync(fd, text));
}

/** An output path of a finished stage, made absolute. */
export function outputPath(dir: string, rec: StageRecord, name: string): string {
  const rel = rec.outputs[name];
  if (rel === undefined)
    throw new Error(
      `stage ${rec.name} (${dir}) has no output "${name}" (it has ${Object.keys(rec.outputs).join(", ")})`,
    );
  return path.resolve(dir, rel);
}

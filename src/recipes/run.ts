// The recipe driver: resolve the preset (every check before any work), build the stage list, and
// run the stages in order; a stage whose folder already holds a finished marker for the same hash
// is skipped ("cached"). Each stage's wall time and peak resident memory are recorded in its
// marker; the report (report.ts) is written at the end, and also when a run is interrupted (after
// the current training step, via the AbortSignal) so what finished is always visible.

import fs from "node:fs";
import path from "node:path";
import type { StepReport } from "../train/trainer.js";
import {
  FINISHED_FILE,
  outputPath,
  readFinished,
  type StageRecord,
  stageDir,
  stageHash,
  writeFinished,
} from "./cache.js";
import { EXECUTORS, type StageContext } from "./executors.js";
import type { RecipePreset } from "./presets.js";
import { type RecipeReportFiles, writeRecipeReport } from "./report.js";
import { buildStages, resolveRecipe, type Stage, TRAIN_SECTIONS, TRAIN_STAGES } from "./stages.js";

export interface RecipeRunOptions {
  /** a preset name (RECIPES) */
  recipe: string;
  /** default `runs/<recipe>` */
  out?: string;
  /** `section.key=value` (stages.ts applyRecipeOverrides) */
  overrides?: string[];
  /** re-run every stage even when a finished one is cached */
  force?: boolean;
  onLog?: (line: string) => void;
  onStep?: (stage: string, s: StepReport) => void;
  /** stop after the current training step (the stage stays unfinished and resumes next time) */
  signal?: AbortSignal;
}

export interface StageRun {
  stage: Stage;
  hash: string;
  dir: string;
  /** null for the stage that was interrupted */
  record: StageRecord | null;
  cached: boolean;
}

export interface RecipeResult {
  recipe: string;
  preset: RecipePreset;
  outDir: string;
  stages: StageRun[];
  report: RecipeReportFiles;
  /** the last training stage's checkpoint (null when interrupted before it) */
  finalCheckpoint: string | null;
  convMode: string;
  /** this run's wall time */
  seconds: number;
  stopped: boolean;
}

/** Samples the resident set size while a stage runs (a stage's own peak, not the process's). */
class RssSampler {
  peak = 0;
  private timer: ReturnType<typeof setInterval>;
  constructor(ms = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), ms);
    this.timer.unref?.();
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/**
 * Run a recipe: every stage in order, cached stages skipped; writes report.md and report.html in the
 * output folder.
 * @example
 * const r = await runRecipe({ recipe: "world-tiny", onLog: console.log });
 * console.log(r.report.html, r.finalCheckpoint);
 */
export async function runRecipe(opts: RecipeRunOptions): Promise<RecipeResult> {
  const t0 = performance.now();
  const preset = resolveRecipe(opts.recipe, opts.overrides ?? []);
  const stages = buildStages(preset);
  const outDir = path.resolve(opts.out ?? path.join("runs", preset.name));
  const log = opts.onLog ?? (() => {});
  fs.mkdirSync(outDir, { recursive: true });

  const runs: StageRun[] = [];
  const done = new Map<string, StageRun>();
  let stopped = false;
  for (const stage of stages) {
    const inputs: Record<string, string> = {};
    for (const name of stage.inputs) {
      const s = done.get(name);
      if (!s) throw new Error(`recipe: stage ${stage.name} needs ${name}, which does not come before it`);
      inputs[name] = s.hash;
    }
    const hash = stageHash(stage, inputs);
    const dir = stageDir(outDir, stage, hash);
    const cached = opts.force ? null : readFinished(dir);
    if (cached) {
      log(`${stage.name}: cached (${path.relative(process.cwd(), dir) || dir})`);
      const run = { stage, hash, dir, record: cached, cached: true };
      runs.push(run);
      done.set(stage.name, run);
      continue;
    }
    // an unfinished folder of a training stage keeps its checkpoints (the trainer resumes); any
    // other leftover (or everything, with force) is removed
    const training = (TRAIN_SECTIONS as readonly string[]).includes(stage.kind);
    if (fs.existsSync(dir) && (opts.force || !training)) fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    log(`${stage.name}: running (${stage.kind}) in ${dir}`);
    const ctx: StageContext = {
      stage,
      dir,
      input: (name, output) => {
        const s = done.get(name);
        if (!s?.record) throw new Error(`recipe: stage ${stage.name} reads ${name}, which has not finished`);
        return outputPath(s.dir, s.record, output);
      },
      log,
      onStep: opts.onStep,
      signal: opts.signal,
    };
    const rss = new RssSampler();
    const ts = performance.now();
    let out: Awaited<ReturnType<(typeof EXECUTORS)[Stage["kind"]]>>;
    try {
      out = await EXECUTORS[stage.kind](ctx);
    } finally {
      rss.stop();
    }
    if (out.stopped || opts.signal?.aborted) {
      log(`${stage.name}: interrupted; it resumes on the next run (its folder has no ${FINISHED_FILE})`);
      runs.push({ stage, hash, dir, record: null, cached: false });
      stopped = true;
      break;
    }
    const record: StageRecord = {
      format: "vila-ts-recipe-stage/1",
      name: stage.name,
      kind: stage.kind,
      hash,
      config: stage.config,
      inputs,
      outputs: out.outputs,
      metrics: out.metrics,
      seconds: (performance.now() - ts) / 1000,
      peak_rss_mib: rss.peak / 2 ** 20,
      finished_at: new Date().toISOString(),
    };
    writeFinished(dir, record);
    log(
      `${stage.name}: done in ${record.seconds.toFixed(1)} s (peak RSS ${Math.round(record.peak_rss_mib)} MiB)`,
    );
    const run = { stage, hash, dir, record, cached: false };
    runs.push(run);
    done.set(stage.name, run);
  }

  const lastTrain = [...runs]
    .reverse()
    .find((r) => r.record && (TRAIN_STAGES as readonly string[]).includes(r.stage.kind));
  const finalCheckpoint = lastTrain?.record
    ? outputPath(lastTrain.dir, lastTrain.record, "checkpoint")
    : null;
  const seconds = (performance.now() - t0) / 1000;
  const report = writeRecipeReport(outDir, {
    preset,
    runs,
    seconds,
    stopped,
    finalCheckpoint,
    peakRssMib: process.resourceUsage().maxRSS / 1024,
  });
  return {
    recipe: preset.name,
    preset,
    outDir,
    stages: runs,
    report,
    finalCheckpoint,
    convMode: preset.eval.conv_mode,
    seconds,
    stopped,
  };
}

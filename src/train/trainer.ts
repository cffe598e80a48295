// The trainer: runs one VILA training stage from a resolved config (config.ts). Everything that
// can be wrong with the input (config, data paths, model, resume checkpoint) is checked in
// `prepareStage` (setup.ts) before the first step. The loop then reads top to bottom, as nanoGPT's does:
//   schedule -> eval / checkpoint -> micro-steps (forward, backward) -> clip -> step -> log line
// Frozen parts (VILA's tune_* flags) get no gradient and no optimizer state and are put in eval
// mode every step (VILA's freezed_module_patch). Gradient accumulation sums each micro-batch's
// token-summed loss and divides by the step's target-token count (transformers' num_items_in_batch),
// so micro 2 x accumulation 2 gives the same update as one batch of 4. A non-finite loss or gradient
// norm stops the run naming the step, the samples and the last good checkpoint.

import fs from "node:fs";
import path from "node:path";
import { backend } from "../backend/index.js";
import type { MixtureState } from "../data/mixture.js";
import type { Json } from "../io/checkpoint.js";
import { writeFileAtomic } from "../io/safetensors_writer.js";
import { type Spliced, shiftLabels, type VilaForCausalLM } from "../models/vila.js";
import { clipGradNorm, cosineWithWarmup } from "../optim/index.js";
import { scale } from "../tensor/ops/elementwise.js";
import { clearPool, trimPool } from "../tensor/pool.js";
import { noGrad } from "../tensor/tensor.js";
import { IGNORE_INDEX } from "../tokenizer/constants.js";
import type { BatchLoader, MicroBatch, StepBatch } from "./batches.js";
import { configHash, type TrainConfig } from "./config.js";
import { type EvalRecord, MetricsWriter, type TrainRecord } from "./metrics.js";
import { formatCount, formatDuration } from "./progress.js";
import { renderReport } from "./report.js";
import { type PreparedStage, type PrepareOptions, prepareStage } from "./setup.js";

export { prepareStage };

import { removeStaleTemps, saveCheckpoint, type TrainerStateMeta } from "./state.js";
import { yieldToEventLoop } from "./yield.js";

/** What an evaluate hook returns: metric name -> value (one row of the report's table). */
export type EvalMetrics = Record<string, number | string>;

/** Per-step numbers for progress displays. */
export interface StepReport {
  /** optimizer steps done (1-based after the first step) */
  step: number;
  total: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  ms: number;
  tokPerSec: number;
  etaSec: number;
  epoch: number;
}

export interface StageOptions extends PrepareOptions {
  /** evaluation hook, called every eval_steps and at the end with the model in eval mode */
  evaluate?: (
    model: VilaForCausalLM,
    ctx: { step: number; config: TrainConfig },
  ) => Promise<EvalMetrics> | EvalMetrics;
  /** every log line (interval lines, checkpoint and eval notes) */
  onLog?: (line: string) => void;
  /** after every optimizer step */
  onStep?: (s: StepReport) => void;
  /** when aborted, the run stops after the current step, saves a checkpoint and returns */
  signal?: AbortSignal;
}

export interface StageResult {
  /** the last checkpoint written (VILA1.5 layout + trainer_state/) */
  checkpointDir: string;
  /** optimizer steps done */
  step: number;
  totalSteps: number;
  /** true when stopped early through the signal */
  stopped: boolean;
  metrics: TrainRecord[];
  evals: EvalRecord[];
  reportPath: string;
  metricsPath: string;
  model: VilaForCausalLM;
}

/** A run that cannot continue (non-finite loss, ...). */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** Learning-rate factor for the step about to be taken (`step` = optimizer steps done). */
export function lrScaleAt(c: TrainConfig, step: number, total: number): number {
  if (c.lr_scheduler_type === "cosine") return cosineWithWarmup(step, total, c.warmup_ratio);
  const warmup = Math.ceil(c.warmup_ratio * total);
  return step < warmup ? step / Math.max(1, warmup) : 1;
}

/** Positions that carry a loss after the causal shift. */
function countTargets(s: Spliced): number {
  if (!s.labels) return 0;
  let n = 0;
  for (const x of shiftLabels(s.labels, s.segments).i32) if (x !== IGNORE_INDEX) n++;
  return n;
}

/** The loss of one micro-batch (logits only where a label is; a frozen tower's kept features). */
function forwardMicro(s: PreparedStage, mb: MicroBatch) {
  const kept = s.features && mb.images ? s.features.features(s.model, mb.images, mb.imageKeys) : null;
  return s.model.forward(
    {
      inputIds: mb.inputIds,
      labels: mb.labels,
      attentionMask: mb.attentionMask,
      segments: mb.segments ?? undefined,
      images: kept ? null : mb.images,
      visionFeats: kept,
      maxLength: s.config.model_max_length,
    },
    { lossOnly: true },
  );
}

/** Mean loss over the eval datasets' first eval_samples samples (the same samples every time). */
async function evalLoss(s: PreparedStage): Promise<number> {
  const loader = s.evalLoader as BatchLoader;
  loader.mixture.restore(s.evalStart as MixtureState);
  const batch = await loader.next();
  let sum = 0;
  let n = 0;
  noGrad(() => {
    for (const mb of batch.micro) {
      const { loss, spliced } = forwardMicro(s, mb);
      const k = countTargets(spliced);
      if (k && loss) {
        sum += loss.item() * k;
        n += k;
      }
    }
  });
  return n ? sum / n : Number.NaN;
}

/**
 * Run a prepared stage to the end (or until `signal` aborts); returns where the final checkpoint is.
 */
export async function trainStage(s: PreparedStage, opts: StageOptions = {}): Promise<StageResult> {
  const { config: c, model, optimizer, loader, totalSteps: total } = s;
  const log = (line: string) => opts.onLog?.(line);
  fs.mkdirSync(c.output_dir, { recursive: true });
  removeStaleTemps(c.output_dir);
  const metricsPath = path.join(c.output_dir, "metrics.jsonl");
  const reportPath = path.join(c.output_dir, "report.html");
  const metrics = new MetricsWriter(metricsPath);
  const history = metrics.open(s.resumedFrom ? s.startStep : null);
  const trainRecs = history.filter((r): r is TrainRecord => r.type === "train");
  const evalRecs = history.filter((r): r is EvalRecord => r.type === "eval");

  let lastCheckpoint: string | null = s.resumedFrom;
  let lastSavedStep = s.resumedFrom ? s.startStep : -1;
  let dataState = loader.mixture.state();
  let tokensSeen = s.tokensSeen;
  const save = (stepDone: number) => {
    if (stepDone === lastSavedStep) return;
    const meta: TrainerStateMeta = {
      format: "vila-ts-trainer-state/1",
      step: stepDone,
      total_steps: total,
      tokens_seen: tokensSeen,
      config_hash: configHash(c),
      optimizer: optimizer.stateDict().meta,
      data: dataState,
      rng: s.gen.getState(),
      lora: s.lora !== null,
    };
    const extraConfig: Json = {
      tune_vision_tower: c.tune_vision_tower,
      tune_mm_projector: c.tune_mm_projector,
      tune_language_model: c.tune_language_model,
      mm_projector_lr: c.mm_projector_lr ?? null,
      vision_tower_lr: c.vision_tower_lr ?? null,
      model_max_length: c.model_max_length,
    };
    lastCheckpoint = saveCheckpoint(
      c.output_dir,
      {
        model,
        lora: s.lora,
        optimizer,
        meta,
        config: c,
        preprocessor: s.preprocessor,
        tokenizerDir: s.tokenizerDir,
        extraConfig,
      },
      c.save_total_limit,
    );
    lastSavedStep = stepDone;
    log(`saved ${lastCheckpoint}`);
  };
  const evaluate = async (stepDone: number) => {
    if (!s.evalLoader && !opts.evaluate) return;
    if (evalRecs.some((e) => e.step === stepDone)) return;
    model.eval();
    const row: EvalRecord = { type: "eval", step: stepDone };
    if (s.evalLoader) row.eval_loss = await evalLoss(s);
    if (opts.evaluate)
      Object.assign(row, await opts.evaluate(model, { step: stepDone, config: c }), {
        type: "eval",
        step: stepDone,
      });
    evalRecs.push(row);
    metrics.write(row);
    const fields = Object.entries(row)
      .filter(([k]) => k !== "type" && k !== "step")
      .map(([k, v]) => `${k} ${typeof v === "number" ? v.toFixed(4) : v}`);
    log(`eval step ${stepDone} | ${fields.join(" | ")}`);
  };
  const setModes = () => {
    model.train();
    for (const p of s.parts) if (p.mode === "frozen") p.module.eval();
  };

  const t0 = performance.now();
  let stopped = false;
  let step = s.startStep;
  let next: Promise<StepBatch> | null = step < total ? loader.next() : null;
  let interval = { loss: 0, n: 0, ms: 0, tokens: 0 };
  log(
    `${c.name}: ${total} steps of ${c.global_batch_size} samples (${c.per_device_train_batch_size} x ${c.gradient_accumulation_steps}), ${formatCount(s.trainable.reduce((a, t) => a + t.size, 0))} trainable parameters${s.resumedFrom ? `, resumed from ${s.resumedFrom} at step ${step}` : ""}`,
  );
  try {
    while (step < total) {
      // schedule
      optimizer.setLrScale(lrScaleAt(c, step, total));
      const lr = c.learning_rate * lrScaleAt(c, step, total);
      // eval / checkpoint (at the start of the step, nanoGPT style)
      if (step > s.startStep && c.eval_steps > 0 && step % c.eval_steps === 0) await evaluate(step);
      if (step > s.startStep && c.save_steps > 0 && step % c.save_steps === 0) save(step);
      const tStep = performance.now();
      const batch = await (next as Promise<StepBatch>);
      next = step + 1 < total ? loader.next() : null;
      next?.catch(() => undefined); // a prefetch error surfaces when awaited
      // micro-steps
      setModes();
      let lossSum = 0;
      let targets = 0;
      let tokens = 0;
      for (const mb of batch.micro) {
        const { loss, spliced } = forwardMicro(s, mb);
        tokens += spliced.lengths.reduce((a, b) => a + b, 0);
        const k = countTargets(spliced);
        if (k === 0 || !loss) continue;
        const l = loss.item();
        if (!Number.isFinite(l)) throw nonFinite("loss", l, step + 1, mb.sources, lastCheckpoint);
        lossSum += l * k;
        targets += k;
        // token-summed, divided by the step's target count below; the micro-step's activations and
        // gradients go back to the pool for the next one (nothing reads them afterwards)
        scale(loss, k).backward(undefined, { free: true });
      }
      if (targets > 0) {
        // one backend division per tensor (a JS loop here was 4% of a world-tiny stage-1 step);
        // float32 division is correctly rounded both ways, so the result is the same bit for bit
        const divisor = new Float32Array([targets]);
        for (const t of s.trainable) {
          if (!t.grad) continue;
          const g = t.grad.f32;
          backend().binary("div", g, [1], divisor, [0], g, [g.length]);
        }
      }
      // clip, step
      const gradNorm = clipGradNorm(s.trainable, c.max_grad_norm);
      if (!Number.isFinite(gradNorm))
        throw nonFinite(
          "gradient norm",
          gradNorm,
          step + 1,
          batch.micro.flatMap((m) => m.sources),
          lastCheckpoint,
        );
      optimizer.step();
      optimizer.zeroGrad();
      trimPool();
      step++;
      dataState = batch.dataAfter;
      tokensSeen += tokens;
      // log
      const ms = performance.now() - tStep;
      const loss = targets ? lossSum / targets : Number.NaN;
      const epoch = dataState.step / loader.totalRecords;
      const rec: TrainRecord = {
        type: "train",
        step,
        loss,
        lr,
        grad_norm: gradNorm,
        tokens,
        ms: Math.round(ms * 10) / 10,
        epoch,
      };
      trainRecs.push(rec);
      metrics.write(rec);
      interval = {
        loss: interval.loss + loss,
        n: interval.n + 1,
        ms: interval.ms + ms,
        tokens: interval.tokens + tokens,
      };
      const avgMs = (performance.now() - t0) / (step - s.startStep);
      opts.onStep?.({
        step,
        total,
        loss,
        lr,
        gradNorm,
        tokens,
        ms,
        tokPerSec: (tokens / ms) * 1000,
        etaSec: ((total - step) * avgMs) / 1000,
        epoch,
      });
      if (step % c.logging_steps === 0 || step === total) {
        const k = interval.n;
        log(
          `step ${step} | loss ${(interval.loss / k).toFixed(4)} | lr ${lr.toExponential(1)} | ${Math.round(interval.ms / k)} ms | ${formatCount((interval.tokens / interval.ms) * 1000)} tok/s`,
        );
        interval = { loss: 0, n: 0, ms: 0, tokens: 0 };
      }
      await yieldToEventLoop(); // a SIGINT sets the signal here, however fast the data comes
      if (opts.signal?.aborted && step < total) {
        stopped = true;
        log(`stopping at step ${step} (interrupted); saving`);
        break;
      }
    }
    if (!stopped) await evaluate(step);
    save(step);
  } finally {
    clearPool();
    await s.loader.close();
    await s.evalLoader?.close();
    const report = renderReport({
      title: `vila-ts training report: ${c.name}`,
      train: trainRecs,
      evals: evalRecs,
      summary: {
        stage: c.name,
        steps: `${step} / ${total}${stopped ? " (stopped early)" : ""}`,
        "final loss": trainRecs.length ? trainRecs[trainRecs.length - 1].loss.toFixed(4) : "-",
        "tokens seen": formatCount(tokensSeen),
        "wall time (this session)": formatDuration((performance.now() - t0) / 1000),
        "global batch": `${c.global_batch_size} (${c.per_device_train_batch_size} x ${c.gradient_accumulation_steps})`,
        "learning rate": c.learning_rate,
        trained: s.parts.map((p) => `${p.name}: ${p.mode}`).join(", "),
        checkpoint: lastCheckpoint ?? "none",
      },
    });
    writeFileAtomic(reportPath, (fd) => fs.writeSync(fd, report));
  }
  if (loader.bad.total) log(loader.bad.report());
  if (!lastCheckpoint) throw new Error("internal: the run ended without a checkpoint");
  return {
    checkpointDir: lastCheckpoint,
    step,
    totalSteps: total,
    stopped,
    metrics: trainRecs,
    evals: evalRecs,
    reportPath,
    metricsPath,
    model,
  };
}

function nonFinite(
  what: string,
  v: number,
  step: number,
  sources: string[],
  lastCheckpoint: string | null,
): TrainingError {
  const shown =
    sources.slice(0, 16).join(", ") + (sources.length > 16 ? `, ... (${sources.length} in all)` : "");
  return new TrainingError(
    `${what} is ${v} at step ${step}; batch samples: ${shown}; last good checkpoint: ${lastCheckpoint ?? "none (no checkpoint saved yet)"}`,
  );
}

/**
 * Run one training stage: check everything, train, checkpoint, report.
 * @example
 * const cfg = loadTrainConfig("configs/sft.yaml");
 * const { checkpointDir, metrics } = await runStage(cfg, { onLog: console.log });
 */
export async function runStage(config: TrainConfig, opts: StageOptions = {}): Promise<StageResult> {
  const prepared = await prepareStage(config, opts);
  return trainStage(prepared, opts);
}

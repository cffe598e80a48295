// What each stage kind does, given its folder and its inputs' folders. Every executor builds on the
// library's own pieces: generateWorld (world/), the BPE trainer (tokenizer/), the trainer's
// runStage for every LLM stage (train/; the base LLM too, inside a VILA wrapper whose stand-in
// tower and projector are frozen and unused), pretrainVisionTower (SigLIP, train/), and the eval
// runner (eval/). Outputs are written inside the stage folder; paths are returned relative to it.

import fs from "node:fs";
import path from "node:path";
import { openDataset } from "../data/dataset.js";
import {
  type Baselines,
  demoMajorityBaseline,
  demoRandomBaseline,
  type EvalResult,
  evaluate,
  listWorldBenchmarks,
  loadBenchmark,
  predictionsFileName,
  predictionsText,
  subsetBenchmark,
  trivialBaselines,
  writeTextAtomic,
} from "../eval/index.js";
import { loadVila } from "../io/model.js";
import { openSafetensors } from "../io/safetensors.js";
import { saveSafetensors } from "../io/safetensors_writer.js";
import { type VilaConfig, VilaForCausalLM, type VisionConfig } from "../models/vila.js";
import { Generator } from "../tensor/random.js";
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  trainBpeFromCounts,
  WordCounter,
} from "../tokenizer/bpe_train.js";
import { DEFAULT_IMAGE_TOKEN } from "../tokenizer/constants.js";
import { getConvTemplate, getPrompt } from "../tokenizer/templates.js";
import { loadTokenizer, splitOn } from "../tokenizer/tokenizer.js";
import { resolveTrainConfig, type TrainConfig } from "../train/config.js";
import { type AugmentOptions, pretrainVisionTower, type TextTowerDims } from "../train/siglip_pretrain.js";
import { findLatestCheckpoint } from "../train/state.js";
import { runStage, type StageOptions, type StageResult, type StepReport } from "../train/trainer.js";
import { generateWorld } from "../world/index.js";
import type { LlmDims, RecipePreset, TrainFragment } from "./presets.js";
import type { Stage } from "./stages.js";

/** What an executor gets: its stage, its folder, its inputs' outputs, and where to report. */
export interface StageContext {
  stage: Stage;
  /** this stage's folder (exists, empty unless an interrupted run left a checkpoint) */
  dir: string;
  /** an input stage's named output as an absolute path */
  input(stage: string, output: string): string;
  log(line: string): void;
  onStep?: (stage: string, s: StepReport) => void;
  signal?: AbortSignal;
}

export interface StageOutput {
  outputs: Record<string, string>;
  metrics: Record<string, unknown>;
  /** true when interrupted (nothing is marked finished) */
  stopped?: boolean;
}

type Executor = (ctx: StageContext) => Promise<StageOutput>;

// ---------------------------------------------------------------------------------------------
// world, tokenizer

async function runWorld(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as RecipePreset["world"];
  if (c.dir) {
    ctx.log(`world: using ${path.resolve(c.dir)}`);
    return { outputs: { world: path.resolve(c.dir) }, metrics: {} };
  }
  const s = await generateWorld({
    out: path.join(ctx.dir, "world"),
    preset: c.preset,
    seed: c.seed,
    force: true,
    onProgress: (m) => ctx.log(`world: ${m}`),
  });
  return {
    outputs: { world: "world" },
    metrics: { counts: s.counts, words: s.words, timings_ms: s.timings },
  };
}

/** The world files the tokenizer learns from: every text a later stage trains on, but the lookup
 * conversations (sft/lookups.json), whose words are the instruction data's (on world-tiny seed 0 none
 * is new), so the tokenizer and everything trained before them is the same with or without them. */
export const TOKENIZER_SOURCES: {
  name: string;
  format: "pairs" | "mmc4" | "llava" | "text";
  file: string;
}[] = [
  { name: "corpus", format: "text", file: "text/corpus.jsonl" },
  { name: "pairs", format: "pairs", file: "pairs/pairs.jsonl" },
  { name: "mmc4", format: "mmc4", file: "mmc4/docs.jsonl" },
  { name: "sft", format: "llava", file: "sft/llava_instruct.json" },
  { name: "flan", format: "llava", file: "flan/flan.jsonl" },
];

/** The tokenizer stage's config (stages.ts). */
export interface TokenizerStageConfig {
  vocab_size: number;
  min_frequency: number;
  /** extra special tokens (the chat template's markers, e.g. `<|im_start|>`, `<|im_end|>`) */
  special_tokens: string[];
  /** conversations are counted as this template renders them, so its words become tokens too */
  conv_template: string;
}

async function runTokenizer(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as unknown as TokenizerStageConfig;
  const world = ctx.input("world", "world");
  const template = getConvTemplate(c.conv_template);
  const wc = new WordCounter();
  const add = (text: string) => {
    for (const part of splitOn(text.replaceAll(DEFAULT_IMAGE_TOKEN, ""), c.special_tokens))
      if (!part.special) wc.add(part.text);
  };
  let records = 0;
  for (const src of TOKENIZER_SOURCES) {
    const ds = await openDataset({ name: src.name, format: src.format, paths: [path.join(world, src.file)] });
    for (let i = 0; i < ds.length; i++) {
      const r = await ds.get(i);
      if (r.kind === "text") add(r.text);
      else if (r.kind === "pair") add(r.caption);
      else if (r.kind === "mmc4") add(r.sentences.join(" "));
      else
        add(
          getPrompt(
            template,
            r.conversations.map((t) => ({ role: t.from === "gpt" ? 1 : 0, text: t.value })),
          ),
        );
      records++;
    }
  }
  const opts = {
    vocabSize: c.vocab_size,
    minFrequency: c.min_frequency,
    extraSpecialTokens: c.special_tokens,
  };
  const result = trainBpeFromCounts(wc.counts, opts);
  const out = path.join(ctx.dir, "tokenizer");
  fs.mkdirSync(out, { recursive: true });
  writeTextAtomic(path.join(out, "tokenizer.json"), JSON.stringify(buildTokenizerJson(result)));
  writeTextAtomic(
    path.join(out, "tokenizer_config.json"),
    `${JSON.stringify(buildTokenizerConfig(result, opts), null, 2)}\n`,
  );
  ctx.log(`tokenizer: ${result.vocab.size} tokens (${result.merges.length} merges) from ${records} records`);
  return {
    outputs: { tokenizer: "tokenizer" },
    metrics: {
      vocab_size: result.vocab.size,
      merges: result.merges.length,
      distinct_words: wc.counts.size,
      records,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// training stages

/** The base LLM trains inside a VILA model; this tower and projector exist only to complete it
 * (frozen, never fed an image) so the LLM's stage does not depend on the vision tower's config. */
const PLACEHOLDER_VISION: VisionConfig = {
  architectures: ["SiglipVisionModel"],
  model_type: "siglip_vision_model",
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 1,
  image_size: 16,
  patch_size: 8,
};

/** A training stage's full trainer config: the preset's fragment plus what the recipe decides. */
function trainConfig(
  ctx: StageContext,
  fragment: TrainFragment,
  extra: Record<string, unknown>,
): TrainConfig {
  return resolveTrainConfig(
    { ...fragment, name: ctx.stage.name, output_dir: path.join(ctx.dir, "train"), ...extra },
    { source: `recipe stage ${ctx.stage.name}`, baseDir: ctx.input("world", "world") },
  );
}

/** Run the trainer; an earlier interrupted run of this very stage (same hash) is resumed. */
async function train(ctx: StageContext, cfg: TrainConfig, opts: StageOptions = {}): Promise<StageOutput> {
  const resume = findLatestCheckpoint(cfg.output_dir) !== null;
  if (resume) ctx.log(`${ctx.stage.name}: resuming from ${findLatestCheckpoint(cfg.output_dir)}`);
  const r: StageResult = await runStage(cfg, {
    ...opts,
    resume,
    signal: ctx.signal,
    onLog: (line) => ctx.log(`${ctx.stage.name}: ${line}`),
    onStep: (s) => ctx.onStep?.(ctx.stage.name, s),
  });
  const tokens = r.metrics.reduce((a, m) => a + m.tokens, 0);
  const ms = r.metrics.reduce((a, m) => a + m.ms, 0);
  const last = r.metrics.slice(-10);
  return {
    stopped: r.stopped,
    outputs: {
      checkpoint: path.relative(ctx.dir, r.checkpointDir),
      metrics: path.relative(ctx.dir, r.metricsPath),
      report: path.relative(ctx.dir, r.reportPath),
    },
    metrics: {
      steps: r.step,
      tokens,
      train_seconds: ms / 1000,
      tokens_per_second: ms > 0 ? (tokens / ms) * 1000 : 0,
      first_loss: r.metrics[0]?.loss ?? null,
      final_loss: last.length ? last.reduce((a, m) => a + m.loss, 0) / last.length : null,
      trainable_parameters: r.model
        .namedParameters()
        .filter(([n]) => cfg.tune_language_model || !n.startsWith("llm."))
        .filter(([n]) => cfg.tune_vision_tower || !n.startsWith("vision_tower."))
        .filter(([n]) => cfg.tune_mm_projector || !n.startsWith("mm_projector."))
        .reduce((a, [, t]) => a + t.size, 0),
    },
  };
}

async function runBaseLlm(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as { llm: LlmDims; train: TrainFragment };
  const tokDir = ctx.input("tokenizer", "tokenizer");
  const tok = await loadTokenizer(tokDir);
  const model: VilaConfig = {
    // a multiple of 64 rows keeps the LM head's GEMM on whole tiles
    llm: {
      ...c.llm,
      vocab_size: Math.ceil(tok.vocabSize / 64) * 64,
      bos_token_id: tok.bosId ?? undefined,
      eos_token_id: tok.eosId ?? undefined,
      pad_token_id: tok.padId,
    },
    vision: PLACEHOLDER_VISION,
    projector: { mm_projector_type: "linear" },
  };
  const cfg = trainConfig(ctx, c.train, {
    model,
    tokenizer: tokDir,
    tune_vision_tower: false,
    tune_mm_projector: false,
    tune_language_model: true,
  });
  return train(ctx, cfg, { tokenizer: tok });
}

async function runVisionTower(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as {
    vision: VisionConfig;
    text_tower: TextTowerDims;
    steps: number;
    batch: number;
    lr: number;
    seed: number;
    eval_size: number;
    caption_drop?: string;
    word_classes?: Record<string, string[]>;
    hard_negatives?: boolean;
    pooling?: "mean" | "map";
    augment?: AugmentOptions;
  };
  const losses: number[] = [];
  const r = await pretrainVisionTower({
    worldDir: ctx.input("world", "world"),
    imageSize: c.vision.image_size,
    towerConfig: c.vision,
    textConfig: c.text_tower,
    steps: c.steps,
    batch: c.batch,
    lr: c.lr,
    seed: c.seed,
    evalSize: c.eval_size,
    captionDrop: c.caption_drop || undefined,
    wordClasses: c.word_classes,
    hardNegatives: c.hard_negatives,
    ...(c.pooling ? { pooling: c.pooling } : {}),
    augment: c.augment,
    signal: ctx.signal,
    logEvery: Math.max(1, Math.round(c.steps / 10)),
    onLog: (e) =>
      ctx.log(
        `vision_tower: step ${e.step}/${c.steps} | loss ${e.loss.toFixed(4)} | ${Math.round(e.patchTokensPerSec).toLocaleString("en-US")} patch tok/s`,
      ),
  });
  // interrupted: nothing is saved, and the next run trains the tower again from its first step
  if (r.stopped) return { outputs: {}, metrics: {}, stopped: true };
  losses.push(...r.metrics.losses);
  const out = path.join(ctx.dir, "vision_tower");
  fs.mkdirSync(out, { recursive: true });
  saveSafetensors(path.join(out, "model.safetensors"), r.tower.stateDict());
  writeTextAtomic(path.join(out, "config.json"), `${JSON.stringify(c.vision, null, 2)}\n`);
  const m = r.metrics;
  ctx.log(
    `vision_tower: held-out retrieval top-1 image->text ${(100 * m.retrieval.heldOut.imageToText).toFixed(1)}%, text->image ${(100 * m.retrieval.heldOut.textToImage).toFixed(1)}% (chance ${(100 * m.retrieval.heldOut.chance).toFixed(1)}%)`,
  );
  const swaps = Object.entries(m.swaps);
  if (swaps.length)
    ctx.log(
      `vision_tower: held-out swap accuracy (own caption above a one-word swap; chance 50%) ${swaps.map(([k, v]) => `${k} ${(100 * v.accuracy).toFixed(1)}%`).join(", ")}${m.hardNegativesSeen ? ` (${m.hardNegativesSeen.toLocaleString("en-US")} hard negatives trained on)` : ""}`,
    );
  return {
    outputs: { tower: "vision_tower" },
    metrics: {
      steps: c.steps,
      losses,
      first_loss: losses[0],
      final_loss: losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, losses.length),
      retrieval_before: m.retrievalBefore,
      retrieval: m.retrieval,
      swaps_before: m.swapsBefore,
      swaps: m.swaps,
      hard_negatives_seen: m.hardNegativesSeen,
      patch_tokens_per_second: m.patchTokensPerSec,
      images_per_second: m.imagesPerSec,
      train_seconds: m.trainSeconds,
      tower_parameters: m.towerParameters,
      text_parameters: m.textParameters,
    },
  };
}

/** Stage 0: the pre-trained LLM and tower with a fresh projector between them. */
async function runAlign(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as {
    projector: VilaConfig["projector"];
    mm_vision_select_layer: number;
    mm_vision_select_feature: "patch" | "cls_patch";
    train: TrainFragment;
  };
  const tokDir = ctx.input("tokenizer", "tokenizer");
  const baseDir = ctx.input("base_llm", "checkpoint");
  const towerDir = ctx.input("vision_tower", "tower");
  const base = loadVila(baseDir).model;
  const vision = JSON.parse(fs.readFileSync(path.join(towerDir, "config.json"), "utf8")) as VisionConfig;
  const config: VilaConfig = {
    llm: base.llm.config,
    vision,
    projector: c.projector,
    mm_vision_select_layer: c.mm_vision_select_layer,
    mm_vision_select_feature: c.mm_vision_select_feature,
  };
  const seed = (c.train.seed as number | undefined) ?? 42;
  const model = new VilaForCausalLM(config, new Generator(seed));
  model.llm.loadStateDict(base.llm.stateDict(), { source: baseDir });
  model.llm.retie();
  const tower = openSafetensors(path.join(towerDir, "model.safetensors"));
  model.visionTower.loadStateDict((n) => (tower.has(n) ? tower.get(n) : undefined), { source: tower.source });
  const cfg = trainConfig(ctx, c.train, { model: config, tokenizer: tokDir });
  return train(ctx, cfg, { model });
}

/** Stages 1 and 2: continue from the previous stage's checkpoint. */
async function runContinued(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as { train: TrainFragment };
  const previous = ctx.stage.inputs.find((s) => s !== "world") as string;
  const cfg = trainConfig(ctx, c.train, { init_from: ctx.input(previous, "checkpoint") });
  return train(ctx, cfg);
}

// ---------------------------------------------------------------------------------------------
// evaluation

/** One evaluated (benchmark, shots, image withheld?) combination. */
export interface EvalRow {
  bench: string;
  metric: string;
  shots: number;
  withhold_image: boolean;
  /** the prompt format: the conversation template, or "raw" */
  conv_mode: string;
  score: number | null;
  /** k-shot rows of benchmarks whose questions carry their own demonstrations: the score of
   * answering with the most frequent demonstration answer (copying, not binding); else null */
  demo_majority: number | null;
  /** the same rows: answering with a random one of the demonstrations' distinct answers (expected) */
  demo_random?: number | null;
  /** mean per-item score and count per question category (absent where questions have none) */
  by_category?: Record<string, { score: number; count: number }>;
  count: number;
  seconds: number;
  generated_tokens: number;
  /** the first question's whole prompt as the model was given it (template, demonstrations) */
  first_prompt?: string;
}

/** What an eval stage writes to eval.json. */
export interface EvalReport {
  stage: string;
  checkpoint: string;
  rows: EvalRow[];
  baselines: Record<
    string,
    {
      support_majority: number | null;
      test_majority: number | null;
      /** the per-question-type prior (oracle; null without categories) */
      category_majority: number | null;
      /** the same, per category */
      category_majority_by_category?: Record<string, number>;
      /** the per-question-type prior of the training data (absent or null without train answers) */
      train_category_majority?: number | null;
      /** the same, per category */
      train_category_majority_by_category?: Record<string, number>;
      chance: number | null;
      most_frequent_answer: string | null;
    }
  >;
}

/** An eval stage's config: the preset's eval section with `limit` already chosen for this stage. */
type EvalConfig = Omit<RecipePreset["eval"], "after" | "withhold_image_after" | "final_limit"> & {
  withhold_image: boolean;
  /** what eval.json holds (stages.ts EVAL_FORMAT); only hashed */
  eval_format: number;
};

function baselineRow(b: Baselines): EvalReport["baselines"][string] {
  return {
    support_majority: b.supportMajority?.score ?? null,
    test_majority: b.testMajority?.score ?? null,
    category_majority: b.categoryMajority,
    ...(b.categoryMajorityByCategory ? { category_majority_by_category: b.categoryMajorityByCategory } : {}),
    train_category_majority: b.trainCategoryMajority,
    ...(b.trainCategoryMajorityByCategory
      ? { train_category_majority_by_category: b.trainCategoryMajorityByCategory }
      : {}),
    chance: b.chance,
    most_frequent_answer: b.supportMajority?.answer ?? b.testMajority?.answer ?? null,
  };
}

async function runEval(ctx: StageContext): Promise<StageOutput> {
  const c = ctx.stage.config as EvalConfig;
  const trained = ctx.stage.inputs.find((s) => s !== "world") as string;
  const ckpt = ctx.input(trained, "checkpoint");
  const world = ctx.input("world", "world");
  const { model, checkpoint } = loadVila(ckpt);
  model.eval();
  if (!checkpoint.tokenizerDir) throw new Error(`${ckpt}: the checkpoint has no tokenizer files`);
  const tokenizer = await loadTokenizer(checkpoint.tokenizerDir);
  const pre = checkpoint.vision_tower.preprocess;
  const report: EvalReport = { stage: trained, checkpoint: ckpt, rows: [], baselines: {} };
  const predDir = path.join(ctx.dir, "predictions");
  fs.mkdirSync(predDir, { recursive: true });
  let generated = 0;
  let seconds = 0;
  for (const wb of listWorldBenchmarks(world).filter((b) => c.benchmarks.includes(b.name))) {
    const full = loadBenchmark(wb.files);
    const bench = subsetBenchmark(full, full.items.slice(0, c.limit));
    report.baselines[wb.name] = baselineRow(trivialBaselines(bench));
    const visual = bench.items.some((it) => it.images.length > 0);
    const runs: { shots: number; withhold: boolean }[] = c.shots
      .filter((k) => wb.shots.includes(k))
      .map((k) => ({ shots: k, withhold: false }));
    if (c.withhold_image && visual) runs.push({ shots: 0, withhold: true });
    for (const run of runs) {
      const r: EvalResult = await evaluate(model, tokenizer, pre, bench, {
        shots: run.shots,
        seed: c.seed,
        batchSize: c.batch_size,
        maxNewTokens: wb.name === "captions" ? c.caption_max_new_tokens : c.max_new_tokens,
        convMode: c.raw_benchmarks.includes(wb.name) ? "raw" : c.conv_mode,
        ...(c.demo_templates[wb.name] !== undefined ? { demoTemplate: c.demo_templates[wb.name] } : {}),
        withholdImage: run.withhold,
        signal: ctx.signal,
      });
      report.rows.push({
        bench: wb.name,
        metric: r.metric,
        shots: run.shots,
        withhold_image: run.withhold,
        conv_mode: r.convMode,
        score: r.score,
        demo_majority: demoMajorityBaseline(bench, run.shots),
        demo_random: demoRandomBaseline(bench, run.shots),
        ...(Object.keys(r.byCategory).length ? { by_category: r.byCategory } : {}),
        count: r.count,
        seconds: r.timings.seconds,
        generated_tokens: r.timings.generatedTokens,
        first_prompt: r.predictions[0]?.prompt,
      });
      generated += r.timings.generatedTokens;
      seconds += r.timings.seconds;
      const tag = `${wb.name}-${run.shots}shot${run.withhold ? "-noimage" : ""}`;
      writeTextAtomic(
        path.join(predDir, `${tag}-${predictionsFileName(bench)}`),
        predictionsText(bench, r, ctx.stage.name),
      );
      ctx.log(
        `${ctx.stage.name}: ${wb.name} ${run.shots}-shot${run.withhold ? " (image withheld)" : ""}: ${r.metric} ${r.score?.toFixed(2) ?? "-"} on ${r.count} (${r.timings.seconds.toFixed(1)} s)`,
      );
    }
  }
  writeTextAtomic(path.join(ctx.dir, "eval.json"), `${JSON.stringify(report, null, 1)}\n`);
  return {
    outputs: { eval: "eval.json", predictions: "predictions" },
    metrics: {
      rows: report.rows.length,
      generated_tokens: generated,
      eval_seconds: seconds,
      tokens_per_second: seconds > 0 ? generated / seconds : 0,
    },
  };
}

/** The executor of each stage kind. */
export const EXECUTORS: Readonly<Record<Stage["kind"], Executor>> = {
  world: runWorld,
  tokenizer: runTokenizer,
  base_llm: runBaseLlm,
  vision_tower: runVisionTower,
  align: runAlign,
  pretrain: runContinued,
  lookups: runContinued,
  sft: runContinued,
  eval: runEval,
};

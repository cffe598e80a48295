// The training-stage config: one schema (zod) with Hugging Face TrainingArguments / VILA
// `llava/train/args.py` names (`tune_vision_tower`, `tune_mm_projector`, `tune_language_model`,
// `mm_projector_lr`, `vision_tower_lr`, `lora_r`, ...), loaded from JSON or YAML, unknown keys
// rejected with their path (and line), `--key=value` overrides typed against the schema, then
// checked for what a schema alone cannot see (paths exist, something trains, batch arithmetic).
// The resolved config is plain data; it is saved inside every checkpoint (trainer_state/).
// The three VILA stages are three configs of this one schema (STYLE.md "Configuration").

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { CONV_TEMPLATES } from "../tokenizer/templates.js";
import { findLatestCheckpoint } from "./state.js";

const positiveInt = z.number().int().positive();

const DatasetSchema = z.strictObject({
  /** name used in logs and in the saved data position */
  name: z.string().min(1),
  format: z.enum(["pairs", "mmc4", "llava", "text"]),
  /** `.jsonl`, `.json` (llava), `.tar` files, or folders of `.tar` shards; relative to the config file */
  paths: z.array(z.string().min(1)).min(1),
  /** folder that relative image paths resolve against (default: the data file's folder) */
  media_dir: z.string().optional(),
  /** relative sampling weight (default: the dataset's size) */
  weight: z.number().nonnegative().optional(),
});

/** The stage config schema. Defaults here are the only defaults (VILA stage-3 values where VILA has one). */
export const TrainConfigSchema = z.strictObject({
  /** stage name for logs and the report title */
  name: z.string().default("stage"),
  /** where checkpoints, metrics.jsonl and report.html go */
  output_dir: z.string().min(1),
  /** a checkpoint folder (VILA1.5 or LLaVA layout) to start from, or a training run's output_dir (its latest checkpoint) */
  init_from: z.string().optional(),
  /** build a fresh model instead: {llm, vision, projector, mm_vision_select_layer?, mm_vision_select_feature?} (HF config dicts) */
  model: z.record(z.string(), z.unknown()).optional(),
  /** tokenizer folder (default: init_from's llm/) */
  tokenizer: z.string().optional(),

  tune_vision_tower: z.boolean().default(false),
  tune_mm_projector: z.boolean().default(true),
  tune_language_model: z.boolean().default(true),

  learning_rate: z.number().positive().default(1e-4),
  /** per-part learning rates (default: learning_rate) */
  vision_tower_lr: z.number().positive().optional(),
  mm_projector_lr: z.number().positive().optional(),
  language_model_lr: z.number().positive().optional(),
  weight_decay: z.number().nonnegative().default(0),
  adam_beta1: z.number().min(0).lt(1).default(0.9),
  adam_beta2: z.number().min(0).lt(1).default(0.999),
  adam_epsilon: z.number().positive().default(1e-8),
  lr_scheduler_type: z.enum(["cosine", "constant"]).default("cosine"),
  warmup_ratio: z.number().min(0).max(1).default(0.03),
  /** gradient clipping by global norm; 0 = off */
  max_grad_norm: z.number().nonnegative().default(1),

  /** samples per optimizer step (= per_device_train_batch_size x gradient_accumulation_steps) */
  global_batch_size: positiveInt.optional(),
  /** samples per forward pass (micro-batch) */
  per_device_train_batch_size: positiveInt.default(1),
  gradient_accumulation_steps: positiveInt.optional(),
  /** longest row in spliced positions (image tokens count); longer samples are truncated */
  model_max_length: positiveInt.default(2048),
  /** pack samples of a micro-batch into shared rows (VILA1.5 repack_multimodal_data) */
  packing: z.boolean().default(false),
  num_train_epochs: z.number().positive().default(1),
  /** total optimizer steps; when set, wins over num_train_epochs */
  max_steps: positiveInt.optional(),
  seed: z.number().int().nonnegative().default(42),

  datasets: z.array(DatasetSchema).min(1),
  /** conversation template for SFT records (VILA's --version) */
  conv_template: z.string().default("vicuna_v1"),
  /** images kept per MMC4 document (VILA: 6) */
  max_images: positiveInt.default(6),
  /** skip and count bad samples instead of stopping */
  skip_bad_samples: z.boolean().default(false),
  /** image decoding worker threads (0 = decode on the main thread) */
  image_threads: z.number().int().nonnegative().default(0),
  /** decoded images kept in memory, in MB, with image_threads 0 (files read epoch after epoch are
   * decoded once; 0 = decode every time) */
  image_cache_mb: z.number().nonnegative().default(256),
  /** tokenized samples kept in memory, in MB (records drawn again are not tokenized again; 0 =
   * tokenize every draw) */
  sample_cache_mb: z.number().nonnegative().default(256),
  /** the frozen vision tower's features of each image kept in memory, in MB (an image drawn again
   * does not go through the tower again; 0 = every time) */
  feature_cache_mb: z.number().nonnegative().default(256),

  /** held-out data for the built-in eval loss */
  eval_datasets: z.array(DatasetSchema).optional(),
  eval_samples: positiveInt.default(32),
  /** evaluate every N steps (0 = only at the end) */
  eval_steps: z.number().int().nonnegative().default(0),
  /** save a checkpoint every N steps (0 = only at the end) */
  save_steps: z.number().int().nonnegative().default(0),
  /** keep the newest N checkpoints (0 = keep all) */
  save_total_limit: z.number().int().nonnegative().default(2),
  /** one log line every N steps */
  logging_steps: positiveInt.default(10),

  lora_enable: z.boolean().default(false),
  lora_r: positiveInt.default(64),
  lora_alpha: z.number().positive().default(16),
  lora_dropout: z.number().min(0).lt(1).default(0.05),
  /** Linear layers that get adapters, by the last part of their name (PEFT target_modules) */
  lora_target_modules: z
    .array(z.string().min(1))
    .min(1)
    .default([
      "q_proj",
      "k_proj",
      "v_proj",
      "o_proj",
      "gate_proj",
      "up_proj",
      "down_proj",
      "out_proj",
      "fc1",
      "fc2",
    ]),
});

/** The resolved config (every default filled in, paths absolute, batch arithmetic done). */
export type TrainConfig = z.infer<typeof TrainConfigSchema> & {
  gradient_accumulation_steps: number;
  global_batch_size: number;
};
export type DatasetConfig = z.infer<typeof DatasetSchema>;

/** A config problem, found before any work starts. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

// ---------------------------------------------------------------------------------------------
// loading

/**
 * Load a JSON or YAML stage config, apply `--key=value` overrides, validate and resolve it.
 * Relative paths in the file resolve against the file's folder.
 * @example
 * const cfg = loadTrainConfig("configs/sft.yaml", ["learning_rate=2e-5", "tune_vision_tower=true"]);
 */
export function loadTrainConfig(file: string, overrides: string[] = []): TrainConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new ConfigError(`config ${file}: file not found`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) throw new ConfigError(`config ${file}: ${doc.errors[0].message}`);
  const raw = doc.toJS() as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ConfigError(`config ${file}: not a mapping of keys to values`);
  const lineOf = (p: PropertyKey[]): number | null => {
    const node = doc.getIn(p as (string | number)[], true) as { range?: [number, number] } | undefined;
    const r =
      node?.range ??
      (doc.getIn(p.slice(0, -1) as (string | number)[], true) as { range?: [number, number] } | undefined)
        ?.range;
    return r ? text.slice(0, r[0]).split("\n").length : null;
  };
  const withOverrides = applyOverrides(raw as Record<string, unknown>, overrides);
  return resolveTrainConfig(withOverrides, {
    source: file,
    baseDir: path.dirname(path.resolve(file)),
    lineOf,
  });
}

/**
 * Validate and resolve a config object (the programmatic path; the recipe builds these).
 * @param opts.baseDir folder that relative paths resolve against (default: the working directory)
 */
export function resolveTrainConfig(
  raw: Record<string, unknown>,
  opts: { source?: string; baseDir?: string; lineOf?: (p: PropertyKey[]) => number | null } = {},
): TrainConfig {
  const source = opts.source ?? "config";
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    const msgs = r.error.issues.slice(0, 5).map((iss) => {
      const where = (p: PropertyKey[]) => {
        const line = opts.lineOf?.(p);
        return `${formatPath(p) || "(top level)"}${line ? ` (line ${line})` : ""}`;
      };
      if (iss.code === "unrecognized_keys") {
        return iss.keys
          .map((k) => {
            const p = [...iss.path, k];
            const hint = suggest(k, keysAt(iss.path));
            return `unknown key "${formatPath(p)}"${lineSuffix(opts.lineOf?.(p))}${hint ? ` (did you mean "${hint}"?)` : ""}`;
          })
          .join("; ");
      }
      return `${where(iss.path)}: ${iss.message}`;
    });
    throw new ConfigError(`${source}: ${msgs.join("; ")}`);
  }
  const c = r.data;
  const abs = (p: string) => path.resolve(opts.baseDir ?? "", p);

  // batch arithmetic: global = micro x accumulation
  const micro = c.per_device_train_batch_size;
  let accum = c.gradient_accumulation_steps;
  let global = c.global_batch_size;
  if (global !== undefined) {
    if (global % micro !== 0)
      throw new ConfigError(
        `${source}: global_batch_size ${global} is not a multiple of per_device_train_batch_size ${micro}`,
      );
    if (accum !== undefined && accum * micro !== global) {
      throw new ConfigError(
        `${source}: global_batch_size ${global} != per_device_train_batch_size ${micro} x gradient_accumulation_steps ${accum}`,
      );
    }
    accum = global / micro;
  }
  accum ??= 1;
  global = micro * accum;

  if (!c.tune_vision_tower && !c.tune_mm_projector && !c.tune_language_model) {
    throw new ConfigError(
      `${source}: nothing to train: tune_vision_tower, tune_mm_projector and tune_language_model are all false`,
    );
  }
  if (c.init_from === undefined && c.model === undefined)
    throw new ConfigError(`${source}: give init_from (a checkpoint folder) or model (configs to build one)`);
  if (c.init_from !== undefined && c.model !== undefined)
    throw new ConfigError(`${source}: give init_from or model, not both`);
  if (c.model !== undefined && c.tokenizer === undefined)
    throw new ConfigError(
      `${source}: a model built from configs needs "tokenizer" (a folder with tokenizer files)`,
    );
  if (!CONV_TEMPLATES[c.conv_template]) {
    throw new ConfigError(
      `${source}: conv_template "${c.conv_template}" is not one of ${Object.keys(CONV_TEMPLATES).join(", ")}`,
    );
  }
  if (c.lora_enable && !c.tune_language_model && !c.tune_vision_tower) {
    throw new ConfigError(
      `${source}: lora_enable needs tune_language_model or tune_vision_tower (LoRA adapts their Linear layers)`,
    );
  }

  const resolveDatasets = (list: DatasetConfig[], key: string): DatasetConfig[] => {
    const names = new Set<string>();
    return list.map((d, i) => {
      if (names.has(d.name)) throw new ConfigError(`${source}: ${key}[${i}].name "${d.name}" is used twice`);
      names.add(d.name);
      const paths = d.paths.map((p, j) => {
        const a = abs(p);
        if (!fs.existsSync(a))
          throw new ConfigError(
            `${source}: ${key}[${i}].paths[${j}] (dataset "${d.name}"): ${a} does not exist`,
          );
        return a;
      });
      const media = d.media_dir === undefined ? undefined : abs(d.media_dir);
      if (media !== undefined && !fs.existsSync(media))
        throw new ConfigError(
          `${source}: ${key}[${i}].media_dir (dataset "${d.name}"): ${media} does not exist`,
        );
      return { ...d, paths, ...(media !== undefined ? { media_dir: media } : {}) };
    });
  };
  const checkDir = (key: string, p: string | undefined): string | undefined => {
    if (p === undefined) return undefined;
    const a = abs(p);
    if (!fs.existsSync(a)) throw new ConfigError(`${source}: ${key}: ${a} does not exist`);
    return a;
  };
  // init_from may name a training run's output_dir: its latest checkpoint is meant
  const checkpointOf = (p: string | undefined): string | undefined => {
    if (p === undefined || fs.existsSync(path.join(p, "config.json"))) return p;
    const latest = findLatestCheckpoint(p);
    if (!latest)
      throw new ConfigError(
        `${source}: init_from: ${p} is neither a checkpoint (no config.json) nor a training run with checkpoints`,
      );
    return latest;
  };

  return {
    ...c,
    output_dir: abs(c.output_dir),
    init_from: checkpointOf(checkDir("init_from", c.init_from)),
    tokenizer: checkDir("tokenizer", c.tokenizer),
    datasets: resolveDatasets(c.datasets, "datasets"),
    eval_datasets: c.eval_datasets ? resolveDatasets(c.eval_datasets, "eval_datasets") : undefined,
    gradient_accumulation_steps: accum,
    global_batch_size: global,
  };
}

/** A short stable hash of a resolved config (saved in checkpoints, compared on resume). */
export function configHash(c: TrainConfig): string {
  return createHash("sha256").update(canonicalJson(c)).digest("hex").slice(0, 16);
}

/** Keys that may differ between a run and its resume (they do not change the weights). */
export const RESUME_FREE_KEYS = new Set([
  "output_dir",
  "logging_steps",
  "save_steps",
  "save_total_limit",
  "eval_steps",
  "image_threads",
  "image_cache_mb",
  "sample_cache_mb",
  "feature_cache_mb",
  "name",
]);

/** The top-level keys whose values differ between two configs (for resume checks). */
export function configDiff(a: TrainConfig, b: TrainConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter(
      (k) =>
        canonicalJson((a as Record<string, unknown>)[k]) !== canonicalJson((b as Record<string, unknown>)[k]),
    )
    .sort();
}

export function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === "object"
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
              .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
          )
        : x;
  return JSON.stringify(sort(v));
}

// ---------------------------------------------------------------------------------------------
// overrides

/**
 * Apply `key=value` overrides (dotted paths, array indices as numbers: `datasets.0.weight=2`).
 * Each path must exist in the schema; the value is typed by the schema's type there (number,
 * boolean, string, enum; lists and objects as JSON/YAML flow text: `lora_target_modules=[q_proj,v_proj]`).
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new ConfigError(`override "${o}": expected key=value`);
    const key = o.slice(0, eq).replace(/^--/, "");
    const text = o.slice(eq + 1);
    const parts = key.split(".");
    let schema: z.ZodType = TrainConfigSchema;
    for (let i = 0; i < parts.length; i++) {
      const s = unwrap(schema);
      const p = parts[i];
      if (s instanceof z.ZodObject) {
        const shape = s.shape as Record<string, z.ZodType>;
        if (!(p in shape)) {
          const hint = suggest(p, Object.keys(shape));
          throw new ConfigError(
            `override --${key}: unknown key "${parts.slice(0, i + 1).join(".")}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
          );
        }
        schema = shape[p];
      } else if (s instanceof z.ZodArray) {
        if (!/^\d+$/.test(p)) throw new ConfigError(`override --${key}: "${p}" must be a list index`);
        schema = s.element as z.ZodType;
      } else if (s instanceof z.ZodRecord) {
        schema = z.unknown();
      } else {
        throw new ConfigError(`override --${key}: "${parts.slice(0, i).join(".")}" is a value, not a group`);
      }
    }
    const value = typedValue(unwrap(schema), text, key);
    let node = out as Record<string, unknown>;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i];
      const nextIsIndex = /^\d+$/.test(parts[i + 1]);
      if (node[p] === undefined || node[p] === null) node[p] = nextIsIndex ? [] : {};
      if (typeof node[p] !== "object")
        throw new ConfigError(
          `override --${key}: "${parts.slice(0, i + 1).join(".")}" is not a group in the config`,
        );
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return out;
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable)
      cur = cur.unwrap() as z.ZodType;
    else return cur;
  }
}

function typedValue(s: z.ZodType, text: string, key: string): unknown {
  if (s instanceof z.ZodNumber) {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v))
      throw new ConfigError(`override --${key}: expected a number, got "${text}"`);
    return v;
  }
  if (s instanceof z.ZodBoolean) {
    if (text !== "true" && text !== "false")
      throw new ConfigError(`override --${key}: expected true or false, got "${text}"`);
    return text === "true";
  }
  if (s instanceof z.ZodString) return text;
  if (s instanceof z.ZodEnum) {
    const opts = s.options as string[];
    if (!opts.includes(text))
      throw new ConfigError(`override --${key}: "${text}" is not one of ${opts.join(", ")}`);
    return text;
  }
  const doc = parseDocument(text);
  if (doc.errors.length)
    throw new ConfigError(`override --${key}: cannot parse "${text}": ${doc.errors[0].message}`);
  return doc.toJS();
}

function keysAt(p: PropertyKey[]): string[] {
  let s: z.ZodType = TrainConfigSchema;
  for (const k of p) {
    const u = unwrap(s);
    if (u instanceof z.ZodObject) s = (u.shape as Record<string, z.ZodType>)[String(k)];
    else if (u instanceof z.ZodArray) s = u.element as z.ZodType;
    else return [];
    if (!s) return [];
  }
  const u = unwrap(s);
  return u instanceof z.ZodObject ? Object.keys(u.shape) : [];
}

function formatPath(p: PropertyKey[]): string {
  return p.map((k, i) => (typeof k === "number" ? `[${k}]` : `${i ? "." : ""}${String(k)}`)).join("");
}

function lineSuffix(line: number | null | undefined): string {
  return line ? ` (line ${line})` : "";
}

/** The closest known key within edit distance 2 (or a key containing the typo), else null. */
function suggest(word: string, options: string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(
        dp[i - 1][j] + 1,
        dp[i][j - 1] + 1,
        dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return dp[a.length][b.length];
}

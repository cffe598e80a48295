// A recipe as data: the list of stages (name, kind, config, inputs) built from a preset, the
// `--key=value` overrides that adjust a preset, and the checks that run before any work starts
// (unknown keys, bad values, a training stage with nothing to train, a world folder that does not
// exist, an unknown benchmark). The stage order is the paper's (DESIGN.md "train/, recipes/"):
//   world -> tokenizer -> base_llm, vision_tower -> align (stage 0) -> pretrain (stage 1)
//   -> lookups (stage 1.5, where the preset has it) -> sft (stage 2)
// with an eval stage after each training stage the preset names. A stage's config holds only what
// changes its output; its inputs are the stages whose outputs it reads (cache.ts hashes both).

import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { CONV_TEMPLATES } from "../tokenizer/templates.js";
import { ConfigError, TrainConfigSchema } from "../train/config.js";
import { captionDropRegExp } from "../train/siglip_pretrain.js";
import { BENCH_NAMES } from "../world/layout.js";
import { PRESETS as WORLD_PRESETS } from "../world/presets.js";
import { RECIPES, type RecipePreset, type TrainFragment } from "./presets.js";

export type StageKind =
  | "world"
  | "tokenizer"
  | "base_llm"
  | "vision_tower"
  | "align"
  | "pretrain"
  | "lookups"
  | "sft"
  | "eval";

export interface Stage {
  name: string;
  kind: StageKind;
  /** plain JSON; everything that changes the stage's output besides its inputs */
  config: Record<string, unknown>;
  /** names of earlier stages whose outputs this stage reads */
  inputs: string[];
}

/** The training stages, in order; each starts from the one before it. `lookups` (between the paper's
 * stages 1 and 2) is optional: a preset without it (null) goes from pretrain to sft. */
export const TRAIN_STAGES = ["align", "pretrain", "lookups", "sft"] as const;
export type TrainStageName = (typeof TRAIN_STAGES)[number];
/** Every stage that trains the LLM: the base LLM and the training stages. */
export const TRAIN_SECTIONS = ["base_llm", ...TRAIN_STAGES] as const;
/** The stages an eval stage can follow: the base LLM (text-only benchmarks) and the training stages. */
const EVAL_AFTER = ["base_llm", ...TRAIN_STAGES] as const;
/** The benchmarks without images: the only ones a base LLM (no vision tower yet) is evaluated on. */
const TEXT_BENCHMARKS = ["mmlu", "icl_text"];

/** Keys of a training stage that the recipe sets itself. */
const RECIPE_OWNED = ["output_dir", "init_from", "model", "tokenizer", "name"];

/** The preset of a recipe name, with overrides applied and checked (throws ConfigError). */
export function resolveRecipe(name: string, overrides: string[] = []): RecipePreset {
  const base = RECIPES[name];
  if (!base) throw new ConfigError(`unknown recipe "${name}" (known: ${Object.keys(RECIPES).join(", ")})`);
  const preset = applyRecipeOverrides(base, overrides);
  checkPreset(preset);
  return preset;
}

/**
 * Apply `section.key=value` overrides to a preset. Training sections (base_llm, align, pretrain, lookups, sft)
 * take any trainer config key, typed by the trainer's schema; other sections take only the keys the
 * preset has, typed like the value they replace (lists and objects as JSON/YAML flow text).
 * @example applyRecipeOverrides(RECIPES["world-tiny"], ["sft.max_steps=300", "eval.limit=50"])
 */
export function applyRecipeOverrides(preset: RecipePreset, overrides: string[]): RecipePreset {
  const out = structuredClone(preset) as unknown as Record<string, unknown>;
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new ConfigError(`override "${o}": expected section.key=value`);
    const key = o.slice(0, eq).replace(/^--/, "");
    const text = o.slice(eq + 1);
    const parts = key.split(".");
    if (!(parts[0] in out))
      throw new ConfigError(
        `override --${key}: unknown section "${parts[0]}" (sections: ${Object.keys(out).join(", ")})`,
      );
    if (parts.length < 2) throw new ConfigError(`override --${key}: name a key inside "${parts[0]}"`);
    if ((TRAIN_SECTIONS as readonly string[]).includes(parts[0])) {
      if (out[parts[0]] === null)
        throw new ConfigError(`override --${key}: recipe ${preset.name} has no ${parts[0]} stage`);
      setTrainKey(out[parts[0]] as TrainFragment, parts.slice(1), text, key);
      continue;
    }
    let node = out[parts[0]] as Record<string, unknown>;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i];
      if (typeof node !== "object" || node === null || Array.isArray(node) || !(p in node)) {
        const known = node && typeof node === "object" ? Object.keys(node).join(", ") : "none";
        throw new ConfigError(
          `override --${key}: unknown key "${parts.slice(0, i + 1).join(".")}" (${parts.slice(0, i).join(".")} has: ${known})`,
        );
      }
      if (i === parts.length - 1) node[p] = typedLike(node[p], text, key);
      else node = node[p] as Record<string, unknown>;
    }
  }
  return out as unknown as RecipePreset;
}

function setTrainKey(fragment: TrainFragment, parts: string[], text: string, key: string): void {
  if (RECIPE_OWNED.includes(parts[0]))
    throw new ConfigError(`override --${key}: "${parts[0]}" is set by the recipe, not by overrides`);
  const shape = TrainConfigSchema.shape as Record<string, unknown>;
  if (!(parts[0] in shape)) {
    throw new ConfigError(
      `override --${key}: unknown trainer config key "${parts[0]}" (see src/train/config.ts; e.g. learning_rate, max_steps, per_device_train_batch_size)`,
    );
  }
  const current = fragment[parts[0]];
  if (parts.length === 1) {
    fragment[parts[0]] = current === undefined ? parseValue(text, key) : typedLike(current, text, key);
    return;
  }
  let node = current as Record<string, unknown>;
  for (let i = 1; i < parts.length; i++) {
    if (typeof node !== "object" || node === null || !(parts[i] in node))
      throw new ConfigError(`override --${key}: "${parts.slice(0, i + 1).join(".")}" is not in the preset`);
    if (i === parts.length - 1) node[parts[i]] = typedLike(node[parts[i]], text, key);
    else node = node[parts[i]] as Record<string, unknown>;
  }
}

function parseValue(text: string, key: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length)
    throw new ConfigError(`override --${key}: cannot parse "${text}": ${doc.errors[0].message}`);
  return doc.toJS();
}

function typedLike(current: unknown, text: string, key: string): unknown {
  if (typeof current === "number") {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v))
      throw new ConfigError(`override --${key}: expected a number, got "${text}"`);
    return v;
  }
  if (typeof current === "boolean") {
    if (text !== "true" && text !== "false")
      throw new ConfigError(`override --${key}: expected true or false, got "${text}"`);
    return text === "true";
  }
  if (typeof current === "string") return text;
  return parseValue(text, key);
}

/** Everything that can be checked before work starts; throws ConfigError naming the key. */
export function checkPreset(p: RecipePreset): void {
  const where = `recipe ${p.name}`;
  if (!WORLD_PRESETS[p.world.preset])
    throw new ConfigError(
      `${where}: world.preset "${p.world.preset}" is not one of ${Object.keys(WORLD_PRESETS).join(", ")}`,
    );
  if (p.world.dir && !fs.existsSync(path.join(p.world.dir, "world.json")))
    throw new ConfigError(
      `${where}: world.dir ${path.resolve(p.world.dir)} is not a world folder (no world.json)`,
    );
  for (const s of TRAIN_SECTIONS) {
    const frag = p[s];
    if (frag === null) {
      if (s !== "lookups") throw new ConfigError(`${where}: stage ${s} is required`);
      for (const list of ["after", "withhold_image_after"] as const)
        if (p.eval[list].includes(s))
          throw new ConfigError(`${where}: eval.${list}: "${s}": the recipe has no ${s} stage`);
      continue;
    }
    const parsed = TrainConfigSchema.partial().safeParse(frag);
    if (!parsed.success) {
      const msgs = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${[s, ...i.path.map(String)].join(".")}: ${i.message}`);
      throw new ConfigError(`${where}: ${msgs.join("; ")}`);
    }
    const tune = (k: string, dflt: boolean) => (frag[k] as boolean | undefined) ?? dflt;
    if (
      s !== "base_llm" &&
      !tune("tune_vision_tower", false) &&
      !tune("tune_mm_projector", true) &&
      !tune("tune_language_model", true)
    )
      throw new ConfigError(
        `${where}: stage ${s} has nothing to train (tune_vision_tower, tune_mm_projector and tune_language_model are all false)`,
      );
    for (const k of RECIPE_OWNED)
      if (k in frag) throw new ConfigError(`${where}: ${s}.${k} is set by the recipe; remove it`);
  }
  const named: [string, readonly string[]][] = [
    ["benchmarks", p.eval.benchmarks],
    ["raw_benchmarks", p.eval.raw_benchmarks],
    ["demo_templates", Object.keys(p.eval.demo_templates)],
  ];
  for (const [list, names] of named)
    for (const b of names)
      if (!(BENCH_NAMES as readonly string[]).includes(b))
        throw new ConfigError(`${where}: eval.${list}: unknown benchmark "${b}" (${BENCH_NAMES.join(", ")})`);
  for (const [b, t] of Object.entries(p.eval.demo_templates))
    if (typeof t !== "string" || !t.includes("{question}") || !t.includes("{answer}"))
      throw new ConfigError(
        `${where}: eval.demo_templates.${b}: expected a string with {question} and {answer}, got ${JSON.stringify(t)}`,
      );
  for (const s of p.eval.after)
    if (!(EVAL_AFTER as readonly string[]).includes(s))
      throw new ConfigError(`${where}: eval.after: "${s}" is not a trained stage (${EVAL_AFTER.join(", ")})`);
  for (const s of p.eval.withhold_image_after)
    if (!(TRAIN_STAGES as readonly string[]).includes(s))
      throw new ConfigError(
        `${where}: eval.withhold_image_after: "${s}" is not a training stage with images (${TRAIN_STAGES.join(", ")})`,
      );
  if (p.eval.after.includes("base_llm") && !baseLlmBenchmarks(p).length)
    throw new ConfigError(
      `${where}: eval.after: the base LLM is evaluated on the text-only benchmarks it is prompted raw on (${TEXT_BENCHMARKS.join(", ")} in both eval.benchmarks and eval.raw_benchmarks); there are none`,
    );
  if (!CONV_TEMPLATES[p.eval.conv_mode])
    throw new ConfigError(
      `${where}: eval.conv_mode "${p.eval.conv_mode}" is not one of ${Object.keys(CONV_TEMPLATES).join(", ")}`,
    );
  const sftTemplate = (p.sft.conv_template as string | undefined) ?? "vicuna_v1";
  if (sftTemplate !== p.eval.conv_mode)
    throw new ConfigError(
      `${where}: eval.conv_mode "${p.eval.conv_mode}" differs from sft.conv_template "${sftTemplate}" (evaluate in the template SFT trains)`,
    );
  for (const k of ["limit", "final_limit", "batch_size", "max_new_tokens", "caption_max_new_tokens"] as const)
    if (!Number.isInteger(p.eval[k]) || p.eval[k] < 1)
      throw new ConfigError(`${where}: eval.${k} must be a positive integer, got ${p.eval[k]}`);
  for (const k of ["steps", "batch", "eval_size"] as const)
    if (!Number.isInteger(p.vision_tower[k]) || p.vision_tower[k] < 1)
      throw new ConfigError(
        `${where}: vision_tower.${k} must be a positive integer, got ${p.vision_tower[k]}`,
      );
  const drop = p.vision_tower.caption_drop;
  if (typeof drop !== "string")
    throw new ConfigError(
      `${where}: vision_tower.caption_drop must be a string, got ${JSON.stringify(drop)}`,
    );
  try {
    captionDropRegExp(drop);
  } catch (e) {
    throw new ConfigError(`${where}: vision_tower.caption_drop ${(e as Error).message}`);
  }
  const classes = p.vision_tower.word_classes;
  if (typeof classes !== "object" || classes === null || Array.isArray(classes))
    throw new ConfigError(
      `${where}: vision_tower.word_classes must map class names to word lists, got ${JSON.stringify(classes)}`,
    );
  for (const [name, words] of Object.entries(classes))
    if (
      !Array.isArray(words) ||
      words.length < 2 ||
      !words.every((w) => typeof w === "string" && /^\S+$/.test(w))
    )
      throw new ConfigError(
        `${where}: vision_tower.word_classes.${name} must be a list of at least 2 single words, got ${JSON.stringify(words)}`,
      );
  if (p.vision_tower.pooling !== "mean" && p.vision_tower.pooling !== "map")
    throw new ConfigError(
      `${where}: vision_tower.pooling must be "mean" or "map", got ${JSON.stringify(p.vision_tower.pooling)}`,
    );
  if (typeof p.vision_tower.hard_negatives !== "boolean")
    throw new ConfigError(
      `${where}: vision_tower.hard_negatives must be true or false, got ${JSON.stringify(p.vision_tower.hard_negatives)}`,
    );
  if (p.vision_tower.hard_negatives && Object.keys(classes).length === 0)
    throw new ConfigError(`${where}: vision_tower.hard_negatives needs vision_tower.word_classes`);
  const aug = p.vision_tower.augment;
  if (
    typeof aug !== "object" ||
    aug === null ||
    typeof aug.dihedral !== "boolean" ||
    !Number.isInteger(aug.shift) ||
    aug.shift < 0 ||
    aug.shift >= p.model.vision.image_size ||
    typeof aug.exclude !== "string"
  )
    throw new ConfigError(
      `${where}: vision_tower.augment must be {dihedral: true|false, shift: pixels in [0, ${p.model.vision.image_size}), exclude: a regular expression}, got ${JSON.stringify(aug)}`,
    );
  try {
    captionDropRegExp(aug.exclude);
  } catch (e) {
    throw new ConfigError(`${where}: vision_tower.augment.exclude ${(e as Error).message}`);
  }
}

/** What the base LLM's eval stage runs: the text-only benchmarks among those prompted raw. */
function baseLlmBenchmarks(p: RecipePreset): string[] {
  return p.eval.benchmarks.filter((b) => TEXT_BENCHMARKS.includes(b) && p.eval.raw_benchmarks.includes(b));
}

/** What an eval stage's eval.json holds, in its cache hash: raised when the report starts reading
 * something older evaluations lack (2: the per-question-type prior and per-category scores; 3: the
 * training data's per-question-type prior), so those rerun instead of giving an older verdict. */
const EVAL_FORMAT = 3;

/** The stage list of a (resolved) preset. */
export function buildStages(p: RecipePreset): Stage[] {
  // the last evaluated stage gets final_limit as its limit; the others' configs (and cache hashes)
  // do not depend on it
  const lastEvaluated = EVAL_AFTER.filter((s) => p.eval.after.includes(s)).pop();
  const evalConfig = (after: (typeof EVAL_AFTER)[number]) => {
    const { after: _a, withhold_image_after: w, final_limit, limit, ...rest } = p.eval;
    return {
      ...rest,
      limit: after === lastEvaluated ? final_limit : limit,
      withhold_image: w.includes(after),
      eval_format: EVAL_FORMAT,
    };
  };
  const stages: Stage[] = [
    // the world preset's contents, not only its name, so a changed preset regenerates the world
    { name: "world", kind: "world", config: { ...p.world, spec: WORLD_PRESETS[p.world.preset] }, inputs: [] },
    {
      name: "tokenizer",
      kind: "tokenizer",
      config: { ...p.tokenizer, conv_template: p.sft.conv_template ?? "vicuna_v1" },
      inputs: ["world"],
    },
    {
      name: "base_llm",
      kind: "base_llm",
      config: { llm: p.model.llm, train: p.base_llm },
      inputs: ["world", "tokenizer"],
    },
    // the base LLM on its text-only raw benchmarks: in-context learning in text comes first
    ...(p.eval.after.includes("base_llm")
      ? [
          {
            name: "eval_base_llm",
            kind: "eval" as const,
            config: { ...evalConfig("base_llm"), benchmarks: baseLlmBenchmarks(p) },
            inputs: ["world", "base_llm"],
          },
        ]
      : []),
    {
      name: "vision_tower",
      kind: "vision_tower",
      config: { vision: p.model.vision, text_tower: p.text_tower, ...p.vision_tower },
      inputs: ["world"],
    },
  ];
  let previous = "";
  for (const name of TRAIN_STAGES) {
    if (p[name] === null) continue;
    const config: Record<string, unknown> = { train: p[name] };
    if (name === "align")
      Object.assign(config, {
        projector: p.model.projector,
        mm_vision_select_layer: p.model.mm_vision_select_layer,
        mm_vision_select_feature: p.model.mm_vision_select_feature,
      });
    const inputs =
      name === "align" ? ["world", "tokenizer", "base_llm", "vision_tower"] : ["world", previous];
    stages.push({ name, kind: name, config, inputs });
    if (p.eval.after.includes(name))
      stages.push({ name: `eval_${name}`, kind: "eval", config: evalConfig(name), inputs: ["world", name] });
    previous = name;
  }
  return stages;
}

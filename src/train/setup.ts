// Preparing a training stage: every input checked before the first step (config vs. a resume
// checkpoint, tokenizer, image preprocessing, the model and which of its parts train, LoRA,
// optimizer groups, datasets), and, when resuming, the exact state restored (weights, adapters,
// optimizer, data position, RNG). Parts follow VILA's tune_* flags; per-part learning rates are
// nanoVLM's / VILA's mm_projector_lr; weight decay skips 1-D tensors (biases, norms), as
// LLaVATrainer.create_optimizer does.

import path from "node:path";
import type { MixtureState } from "../data/mixture.js";
import { type Json, readVilaCheckpoint } from "../io/checkpoint.js";
import { type PreprocessConfig, parsePreprocessorConfig } from "../io/image.js";
import { loadVila } from "../io/model.js";
import { isClip, type VilaConfig, VilaForCausalLM } from "../models/vila.js";
import type { Module } from "../nn/index.js";
import { AdamW, type ParamGroup } from "../optim/index.js";
import { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/tokenizer.js";
import { BatchLoader } from "./batches.js";
import { ConfigError, configDiff, RESUME_FREE_KEYS, type TrainConfig } from "./config.js";
import { FeatureCache } from "./feature_cache.js";
import { applyLora, Lora } from "./lora.js";
import { findLatestCheckpoint, readTrainerState } from "./state.js";

export interface PrepareOptions {
  /** train this live model instead of loading init_from / building config.model (recipes chaining stages) */
  model?: VilaForCausalLM;
  tokenizer?: Tokenizer;
  /** true: continue from the latest checkpoint in output_dir; a string: from that checkpoint folder */
  resume?: boolean | string;
}

export type PartName = "vision_tower" | "mm_projector" | "llm";
/** full: every parameter trains; lora: only adapters on its Linear layers; frozen: nothing */
export type PartMode = "full" | "lora" | "frozen";

/** A stage ready to run: every input checked, state restored when resuming. */
export interface PreparedStage {
  config: TrainConfig;
  model: VilaForCausalLM;
  tokenizer: Tokenizer;
  parts: { name: PartName; module: Module; mode: PartMode }[];
  lora: Lora | null;
  optimizer: AdamW;
  trainable: Tensor[];
  loader: BatchLoader;
  evalLoader: BatchLoader | null;
  /** the eval mixture's initial state (every evaluation reads the same samples) */
  evalStart: MixtureState | null;
  /** the frozen tower's features per image (null when the tower trains, fully or by LoRA) */
  features: FeatureCache | null;
  gen: Generator;
  totalSteps: number;
  startStep: number;
  tokensSeen: number;
  preprocessor: Json;
  tokenizerDir: string;
  resumedFrom: string | null;
}

function defaultPreprocessor(v: VilaConfig["vision"]): Json {
  const s = v.image_size;
  return isClip(v)
    ? {
        image_processor_type: "CLIPImageProcessor",
        size: { shortest_edge: s },
        crop_size: { height: s, width: s },
      }
    : { image_processor_type: "SiglipImageProcessor", size: { height: s, width: s } };
}

/** Fail early when a checkpoint's tensors do not fit the model (a checkpoint of another model). */
function checkSameModel(model: VilaForCausalLM, dir: string): void {
  const ck = readVilaCheckpoint(dir);
  const parts: [string, Module, typeof ck.llm.weights][] = [
    ["llm", model.llm, ck.llm.weights],
    ["vision_tower", model.visionTower, ck.vision_tower.weights],
    ["mm_projector", model.mmProjector, ck.mm_projector.weights],
  ];
  for (const [part, m, r] of parts) {
    for (const [name, t] of m.namedParameters()) {
      if (!r.has(name))
        throw new ConfigError(
          `resume: checkpoint ${dir} is of another model: ${part} has no tensor "${name}"`,
        );
      const shape = r.info(name).shape;
      if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])) {
        throw new ConfigError(
          `resume: checkpoint ${dir} is of another model: ${part} tensor "${name}" is [${shape}] there, [${t.shape}] in this model`,
        );
      }
    }
  }
}

function loadWeightsInto(model: VilaForCausalLM, dir: string): void {
  const ck = readVilaCheckpoint(dir);
  const parts: [Module, typeof ck.llm.weights][] = [
    [model.llm, ck.llm.weights],
    [model.visionTower, ck.vision_tower.weights],
    [model.mmProjector, ck.mm_projector.weights],
  ];
  for (const [m, r] of parts)
    m.loadStateDict((n) => (r.has(n) ? r.get(n) : undefined), { strict: false, source: r.source });
  model.llm.retie();
}

/**
 * Check every input and build what the loop needs; restores model, optimizer, data position and
 * RNG from a checkpoint when resuming. Throws ConfigError (or a data error naming the file) before
 * any training work.
 */
export async function prepareStage(config: TrainConfig, opts: PrepareOptions = {}): Promise<PreparedStage> {
  const c = config;
  let resumeDir: string | null = null;
  if (opts.resume) {
    resumeDir =
      typeof opts.resume === "string" ? path.resolve(opts.resume) : findLatestCheckpoint(c.output_dir);
    if (!resumeDir) throw new ConfigError(`resume: no checkpoint in ${c.output_dir}`);
  }
  const saved = resumeDir ? readTrainerState(resumeDir) : null;
  if (saved) {
    const diff = configDiff(saved.config, c).filter((k) => !RESUME_FREE_KEYS.has(k));
    if (diff.length) {
      const show = (v: unknown) => JSON.stringify(v) ?? "unset";
      const rows = diff
        .slice(0, 5)
        .map(
          (k) =>
            `${k} (${show((saved.config as Record<string, unknown>)[k])} there, ${show((c as Record<string, unknown>)[k])} now)`,
        );
      throw new ConfigError(
        `resume: checkpoint ${resumeDir} was trained with a different config: ${rows.join("; ")}`,
      );
    }
  }

  // model, tokenizer, image preprocessing
  const gen = new Generator(c.seed);
  let model: VilaForCausalLM;
  let preprocessor: Json;
  let tokenizerDir = c.tokenizer;
  if (c.init_from) {
    const ck = readVilaCheckpoint(c.init_from);
    preprocessor = ck.vision_tower.preprocessorConfig;
    tokenizerDir ??= ck.tokenizerDir ?? undefined;
    model = opts.model ?? loadVila(c.init_from).model;
  } else {
    model = opts.model ?? new VilaForCausalLM(c.model as unknown as VilaConfig, new Generator(c.seed));
    preprocessor = defaultPreprocessor(model.config.vision);
  }
  if (!tokenizerDir)
    throw new ConfigError(`no tokenizer: ${c.init_from} has no tokenizer files in llm/; set "tokenizer"`);
  const tokenizer = opts.tokenizer ?? (await loadTokenizer(tokenizerDir));
  if (tokenizer.eosId === null)
    throw new ConfigError(`tokenizer ${tokenizerDir} has no eos_token (samples end with EOS)`);
  const preprocess: PreprocessConfig = parsePreprocessorConfig(
    preprocessor,
    "resize",
    "vision_tower/preprocessor_config.json",
  );
  if (resumeDir) {
    checkSameModel(model, resumeDir);
    // before anything holds the parameter tensors: loading replaces them
    loadWeightsInto(model, resumeDir);
  }

  // which parts train, and how
  const want: Record<PartName, boolean> = {
    vision_tower: c.tune_vision_tower,
    mm_projector: c.tune_mm_projector,
    llm: c.tune_language_model,
  };
  const modules: Record<PartName, Module> = {
    vision_tower: model.visionTower,
    mm_projector: model.mmProjector,
    llm: model.llm,
  };
  const parts = (["vision_tower", "mm_projector", "llm"] as PartName[]).map((name) => {
    const mode: PartMode = !want[name]
      ? "frozen"
      : c.lora_enable && name !== "mm_projector"
        ? "lora"
        : "full";
    const module = modules[name];
    if (mode === "full") module.unfreeze();
    else module.freeze();
    return { name, module, mode };
  });
  let lora: Lora | null = null;
  const loraParts = parts.filter((p) => p.mode === "lora");
  if (loraParts.length) {
    const adapters = loraParts.map((p) =>
      applyLora(
        p.module,
        { r: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout, targets: c.lora_target_modules, gen },
        `${p.name}.`,
      ),
    );
    lora = new Lora(
      adapters.flatMap((a) => a.adapters),
      adapters[0].options,
    );
    if (lora.adapters.length === 0) {
      throw new ConfigError(
        `lora_enable: no Linear layer in ${loraParts.map((p) => p.name).join(", ")} is named one of ${c.lora_target_modules.join(", ")}`,
      );
    }
  }

  // optimizer groups: per part (its own lr), decay / no-decay
  const lrOf: Record<PartName, number> = {
    vision_tower: c.vision_tower_lr ?? c.learning_rate,
    mm_projector: c.mm_projector_lr ?? c.learning_rate,
    llm: c.language_model_lr ?? c.learning_rate,
  };
  const groups: ParamGroup[] = [];
  for (const p of parts) {
    if (p.mode === "full") {
      const named = p.module.namedParameters(`${p.name}.`).filter(([, t]) => t.requiresGrad);
      const decay = named.filter(([, t]) => t.ndim >= 2);
      const noDecay = named.filter(([, t]) => t.ndim < 2);
      if (decay.length)
        groups.push({ name: p.name, params: decay, lr: lrOf[p.name], weightDecay: c.weight_decay });
      if (noDecay.length)
        groups.push({ name: `${p.name}.no_decay`, params: noDecay, lr: lrOf[p.name], weightDecay: 0 });
    } else if (p.mode === "lora" && lora) {
      const named = lora.namedParameters().filter(([n]) => n.startsWith(`${p.name}.`));
      if (named.length)
        groups.push({ name: `${p.name}.lora`, params: named, lr: lrOf[p.name], weightDecay: c.weight_decay });
    }
  }
  const trainable = groups.flatMap((g) => g.params.map(([, t]) => t));
  if (trainable.length === 0)
    throw new ConfigError(
      `nothing to train: the parts selected by tune_* (${parts
        .filter((p) => p.mode !== "frozen")
        .map((p) => p.name)
        .join(", ")}) have no parameters`,
    );
  const optimizer = new AdamW(groups, {
    betas: [c.adam_beta1, c.adam_beta2],
    eps: c.adam_epsilon,
    weightDecay: c.weight_decay,
  });

  // data
  const loaderOpts = {
    seed: c.seed,
    tokenizer,
    convTemplate: c.conv_template,
    maxImages: c.max_images,
    microBatchSize: c.per_device_train_batch_size,
    maxLength: c.model_max_length,
    imageTokens: model.imageTokens,
    packing: c.packing,
    preprocess,
    imageSize: model.config.vision.image_size,
    imageThreads: c.image_threads,
    imageCacheBytes: c.image_cache_mb * 2 ** 20,
    sampleCacheBytes: c.sample_cache_mb * 2 ** 20,
    skipBadSamples: c.skip_bad_samples,
  };
  if (model.imageTokens > c.model_max_length)
    throw new ConfigError(
      `model_max_length ${c.model_max_length} is shorter than one image (${model.imageTokens} tokens)`,
    );
  const loader = await BatchLoader.open({
    ...loaderOpts,
    datasets: c.datasets,
    accumulation: c.gradient_accumulation_steps,
  });
  const evalLoader = c.eval_datasets
    ? await BatchLoader.open({
        ...loaderOpts,
        datasets: c.eval_datasets,
        accumulation: Math.ceil(c.eval_samples / c.per_device_train_batch_size),
      })
    : null;
  const totalSteps =
    c.max_steps ?? Math.max(1, Math.ceil((c.num_train_epochs * loader.totalRecords) / c.global_batch_size));

  // resume: weights, adapters, optimizer, data position, RNG
  let startStep = 0;
  let tokensSeen = 0;
  if (saved && resumeDir) {
    if (saved.meta.lora !== (lora !== null))
      throw new ConfigError(
        `resume: checkpoint ${resumeDir} ${saved.meta.lora ? "has" : "has no"} LoRA adapters, this run ${lora ? "uses" : "does not use"} LoRA`,
      );
    if (lora && saved.lora) {
      lora.loadStateDict(saved.lora, `${resumeDir}/trainer_state/lora.safetensors`);
      lora.unmergeInPlace();
    }
    optimizer.loadStateDict({ tensors: saved.optimizer, meta: saved.meta.optimizer });
    loader.mixture.restore(saved.meta.data);
    gen.setState(saved.meta.rng);
    startStep = saved.meta.step;
    tokensSeen = saved.meta.tokens_seen;
  }
  const evalStart = evalLoader ? evalLoader.mixture.state() : null;
  const towerFrozen = parts.some((p) => p.name === "vision_tower" && p.mode === "frozen");
  const features =
    towerFrozen && c.feature_cache_mb > 0 ? new FeatureCache(c.feature_cache_mb * 2 ** 20) : null;
  return {
    config: c,
    model,
    tokenizer,
    parts,
    lora,
    optimizer,
    trainable,
    loader,
    evalLoader,
    evalStart,
    features,
    gen,
    totalSteps,
    startStep,
    tokensSeen,
    preprocessor,
    tokenizerDir,
    resumedFrom: resumeDir,
  };
}

// VILA checkpoints on disk, as plain data: configs (JSON objects, HF keys verbatim) and lazy tensor
// readers whose names are the module parameter paths (models load them 1:1; reference §2).
// Layouts read:
//  - VILA1.5 (`Efficient-Large-Model/VILA1.5-*`): top-level `config.json` whose `llm_cfg`,
//    `vision_tower_cfg`, `mm_projector_cfg` name the folders `llm/`, `vision_tower/`, `mm_projector/`,
//    each with its own `config.json` (which wins over the embedded dict) and safetensors weights
//    (llava/model/utils.py::get_model_config@vila1.5).
//  - monolithic LLaVA-1.5 / VILA v1.0: one (sharded) safetensors set with `model.vision_tower.vision_tower.*`,
//    `model.mm_projector.*` and the LLM's own keys; component configs derived from the top-level config.
// Layout written: VILA1.5, with the resolved configs embedded in the top-level config, `{format: "pt"}`
// safetensors metadata and the tokenizer files in `llm/`, into a temporary folder renamed into place.

import fs from "node:fs";
import path from "node:path";
import type { Tensor } from "../tensor/tensor.js";
import { type PreprocessConfig, parsePreprocessorConfig } from "./image.js";
import { openSafetensors, type RawTensor, RenamedReader, type TensorReader } from "./safetensors.js";
import { saveShardedSafetensors, writeFileAtomic } from "./safetensors_writer.js";

export type Json = Record<string, unknown>;

export const LLM_ARCHITECTURES = ["LlamaForCausalLM", "Qwen2ForCausalLM"] as const;
export const VISION_ARCHITECTURES = ["SiglipVisionModel", "CLIPVisionModel"] as const;
export type LlmArchitecture = (typeof LLM_ARCHITECTURES)[number];
export type VisionArchitecture = (typeof VISION_ARCHITECTURES)[number];

const LLM_BY_MODEL_TYPE: Record<string, LlmArchitecture> = {
  llama: "LlamaForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};
const VISION_BY_MODEL_TYPE: Record<string, VisionArchitecture> = {
  siglip_vision_model: "SiglipVisionModel",
  clip_vision_model: "CLIPVisionModel",
};

/** Tokenizer files kept next to the LLM (sentencepiece, HF fast tokenizer, BPE vocab, chat template). */
export const TOKENIZER_FILES = [
  "tokenizer.model",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "chat_template.json",
  "chat_template.jinja",
];

/** A VILA checkpoint opened for loading: configs resolved, weights readable tensor by tensor. */
export interface VilaCheckpoint {
  dir: string;
  layout: "vila1.5" | "monolithic";
  /** top-level config; `llm_cfg`, `vision_tower_cfg`, `mm_projector_cfg` hold the configs actually used */
  config: Json;
  llm: { config: Json; architecture: LlmArchitecture; weights: TensorReader };
  vision_tower: {
    config: Json;
    architecture: VisionArchitecture;
    preprocessorConfig: Json;
    preprocess: PreprocessConfig;
    weights: TensorReader;
  };
  mm_projector: { config: Json; projectorType: string; weights: TensorReader };
  /** the folder with the tokenizer files, null if it has none */
  tokenizerDir: string | null;
}

export interface ReadOptions {
  /** monolithic checkpoints name their tower by hub id (`mm_vision_tower`); a local copy (config.json,
   * preprocessor_config.json, model.safetensors) supplies what the checkpoint does not carry */
  visionTowerDir?: string;
}

// ---------------------------------------------------------------------------------------------
// validation

/** The LLM architecture of an HF config (architectures[0], else model_type), or a clear error. */
export function llmArchitecture(cfg: Json, source: string): LlmArchitecture {
  const a = firstArchitecture(cfg) ?? LLM_BY_MODEL_TYPE[String(cfg.model_type)];
  if (!a || !(LLM_ARCHITECTURES as readonly string[]).includes(a)) {
    throw new Error(
      `${source}: LLM architecture ${JSON.stringify(a ?? cfg.model_type)} is not supported (supported: ${LLM_ARCHITECTURES.join(", ")})`,
    );
  }
  return a as LlmArchitecture;
}

/** The vision tower architecture of an HF config, or a clear error. */
export function visionArchitecture(cfg: Json, source: string): VisionArchitecture {
  const a = firstArchitecture(cfg) ?? VISION_BY_MODEL_TYPE[String(cfg.model_type)];
  if (!a || !(VISION_ARCHITECTURES as readonly string[]).includes(a)) {
    throw new Error(
      `${source}: vision tower architecture ${JSON.stringify(a ?? cfg.model_type)} is not supported (supported: ${VISION_ARCHITECTURES.join(", ")})`,
    );
  }
  return a as VisionArchitecture;
}

/** Check an `mm_projector_type`: linear, mlpNx_gelu, mlp_downsample or identity. */
export function projectorType(t: unknown, source: string): string {
  if (
    typeof t === "string" &&
    (t === "linear" || t === "mlp_downsample" || t === "identity" || /^mlp[1-9]\d*x_gelu$/.test(t))
  )
    return t;
  throw new Error(
    `${source}: mm_projector_type ${JSON.stringify(t)} is not supported (supported: linear, mlpNx_gelu, mlp_downsample, identity)`,
  );
}

function firstArchitecture(cfg: Json): string | undefined {
  const a = cfg.architectures;
  return Array.isArray(a) && typeof a[0] === "string" ? a[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// reading

function readJson(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`checkpoint: cannot read ${file}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error(`checkpoint: ${file} is not a JSON object`);
  return v as Json;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasWeights(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, "model.safetensors")) ||
    fs.existsSync(path.join(dir, "model.safetensors.index.json"))
  );
}

function missingWeights(dir: string, what: string): Error {
  const pickles = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(bin|pt|pth)$/.test(f)) : [];
  const hint = pickles.length
    ? ` (found ${pickles.join(", ")}: PyTorch pickles are not read; convert them to safetensors)`
    : "";
  return new Error(
    `checkpoint: ${what} folder ${dir} has no model.safetensors or model.safetensors.index.json${hint}`,
  );
}

function openWeights(dir: string, what: string): TensorReader {
  if (!hasWeights(dir)) throw missingWeights(dir, what);
  return openSafetensors(dir);
}

function tokenizerDirOf(dir: string): string | null {
  return TOKENIZER_FILES.some((f) => fs.existsSync(path.join(dir, f))) ? dir : null;
}

/**
 * Open a VILA checkpoint folder (VILA1.5 split layout or monolithic LLaVA-1.5 / VILA v1.0 layout).
 * Reads configs and safetensors headers only; tensors are read when asked for.
 * @example
 * const ckpt = readVilaCheckpoint("VILA1.5-3b");
 * const w = ckpt.llm.weights.get("model.norm.weight", [2560]);
 */
export function readVilaCheckpoint(dir: string, opts: ReadOptions = {}): VilaCheckpoint {
  const cfgFile = path.join(dir, "config.json");
  if (!fs.existsSync(cfgFile))
    throw new Error(`checkpoint: ${cfgFile} is missing (not a checkpoint folder?)`);
  const top = readJson(cfgFile);
  const split =
    ["llm_cfg", "vision_tower_cfg", "mm_projector_cfg"].some((k) => k in top) ||
    fs.existsSync(path.join(dir, "llm"));
  if (split) return readSplit(dir, top);
  if (hasWeights(dir)) return readMonolithic(dir, top, opts);
  throw missingWeights(dir, "checkpoint (no llm/ folder, no llm_cfg: monolithic layout assumed)");
}

/** Where a VILA1.5 component lives and its config: the sub-folder's config.json wins over the embedded dict. */
function component(
  dir: string,
  top: Json,
  name: "llm" | "vision_tower" | "mm_projector",
): { folder: string; config: Json; source: string } {
  const key = `${name}_cfg`;
  const v = top[key];
  let folder = path.join(dir, name);
  if (!fs.existsSync(folder) && typeof v === "string") {
    // a path to a local folder (VILA also accepts hub ids, which cannot be fetched here)
    folder = path.resolve(dir, v);
    if (!fs.existsSync(path.join(folder, "config.json"))) {
      throw new Error(
        `checkpoint: ${path.join(dir, "config.json")}: ${key} = "${v}" is not a local folder with a config.json (hub ids are not downloaded)`,
      );
    }
  }
  if (!fs.existsSync(folder))
    throw new Error(
      `checkpoint: ${dir}: the ${name}/ folder is missing (and config.json's ${key} names no local folder)`,
    );
  const sub = path.join(folder, "config.json");
  if (fs.existsSync(sub)) return { folder, config: readJson(sub), source: sub };
  if (isObject(v)) return { folder, config: v, source: `${path.join(dir, "config.json")} (${key})` };
  throw new Error(`checkpoint: ${sub} is missing and config.json has no ${key} dict`);
}

function readSplit(dir: string, top: Json): VilaCheckpoint {
  const llm = component(dir, top, "llm");
  const vt = component(dir, top, "vision_tower");
  const mp = component(dir, top, "mm_projector");
  const llmArch = llmArchitecture(llm.config, llm.source);
  const vtArch = visionArchitecture(vt.config, vt.source);
  const pType = projectorType(mp.config.mm_projector_type ?? top.mm_projector_type, mp.source);
  const preFile = path.join(vt.folder, "preprocessor_config.json");
  if (!fs.existsSync(preFile)) throw new Error(`checkpoint: ${preFile} is missing`);
  const preprocessorConfig = readJson(preFile);
  const ckpt: VilaCheckpoint = {
    dir,
    layout: "vila1.5",
    config: { ...top, llm_cfg: llm.config, vision_tower_cfg: vt.config, mm_projector_cfg: mp.config },
    llm: { config: llm.config, architecture: llmArch, weights: openWeights(llm.folder, "llm") },
    vision_tower: {
      config: vt.config,
      architecture: vtArch,
      preprocessorConfig,
      preprocess: parsePreprocessorConfig(preprocessorConfig, top.image_aspect_ratio ?? "resize", preFile),
      weights: openWeights(vt.folder, "vision_tower"),
    },
    mm_projector: {
      config: mp.config,
      projectorType: pType,
      weights: openWeights(mp.folder, "mm_projector"),
    },
    tokenizerDir: tokenizerDirOf(llm.folder) ?? tokenizerDirOf(dir),
  };
  checkNonEmpty(ckpt);
  return ckpt;
}

const VISION_PREFIX = "model.vision_tower.vision_tower.";
const PROJECTOR_PREFIX = "model.mm_projector.";
/** Top-level keys of a LLaVA config that belong to the VLM, not to the LLM. */
const VLM_KEY =
  /^(mm_|tune_|freeze_|unfreeze_|image_aspect_ratio$|image_grid_pinpoints$|use_mm_proj$|vision_tower|llm_cfg$|s2)/;

function readMonolithic(dir: string, top: Json, opts: ReadOptions): VilaCheckpoint {
  const cfgFile = path.join(dir, "config.json");
  const all = openWeights(dir, "checkpoint");
  // LLM: the top-level config without the multimodal keys, as the Llama/Qwen2 class it extends
  const llmConfig: Json = Object.fromEntries(Object.entries(top).filter(([k]) => !VLM_KEY.test(k)));
  const mt = String(top.model_type ?? "");
  const arch0 = firstArchitecture(top) ?? "";
  const isQwen = /qwen/i.test(mt) || /qwen/i.test(arch0);
  const isLlama = /llama|llava/i.test(mt) || /llama|llava/i.test(arch0);
  if (isQwen || isLlama) {
    llmConfig.architectures = [isQwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"];
    llmConfig.model_type = isQwen ? "qwen2" : "llama";
  }
  const llmArch = llmArchitecture(llmConfig, cfgFile);
  const pType = projectorType(top.mm_projector_type ?? "linear", cfgFile); // LLaVA's default is linear

  // vision tower: weights in the file, else in visionTowerDir; config from visionTowerDir or the known towers
  const towerId = String(top.mm_vision_tower ?? top.vision_tower ?? "");
  const local =
    opts.visionTowerDir ??
    (towerId && fs.existsSync(path.join(path.resolve(dir, towerId), "config.json"))
      ? path.resolve(dir, towerId)
      : undefined);
  let vtConfig: Json;
  let preprocessorConfig: Json;
  let preSource: string;
  if (local) {
    vtConfig = readJson(path.join(local, "config.json"));
    if (isObject(vtConfig.vision_config))
      vtConfig = {
        ...vtConfig.vision_config,
        architectures: [vtConfig.model_type === "siglip" ? "SiglipVisionModel" : "CLIPVisionModel"],
      };
    preSource = path.join(local, "preprocessor_config.json");
    preprocessorConfig = readJson(preSource);
  } else if (KNOWN_TOWERS[towerId]) {
    ({ config: vtConfig, preprocessor: preprocessorConfig } = KNOWN_TOWERS[towerId]);
    preSource = `${towerId} preprocessor_config.json (built in)`;
  } else {
    throw new Error(
      `checkpoint: ${cfgFile}: mm_vision_tower ${JSON.stringify(towerId)} is not a local folder nor a known tower (${Object.keys(KNOWN_TOWERS).join(", ")}); pass visionTowerDir`,
    );
  }
  const vtArch = visionArchitecture(
    vtConfig,
    local ? path.join(local, "config.json") : `${cfgFile} (mm_vision_tower)`,
  );
  let vtWeights: TensorReader = new RenamedReader(all, { from: VISION_PREFIX, to: "" });
  if (vtWeights.keys().length === 0) {
    if (!local)
      throw new Error(
        `checkpoint: ${dir} has no ${VISION_PREFIX}* tensors; pass visionTowerDir (a folder with the tower's config and model.safetensors)`,
      );
    vtWeights = openWeights(local, "vision tower");
  }
  // projector: LLaVA's nn.Sequential indices become MultimodalProjector's `layers.*` (linear: `layers.weight`)
  const mpWeights = new RenamedReader(all, { from: PROJECTOR_PREFIX, to: "layers." });
  const mpConfig: Json = {
    architectures: ["MultimodalProjector"],
    mm_projector_type: pType,
    model_type: "v2l_projector",
  };
  const llmWeights = new RenamedReader(all, {
    exclude: [VISION_PREFIX, PROJECTOR_PREFIX, "model.vision_tower.", "model.vision_resampler."],
  });

  const vlmKeys = Object.fromEntries(Object.entries(top).filter(([k]) => VLM_KEY.test(k)));
  const config: Json = {
    architectures: ["LlavaLlamaModel"],
    model_type: "llava_llama",
    hidden_size: top.hidden_size,
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "patch",
    ...vlmKeys,
    llm_cfg: llmConfig,
    vision_tower_cfg: vtConfig,
    mm_projector_cfg: mpConfig,
  };
  const ckpt: VilaCheckpoint = {
    dir,
    layout: "monolithic",
    config,
    llm: { config: llmConfig, architecture: llmArch, weights: llmWeights },
    vision_tower: {
      config: vtConfig,
      architecture: vtArch,
      preprocessorConfig,
      preprocess: parsePreprocessorConfig(preprocessorConfig, top.image_aspect_ratio ?? "square", preSource),
      weights: vtWeights,
    },
    mm_projector: { config: mpConfig, projectorType: pType, weights: mpWeights },
    tokenizerDir: tokenizerDirOf(dir),
  };
  checkNonEmpty(ckpt);
  return ckpt;
}

function checkNonEmpty(c: VilaCheckpoint): void {
  if (c.llm.weights.keys().length === 0)
    throw new Error(`checkpoint: ${c.llm.weights.source}: no LLM tensors`);
  if (c.vision_tower.weights.keys().length === 0)
    throw new Error(`checkpoint: ${c.vision_tower.weights.source}: no vision tower tensors`);
  if (c.mm_projector.projectorType !== "identity" && c.mm_projector.weights.keys().length === 0) {
    throw new Error(
      `checkpoint: ${c.mm_projector.weights.source}: no mm_projector tensors for projector type ${c.mm_projector.projectorType}`,
    );
  }
}

// The two towers released VILA/LLaVA checkpoints name by hub id (public HF configs, vision part only).
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const KNOWN_TOWERS: Record<string, { config: Json; preprocessor: Json }> = {
  "openai/clip-vit-large-patch14-336": {
    config: {
      architectures: ["CLIPVisionModel"],
      model_type: "clip_vision_model",
      hidden_size: 1024,
      intermediate_size: 4096,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      image_size: 336,
      patch_size: 14,
      num_channels: 3,
      hidden_act: "quick_gelu",
      layer_norm_eps: 1e-5,
      projection_dim: 768,
    },
    preprocessor: {
      crop_size: 336,
      do_center_crop: true,
      do_normalize: true,
      do_resize: true,
      feature_extractor_type: "CLIPFeatureExtractor",
      image_mean: CLIP_MEAN,
      image_std: CLIP_STD,
      resample: 3,
      size: 336,
    },
  },
  "google/siglip-so400m-patch14-384": {
    config: {
      architectures: ["SiglipVisionModel"],
      model_type: "siglip_vision_model",
      hidden_size: 1152,
      intermediate_size: 4304,
      num_hidden_layers: 27,
      num_attention_heads: 16,
      image_size: 384,
      patch_size: 14,
      num_channels: 3,
      hidden_act: "gelu_pytorch_tanh",
      layer_norm_eps: 1e-6,
    },
    preprocessor: {
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      image_processor_type: "SiglipImageProcessor",
      resample: 3,
      rescale_factor: 1 / 255,
      size: { height: 384, width: 384 },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// writing

type Tensors = Record<string, Tensor | RawTensor>;

/** What writeVilaCheckpoint saves; configs are HF JSON objects, tensor names are checkpoint names. */
export interface VilaCheckpointSpec {
  /** top-level config; its llm_cfg / vision_tower_cfg / mm_projector_cfg are set to the component configs */
  config: Json;
  llm: { config: Json; tensors: Tensors; generationConfig?: Json };
  vision_tower: { config: Json; preprocessor: Json; tensors: Tensors };
  mm_projector: { config: Json; tensors: Tensors };
  /** tokenizer files for llm/: a folder to copy TOKENIZER_FILES (+ generation_config.json) from, or {name: contents} */
  tokenizer?: string | Record<string, string | Uint8Array>;
  /** llm/ shard size (transformers' default 5 GB); vision_tower/ and mm_projector/ get one file each, as released */
  maxShardBytes?: number;
}

/** JSON as transformers writes configs: keys sorted, 2-space indent, trailing newline. */
function configText(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : isObject(x)
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sort(x[k])]),
          )
        : x;
  return `${JSON.stringify(sort(v), null, 2)}\n`;
}

function writeFile(file: string, data: string | Uint8Array): void {
  writeFileAtomic(file, (fd) => {
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
  });
}

/**
 * Save a checkpoint in the VILA1.5 layout that NVlabs VILA loads. Everything is written into
 * `DIR.tmp-*` first; an existing DIR is replaced only once the new one is complete (renamed aside,
 * the new folder renamed in, the old one deleted), so a crash mid-write leaves the old checkpoint.
 * @example
 * writeVilaCheckpoint("out/ckpt", { config, llm: { config: llmCfg, tensors }, vision_tower: {...}, mm_projector: {...}, tokenizer: "VILA1.5-3b/llm" });
 */
export function writeVilaCheckpoint(dir: string, spec: VilaCheckpointSpec): void {
  llmArchitecture(spec.llm.config, "writeVilaCheckpoint llm.config");
  visionArchitecture(spec.vision_tower.config, "writeVilaCheckpoint vision_tower.config");
  projectorType(spec.mm_projector.config.mm_projector_type, "writeVilaCheckpoint mm_projector.config");
  parsePreprocessorConfig(
    spec.vision_tower.preprocessor,
    spec.config.image_aspect_ratio ?? "resize",
    "writeVilaCheckpoint vision_tower.preprocessor",
  );

  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const rand = () => `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${target}.tmp-${rand()}`;
  try {
    fs.mkdirSync(tmp);
    const top: Json = {
      architectures: ["LlavaLlamaModel"],
      model_type: "llava_llama",
      ...spec.config,
      llm_cfg: spec.llm.config,
      vision_tower_cfg: spec.vision_tower.config,
      mm_projector_cfg: spec.mm_projector.config,
    };
    writeFile(path.join(tmp, "config.json"), configText(top));

    const llmDir = path.join(tmp, "llm");
    fs.mkdirSync(llmDir);
    writeFile(path.join(llmDir, "config.json"), configText(spec.llm.config));
    if (spec.llm.generationConfig)
      writeFile(path.join(llmDir, "generation_config.json"), configText(spec.llm.generationConfig));
    saveShardedSafetensors(llmDir, spec.llm.tensors, spec.maxShardBytes);
    if (typeof spec.tokenizer === "string") {
      const names = [...TOKENIZER_FILES, ...(spec.llm.generationConfig ? [] : ["generation_config.json"])];
      const found = names.filter((f) => fs.existsSync(path.join(spec.tokenizer as string, f)));
      if (!found.some((f) => TOKENIZER_FILES.includes(f)))
        throw new Error(
          `writeVilaCheckpoint: tokenizer folder ${spec.tokenizer} has none of ${TOKENIZER_FILES.join(", ")}`,
        );
      for (const f of found) writeFile(path.join(llmDir, f), fs.readFileSync(path.join(spec.tokenizer, f)));
    } else if (spec.tokenizer) {
      for (const [f, data] of Object.entries(spec.tokenizer)) {
        if (f !== path.basename(f) || f.startsWith("."))
          throw new Error(
            `writeVilaCheckpoint: tokenizer file name ${JSON.stringify(f)} is not a plain file name`,
          );
        writeFile(path.join(llmDir, f), data);
      }
    }

    const vtDir = path.join(tmp, "vision_tower");
    fs.mkdirSync(vtDir);
    writeFile(path.join(vtDir, "config.json"), configText(spec.vision_tower.config));
    writeFile(path.join(vtDir, "preprocessor_config.json"), configText(spec.vision_tower.preprocessor));
    saveShardedSafetensors(vtDir, spec.vision_tower.tensors, Number.POSITIVE_INFINITY); // one model.safetensors, as released

    const mpDir = path.join(tmp, "mm_projector");
    fs.mkdirSync(mpDir);
    writeFile(path.join(mpDir, "config.json"), configText(spec.mm_projector.config));
    saveShardedSafetensors(mpDir, spec.mm_projector.tensors, Number.POSITIVE_INFINITY);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // Node has no atomic directory exchange: move the old folder aside, the new one in, then drop the old
  if (fs.existsSync(target)) {
    const old = `${target}.old-${rand()}`;
    fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, target);
  }
}

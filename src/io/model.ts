// Checkpoint folder <-> VilaForCausalLM. Reads either layout through readVilaCheckpoint (configs
// resolved, tensors lazy) and loads each component with an identity name map: the model's
// parameter paths are the checkpoint keys. Weights the model does not use (SigLIP's pooling head,
// post_layernorm, CLIP position_ids, a tied lm_head) are skipped; any other unknown key is an
// error naming the file and the tensor. Saving writes the VILA1.5 layout.

import type { LlamaConfig } from "../models/llm/llama.js";
import type { ProjectorConfig } from "../models/projector.js";
import { type VilaConfig, VilaForCausalLM, type VisionConfig } from "../models/vila.js";
import type { Module } from "../nn/module.js";
import { withMetaInit } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import {
  type Json,
  type ReadOptions,
  readVilaCheckpoint,
  type VilaCheckpoint,
  writeVilaCheckpoint,
} from "./checkpoint.js";
import type { TensorReader } from "./safetensors.js";

const UNUSED: Record<string, RegExp> = {
  vision_tower: /^vision_model\.(post_layernorm\.|head\.|embeddings\.position_ids$)/,
  llm: /^(model\.)?rotary_emb\.|\.rotary_emb\.inv_freq$/,
};

export interface LoadOptions extends ReadOptions {
  /** keep bf16/f16 matrices (linear, embedding, conv weights) in their storage dtype for inference;
   * vectors (norms, biases) are always f32. Default: everything f32. */
  keepDtype?: boolean;
}

/** The VilaConfig a checkpoint describes. */
export function vilaConfigOf(ckpt: VilaCheckpoint): VilaConfig {
  const top = ckpt.config;
  const projector: ProjectorConfig = {
    ...(ckpt.mm_projector.config as ProjectorConfig),
    mm_projector_type: ckpt.mm_projector.projectorType,
  };
  if (projector.downsample_order === undefined) {
    // VILA1.5 (model_type llava_llama) merged 2x2 blocks column-major; NVILA ("vila") in raster order
    projector.downsample_order = top.model_type === "vila" ? "raster" : "column";
  }
  return {
    llm: ckpt.llm.config as LlamaConfig,
    vision: {
      ...(ckpt.vision_tower.config as VisionConfig),
      architectures: [ckpt.vision_tower.architecture],
    },
    projector,
    mm_vision_select_layer: (top.mm_vision_select_layer as number | undefined) ?? -2,
    mm_vision_select_feature: (top.mm_vision_select_feature as "patch" | "cls_patch" | undefined) ?? "patch",
  };
}

function loadPart(
  part: Module,
  reader: TensorReader,
  unused: RegExp | undefined,
  keepDtype: boolean,
  extraUnused: string[] = [],
): void {
  const wanted = new Set(part.namedParameters().map(([n]) => n));
  const extra = reader
    .keys()
    .filter((k) => !wanted.has(k) && !(unused?.test(k) ?? false) && !extraUnused.includes(k));
  if (extra.length) {
    throw new Error(
      `${reader.source}: ${extra.length} tensor(s) the model does not have: ${extra.slice(0, 6).join(", ")}${extra.length > 6 ? ", ..." : ""}`,
    );
  }
  part.loadStateDict((name) => (reader.has(name) ? reader.get(name) : undefined), {
    strict: false,
    keepDtype,
    source: reader.source,
  });
  const missing = [...wanted].filter((n) => !reader.has(n));
  if (missing.length)
    throw new Error(
      `${reader.source}: missing tensor(s) ${missing.slice(0, 6).join(", ")}${missing.length > 6 ? ", ..." : ""}`,
    );
}

/** Load a VILA1.5 or monolithic LLaVA-1.5 / VILA v1.0 checkpoint folder. */
export function loadVila(
  dir: string,
  opts: LoadOptions = {},
): { model: VilaForCausalLM; checkpoint: VilaCheckpoint } {
  const ckpt = readVilaCheckpoint(dir, opts);
  const model = withMetaInit(() => new VilaForCausalLM(vilaConfigOf(ckpt)));
  const keep = opts.keepDtype ?? false;
  const tied = model.llm.config.tie_word_embeddings;
  loadPart(model.llm, ckpt.llm.weights, UNUSED.llm, keep, tied ? ["lm_head.weight"] : []);
  model.llm.retie();
  loadPart(model.visionTower, ckpt.vision_tower.weights, UNUSED.vision_tower, keep);
  loadPart(model.mmProjector, ckpt.mm_projector.weights, undefined, keep);
  return { model, checkpoint: ckpt };
}

/** Save in the VILA1.5 layout (llm/, vision_tower/, mm_projector/ + top-level config.json). */
export function saveVila(
  dir: string,
  model: VilaForCausalLM,
  opts: {
    preprocessor: Json;
    tokenizer?: string | Record<string, string | Uint8Array>;
    extraConfig?: Json;
    maxShardBytes?: number;
  },
): void {
  const c = model.config;
  const sd = (m: Module): Record<string, Tensor> => m.stateDict();
  const llmTensors = sd(model.llm);
  writeVilaCheckpoint(dir, {
    config: {
      architectures: ["LlavaLlamaModel"],
      model_type: "llava_llama",
      hidden_size: c.llm.hidden_size,
      mm_hidden_size: c.vision.hidden_size,
      mm_vision_select_layer: model.selectLayer,
      mm_vision_select_feature: model.selectFeature,
      mm_use_im_start_end: false,
      mm_use_im_patch_token: false,
      image_aspect_ratio: "resize",
      model_dtype: "torch.float32",
      ...opts.extraConfig,
    },
    llm: { config: { ...model.llm.config }, tensors: llmTensors },
    vision_tower: {
      config: { ...c.vision },
      preprocessor: opts.preprocessor,
      tensors: sd(model.visionTower),
    },
    mm_projector: {
      config: { architectures: ["MultimodalProjector"], model_type: "v2l_projector", ...c.projector },
      tensors: sd(model.mmProjector),
    },
    tokenizer: opts.tokenizer,
    maxShardBytes: opts.maxShardBytes,
  });
}

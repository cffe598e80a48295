// SigLIP vision tower (HF SiglipVisionModel, as vendored by VILA1.5): stride-p conv patch
// embedding with bias, learned position embedding, no class token, gelu-tanh MLP, LayerNorm eps
// from config; `post_layernorm` and the attention-pooling `head` exist in checkpoints but VILA
// does not use them (features come from hidden_states[mm_vision_select_layer]), so they are not
// parameters here and their weights are ignored on load.

import { Embedding, Module } from "../../nn/index.js";
import { add } from "../../tensor/ops/elementwise.js";
import { linear } from "../../tensor/ops/matmul.js";
import { reshape } from "../../tensor/ops/shape.js";
import type { Generator } from "../../tensor/random.js";
import type { Tensor } from "../../tensor/tensor.js";
import { ConvWeights, patchify, type VitDims, VitEncoder, type VitTowerConfig, widen } from "./vit.js";

/** HF SiglipVisionConfig keys. */
export type SiglipVisionConfig = VitTowerConfig;

class SiglipEmbeddings extends Module {
  patchEmbedding: ConvWeights;
  positionEmbedding: Embedding;
  constructor(
    private readonly c: SiglipVisionConfig,
    gen: Generator,
  ) {
    super();
    const C = c.hidden_size;
    const ch = c.num_channels ?? 3;
    const p = c.patch_size;
    const P = Math.floor(c.image_size / p) ** 2;
    // HF SigLIP's _init_weights: the patch convolution lecun-normal (std 1/sqrt(fan_in)), the
    // position embedding std 1/sqrt(width). With 0.02 for both, a from-scratch tower lost position
    // and kept less colour (world-tiny: held-out retrieval 8.6% vs 25.8%)
    const patchStd = 1 / Math.sqrt(ch * p * p);
    this.patchEmbedding = this.module("patch_embedding", new ConvWeights(C, ch, p, patchStd, true, gen));
    this.positionEmbedding = this.module(
      "position_embedding",
      new Embedding(P, C, { gen, std: 1 / Math.sqrt(C) }),
    );
  }
  /** (B, 3, H, W) -> (B, P, C) */
  forward(pixels: Tensor): Tensor {
    const C = this.c.hidden_size;
    const p = this.c.patch_size;
    const patches = patchify(pixels, p); // (B, P, 3*p*p)
    const P = patches.shape[1];
    const nPos = this.positionEmbedding.weight.shape[0];
    if (P !== nPos)
      throw new Error(
        `SigLIP: image gives ${P} patches, the position embedding has ${nPos} (image_size ${this.c.image_size})`,
      );
    const w = reshape(this.patchEmbedding.weight, [C, patches.shape[2]]);
    return add(
      linear(patches, w, this.patchEmbedding.bias ?? undefined),
      widen(this.positionEmbedding.weight),
    );
  }
}

/** The encoder dimensions of a SigLIP vision config, with HF SigLIP's defaults and initialisation. */
export function siglipDims(c: SiglipVisionConfig): VitDims {
  return {
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    layer_norm_eps: c.layer_norm_eps ?? 1e-6,
    hidden_act: c.hidden_act ?? "gelu_pytorch_tanh",
    initializer_range: c.initializer_range,
    init: "siglip",
  };
}

class SiglipVisionTransformer extends Module {
  embeddings: SiglipEmbeddings;
  encoder: VitEncoder;
  constructor(c: SiglipVisionConfig, gen: Generator) {
    super();
    this.embeddings = this.module("embeddings", new SiglipEmbeddings(c, gen));
    this.encoder = this.module("encoder", new VitEncoder(siglipDims(c), gen));
  }
}

/** `vision_model.*` keys. hiddenState(pixels, i) = HF hidden_states[i] (0 = embeddings). */
export class SiglipVisionModel extends Module {
  visionModel: SiglipVisionTransformer;
  constructor(
    readonly config: SiglipVisionConfig,
    gen: Generator,
  ) {
    super();
    this.visionModel = this.module("vision_model", new SiglipVisionTransformer(config, gen));
  }
  get numLayers(): number {
    return this.config.num_hidden_layers;
  }
  /** Names present in real checkpoints that VILA never uses. */
  static readonly unusedPrefixes = ["vision_model.post_layernorm.", "vision_model.head."];
  /** (B, 3, H, W) -> hidden_states[index] (B, P, C) */
  hiddenState(pixels: Tensor, index: number): Tensor {
    const h = this.visionModel.embeddings.forward(pixels);
    return this.visionModel.encoder.forward(h, index);
  }
}

// CLIP vision tower (HF CLIPVisionModel) for LLaVA-1.5 / VILA v1.0: class token, stride-p conv
// patch embedding without bias, learned positions for P + 1 tokens, `pre_layrnorm` (HF's
// spelling) before the encoder, quick-gelu MLP. post_layernorm is in checkpoints but unused by
// VILA's feature selection.

import { Embedding, LayerNorm, Module } from "../../nn/index.js";
import { randn } from "../../tensor/create.js";
import { add } from "../../tensor/ops/elementwise.js";
import { linear } from "../../tensor/ops/matmul.js";
import { broadcastTo, concat, reshape } from "../../tensor/ops/shape.js";
import type { Generator } from "../../tensor/random.js";
import type { Tensor } from "../../tensor/tensor.js";
import { ConvWeights, patchify, VitEncoder, type VitTowerConfig, widen } from "./vit.js";

/** HF CLIPVisionConfig keys. */
export type ClipVisionConfig = VitTowerConfig;

class ClipEmbeddings extends Module {
  classEmbedding: Tensor;
  patchEmbedding: ConvWeights;
  positionEmbedding: Embedding;
  constructor(
    private readonly c: ClipVisionConfig,
    gen: Generator,
  ) {
    super();
    const C = c.hidden_size;
    const std = c.initializer_range ?? 0.02;
    this.classEmbedding = this.param("class_embedding", randn([C], gen, std));
    this.patchEmbedding = this.module(
      "patch_embedding",
      new ConvWeights(C, c.num_channels ?? 3, c.patch_size, std, false, gen),
    );
    this.positionEmbedding = this.module(
      "position_embedding",
      new Embedding(Math.floor(c.image_size / c.patch_size) ** 2 + 1, C, { gen, std }),
    );
  }
  /** (B, 3, H, W) -> (B, P + 1, C), class token first */
  forward(pixels: Tensor): Tensor {
    const C = this.c.hidden_size;
    const patches = patchify(pixels, this.c.patch_size);
    const [B, P, K] = patches.shape;
    const nPos = this.positionEmbedding.weight.shape[0];
    if (P + 1 !== nPos)
      throw new Error(`CLIP: image gives ${P} patches + class token, the position embedding has ${nPos}`);
    const x = linear(patches, reshape(this.patchEmbedding.weight, [C, K]));
    const cls = broadcastTo(reshape(this.classEmbedding, [1, 1, C]), [B, 1, C]);
    return add(concat([cls, x], 1), widen(this.positionEmbedding.weight));
  }
}

class ClipVisionTransformer extends Module {
  embeddings: ClipEmbeddings;
  preLayrnorm: LayerNorm;
  encoder: VitEncoder;
  constructor(c: ClipVisionConfig, gen: Generator) {
    super();
    const eps = c.layer_norm_eps ?? 1e-5;
    this.embeddings = this.module("embeddings", new ClipEmbeddings(c, gen));
    this.preLayrnorm = this.module("pre_layrnorm", new LayerNorm(c.hidden_size, eps));
    this.encoder = this.module(
      "encoder",
      new VitEncoder(
        {
          hidden_size: c.hidden_size,
          intermediate_size: c.intermediate_size,
          num_hidden_layers: c.num_hidden_layers,
          num_attention_heads: c.num_attention_heads,
          layer_norm_eps: eps,
          hidden_act: c.hidden_act ?? "quick_gelu",
          initializer_range: c.initializer_range,
        },
        gen,
      ),
    );
  }
}

export class ClipVisionModel extends Module {
  visionModel: ClipVisionTransformer;
  constructor(
    readonly config: ClipVisionConfig,
    gen: Generator,
  ) {
    super();
    this.visionModel = this.module("vision_model", new ClipVisionTransformer(config, gen));
  }
  get numLayers(): number {
    return this.config.num_hidden_layers;
  }
  static readonly unusedPrefixes = ["vision_model.post_layernorm.", "vision_model.embeddings.position_ids"];
  /** hidden_states[index] (B, P + 1, C); index 0 is the pre-layernormed embeddings. */
  hiddenState(pixels: Tensor, index: number): Tensor {
    const h = this.visionModel.preLayrnorm.forward(this.visionModel.embeddings.forward(pixels));
    return this.visionModel.encoder.forward(h, index);
  }
}

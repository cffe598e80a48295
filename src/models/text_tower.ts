// SigLIP text tower (HF SiglipTextModel): token embedding + learned position embedding, the
// pre-norm transformer encoder shared with the vision towers (vit.ts, bidirectional attention, no
// mask), a final LayerNorm, last-token pooling and a linear head. Parameter names are HF's:
// `text_model.{embeddings.{token_embedding,position_embedding}, encoder.layers.{i}.*,
// final_layer_norm, head}`.
//
// Contract (as SigLIP trains it, HF `padding="max_length"`): every sequence is padded with
// `pad_token_id` to exactly max_position_embeddings and the pooled output is the final hidden
// state at the LAST position. With no attention mask, that position attends to every token, so a
// fixed length keeps a caption's embedding independent of what else is in the batch.
// Used here only to pre-train a vision tower contrastively (siglip_pair.ts); VILA drops it.

import { Embedding, LayerNorm, Linear, Module } from "../nn/index.js";
import { add } from "../tensor/ops/elementwise.js";
import { reshape, slice } from "../tensor/ops/shape.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { type VitAct, VitEncoder } from "./vision/vit.js";

/** HF SiglipTextConfig keys (snake_case, as in config.json). */
export interface SiglipTextConfig {
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** the fixed text length T (SigLIP: 64) */
  max_position_embeddings: number;
  /** width of the pooled output (HF `projection_size`; default hidden_size) */
  projection_size?: number;
  hidden_act?: VitAct;
  layer_norm_eps?: number;
  initializer_range?: number;
  pad_token_id?: number;
  eos_token_id?: number;
  [key: string]: unknown;
}

export interface TextTowerOutput {
  /** (B, T, C) after final_layer_norm */
  lastHiddenState: Tensor;
  /** (B, D) head(lastHiddenState[:, -1]) */
  pooled: Tensor;
}

class SiglipTextEmbeddings extends Module {
  tokenEmbedding: Embedding;
  positionEmbedding: Embedding;
  constructor(c: SiglipTextConfig, gen: Generator) {
    super();
    const std = c.initializer_range ?? 0.02;
    this.tokenEmbedding = this.module(
      "token_embedding",
      new Embedding(c.vocab_size, c.hidden_size, { gen, std }),
    );
    this.positionEmbedding = this.module(
      "position_embedding",
      new Embedding(c.max_position_embeddings, c.hidden_size, { gen, std }),
    );
  }
  /** ids (B, T) i32 -> (B, T, C) */
  forward(ids: Tensor): Tensor {
    const T = ids.shape[1];
    return add(this.tokenEmbedding.forward(ids), slice(this.positionEmbedding.weight, 0, 0, T));
  }
}

class SiglipTextTransformer extends Module {
  embeddings: SiglipTextEmbeddings;
  encoder: VitEncoder;
  finalLayerNorm: LayerNorm;
  head: Linear;
  constructor(c: SiglipTextConfig, gen: Generator) {
    super();
    const eps = c.layer_norm_eps ?? 1e-6;
    this.embeddings = this.module("embeddings", new SiglipTextEmbeddings(c, gen));
    this.encoder = this.module(
      "encoder",
      new VitEncoder(
        {
          hidden_size: c.hidden_size,
          intermediate_size: c.intermediate_size,
          num_hidden_layers: c.num_hidden_layers,
          num_attention_heads: c.num_attention_heads,
          layer_norm_eps: eps,
          hidden_act: c.hidden_act ?? "gelu_pytorch_tanh",
          initializer_range: c.initializer_range,
          init: "siglip",
        },
        gen,
      ),
    );
    this.finalLayerNorm = this.module("final_layer_norm", new LayerNorm(c.hidden_size, eps));
    const std = c.initializer_range ?? 0.02;
    this.head = this.module(
      "head",
      new Linear(c.hidden_size, c.projection_size ?? c.hidden_size, { gen, std }),
    );
  }
}

/**
 * The SigLIP text tower, `text_model.*` keys.
 * @example
 * const text = new SiglipTextModel({ vocab_size: 400, hidden_size: 96, intermediate_size: 384,
 *   num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 48 }, new Generator(0));
 * const { pooled } = text.forward(ids); // ids (B, 48) i32 -> pooled (B, 96)
 */
export class SiglipTextModel extends Module {
  textModel: SiglipTextTransformer;
  constructor(
    readonly config: SiglipTextConfig,
    gen: Generator,
  ) {
    super();
    checkTextConfig(config);
    this.textModel = this.module("text_model", new SiglipTextTransformer(config, gen));
  }

  /** ids (B, T) i32 with T == max_position_embeddings -> last hidden state and pooled output. */
  forward(ids: Tensor): TextTowerOutput {
    const c = this.config;
    if (ids.dtype !== "i32" || ids.ndim !== 2)
      throw new Error(`SiglipTextModel: input_ids must be (B, T) i32, got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T !== c.max_position_embeddings)
      throw new Error(
        `SiglipTextModel: input_ids have length ${T}; SigLIP pads every text to max_position_embeddings = ${c.max_position_embeddings}`,
      );
    const ids32 = ids.i32;
    for (let i = 0; i < ids32.length; i++) {
      if (ids32[i] < 0 || ids32[i] >= c.vocab_size)
        throw new Error(
          `SiglipTextModel: token id ${ids32[i]} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary (${c.vocab_size})`,
        );
    }
    const m = this.textModel;
    const h = m.finalLayerNorm.forward(m.encoder.forward(m.embeddings.forward(ids))); // (B, T, C)
    const last = reshape(slice(h, 1, T - 1, T), [B, c.hidden_size]); // (B, C)
    return { lastHiddenState: h, pooled: m.head.forward(last) };
  }
}

function checkTextConfig(c: SiglipTextConfig): void {
  const ints: (keyof SiglipTextConfig)[] = [
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "max_position_embeddings",
  ];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
      throw new Error(`SiglipTextConfig: ${String(k)} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0)
    throw new Error(
      `SiglipTextConfig: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`,
    );
}

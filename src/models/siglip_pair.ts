// The SigLIP image-text pair model used to pre-train a vision tower from nothing: a SiglipVisionModel
// (vision/siglip.ts) and a SiglipTextModel (text_tower.ts) trained with the pairwise sigmoid loss of
// Zhai et al., "Sigmoid Loss for Language Image Pre-Training" (arXiv 2303.15343), eq. 1:
//   L = -1/|B| sum_i sum_j log sigmoid(z_ij (t x_i . y_j + b)),  z_ij = 1 if i == j else -1,
// on L2-normalised embeddings x (images) and y (texts), t = exp(t') with t' = log 10 and b = -10 at
// init (the paper's values), both learned. HF SiglipModel names: `vision_model.*`, `text_model.*`,
// `logit_scale` (= t'), `logit_bias` (= b).
//
// Image pooling: the mean over patches of post_layernorm(final hidden state) (the default), or
// SigLIP's own attention-pooling head (`pooling: "map"`, SiglipPoolingHead, under
// `vision_pool_head.*`), either followed by a linear head (`vision_post_layernorm`, `vision_head`).
// Mean pooling makes every patch token carry the caption's content, which is what VILA reads (it
// takes patch features, never the pooled one); measured on world-tiny (docs/ARCHITECTURE.md), the
// attention head's tower retrieves and reads colour worse in the tower stage's 900 steps and the
// recipe ends with 1 of 5 visual benchmarks clear instead of 4. The pooling parts are dropped with
// the text tower after pre-training.

import { LayerNorm, Linear, Module } from "../nn/index.js";
import { full, randn, zeros } from "../tensor/create.js";
import { abs, add, div, exp, log, minimum, mul, neg, sqrt, square, sub } from "../tensor/ops/elementwise.js";
import { linear, matmul } from "../tensor/ops/matmul.js";
import { attention } from "../tensor/ops/nn.js";
import { mean, sum } from "../tensor/ops/reduce.js";
import { expand, reshape, slice } from "../tensor/ops/shape.js";
import type { Generator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";
import { type SiglipTextConfig, SiglipTextModel } from "./text_tower.js";
import { type SiglipVisionConfig, SiglipVisionModel, siglipDims } from "./vision/siglip.js";
import { VitMLP, xavierStd } from "./vision/vit.js";

/** The paper's initial t' (t = exp(t') = 10) and b. */
export const SIGLIP_INIT_LOGIT_SCALE = Math.log(10);
export const SIGLIP_INIT_LOGIT_BIAS = -10;

/** x / ||x||_2 along the last axis (torch: x / x.norm(p=2, dim=-1, keepdim=True)). */
export function l2Normalize(x: Tensor): Tensor {
  return div(x, sqrt(sum(square(x), -1, true)));
}

/** log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)), finite for any x (log(sigmoid(x)) is -inf
 * once sigmoid underflows, at x < -104 in f32). */
export function logSigmoid(x: Tensor): Tensor {
  return sub(minimum(x, 0), log(add(exp(neg(abs(x))), 1)));
}

/** z (B, M): +1 at (i, i) for i < B (matching pairs), -1 elsewhere. */
function pairLabels(B: number, M: number): Tensor {
  const z = new Float32Array(B * M).fill(-1);
  for (let i = 0; i < B; i++) z[i * M + i] = 1;
  return new Tensor(z, [B, M]);
}

/**
 * SigLIP's sigmoid loss on normalised embeddings.
 * @param x image embeddings (B, D), L2-normalised
 * @param y text embeddings (M, D), M >= B, L2-normalised; row i < B pairs with x row i, rows from B
 *   on are extra negatives for every image (hard negatives; the sum over j then runs to M, still
 *   divided by B)
 * @param logitScale t' (1,), t = exp(t')
 * @param logitBias b (1,)
 * @returns the scalar loss and the logits (B, M) = t x y^T + b
 * @example const { loss } = sigmoidLoss(l2Normalize(img), l2Normalize(txt), scale, bias);
 */
export function sigmoidLoss(
  x: Tensor,
  y: Tensor,
  logitScale: Tensor,
  logitBias: Tensor,
): { loss: Tensor; logits: Tensor } {
  if (x.ndim !== 2 || y.ndim !== 2 || x.shape[0] > y.shape[0] || x.shape[1] !== y.shape[1])
    throw new Error(
      `sigmoidLoss: image embeddings [${x.shape}] and text embeddings [${y.shape}] must be (B, D) and (M >= B, D)`,
    );
  const B = x.shape[0];
  // (B, D) @ (D, M) -> (B, M)
  const logits = add(mul(matmul(x, y, { transB: true }), exp(logitScale)), logitBias);
  const loss = div(neg(sum(logSigmoid(mul(logits, pairLabels(B, y.shape[0]))))), B);
  return { loss, logits };
}

/** torch.nn.MultiheadAttention's parameters (fused q, k, v input projection). */
class MultiheadAttentionWeights extends Module {
  inProjWeight: Tensor;
  inProjBias: Tensor;
  outProj: Linear;
  constructor(C: number, gen: Generator) {
    super();
    this.inProjWeight = this.param("in_proj_weight", randn([3 * C, C], gen, xavierStd(C, 3 * C)));
    this.inProjBias = this.param("in_proj_bias", zeros([3 * C]));
    this.outProj = this.module("out_proj", new Linear(C, C, { gen, std: xavierStd(C, C) }));
  }
}

/**
 * SigLIP's attention-pooling head (HF SiglipMultiheadAttentionPoolingHead, `vision_model.head.*`):
 * a learned probe (1, 1, C) attends over the patches with torch.nn.MultiheadAttention (its fused
 * `attention.in_proj_weight` (3C, C) and `in_proj_bias`, `attention.out_proj`), then
 * h + mlp(layernorm(h)); the pooled vector is the probe's row. Initialised as HF's `_init_weights`
 * does: probe, in_proj and the MLP xavier (normal here, of the same variance), biases zero.
 */
export class SiglipPoolingHead extends Module {
  probe: Tensor;
  attention: MultiheadAttentionWeights;
  layernorm: LayerNorm;
  mlp: VitMLP;
  constructor(
    private readonly config: SiglipVisionConfig,
    gen: Generator,
  ) {
    super();
    const C = config.hidden_size;
    this.probe = this.param("probe", randn([1, 1, C], gen, xavierStd(C, C)));
    this.attention = this.module("attention", new MultiheadAttentionWeights(C, gen));
    this.layernorm = this.module("layernorm", new LayerNorm(C, config.layer_norm_eps ?? 1e-6));
    this.mlp = this.module("mlp", new VitMLP(siglipDims(config), gen));
  }

  /** (B, P, C) -> (B, C) */
  forward(h: Tensor): Tensor {
    const [B, P, C] = h.shape;
    const nh = this.config.num_attention_heads;
    const hs = C / nh;
    const { inProjWeight, inProjBias, outProj } = this.attention;
    const w = (i: number) => slice(inProjWeight, 0, i * C, (i + 1) * C);
    const b = (i: number) => slice(inProjBias, 0, i * C, (i + 1) * C);
    const q = reshape(expand(linear(this.probe, w(0), b(0)), [B, 1, C]), [B, 1, nh, hs]);
    const k = reshape(linear(h, w(1), b(1)), [B, P, nh, hs]);
    const v = reshape(linear(h, w(2), b(2)), [B, P, nh, hs]);
    const pooled = outProj.forward(reshape(attention(q, k, v), [B, C]));
    return add(pooled, this.mlp.forward(this.layernorm.forward(pooled)));
  }
}

/** How image embeddings are pooled from the tower's patches. */
export type SiglipPooling = "mean" | "map";

export interface SiglipPairOutput {
  loss: Tensor;
  /** (B, M) */
  logits: Tensor;
  /** (B, D) normalised image embeddings */
  imageEmbeds: Tensor;
  /** (M, D) normalised text embeddings */
  textEmbeds: Tensor;
}

/**
 * Vision tower + text tower + learnable temperature and bias.
 * @example
 * const pair = new SiglipPairModel(visionConfig, textConfig, new Generator(0));
 * const { loss } = pair.forward(pixels, ids); // pixels (B, 3, H, W), ids (B, T) i32
 * loss.backward();
 * const tower = pair.tower; // the SiglipVisionModel VILA uses
 */
export class SiglipPairModel extends Module {
  readonly tower: SiglipVisionModel;
  readonly text: SiglipTextModel;
  visionPostLayernorm: LayerNorm;
  visionHead: Linear;
  logitScale: Tensor;
  logitBias: Tensor;
  /** the attention-pooling head when pooling is "map" */
  visionPoolHead: SiglipPoolingHead | null = null;
  constructor(
    visionConfig: SiglipVisionConfig,
    textConfig: SiglipTextConfig,
    gen: Generator,
    readonly pooling: SiglipPooling = "mean",
  ) {
    super();
    const D = textConfig.projection_size ?? textConfig.hidden_size;
    const C = visionConfig.hidden_size;
    this.tower = new SiglipVisionModel(visionConfig, gen);
    this.text = new SiglipTextModel(textConfig, gen);
    this.module("vision_model", this.tower.visionModel);
    this.visionPostLayernorm = this.module(
      "vision_post_layernorm",
      new LayerNorm(C, visionConfig.layer_norm_eps ?? 1e-6),
    );
    this.visionHead = this.module(
      "vision_head",
      new Linear(C, D, { gen, std: visionConfig.initializer_range ?? 0.02 }),
    );
    if (pooling === "map")
      this.visionPoolHead = this.module("vision_pool_head", new SiglipPoolingHead(visionConfig, gen));
    this.module("text_model", this.text.textModel);
    this.logitScale = this.param("logit_scale", full([1], SIGLIP_INIT_LOGIT_SCALE));
    this.logitBias = this.param("logit_bias", full([1], SIGLIP_INIT_LOGIT_BIAS));
  }

  /** pixels (B, 3, H, W) -> (B, D) normalised */
  encodeImage(pixels: Tensor): Tensor {
    const h = this.tower.hiddenState(pixels, this.tower.numLayers); // (B, P, C)
    const normed = this.visionPostLayernorm.forward(h);
    const pooled = this.visionPoolHead ? this.visionPoolHead.forward(normed) : mean(normed, 1); // (B, C)
    return l2Normalize(this.visionHead.forward(pooled));
  }

  /** ids (B, T) i32 -> (B, D) normalised */
  encodeText(ids: Tensor): Tensor {
    return l2Normalize(this.text.forward(ids).pooled);
  }

  /** ids (M, T): row i < B is image i's caption; rows from B on are negatives for every image. */
  forward(pixels: Tensor, ids: Tensor): SiglipPairOutput {
    if (pixels.shape[0] > ids.shape[0])
      throw new Error(`SiglipPairModel: ${pixels.shape[0]} images but only ${ids.shape[0]} texts`);
    const imageEmbeds = this.encodeImage(pixels);
    const textEmbeds = this.encodeText(ids);
    const { loss, logits } = sigmoidLoss(imageEmbeds, textEmbeds, this.logitScale, this.logitBias);
    return { loss, logits, imageEmbeds, textEmbeds };
  }
}

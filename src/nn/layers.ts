// The basic layers: Linear, Embedding, LayerNorm, RMSNorm, with PyTorch/Hugging Face parameter
// names (`weight`, `bias`) and PyTorch's default initialisation unless an init std is given.

import { full, rand, randn, zeros } from "../tensor/create.js";
import { embedding } from "../tensor/ops/index.js";
import { linear } from "../tensor/ops/matmul.js";
import { layerNorm, rmsNorm } from "../tensor/ops/nn.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

export interface InitOptions {
  /** normal(0, std) weights (Hugging Face `initializer_range`); default: PyTorch's
   * kaiming-uniform U(-1/sqrt(in), 1/sqrt(in)). */
  std?: number;
  gen?: Generator;
}

/** y = x W^T + b, W (out, in). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null = null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: InitOptions & { bias?: boolean } = {},
  ) {
    super();
    const gen = opts.gen ?? defaultGenerator;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param(
      "weight",
      opts.std !== undefined
        ? randn([outFeatures, inFeatures], gen, opts.std)
        : rand([outFeatures, inFeatures], gen, -bound, bound),
    );
    if (opts.bias ?? true) {
      this.bias = this.param(
        "bias",
        opts.std !== undefined ? zeros([outFeatures]) : rand([outFeatures], gen, -bound, bound),
      );
    }
  }
  /** (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias ?? undefined);
  }
}

/** ids (...) -> (..., C) */
export class Embedding extends Module {
  weight: Tensor;
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: InitOptions = {},
  ) {
    super();
    this.weight = this.param(
      "weight",
      randn([numEmbeddings, dim], opts.gen ?? defaultGenerator, opts.std ?? 1),
    );
  }
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export class LayerNorm extends Module {
  weight: Tensor | null = null;
  bias: Tensor | null = null;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    super();
    if (affine) {
      this.weight = this.param("weight", full([dim], 1));
      this.bias = this.param("bias", zeros([dim]));
    }
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Llama's RMSNorm: x / sqrt(mean(x^2) + eps) * weight, computed in f32. */
export class RMSNorm extends Module {
  weight: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.param("weight", full([dim], 1));
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

// VILA's multimodal projector (llava/model/multimodal_projector/base_projector.py): a module
// named `layers` whose indices are the checkpoint keys.
//   linear          layers = Linear(dv, d)                          keys layers.{weight,bias}
//   mlpNx_gelu      0 Linear(dv,d), 1 GELU, 2 Linear(d,d), ...       keys layers.{0,2,..}.*
//   mlp_downsample  0 DownSample 2x2, 1 LayerNorm(4dv), 2 Linear(4dv,d), 3 GELU, 4 Linear(d,d)
//   identity        no parameters (dv must equal d)
// GELUs are exact (erf); LayerNorm eps 1e-5. The 2x2 merge concatenates each 2x2 block in
// row-major order [f(2m,2k), f(2m,2k+1), f(2m+1,2k), f(2m+1,2k+1)], zero-padding odd grids; the
// blocks are emitted column-major in VILA1.5 (index k*(R/2)+m) and raster in NVILA (m*(K/2)+k).

import { LayerNorm, Linear, Module } from "../nn/index.js";
import { gelu } from "../tensor/ops/nn.js";
import { pad, permute, reshape } from "../tensor/ops/shape.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";

export type DownsampleOrder = "column" | "raster";

export interface ProjectorConfig {
  mm_projector_type: string;
  /** vila-ts key: block order of the 2x2 merge (VILA1.5 checkpoints: "column"). */
  downsample_order?: DownsampleOrder;
  [key: string]: unknown;
}

/** (B, N, C) with N a perfect square -> (B, ceil(h/2) * ceil(w/2), 4C). */
export function downsample2x2(x: Tensor, order: DownsampleOrder): Tensor {
  const [B, N, C] = x.shape;
  const h = Math.round(Math.sqrt(N));
  if (h * h !== N) throw new Error(`mlp_downsample: ${N} image tokens is not a square grid`);
  let g = reshape(x, [B, h, h, C]);
  const R = h + (h % 2);
  if (R !== h)
    g = pad(
      g,
      [
        [0, 0],
        [0, R - h],
        [0, R - h],
        [0, 0],
      ],
      0,
    );
  const r = reshape(g, [B, R / 2, 2, R / 2, 2, C]); // (B, m, dy, k, dx, C)
  const perm = order === "raster" ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 2, 4, 5];
  return reshape(permute(r, perm), [B, (R / 2) * (R / 2), 4 * C]);
}

/** Holds sub-modules under explicit (possibly sparse) numeric names, like nn.Sequential. */
class Indexed extends Module {
  add<M extends Module>(index: number, m: M): M {
    return this.module(String(index), m);
  }
}

export class MultimodalProjector extends Module {
  readonly type: string;
  private readonly order: DownsampleOrder;
  private readonly steps: ((x: Tensor) => Tensor)[] = [];

  constructor(config: ProjectorConfig, dv: number, d: number, gen: Generator) {
    super();
    const type = config.mm_projector_type;
    this.type = type;
    this.order = config.downsample_order ?? "column";
    const mlp = /^mlp(\d+)x_gelu$/.exec(type);
    if (type === "linear") {
      const l = this.module("layers", new Linear(dv, d, { gen }));
      this.steps.push((x) => l.forward(x));
    } else if (mlp) {
      const depth = Number(mlp[1]);
      const seq = this.module("layers", new Indexed());
      for (let i = 0; i < depth; i++) {
        const l = seq.add(2 * i, new Linear(i === 0 ? dv : d, d, { gen }));
        if (i > 0) this.steps.push((x) => gelu(x, "none"));
        this.steps.push((x) => l.forward(x));
      }
    } else if (type === "mlp_downsample" || type === "mlp_downsample_2x2_fix") {
      const seq = this.module("layers", new Indexed());
      const ln = seq.add(1, new LayerNorm(4 * dv, 1e-5));
      const l1 = seq.add(2, new Linear(4 * dv, d, { gen }));
      const l2 = seq.add(4, new Linear(d, d, { gen }));
      const order: DownsampleOrder = type === "mlp_downsample_2x2_fix" ? "raster" : this.order;
      this.steps.push(
        (x) => downsample2x2(x, order),
        (x) => ln.forward(x),
        (x) => l1.forward(x),
        (x) => gelu(x, "none"),
        (x) => l2.forward(x),
      );
    } else if (type === "identity") {
      if (dv !== d) throw new Error(`identity projector needs mm_hidden_size (${dv}) == hidden_size (${d})`);
    } else {
      throw new Error(
        `unknown mm_projector_type "${type}" (supported: linear, mlpNx_gelu, mlp_downsample, mlp_downsample_2x2_fix, identity)`,
      );
    }
  }

  /** Image tokens out for `P` vision tokens in. */
  tokensFor(P: number): number {
    if (this.type.startsWith("mlp_downsample")) {
      const h = Math.ceil(Math.sqrt(P) / 2);
      return h * h;
    }
    return P;
  }

  /** (nImg, P, dv) -> (nImg, N, d) */
  forward(x: Tensor): Tensor {
    for (const f of this.steps) x = f(x);
    return x;
  }
}

// The transformer encoder shared by SigLIP and CLIP vision towers (HF SiglipEncoder /
// CLIPEncoder): pre-norm layers of self-attention and an MLP, names
// `encoder.layers.{i}.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}`.

import { LayerNorm, Linear, Module, ModuleList } from "../../nn/index.js";
import { randn, zeros } from "../../tensor/create.js";
import { toDtype } from "../../tensor/dtype.js";
import { add } from "../../tensor/ops/elementwise.js";
import { attention, gelu, quickGelu } from "../../tensor/ops/nn.js";
import { permute, reshape, slice } from "../../tensor/ops/shape.js";
import type { Generator } from "../../tensor/random.js";
import type { Tensor } from "../../tensor/tensor.js";

export type VitAct = "gelu_pytorch_tanh" | "gelu" | "quick_gelu";

/** The config keys SigLIP and CLIP vision towers share (HF names). */
export interface VitTowerConfig {
  architectures?: string[];
  model_type?: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels?: number;
  image_size: number;
  patch_size: number;
  hidden_act?: VitAct;
  layer_norm_eps?: number;
  initializer_range?: number;
  [key: string]: unknown;
}

export interface VitDims {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  layer_norm_eps: number;
  hidden_act: VitAct;
  initializer_range?: number;
  /** "siglip": HF SigLIP's `_init_weights` (attention and MLP weights with xavier variance, here
   * normal; biases zero) instead of normal(initializer_range) or, without it, PyTorch's default */
  init?: "siglip";
}

/** Standard deviation of xavier (Glorot) initialisation. */
export function xavierStd(fanIn: number, fanOut: number): number {
  return Math.sqrt(2 / (fanIn + fanOut));
}

export function activation(act: VitAct, x: Tensor): Tensor {
  if (act === "gelu_pytorch_tanh") return gelu(x, "tanh");
  if (act === "gelu") return gelu(x, "none");
  if (act === "quick_gelu") return quickGelu(x);
  throw new Error(`unsupported vision hidden_act "${act}" (gelu_pytorch_tanh, gelu, quick_gelu)`);
}

class VitAttention extends Module {
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  outProj: Linear;
  constructor(
    private readonly d: VitDims,
    gen: Generator,
  ) {
    super();
    const C = d.hidden_size;
    const o = { gen, std: d.init === "siglip" ? xavierStd(C, C) : d.initializer_range };
    this.kProj = this.module("k_proj", new Linear(C, C, o));
    this.vProj = this.module("v_proj", new Linear(C, C, o));
    this.qProj = this.module("q_proj", new Linear(C, C, o));
    this.outProj = this.module("out_proj", new Linear(C, C, o));
  }
  /** (B, P, C) -> (B, P, C), bidirectional */
  forward(x: Tensor): Tensor {
    const [B, P, C] = x.shape;
    const nh = this.d.num_attention_heads;
    const hs = C / nh;
    const q = reshape(this.qProj.forward(x), [B, P, nh, hs]);
    const k = reshape(this.kProj.forward(x), [B, P, nh, hs]);
    const v = reshape(this.vProj.forward(x), [B, P, nh, hs]);
    return this.outProj.forward(reshape(attention(q, k, v, { causal: false }), [B, P, C]));
  }
}

/** fc2(act(fc1(x))), HF SiglipMLP / CLIPMLP. */
export class VitMLP extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(
    private readonly d: VitDims,
    gen: Generator,
  ) {
    super();
    const o = {
      gen,
      std: d.init === "siglip" ? xavierStd(d.hidden_size, d.intermediate_size) : d.initializer_range,
    };
    this.fc1 = this.module("fc1", new Linear(d.hidden_size, d.intermediate_size, o));
    this.fc2 = this.module("fc2", new Linear(d.intermediate_size, d.hidden_size, o));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(activation(this.d.hidden_act, this.fc1.forward(x)));
  }
}

class VitLayer extends Module {
  selfAttn: VitAttention;
  layerNorm1: LayerNorm;
  mlp: VitMLP;
  layerNorm2: LayerNorm;
  constructor(d: VitDims, gen: Generator) {
    super();
    this.selfAttn = this.module("self_attn", new VitAttention(d, gen));
    this.layerNorm1 = this.module("layer_norm1", new LayerNorm(d.hidden_size, d.layer_norm_eps));
    this.mlp = this.module("mlp", new VitMLP(d, gen));
    this.layerNorm2 = this.module("layer_norm2", new LayerNorm(d.hidden_size, d.layer_norm_eps));
  }
  forward(h: Tensor): Tensor {
    h = add(h, this.selfAttn.forward(this.layerNorm1.forward(h)));
    return add(h, this.mlp.forward(this.layerNorm2.forward(h)));
  }
}

export class VitEncoder extends Module {
  layers: ModuleList<VitLayer>;
  constructor(d: VitDims, gen: Generator) {
    super();
    this.layers = this.module(
      "layers",
      new ModuleList(Array.from({ length: d.num_hidden_layers }, () => new VitLayer(d, gen))),
    );
  }
  /** Runs the first `upTo` layers; returns hidden_states[upTo] in HF's numbering
   * (hidden_states[0] is the input, hidden_states[i] the output of layer i). */
  forward(h: Tensor, upTo = this.layers.length): Tensor {
    for (let i = 0; i < upTo; i++) h = this.layers.at(i).forward(h);
    return h;
  }
}

/** (B, 3, H, W) -> (B, gh*gw, 3*p*p) with each patch flattened in (c, ky, kx) order, the layout
 * of a Conv2d weight (C, 3, p, p), so a stride-p convolution is a matmul with the reshaped weight.
 * Like the convolution, trailing pixels that do not fill a patch are ignored (SigLIP-so400m:
 * 384 px / 14 -> 27 patches, the last 6 pixel rows and columns unused). */
export function patchify(pixels: Tensor, patch: number): Tensor {
  const [B, ch, H, W] = pixels.shape;
  const gh = Math.floor(H / patch);
  const gw = Math.floor(W / patch);
  if (gh === 0 || gw === 0)
    throw new Error(`image of ${H}x${W} pixels is smaller than the patch size ${patch}`);
  let x = pixels;
  if (gh * patch !== H) x = slice(x, 2, 0, gh * patch);
  if (gw * patch !== W) x = slice(x, 3, 0, gw * patch);
  // (B, 3, gh, p, gw, p) -> (B, gh, gw, 3, p, p) -> (B, gh*gw, 3*p*p)
  const r = reshape(x, [B, ch, gh, patch, gw, patch]);
  const out = reshape(permute(r, [0, 2, 4, 1, 3, 5]), [B, gh * gw, ch * patch * patch]);
  // pixels need no gradient: the patches are a copy only the patch embedding reads, so a backward
  // hands them back with the graph (a 32-image tower batch's 1.5 MB were left to the GC every step)
  if (!out.requiresGrad) out.freeWithGraph = true;
  return out;
}

/** A Conv2d's parameters (`weight` (C, ch, p, p), optional `bias`), applied as a patch matmul. */
export class ConvWeights extends Module {
  weight: Tensor;
  bias: Tensor | null = null;
  constructor(C: number, ch: number, p: number, std: number, bias: boolean, gen: Generator) {
    super();
    this.weight = this.param("weight", randn([C, ch, p, p], gen, std));
    if (bias) this.bias = this.param("bias", zeros([C]));
  }
}

/** A weight used directly in arithmetic, widened to f32 when it is kept as bf16/f16 storage. */
export function widen(t: Tensor): Tensor {
  return t.dtype === "f32" ? t : toDtype(t, "f32");
}

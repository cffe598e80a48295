// Llama-family decoder (Llama 1/2/3, Sheared-LLaMA, Vicuna, Qwen2) as Hugging Face's
// modeling_llama.py / modeling_qwen2.py define it: RMSNorm (f32), RoPE (rotate-half, rope_theta,
// linear rope_scaling), SwiGLU MLP, grouped-query attention, optional q/k/v bias (Qwen2), tied or
// untied lm_head, and a KV cache (kv_cache.ts). Parameter paths equal HF checkpoint keys.
// Single-token decode against a batch-1 cache runs each layer as one fused backend call
// (backend.decodeLayer: the same computation without a tensor per op); every other case, and
// VILA_FUSED_DECODE=0, runs the layers op by op.

import { type DecodeLayerArgs, decodeScratchSize } from "../../backend/backend.js";
import { backend } from "../../backend/index.js";
import { env } from "../../env.js";
import { Embedding, Linear, Module, ModuleList, RMSNorm } from "../../nn/index.js";
import { add, mul } from "../../tensor/ops/elementwise.js";
import { indexSelect } from "../../tensor/ops/index.js";
import { applyRope, attention, type RopeCache, ropeCache, silu } from "../../tensor/ops/nn.js";
import { reshape, slice } from "../../tensor/ops/shape.js";
import { defaultGenerator, type Generator } from "../../tensor/random.js";
import { checkFinite, isGradEnabled, Tensor } from "../../tensor/tensor.js";
import type { KVCache } from "./kv_cache.js";

export { KVCache } from "./kv_cache.js";

/** Hugging Face `config.json` keys of LlamaConfig / Qwen2Config (the ones that matter here). */
export interface LlamaConfig {
  architectures?: string[];
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  rope_scaling?: { type?: string; rope_type?: string; factor: number } | null;
  max_position_embeddings?: number;
  tie_word_embeddings?: boolean;
  attention_bias?: boolean;
  hidden_act?: string;
  initializer_range?: number;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number | null;
  [key: string]: unknown;
}

export function resolveLlamaConfig(
  c: LlamaConfig,
): Required<
  Pick<
    LlamaConfig,
    | "num_key_value_heads"
    | "head_dim"
    | "rms_norm_eps"
    | "rope_theta"
    | "max_position_embeddings"
    | "tie_word_embeddings"
    | "attention_bias"
  >
> &
  LlamaConfig {
  const arch = c.architectures?.[0] ?? "LlamaForCausalLM";
  const known = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"];
  if (!known.includes(arch))
    throw new Error(`unsupported LLM architecture "${arch}" (supported: ${known.join(", ")})`);
  if (c.hidden_act && c.hidden_act !== "silu")
    throw new Error(`unsupported hidden_act "${c.hidden_act}" (Llama uses silu)`);
  if (c.rope_scaling) {
    const t = c.rope_scaling.type ?? c.rope_scaling.rope_type;
    if (t !== "linear") throw new Error(`unsupported rope_scaling type "${t}" (supported: linear)`);
  }
  const isQwen = arch === "Qwen2ForCausalLM" || c.model_type === "qwen2";
  return {
    ...c,
    num_key_value_heads: c.num_key_value_heads ?? c.num_attention_heads,
    head_dim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    rms_norm_eps: c.rms_norm_eps ?? 1e-6,
    rope_theta: c.rope_theta ?? 10000,
    max_position_embeddings: c.max_position_embeddings ?? 2048,
    tie_word_embeddings: c.tie_word_embeddings ?? false,
    attention_bias: c.attention_bias ?? isQwen,
  };
}

type Resolved = ReturnType<typeof resolveLlamaConfig>;

export interface DecoderInputs {
  /** (B, T, C) input embeddings (VILA splices images into these). */
  inputsEmbeds: Tensor;
  /** (B, T) i32 positions; default: cache length + 0..T-1 for every row. */
  positionIds?: Tensor;
  /** (B, S) i32, 1 = real key, 0 = padding (S = cached + T). */
  keyPadding?: Tensor;
  /** (B, T) i32 segment ids for packed sequences (no cache). */
  segments?: Tensor;
  cache?: KVCache;
}

class LlamaAttention extends Module {
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  oProj: Linear;
  constructor(
    private readonly c: Resolved,
    gen: Generator,
  ) {
    super();
    const std = c.initializer_range ?? 0.02;
    const hs = c.head_dim;
    const bias = c.attention_bias;
    this.qProj = this.module(
      "q_proj",
      new Linear(c.hidden_size, c.num_attention_heads * hs, { std, gen, bias }),
    );
    this.kProj = this.module(
      "k_proj",
      new Linear(c.hidden_size, c.num_key_value_heads * hs, { std, gen, bias }),
    );
    this.vProj = this.module(
      "v_proj",
      new Linear(c.hidden_size, c.num_key_value_heads * hs, { std, gen, bias }),
    );
    this.oProj = this.module(
      "o_proj",
      new Linear(c.num_attention_heads * hs, c.hidden_size, { std, gen, bias: false }),
    );
  }
  /** (B, T, C) -> (B, T, C) */
  forward(x: Tensor, rope: RopeCache, pos: Tensor, inp: DecoderInputs, layer: number): Tensor {
    const [B, T] = x.shape;
    const { num_attention_heads: nh, num_key_value_heads: nkv, head_dim: hs } = this.c;
    let q = reshape(this.qProj.forward(x), [B, T, nh, hs]);
    let k = reshape(this.kProj.forward(x), [B, T, nkv, hs]);
    let v = reshape(this.vProj.forward(x), [B, T, nkv, hs]);
    q = applyRope(q, rope, pos);
    k = applyRope(k, rope, pos);
    if (inp.cache) [k, v] = inp.cache.update(layer, k, v);
    const y = attention(q, k, v, { causal: true, keyPadding: inp.keyPadding, segments: inp.segments }); // (B, T, nh, hs)
    return this.oProj.forward(reshape(y, [B, T, nh * hs]));
  }
}

class LlamaMLP extends Module {
  gateProj: Linear;
  upProj: Linear;
  downProj: Linear;
  constructor(c: Resolved, gen: Generator) {
    super();
    const std = c.initializer_range ?? 0.02;
    this.gateProj = this.module(
      "gate_proj",
      new Linear(c.hidden_size, c.intermediate_size, { std, gen, bias: false }),
    );
    this.upProj = this.module(
      "up_proj",
      new Linear(c.hidden_size, c.intermediate_size, { std, gen, bias: false }),
    );
    this.downProj = this.module(
      "down_proj",
      new Linear(c.intermediate_size, c.hidden_size, { std, gen, bias: false }),
    );
  }
  /** SwiGLU: down(silu(gate(x)) * up(x)) */
  forward(x: Tensor): Tensor {
    return this.downProj.forward(mul(silu(this.gateProj.forward(x)), this.upProj.forward(x)));
  }
}

class LlamaDecoderLayer extends Module {
  selfAttn: LlamaAttention;
  mlp: LlamaMLP;
  inputLayernorm: RMSNorm;
  postAttentionLayernorm: RMSNorm;
  constructor(c: Resolved, gen: Generator) {
    super();
    this.selfAttn = this.module("self_attn", new LlamaAttention(c, gen));
    this.mlp = this.module("mlp", new LlamaMLP(c, gen));
    this.inputLayernorm = this.module("input_layernorm", new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.postAttentionLayernorm = this.module(
      "post_attention_layernorm",
      new RMSNorm(c.hidden_size, c.rms_norm_eps),
    );
  }
  forward(h: Tensor, rope: RopeCache, pos: Tensor, inp: DecoderInputs, layer: number): Tensor {
    h = add(h, this.selfAttn.forward(this.inputLayernorm.forward(h), rope, pos, inp, layer));
    return add(h, this.mlp.forward(this.postAttentionLayernorm.forward(h)));
  }

  /** This layer's weights as backend.decodeLayer takes them, or null when the layer must run op by
   * op: a weight that needs a gradient, linear weights of mixed or non-float dtypes, a bias the
   * kernel has no place for, or a forward replaced on the instance (LoRA adapters). */
  decodeWeights(): DecodeWeights | null {
    const a = this.selfAttn;
    const m = this.mlp;
    const grad = isGradEnabled();
    const wdtype = a.qProj.weight.dtype;
    if (wdtype === "i32") return null;
    for (const l of [a.qProj, a.kProj, a.vProj, a.oProj, m.gateProj, m.upProj, m.downProj]) {
      const w = l.weight;
      if (l.forward !== Linear.prototype.forward || w.dtype !== wdtype || w.isMeta) return null;
      if (l.bias && (l.bias.dtype !== "f32" || (grad && l.bias.requiresGrad))) return null;
      if (grad && w.requiresGrad) return null;
    }
    if (a.oProj.bias || m.gateProj.bias || m.upProj.bias || m.downProj.bias) return null;
    for (const n of [this.inputLayernorm, this.postAttentionLayernorm]) {
      if (n.forward !== RMSNorm.prototype.forward || n.weight.dtype !== "f32") return null;
      if (grad && n.weight.requiresGrad) return null;
    }
    type W = DecodeLayerArgs["wq"];
    return {
      inputNorm: this.inputLayernorm.weight.f32,
      postNorm: this.postAttentionLayernorm.weight.f32,
      wdtype,
      wq: a.qProj.weight.data as W,
      wk: a.kProj.weight.data as W,
      wv: a.vProj.weight.data as W,
      wo: a.oProj.weight.data as W,
      wgate: m.gateProj.weight.data as W,
      wup: m.upProj.weight.data as W,
      wdown: m.downProj.weight.data as W,
      bq: a.qProj.bias?.f32 ?? null,
      bk: a.kProj.bias?.f32 ?? null,
      bv: a.vProj.bias?.f32 ?? null,
    };
  }
}

/** The weights of one decoder layer in the fused decode kernel's terms. */
type DecodeWeights = Pick<
  DecodeLayerArgs,
  | "inputNorm"
  | "postNorm"
  | "wdtype"
  | "wq"
  | "wk"
  | "wv"
  | "wo"
  | "wgate"
  | "wup"
  | "wdown"
  | "bq"
  | "bk"
  | "bv"
>;

/** Whether a (B, S) key-padding mask is absent or all ones (every key real). */
function allReal(keyPadding: Tensor | undefined): boolean {
  if (!keyPadding) return true;
  for (const x of keyPadding.i32) if (x !== 1) return false;
  return true;
}

export class LlamaModel extends Module {
  embedTokens: Embedding;
  layers: ModuleList<LlamaDecoderLayer>;
  norm: RMSNorm;
  /** Run single-token decode (B = 1, T = 1 against a batch-1 cache, no masks, no gradient) as one
   * backend.decodeLayer call per layer. Same logits as op by op, within float rounding. Default
   * on; VILA_FUSED_DECODE=0 turns it off for every model, or set this to false for one. */
  fusedDecode = env.fusedDecode;
  private rope: RopeCache | null = null;
  /** working memory of the fused decode kernel, allocated once */
  private decodeScratch: Float32Array | null = null;
  constructor(
    readonly config: Resolved,
    gen: Generator,
  ) {
    super();
    const c = config;
    this.embedTokens = this.module(
      "embed_tokens",
      new Embedding(c.vocab_size, c.hidden_size, { std: c.initializer_range ?? 0.02, gen }),
    );
    this.layers = this.module(
      "layers",
      new ModuleList(Array.from({ length: c.num_hidden_layers }, () => new LlamaDecoderLayer(c, gen))),
    );
    this.norm = this.module("norm", new RMSNorm(c.hidden_size, c.rms_norm_eps));
  }

  private ropeFor(maxPos: number): RopeCache {
    const c = this.config;
    const need = Math.max(maxPos, c.max_position_embeddings);
    if (!this.rope || this.rope.maxPos < need) {
      const s = c.rope_scaling;
      this.rope = ropeCache(
        c.head_dim,
        need,
        c.rope_theta,
        s ? { type: "linear", factor: s.factor } : undefined,
      );
    }
    return this.rope;
  }

  /** -> last hidden state (B, T, C) after the final norm. */
  forward(inp: DecoderInputs): Tensor {
    const [B, T] = inp.inputsEmbeds.shape;
    const past = inp.cache?.length ?? 0;
    let pos = inp.positionIds;
    if (!pos) {
      const p = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = past + t;
      pos = new Tensor(p, [B, T]);
    }
    let maxPos = 0;
    for (const x of pos.i32) maxPos = Math.max(maxPos, x + 1);
    const rope = this.ropeFor(maxPos);
    const x = inp.inputsEmbeds;
    if (
      this.fusedDecode &&
      B === 1 &&
      T === 1 &&
      inp.cache &&
      !inp.segments &&
      allReal(inp.keyPadding) &&
      !(isGradEnabled() && x.requiresGrad)
    ) {
      const h = this.decodeFused(x, pos.i32[0], rope, inp.cache);
      if (h) return this.norm.forward(h);
    }
    let h = x;
    this.layers.items.forEach((layer, i) => {
      h = layer.forward(h, rope, pos, inp, i);
    });
    return this.norm.forward(h);
  }

  /** The decoder layers for one token x (1, 1, C) at `position`, one backend.decodeLayer call each,
   * the new keys and values written into the cache's storage; null (nothing done) when a layer or
   * the cache cannot take the fused path. -> (1, 1, C) before the final norm. */
  private decodeFused(x: Tensor, position: number, rope: RopeCache, cache: KVCache): Tensor | null {
    const c = this.config;
    const C = c.hidden_size;
    const F = c.intermediate_size;
    const nh = c.num_attention_heads;
    const nkv = c.num_key_value_heads;
    const hs = c.head_dim;
    const weights: DecodeWeights[] = [];
    for (const layer of this.layers.items) {
      const w = layer.decodeWeights();
      if (!w) return null;
      weights.push(w);
    }
    if (!(position >= 0)) return null; // the op-by-op rope names the bad position
    const past = cache.length;
    const stores = [];
    for (let i = 0; i < weights.length; i++) {
      const st = cache.reserve(i, past + 1, nkv, hs);
      if (!st) return null;
      stores.push(st);
    }
    const need = decodeScratchSize(C, nh, hs, F);
    if (!this.decodeScratch || this.decodeScratch.length < need) this.decodeScratch = new Float32Array(need);
    const half = hs / 2;
    const cos = rope.cos.f32.subarray(position * half, (position + 1) * half);
    const sin = rope.sin.f32.subarray(position * half, (position + 1) * half);
    const h = new Float32Array(x.f32); // (C), updated layer by layer
    const be = backend();
    for (let i = 0; i < weights.length; i++) {
      const st = stores[i];
      be.decodeLayer({
        C,
        F,
        nh,
        nkv,
        hs,
        eps: c.rms_norm_eps,
        h,
        ...weights[i],
        cos,
        sin,
        kCache: st.k,
        vCache: st.v,
        capacity: st.capacity,
        past,
        scratch: this.decodeScratch,
      });
      if (env.debug) checkFinite(new Tensor(h, [C]), `decodeLayer (layer ${i})`);
    }
    cache.advance(1);
    return new Tensor(h, [1, 1, C]);
  }
}

/** The causal LM: `model.*` + `lm_head.weight` (absent when tie_word_embeddings). */
export class LlamaForCausalLM extends Module {
  readonly config: Resolved;
  model: LlamaModel;
  lmHead: Linear;
  constructor(config: LlamaConfig, gen: Generator = defaultGenerator) {
    super();
    this.config = resolveLlamaConfig(config);
    this.model = this.module("model", new LlamaModel(this.config, gen));
    const head = new Linear(this.config.hidden_size, this.config.vocab_size, {
      std: this.config.initializer_range ?? 0.02,
      gen,
      bias: false,
    });
    if (this.config.tie_word_embeddings) head.weight = this.model.embedTokens.weight;
    this.lmHead = this.config.tie_word_embeddings ? head : this.module("lm_head", head);
  }

  /** ids (B, T) i32 -> (B, T, C) */
  embed(ids: Tensor): Tensor {
    return this.model.embedTokens.forward(ids);
  }

  /** Tie again after a loader replaced the embedding tensor. */
  retie(): void {
    if (this.config.tie_word_embeddings) this.lmHead.weight = this.model.embedTokens.weight;
  }

  /** -> logits (B, T, V). `lastOnly` computes logits for the last position only (decoding);
   * `rows` (1-D i32 indices into the B * T positions, row-major) for those positions only, as
   * (rows, V): a training step needs logits only where a label is, and the head (V x C per
   * position) is the largest product of a small model. */
  forward(inp: DecoderInputs, opts: { lastOnly?: boolean; rows?: Tensor } = {}): Tensor {
    let h = this.model.forward(inp);
    if (opts.lastOnly) {
      const T = h.shape[1];
      h = slice(h, 1, T - 1, T);
    } else if (opts.rows) {
      const [B, T, C] = h.shape;
      h = indexSelect(reshape(h, [B * T, C]), 0, opts.rows);
    }
    return this.lmHead.forward(h);
  }
}

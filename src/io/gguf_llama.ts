// Llama-family LLM -> GGUF (llama.cpp's "llama" architecture), as llama.cpp's
// convert_hf_to_gguf.py (class LlamaModel) writes it:
//  - metadata general.architecture = "llama" and llama.* hyper-parameters, general.file_type;
//  - tensor names token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
//    ffn_gate, ffn_up, ffn_down}, output_norm, output (absent when the embedding is tied);
//  - the q_proj / k_proj rows PERMUTED from Hugging Face's rotate-half RoPE layout to GGML's
//    interleaved pairs (LlamaModel.permute: reshape (n_head, 2, hd/2, in), swap axes 1 and 2);
//    k uses the kv-head count;
//  - 1-D tensors (norms) always F32, matrices in the chosen type (F32, F16 or BF16);
//  - a tokenizer vocabulary (tokenizer.ggml.*): a SentencePiece model's pieces when the
//    checkpoint has tokenizer.model, else a synthetic "llama" (SPM) vocabulary — see syntheticVocab.

import type { LlamaConfig } from "../models/llm/llama.js";
import { toDtype } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { type GgmlTypeName, type GgufTensorSpec, type GgufValue, gv, writeGguf } from "./gguf.js";

export type GgufDtype = "f32" | "f16" | "bf16";

/** llama_ftype of general.file_type: ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, bf16: 32 };
const GGML_TYPE: Record<GgufDtype, GgmlTypeName> = { f32: "F32", f16: "F16", bf16: "BF16" };

/** SentencePiece token types (also llama.cpp's llama_token_type). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** A tokenizer vocabulary for GGUF: one entry per id. */
export interface GgufVocab {
  model: "llama";
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  bos: number;
  eos: number;
  unk: number;
  pad?: number;
}

/**
 * Rows of a q or k projection (n_head * hd, in), Hugging Face rotate-half order -> GGML's
 * interleaved order: within each head, new row 2i + j = old row j * hd/2 + i (j in {0, 1}).
 * This is convert_hf_to_gguf.py's LlamaModel.permute (reshape (n_head, 2, hd/2, in), swapaxes(1, 2)).
 */
export function permuteQK<T extends Float32Array | Uint16Array>(
  w: T,
  rows: number,
  cols: number,
  nHead: number,
): T {
  if (rows % nHead || (rows / nHead) % 2 || w.length !== rows * cols)
    throw new Error(`permuteQK: ${rows} x ${cols} rows do not split into ${nHead} heads of even size`);
  const hd = rows / nHead;
  const half = hd / 2;
  const out = new (w.constructor as { new (n: number): T })(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + j * half + i) * cols;
        const dst = (h * hd + 2 * i + j) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/**
 * A placeholder "llama" (SentencePiece) vocabulary for a checkpoint without tokenizer.model, so
 * llama.cpp / Ollama load the model and run it on token ids: id 0 "<unk>" (unknown), 1 "<s>" and
 * 2 "</s>" (control), then the 256 byte tokens "<0x00>".."<0xFF>" (type byte: llama.cpp's SPM
 * tokenizer falls back to them for any byte, and throws if one is missing), then normal pieces
 * "▁t<id>" with score -id. So the vocabulary needs at least 259 entries. Text tokenised by llama.cpp with it will NOT match the model's own
 * tokenizer; feed token ids.
 */
export function syntheticVocab(size: number): GgufVocab {
  if (size < 259)
    throw new Error(
      `syntheticVocab: a llama.cpp SPM vocabulary needs at least 259 entries (3 special + 256 bytes), got ${size}`,
    );
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types = new Int32Array(size);
  types.set([TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control]);
  for (let b = 0; b < 256; b++) {
    types[tokens.length] = TOKEN_TYPE.byte;
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  }
  const scores = new Float32Array(size);
  for (let id = tokens.length; id < size; id++) {
    types[id] = TOKEN_TYPE.normal;
    scores[id] = -id;
    tokens.push(`\u2581t${id}`);
  }
  return { model: "llama", tokens, scores, types, bos: 1, eos: 2, unk: 0 };
}

/** The vocabulary of a SentencePiece model (tokenizer.model), padded to `size` with "[PAD<id>]"
 * unused tokens as convert_hf_to_gguf.py does when config.vocab_size is larger. */
export function sentencePieceVocab(
  sp: {
    pieces: { piece: string; score: number; type: number }[];
    bosId: number;
    eosId: number;
    unkId: number;
    padId: number;
  },
  size: number,
): GgufVocab {
  if (sp.pieces.length > size)
    throw new Error(`tokenizer.model has ${sp.pieces.length} pieces but the model's vocab_size is ${size}`);
  const tokens = sp.pieces.map((p) => p.piece);
  const scores = new Float32Array(size).fill(-1000);
  const types = new Int32Array(size).fill(TOKEN_TYPE.unused);
  sp.pieces.forEach((p, i) => {
    scores[i] = p.score;
    types[i] = p.type;
  });
  for (let id = tokens.length; id < size; id++) tokens.push(`[PAD${id}]`);
  return {
    model: "llama",
    tokens,
    scores,
    types,
    bos: sp.bosId,
    eos: sp.eosId,
    unk: sp.unkId,
    pad: sp.padId >= 0 ? sp.padId : undefined,
  };
}

/** The GGUF name of a Hugging Face Llama parameter, or null for one GGUF does not store. */
export function ggufTensorName(hf: string): string | null {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(hf);
  if (!m) return null;
  const part: Record<string, string> = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    input_layernorm: "attn_norm",
    post_attention_layernorm: "ffn_norm",
  };
  const p = part[m[2]];
  return p ? `blk.${m[1]}.${p}.weight` : null;
}

function asBytes(a: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface LlamaGgufOptions {
  config: LlamaConfig;
  /** the parameter names (Hugging Face keys: model.layers.0.self_attn.q_proj.weight, ...) */
  names: string[];
  /** the shape of one parameter (read before any data) */
  shapeOf: (name: string) => readonly number[];
  /** read one parameter (f32, bf16 or f16); called once per tensor while writing */
  get: (name: string) => Tensor;
  dtype: GgufDtype;
  vocab: GgufVocab;
  /** general.name */
  modelName?: string;
}

/** The llama.* and tokenizer.ggml.* metadata of a Llama config and vocabulary. */
export function llamaGgufMetadata(
  o: Omit<LlamaGgufOptions, "names" | "get" | "shapeOf">,
): Record<string, GgufValue> {
  const c = o.config;
  if (c.attention_bias) throw new Error("gguf: q/k/v biases (Qwen2) are not supported by the llama export");
  const arch = c.architectures?.[0] ?? "LlamaForCausalLM";
  if (arch !== "LlamaForCausalLM" && arch !== "MistralForCausalLM")
    throw new Error(`gguf: only Llama-architecture LLMs export to GGUF (got ${arch})`);
  const nh = c.num_attention_heads;
  const nkv = c.num_key_value_heads ?? nh;
  const hd = c.head_dim ?? c.hidden_size / nh;
  const v = o.vocab;
  if (v.tokens.length !== c.vocab_size)
    throw new Error(`gguf: the vocabulary has ${v.tokens.length} tokens, the model ${c.vocab_size}`);
  const m: Record<string, GgufValue> = {
    "general.architecture": gv.str("llama"),
    "general.name": gv.str(o.modelName ?? "vila-ts llama"),
    "general.file_type": gv.u32(FILE_TYPE[o.dtype]),
    "general.alignment": gv.u32(32),
    "llama.vocab_size": gv.u32(c.vocab_size),
    "llama.context_length": gv.u32(c.max_position_embeddings ?? 2048),
    "llama.embedding_length": gv.u32(c.hidden_size),
    "llama.block_count": gv.u32(c.num_hidden_layers),
    "llama.feed_forward_length": gv.u32(c.intermediate_size),
    "llama.attention.head_count": gv.u32(nh),
    "llama.attention.head_count_kv": gv.u32(nkv),
    "llama.rope.dimension_count": gv.u32(hd),
    "llama.attention.layer_norm_rms_epsilon": gv.f32(c.rms_norm_eps ?? 1e-6),
    "llama.rope.freq_base": gv.f32(c.rope_theta ?? 10000),
  };
  if (hd !== c.hidden_size / nh) {
    m["llama.attention.key_length"] = gv.u32(hd);
    m["llama.attention.value_length"] = gv.u32(hd);
  }
  if (c.rope_scaling) {
    m["llama.rope.scaling.type"] = gv.str("linear");
    m["llama.rope.scaling.factor"] = gv.f32(c.rope_scaling.factor);
  }
  Object.assign(m, {
    "tokenizer.ggml.model": gv.str(v.model),
    "tokenizer.ggml.tokens": gv.strs(v.tokens),
    "tokenizer.ggml.scores": gv.f32s(v.scores),
    "tokenizer.ggml.token_type": gv.i32s(v.types),
    "tokenizer.ggml.bos_token_id": gv.u32(v.bos),
    "tokenizer.ggml.eos_token_id": gv.u32(v.eos),
    "tokenizer.ggml.unknown_token_id": gv.u32(v.unk),
    "tokenizer.ggml.add_bos_token": gv.bool(true),
    "tokenizer.ggml.add_eos_token": gv.bool(false),
  });
  if (v.pad !== undefined) m["tokenizer.ggml.padding_token_id"] = gv.u32(v.pad);
  return m;
}

/** Write a Llama LLM as a GGUF file (atomically), tensor by tensor. */
export function writeLlamaGguf(file: string, o: LlamaGgufOptions): void {
  const c = o.config;
  const nh = c.num_attention_heads;
  const nkv = c.num_key_value_heads ?? nh;
  const metadata = llamaGgufMetadata(o);
  const byName = new Map<string, string>();
  for (const n of o.names) {
    const g = ggufTensorName(n);
    if (g === null) {
      if (/rotary_emb/.test(n)) continue;
      throw new Error(`gguf: no GGUF name for parameter "${n}"`);
    }
    if (g === "output.weight" && c.tie_word_embeddings) continue;
    byName.set(g, n);
  }
  const order = ["token_embd.weight"];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    for (const p of [
      "attn_norm",
      "attn_q",
      "attn_k",
      "attn_v",
      "attn_output",
      "ffn_norm",
      "ffn_gate",
      "ffn_up",
      "ffn_down",
    ])
      order.push(`blk.${i}.${p}.weight`);
  }
  order.push("output_norm.weight");
  if (!c.tie_word_embeddings) order.push("output.weight");
  const missing = order.filter((g) => !byName.has(g));
  if (missing.length) throw new Error(`gguf: the model lacks ${missing.map((g) => `${g}`).join(", ")}`);
  const extra = [...byName.keys()].filter((g) => !order.includes(g));
  if (extra.length) throw new Error(`gguf: unexpected tensors ${extra.join(", ")}`);
  const tensors: GgufTensorSpec[] = order.map((g) => {
    const hf = byName.get(g) as string;
    const shape = o.shapeOf(hf);
    const dtype: GgufDtype = shape.length === 1 ? "f32" : o.dtype;
    return {
      name: g,
      type: GGML_TYPE[dtype],
      ne: [...shape].reverse(),
      bytes: () => {
        const t = toDtype(o.get(hf), dtype);
        let data = t.data as Float32Array | Uint16Array;
        const [rows, cols] = t.shape;
        if (/\.attn_q\.weight$/.test(g)) data = permuteQK(data, rows, cols, nh);
        else if (/\.attn_k\.weight$/.test(g)) data = permuteQK(data, rows, cols, nkv);
        return asBytes(data);
      },
    };
  });
  writeGguf(file, metadata, tensors);
}

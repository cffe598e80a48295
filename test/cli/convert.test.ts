// `vila convert --to gguf` on a small Hugging Face Llama folder: the GGUF read back holds every
// tensor under its llama.cpp name, matrices rounded to the requested type (bf16 bits equal our
// f32 -> bf16 conversion; q/k rows permuted), norms in f32; bad options are clear errors.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readGguf } from "../../src/io/gguf.js";
import { permuteQK } from "../../src/io/gguf_llama.js";
import { saveSafetensors } from "../../src/io/safetensors_writer.js";
import { LlamaForCausalLM } from "../../src/models/llm/llama.js";
import { toDtype } from "../../src/tensor/dtype.js";
import { Generator } from "../../src/tensor/random.js";
import { vila } from "./cli_run.js";

const dir = mkdtempSync(join(tmpdir(), "vila-convert-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: 260,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 64,
};

test("vila convert --to gguf --dtype bf16 writes llama.cpp's layout", () => {
  const model = new LlamaForCausalLM(config, new Generator(3));
  const sd = model.stateDict();
  saveSafetensors(join(dir, "model.safetensors"), sd);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const out = join(dir, "m.gguf");
  const r = vila(["convert", "--to", "gguf", "--model", dir, "--out", out, "--dtype", "bf16"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /synthetic vocabulary/);
  const f = readGguf(out);
  assert.equal(f.metadata.get("general.file_type")?.value, 32);
  assert.equal(f.tensors.get("output_norm.weight")?.type, "F32");
  const bits = (name: string) => new Uint16Array(f.read(name).slice().buffer);
  const want = (hf: string) => toDtype(sd[hf], "bf16").data as Uint16Array;
  assert.deepEqual(bits("output.weight"), want("lm_head.weight"));
  assert.deepEqual(bits("blk.0.ffn_gate.weight"), want("model.layers.0.mlp.gate_proj.weight"));
  assert.deepEqual(
    bits("blk.0.attn_q.weight"),
    permuteQK(want("model.layers.0.self_attn.q_proj.weight"), 32, 32, 4),
  );
  assert.deepEqual(
    bits("blk.0.attn_k.weight"),
    permuteQK(want("model.layers.0.self_attn.k_proj.weight"), 16, 32, 2),
  );
  const bad = vila(["convert", "--model", dir, "--out", out, "--dtype", "q4"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--dtype must be f32, f16 or bf16/);
});

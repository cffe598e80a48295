// GGUF writer and reader (src/io/gguf.ts) and the Llama export (src/io/gguf_llama.ts):
// - a write -> read round trip of every metadata type and F32/F16/BF16 tensors of odd sizes
//   (offsets aligned to 32, bytes unchanged);
// - the q/k permutation against a hand-worked instance of llama.cpp's LlamaModel.permute
//   (numpy: arange(8).reshape(2, 2, 2).swapaxes(1, 2).ravel() = [0 2 1 3 4 6 5 7]);
// - a tiny random Llama exported and read back (names, ggml dims, permuted q/k, llama.* keys);
// - when node-llama-cpp (llama.cpp, a dev dependency) loads, its log-probabilities of every
//   position of a tiny random model equal ours (f32 weights and KV cache: |diff| < 1e-4).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { GgufValueType, gv, readGguf, writeGguf } from "../../src/io/gguf.js";
import { ggufTensorName, permuteQK, syntheticVocab, writeLlamaGguf } from "../../src/io/gguf_llama.js";
import { LlamaForCausalLM } from "../../src/models/llm/llama.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad, Tensor } from "../../src/tensor/tensor.js";

const dir = mkdtempSync(join(tmpdir(), "vila-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("gguf round trip: every metadata type, F32/F16/BF16 tensors, 32-byte alignment", () => {
  const file = join(dir, "rt.gguf");
  const a = Float32Array.from({ length: 7 }, (_, i) => i - 3.5);
  const h = Uint16Array.from({ length: 15 }, (_, i) => 0x3c00 + i);
  const bf = Uint16Array.from({ length: 6 }, (_, i) => 0x3f80 + i);
  const meta = {
    "general.architecture": gv.str("llama"),
    "x.u8": { type: GgufValueType.UINT8, value: 200 },
    "x.i8": { type: GgufValueType.INT8, value: -5 },
    "x.u16": { type: GgufValueType.UINT16, value: 65000 },
    "x.i16": { type: GgufValueType.INT16, value: -300 },
    "x.u32": gv.u32(4000000000),
    "x.i32": gv.i32(-7),
    "x.f32": gv.f32(0.5),
    "x.bool": gv.bool(true),
    "x.u64": { type: GgufValueType.UINT64, value: 2 ** 40 },
    "x.i64": { type: GgufValueType.INT64, value: -(2 ** 40) },
    "x.f64": { type: GgufValueType.FLOAT64, value: Math.PI },
    "x.strs": gv.strs(["a", "ünï", ""]),
    "x.f32s": gv.f32s([1.5, -2]),
  } as const;
  writeGguf(file, meta, [
    { name: "a", type: "F32", ne: [7], bytes: () => new Uint8Array(a.buffer) },
    { name: "h", type: "F16", ne: [5, 3], bytes: () => new Uint8Array(h.buffer) },
    { name: "b", type: "BF16", ne: [2, 3], bytes: () => new Uint8Array(bf.buffer) },
  ]);
  const f = readGguf(file);
  assert.equal(f.version, 3);
  for (const [k, v] of Object.entries(meta)) {
    const got = f.metadata.get(k);
    assert.ok(got, k);
    assert.equal(got.type, v.type, k);
    const want = "itemType" in v ? Array.from(v.value as ArrayLike<unknown>) : v.value;
    const have = Array.isArray(got.value) ? [...got.value] : got.value;
    assert.deepEqual(have, want, k);
  }
  assert.deepEqual(f.tensors.get("h")?.ne, [5, 3]);
  for (const t of f.tensors.values()) assert.equal((t.offset - f.tensors.get("a")!.offset) % 32, 0, t.name);
  assert.deepEqual(new Float32Array(f.read("a").slice().buffer), a);
  assert.deepEqual(new Uint16Array(f.read("h").slice().buffer), h);
  assert.deepEqual(new Uint16Array(f.read("b").slice().buffer), bf);
  // errors name the file and the problem
  writeFileSync(join(dir, "bad.gguf"), Buffer.from("GGML\x03\x00\x00\x00"));
  assert.throws(() => readGguf(join(dir, "bad.gguf")), /bad\.gguf: not a GGUF file/);
  assert.throws(
    () =>
      writeGguf(join(dir, "x.gguf"), {}, [
        { name: "a", type: "F32", ne: [3], bytes: () => new Uint8Array(8) },
      ]),
    /tensor "a" produced 8 bytes, 12 expected/,
  );
});

test("permuteQK is llama.cpp's LlamaModel.permute (hand example, 2 heads of 4, 2 columns)", () => {
  const rows = 8;
  const cols = 2;
  const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols) * 10 + (i % cols));
  const p = permuteQK(w, rows, cols, 2);
  const order = [0, 2, 1, 3, 4, 6, 5, 7]; // arange(8).reshape(2, 2, 2).swapaxes(1, 2).ravel()
  for (let r = 0; r < rows; r++)
    assert.deepEqual([...p.subarray(r * cols, r * cols + cols)], [order[r] * 10, order[r] * 10 + 1]);
  assert.throws(() => permuteQK(w, rows, cols, 3), /do not split/);
});

const tinyConfig = {
  architectures: ["LlamaForCausalLM"],
  vocab_size: 300,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 128,
  initializer_range: 0.3,
};

function tinyModel(): { model: LlamaForCausalLM; sd: Record<string, Tensor> } {
  const model = new LlamaForCausalLM(tinyConfig, new Generator(7));
  const sd = model.stateDict();
  for (const [k, t] of Object.entries(sd))
    if (t.ndim === 1) for (let i = 0; i < t.size; i++) t.f32[i] = 1 + 0.1 * Math.sin(i + k.length);
  return { model, sd };
}

test("llama export: tensor names, ggml dims, permuted q/k, llama.* metadata", () => {
  const { sd } = tinyModel();
  const file = join(dir, "tiny.gguf");
  writeLlamaGguf(file, {
    config: tinyConfig,
    names: Object.keys(sd),
    shapeOf: (n) => sd[n].shape,
    get: (n) => sd[n],
    dtype: "f16",
    vocab: syntheticVocab(300),
  });
  const f = readGguf(file);
  assert.equal(f.metadata.get("general.architecture")?.value, "llama");
  assert.equal(f.metadata.get("llama.attention.head_count_kv")?.value, 2);
  assert.equal(f.metadata.get("llama.rope.dimension_count")?.value, 16);
  assert.equal(f.metadata.get("llama.block_count")?.value, 2);
  assert.equal((f.metadata.get("tokenizer.ggml.tokens")?.value as string[] | undefined)?.length, 300);
  assert.equal(f.tensors.size, 2 + 2 * 9 + 1);
  assert.deepEqual(f.tensors.get("token_embd.weight")?.ne, [64, 300]);
  assert.deepEqual(f.tensors.get("blk.1.ffn_down.weight")?.ne, [96, 64]);
  assert.equal(f.tensors.get("blk.0.attn_norm.weight")?.type, "F32");
  assert.equal(f.tensors.get("blk.0.attn_v.weight")?.type, "F16");
  assert.equal(ggufTensorName("model.layers.3.mlp.up_proj.weight"), "blk.3.ffn_up.weight");
  // k: 2 kv heads of 16 rows; row 1 of the file is HF row 8 (second half of head 0)
  const k16 = new Uint16Array(f.read("blk.0.attn_k.weight").slice().buffer);
  const kHf = sd["model.layers.0.self_attn.k_proj.weight"];
  // permute: within a head of 16, file row 2i + j = HF row 8j + i
  for (const [fileRow, hfRow] of [
    [0, 0],
    [1, 8],
    [2, 1],
    [17, 24],
  ]) {
    const got = k16.subarray(fileRow * 64, fileRow * 64 + 64);
    const want = kHf.f32.subarray(hfRow * 64, hfRow * 64 + 64);
    for (let c = 0; c < 64; c++)
      assert.ok(
        Math.abs(halfToNumber(got[c]) - want[c]) <= Math.abs(want[c]) / 1024 + 1e-7,
        `k row ${fileRow}`,
      );
  }
});

function halfToNumber(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test("llama.cpp (node-llama-cpp) gives our log-probabilities on the exported tiny model", async (t) => {
  let mod: typeof import("node-llama-cpp");
  try {
    mod = await import("node-llama-cpp");
  } catch (e) {
    t.skip(`node-llama-cpp is not installed: ${(e as Error).message}`);
    return;
  }
  const { model, sd } = tinyModel();
  const file = join(dir, "tiny32.gguf");
  writeLlamaGguf(file, {
    config: tinyConfig,
    names: Object.keys(sd),
    shapeOf: (n) => sd[n].shape,
    get: (n) => sd[n],
    dtype: "f32",
    vocab: syntheticVocab(300),
  });
  const ids = [1, 5, 9, 233, 7, 20, 299, 3];
  const V = tinyConfig.vocab_size;
  const ours = noGrad(() =>
    model.forward({ inputsEmbeds: model.embed(new Tensor(Int32Array.from(ids), [1, ids.length])) }),
  ).f32;
  const llama = await mod.getLlama({ gpu: false, build: "never", logLevel: mod.LlamaLogLevel.error });
  const lm = await llama.loadModel({ modelPath: file });
  const ctx = await lm.createContext({
    contextSize: 128,
    batchSize: 128,
    threads: 2,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  try {
    const input: ControlledEvaluateInputItem[] = ids.map((id) => [
      id as Token,
      { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } },
    ]);
    const res = await ctx.getSequence().controlledEvaluate(input);
    let worst = 0;
    for (let p = 0; p < ids.length; p++) {
      const probs = res[p]?.next?.probabilities;
      assert.ok(probs && probs.size === V, `position ${p}: llama.cpp returned ${probs?.size} probabilities`);
      const row = ours.subarray(p * V, (p + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
      for (let v = 0; v < V; v++)
        worst = Math.max(worst, Math.abs(Math.log(probs.get(v as Token) as number) - (row[v] - lse)));
    }
    assert.ok(worst < 1e-4, `max |log p ours - log p llama.cpp| = ${worst}`);
  } finally {
    await ctx.dispose();
    await lm.dispose();
    await llama.dispose();
  }
});

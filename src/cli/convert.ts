// `vila convert --to gguf`: write the LLM of a checkpoint as a GGUF file for llama.cpp / Ollama
// (src/io/gguf_llama.ts: llama.cpp's convert_hf_to_gguf.py layout, q/k rows permuted to GGML's
// rope order). The checkpoint is a VILA folder (its llm/ part is written; the vision tower and
// projector have no llama.cpp "llama" counterpart) or a plain Hugging Face Llama folder.
// The tokenizer: tokenizer.model (SentencePiece) when present, else a synthetic vocabulary
// (llama.cpp then runs on token ids; its text tokenisation will not match) — said on stderr.

import * as fs from "node:fs";
import * as path from "node:path";
import { readVilaCheckpoint } from "../io/checkpoint.js";
import {
  type GgufDtype,
  type GgufVocab,
  sentencePieceVocab,
  syntheticVocab,
  writeLlamaGguf,
} from "../io/gguf_llama.js";
import { openSafetensors, type TensorReader } from "../io/safetensors.js";
import type { LlamaConfig } from "../models/llm/llama.js";
import { parseSentencePieceModel } from "../tokenizer/sentencepiece.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";

const SPEC: Record<string, OptionSpec> = {
  to: { type: "string", describe: "output format (gguf)", default: "gguf" },
  model: {
    type: "string",
    describe: "checkpoint folder (VILA layout or Hugging Face Llama)",
    required: true,
  },
  out: { type: "string", describe: "output file (.gguf)", required: true },
  dtype: { type: "string", describe: "matrix type: f32, f16 or bf16 (norms stay f32)", default: "f16" },
};

const SUMMARY = "Write the checkpoint's Llama LLM as a GGUF v3 file for llama.cpp / Ollama / node-llama-cpp.";

/** The LLM of a folder: a plain HF Llama folder (config.json names a causal LM) or a VILA checkpoint. */
function openLlm(dir: string): { config: LlamaConfig; weights: TensorReader; tokenizerDir: string | null } {
  const cfgFile = path.join(dir, "config.json");
  if (!fs.existsSync(cfgFile)) throw new Error(`convert: ${cfgFile} is missing (not a checkpoint folder?)`);
  const top = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as LlamaConfig;
  const arch = top.architectures?.[0];
  if (arch === "LlamaForCausalLM" || arch === "MistralForCausalLM")
    return { config: top, weights: openSafetensors(dir), tokenizerDir: dir };
  const ckpt = readVilaCheckpoint(dir);
  return {
    config: ckpt.llm.config as LlamaConfig,
    weights: ckpt.llm.weights,
    tokenizerDir: ckpt.tokenizerDir,
  };
}

function vocabFor(tokenizerDir: string | null, size: number): { vocab: GgufVocab; note: string } {
  const sp = tokenizerDir ? path.join(tokenizerDir, "tokenizer.model") : null;
  if (sp && fs.existsSync(sp)) {
    const model = parseSentencePieceModel(new Uint8Array(fs.readFileSync(sp)), sp);
    return { vocab: sentencePieceVocab(model, size), note: `tokenizer from ${sp}` };
  }
  return {
    vocab: syntheticVocab(size),
    note: "no tokenizer.model: wrote a synthetic vocabulary (run llama.cpp on token ids)",
  };
}

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC, "vila convert");
  if (p.help) {
    console.log(helpText("vila convert", SUMMARY, SPEC));
    return 0;
  }
  if (p.opts.to !== "gguf") throw new Error(`vila convert: --to must be "gguf", got "${p.opts.to}"`);
  const dtype = p.opts.dtype as string;
  if (dtype !== "f32" && dtype !== "f16" && dtype !== "bf16")
    throw new Error(`vila convert: --dtype must be f32, f16 or bf16, got "${dtype}"`);
  const dir = p.opts.model as string;
  const out = p.opts.out as string;
  const { config, weights, tokenizerDir } = openLlm(dir);
  const { vocab, note } = vocabFor(tokenizerDir, config.vocab_size);
  process.stderr.write(`vila convert: ${note}\n`);
  const t0 = performance.now();
  writeLlamaGguf(out, {
    config,
    names: weights.keys(),
    shapeOf: (n) => weights.info(n).shape,
    get: (n) => weights.get(n),
    dtype: dtype as GgufDtype,
    vocab,
    modelName: path.basename(path.resolve(dir)),
  });
  const mb = fs.statSync(out).size / 2 ** 20;
  console.log(
    `wrote ${out} (${mb.toFixed(1)} MB, ${dtype}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return 0;
}

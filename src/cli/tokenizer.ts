// `vila tokenizer`: train a byte-level BPE tokenizer from JSONL text (writes tokenizer.json +
// tokenizer_config.json), or encode a string with a tokenizer folder for debugging.

import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BadSamples } from "../data/bad_samples.js";
import { readJsonl } from "../data/jsonl.js";
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  trainBpeFromCounts,
  WordCounter,
} from "../tokenizer/bpe_train.js";
import { tokenizerImageToken } from "../tokenizer/image_tokens.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";

const TRAIN_SPEC: Record<string, OptionSpec> = {
  input: {
    type: "string",
    describe:
      "JSONL file(s), comma-separated; text is taken from text / caption / text_list / conversations[].value",
    required: true,
  },
  "vocab-size": { type: "number", describe: "vocabulary size including special tokens", required: true },
  out: {
    type: "string",
    describe: "output folder for tokenizer.json and tokenizer_config.json",
    required: true,
  },
  "min-frequency": {
    type: "number",
    describe: "stop merging when the best pair is rarer than this",
    default: 2,
  },
  "special-tokens": {
    type: "string",
    describe: "extra special tokens, comma-separated (e.g. chat-template markers)",
    default: "",
  },
  "model-max-length": {
    type: "number",
    describe: "model_max_length written to tokenizer_config.json",
    default: 2048,
  },
  "skip-bad-samples": {
    type: "boolean",
    describe: "skip malformed JSONL lines (counted and reported) instead of failing",
  },
};

const ENCODE_SPEC: Record<string, OptionSpec> = {
  tokenizer: {
    type: "string",
    describe: "folder with tokenizer.json or tokenizer.model (+ tokenizer_config.json)",
    required: true,
  },
  text: { type: "string", describe: "text to encode", required: true },
  "no-special": { type: "boolean", describe: "do not add BOS/EOS" },
  json: { type: "boolean", describe: "print JSON" },
};

function textsOf(v: unknown): string[] {
  if (typeof v !== "object" || v === null) return [];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ["text", "caption"]) if (typeof o[k] === "string") out.push(o[k] as string);
  if (Array.isArray(o.text_list)) out.push(o.text_list.filter((s) => typeof s === "string").join(" "));
  if (Array.isArray(o.conversations)) {
    for (const t of o.conversations)
      if (t && typeof (t as { value?: unknown }).value === "string") out.push((t as { value: string }).value);
  }
  return out;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function train(argv: string[]): Promise<number> {
  const cmd = "vila tokenizer train";
  const { opts, help } = parseArgs(argv, TRAIN_SPEC, cmd);
  if (help) {
    console.log(
      helpText(
        cmd,
        "Train a byte-level BPE tokenizer (Hugging Face tokenizer.json) from JSONL text.",
        TRAIN_SPEC,
      ),
    );
    return 0;
  }
  const files = String(opts.input).split(",").filter(Boolean);
  const bad = new BadSamples(opts["skip-bad-samples"] === true);
  const wc = new WordCounter();
  const t0 = Date.now();
  let docs = 0;
  for (const f of files) {
    for await (const { value } of readJsonl(f, bad)) {
      for (const t of textsOf(value)) wc.add(t);
      docs++;
    }
  }
  const extra = String(opts["special-tokens"]).split(",").filter(Boolean);
  const trainOpts = {
    vocabSize: Number(opts["vocab-size"]),
    minFrequency: Number(opts["min-frequency"]),
    extraSpecialTokens: extra,
    modelMaxLength: Number(opts["model-max-length"]),
  };
  const result = trainBpeFromCounts(wc.counts, trainOpts);
  const out = String(opts.out);
  await mkdir(out, { recursive: true });
  await writeAtomic(join(out, "tokenizer.json"), JSON.stringify(buildTokenizerJson(result)));
  await writeAtomic(
    join(out, "tokenizer_config.json"),
    `${JSON.stringify(buildTokenizerConfig(result, trainOpts), null, 2)}\n`,
  );
  console.log(
    `trained ${result.vocab.size} tokens (${result.merges.length} merges) from ${docs} records, ${wc.counts.size} distinct words in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${out}`,
  );
  const report = bad.report();
  if (report) console.log(report);
  return 0;
}

async function encode(argv: string[]): Promise<number> {
  const cmd = "vila tokenizer encode";
  const { opts, help } = parseArgs(argv, ENCODE_SPEC, cmd);
  if (help) {
    console.log(
      helpText(cmd, 'Encode text (split on "<image>" the VILA way) and show ids and tokens.', ENCODE_SPEC),
    );
    return 0;
  }
  const tok = await loadTokenizer(String(opts.tokenizer));
  const text = String(opts.text);
  const ids = opts["no-special"]
    ? tok.encode(text, { addSpecialTokens: false })
    : tokenizerImageToken(text, tok);
  const tokens = ids.map((id) => (id < 0 ? `[${id}]` : (tok.idToToken(id) ?? "?")));
  if (opts.json) console.log(JSON.stringify({ ids, tokens }));
  else {
    console.log(ids.join(" "));
    console.log(tokens.map((t) => JSON.stringify(t)).join(" "));
  }
  return 0;
}

/** `vila tokenizer <train|encode> ...` */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "train") return train(rest);
  if (sub === "encode") return encode(rest);
  console.log("usage: vila tokenizer <train|encode> [options]   (vila tokenizer <sub> --help)");
  return sub === undefined || sub === "--help" || sub === "-h" ? 0 : 2;
}

// `vila infer`: answer one question about zero or more images with a VILA checkpoint, streaming
// the answer (run_vila.py / vila-infer). Defaults are VILA's: temperature 0.2, top_p 0.9, 512 new
// tokens; the prompt goes through the conversation template (--conv-mode, "auto" picks from the
// checkpoint); a question without <image> gets one "<image>\n" per image in front. --json prints
// one object with the text, finish reason, usage and timings instead.

import {
  type GenerateOptions,
  type GenerationResult,
  generate,
  loadPipeline,
  newSession,
  type Pipeline,
  readImages,
} from "../infer/index.js";
import { promptFormatName } from "../tokenizer/templates.js";
import { helpText, type OptionSpec, type Parsed, parseArgs } from "./args.js";

/** Generation options shared by `vila infer` and `vila chat`. */
export const GENERATION_SPEC: Record<string, OptionSpec> = {
  model: {
    type: "string",
    describe: "checkpoint folder (VILA1.5 layout or monolithic LLaVA/VILA)",
    required: true,
  },
  "conv-mode": {
    type: "string",
    describe:
      "conversation template: vicuna_v1, llama_3, hermes-2, plain, raw (no template: a model before SFT continues the text), or auto (from the checkpoint)",
    default: "auto",
  },
  system: { type: "string", describe: "replace the template's system prompt" },
  temperature: { type: "number", describe: "sampling temperature; 0 = greedy", default: 0.2 },
  "top-p": {
    type: "number",
    describe: "nucleus sampling: smallest set of tokens with probability >= top-p (1 = off)",
    default: 0.9,
  },
  "top-k": { type: "number", describe: "keep the k most likely tokens (0 = off)", default: 0 },
  "repetition-penalty": {
    type: "number",
    describe: "HF repetition penalty on generated tokens (1 = off)",
    default: 1,
  },
  "max-new-tokens": {
    type: "number",
    describe: "new tokens at most (also bounded by the context)",
    default: 512,
  },
  seed: { type: "number", describe: "seed for sampling (default: random)" },
  "keep-dtype": { type: "boolean", describe: "keep bf16/f16 weights in their storage dtype (less memory)" },
};

const SPEC: Record<string, OptionSpec> = {
  ...GENERATION_SPEC,
  image: { type: "string", describe: "image file (JPEG/PNG/WebP); repeat for several", multiple: true },
  text: {
    type: "string",
    describe: "the question (may contain <image> placeholders, one per image)",
    required: true,
  },
  json: {
    type: "boolean",
    describe: "print one JSON object {text, finishReason, usage, timings, ...} instead of streaming",
  },
};

/** Sampling options from parsed flags. */
export function samplingOf(
  opts: Parsed["opts"],
): Pick<GenerateOptions, "temperature" | "topP" | "topK" | "repetitionPenalty" | "maxNewTokens" | "seed"> {
  return {
    temperature: opts.temperature as number,
    topP: opts["top-p"] as number,
    topK: opts["top-k"] as number,
    repetitionPenalty: opts["repetition-penalty"] as number,
    maxNewTokens: opts["max-new-tokens"] as number,
    seed: opts.seed as number | undefined,
  };
}

export async function loadFromFlags(opts: Parsed["opts"]): Promise<Pipeline> {
  return loadPipeline(opts.model as string, { keepDtype: opts["keep-dtype"] === true });
}

export async function run(argv: string[]): Promise<number> {
  const { opts, help } = parseArgs(argv, SPEC, "vila infer");
  if (help) {
    console.log(
      helpText("vila infer", "Answer a question about images with a VILA model, streaming the answer.", SPEC),
    );
    return 0;
  }
  const pipeline = await loadFromFlags(opts);
  const convMode = opts["conv-mode"] as string;
  const session = newSession(pipeline, convMode, { system: opts.system as string | undefined });
  const files = (opts.image as string[] | undefined) ?? [];
  const turn = session.prepare(opts.text as string, await readImages(pipeline, files));
  const json = opts.json === true;
  let result: GenerationResult | null = null;
  let started = false;
  for await (const ev of generate(pipeline.model, session.inputOf(turn, pipeline.model), {
    ...samplingOf(opts),
    ...session.optionsOf(turn),
    tokenizer: pipeline.tokenizer,
  })) {
    if (!json && ev.text) {
      // VILA strips the answer: drop leading whitespace of the stream
      const text = started ? ev.text : ev.text.trimStart();
      if (text) {
        process.stdout.write(text);
        started = true;
      }
    }
    if (ev.type === "done") result = ev.result;
  }
  if (!result) throw new Error("vila infer: generation produced no result");
  if (json) {
    const out = {
      text: result.text.trim(),
      finishReason: result.finishReason,
      stoppedBy: result.stoppedBy ?? null,
      tokens: result.tokens,
      usage: result.usage,
      timings: result.timings,
      template: promptFormatName(session.opts.format),
      prompt: turn.prompt,
      images: files,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else process.stdout.write("\n");
  return 0;
}

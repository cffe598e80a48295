// `vila generate`: greedy decoding with the KV cache from token ids (or a VILA-tokenized prompt) and
// images; prints {"tokens": [...]} (the new tokens only). No stop condition unless --stop-at-eos, so
// outputs compare token for token with other implementations' greedy loops.

import { generateAll } from "../infer/index.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";
import { MODEL_INPUT_SPEC, modelInputs } from "./logits.js";

const SPEC: Record<string, OptionSpec> = {
  ...MODEL_INPUT_SPEC,
  "max-new-tokens": { type: "number", describe: "tokens to generate", default: 16 },
  "stop-at-eos": { type: "boolean", describe: "stop at the LLM's eos_token_id (the EOS is printed)" },
};

export async function run(argv: string[]): Promise<number> {
  const { opts, help } = parseArgs(argv, SPEC, "vila generate");
  if (help) {
    console.log(
      helpText("vila generate", 'Greedy generation with the KV cache; prints {"tokens": [...]}.', SPEC),
    );
    return 0;
  }
  const { pipeline, ids, images } = await modelInputs(opts, "vila generate");
  const eos = pipeline.model.llm.config.eos_token_id;
  const stopTokenIds =
    opts["stop-at-eos"] === true ? (Array.isArray(eos) ? eos : eos !== undefined ? [eos] : []) : [];
  if (opts["stop-at-eos"] === true && stopTokenIds.length === 0)
    throw new Error("vila generate: --stop-at-eos, but the LLM config has no eos_token_id");
  const [result] = await generateAll(
    pipeline.model,
    { prompts: [ids], images },
    {
      maxNewTokens: opts["max-new-tokens"] as number,
      temperature: 0,
      stopTokenIds,
      maxContext: pipeline.model.llm.config.max_position_embeddings,
    },
  );
  process.stdout.write(`${JSON.stringify({ tokens: result.tokens })}\n`);
  return 0;
}

// `vila logits`: the logits of every position of the expanded sequence (text tokens and image
// embeddings) for one prompt, as one JSON object {"logits": [[V floats] x L]} — the hook other
// implementations are compared through. The prompt is `--ids` (with -200 where images go) or
// `--prompt` text tokenized the VILA1.5 way (chunks around "<image>").

import { loadPipeline, type Pipeline, readImages, stackImages, tokenizePrompt } from "../infer/index.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { helpText, type OptionSpec, type Parsed, parseArgs } from "./args.js";

/** Options shared by `vila logits` and `vila generate`. */
export const MODEL_INPUT_SPEC: Record<string, OptionSpec> = {
  model: {
    type: "string",
    describe: "checkpoint folder (VILA1.5 layout or monolithic LLaVA/VILA)",
    required: true,
  },
  ids: {
    type: "string",
    describe: "comma-separated token ids, -200 where an image goes (e.g. --ids=1,3,-200,5)",
  },
  prompt: {
    type: "string",
    describe: "prompt text with <image> placeholders, tokenized as VILA does (instead of --ids)",
  },
  image: {
    type: "string",
    describe: "image file (JPEG/PNG/WebP), one per -200 / <image>, in order",
    multiple: true,
  },
};

const SPEC: Record<string, OptionSpec> = { ...MODEL_INPUT_SPEC };

/** "1,3,-200,5" -> [1, 3, -200, 5]; errors name the bad entry. */
export function parseIdList(text: string, option = "--ids"): number[] {
  const parts = text.split(",").map((s) => s.trim());
  return parts.map((s, i) => {
    const v = Number(s);
    if (s === "" || !Number.isInteger(v))
      throw new Error(`${option}: entry ${i + 1} "${s}" is not an integer token id`);
    return v;
  });
}

/** Load the checkpoint and build the single prompt + image batch that --ids/--prompt/--image describe. */
export async function modelInputs(
  opts: Parsed["opts"],
  command: string,
): Promise<{ pipeline: Pipeline; ids: number[]; images: Tensor | null }> {
  const hasIds = typeof opts.ids === "string";
  const hasPrompt = typeof opts.prompt === "string";
  if (hasIds === hasPrompt) throw new Error(`${command}: give exactly one of --ids or --prompt`);
  const pipeline = await loadPipeline(opts.model as string);
  const ids = hasIds
    ? parseIdList(opts.ids as string)
    : tokenizePrompt(opts.prompt as string, pipeline.tokenizer);
  if (ids.length === 0) throw new Error(`${command}: the prompt has no tokens`);
  const images = stackImages(await readImages(pipeline, (opts.image as string[] | undefined) ?? []));
  return { pipeline, ids, images };
}

export async function run(argv: string[]): Promise<number> {
  const { opts, help } = parseArgs(argv, SPEC, "vila logits");
  if (help) {
    console.log(
      helpText(
        "vila logits",
        'Print {"logits": [[V floats] x L]} for every position of the expanded sequence (image embeddings included).',
        SPEC,
      ),
    );
    return 0;
  }
  const { pipeline, ids, images } = await modelInputs(opts, "vila logits");
  const logits = noGrad(
    () =>
      pipeline.model.forward({ inputIds: new Tensor(Int32Array.from(ids), [1, ids.length]), images }).logits,
  ); // (1, L, V)
  const [, L, V] = logits.shape;
  const f = logits.f32;
  const rows: number[][] = [];
  for (let t = 0; t < L; t++) rows.push(Array.from(f.subarray(t * V, (t + 1) * V)));
  process.stdout.write(`${JSON.stringify({ logits: rows })}\n`);
  return 0;
}

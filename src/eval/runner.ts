// The evaluation runner: build every item's prompt (k-shot, in the model's conversation template),
// generate answers in batches through src/infer's `generate` (greedy, left-padded batches of items
// sorted by prompt length, stop strings of the template), strip them as LLaVA's model_vqa does, and
// score them with the benchmark's metric. The "image withheld" baseline replaces every image
// (queries and demonstrations) by the mean image: every pixel the preprocessor's mean colour, which
// normalises to (about) zero — the model sees the same prompt with no visual information.

import { expandedLength, generateAll } from "../infer/generate.js";
import { renderPrompt, stopConditions, tokenizePrompt } from "../infer/prompt.js";
import { contextLimit, stackImages } from "../infer/session.js";
import type { ImageTensor, PreprocessConfig } from "../io/image.js";
import { loadImage, preprocessImage } from "../io/image.js";
import type { VilaForCausalLM } from "../models/vila.js";
import { stack } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { type PromptFormat, promptFormatName, resolvePromptFormat } from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { yieldToEventLoop } from "../train/yield.js";
import { type EvalItem, type LoadedBenchmark, subsetBenchmark } from "./benchmarks.js";
import { buildMessages, DEFAULT_DEMO_TEMPLATE, type FewShotFormat, selectDemos } from "./prompts.js";
import { type BenchmarkScore, scoreBenchmark } from "./score.js";

export interface EvalOptions {
  /** demonstrations per question (default 0). */
  shots?: number;
  /** seed of the demonstration choice (default 0). */
  seed?: number;
  /** questions per generate() call (default 8). */
  batchSize?: number;
  /** default 128 (LLaVA's model_vqa_loader). */
  maxNewTokens?: number;
  /** k-shot layout (default "interleaved"). */
  promptFormat?: FewShotFormat;
  /** interleaved demonstration template (default "{question} {answer}\n"). */
  demoTemplate?: string;
  /** conversation template: a built-in name, "auto" (needs `modelName`), or a resolved format. */
  convMode?: string | PromptFormat;
  /** model name or path, for convMode "auto". */
  modelName?: string;
  /** replaces the template's system prompt. */
  system?: string;
  /** the "image withheld" baseline: every image replaced by the mean image. */
  withholdImage?: boolean;
  /** evaluate the first N questions only (the score is over those N). */
  limit?: number;
  /** prompt + completion positions; default min(max_position_embeddings, tokenizer model_max_length). */
  maxContext?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One generated answer. */
export interface ItemPrediction {
  id: string;
  rawId: string | number;
  /** the question text (the `prompt` of LLaVA answer files). */
  question: string;
  /** the generated answer, stripped. */
  text: string;
  /** the whole prompt given to the model (template, demonstrations). */
  prompt: string;
  promptTokens: number;
  completionTokens: number;
}

export interface EvalResult extends BenchmarkScore {
  bench: string;
  shots: number;
  seed: number;
  promptFormat: FewShotFormat;
  convMode: string;
  withholdImage: boolean;
  /** in question order. */
  predictions: ItemPrediction[];
  /** the benchmark as evaluated (after `limit`). */
  evaluated: LoadedBenchmark;
  timings: { seconds: number; questionsPerSecond: number; generatedTokens: number; tokensPerSecond: number };
}

interface Prepared {
  item: EvalItem;
  prompt: string;
  ids: number[];
  images: string[];
  promptTokens: number;
}

function decodeDataUri(uri: string): Uint8Array {
  const comma = uri.indexOf(",");
  if (comma < 0 || !uri.slice(0, comma).endsWith(";base64"))
    throw new Error(`image ${uri.slice(0, 40)}...: only base64 data: URIs are supported`);
  return Buffer.from(uri.slice(comma + 1), "base64");
}

/** The mean image through the checkpoint's preprocessing: what replaces images when they are withheld. */
export function meanImage(pre: PreprocessConfig, side = 32): ImageTensor {
  const rgb = pre.mean.map((m) => Math.round(m * 255));
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) data.set(rgb, 3 * i);
  return preprocessImage({ data, width: side, height: side }, pre);
}

/** Loads an image through the checkpoint's preprocessing, or the mean image when images are withheld. */
class ImageLoader {
  private blank: ImageTensor | null = null;
  constructor(
    private pre: PreprocessConfig,
    private withhold: boolean,
  ) {}

  async get(ref: string): Promise<ImageTensor> {
    if (this.withhold) {
      this.blank ??= meanImage(this.pre);
      return this.blank;
    }
    return ref.startsWith("data:")
      ? await loadImage(decodeDataUri(ref), this.pre, "inline image")
      : await loadImage(ref, this.pre);
  }
}

/**
 * The image embeddings (tower + projector) of a batch. Demonstration images come back in many
 * prompts (a 4-shot run over 600 questions draws 2,400 demonstrations from 32 support items), so
 * an image the evaluation meets again keeps its embeddings until its last use; every image is
 * encoded once. `uses` lists every image reference of the evaluation, in any order.
 */
class ImageEmbeddings {
  private left = new Map<string, number>();
  private kept = new Map<string, Tensor>(); // (N, C)
  constructor(
    private model: VilaForCausalLM,
    private loader: ImageLoader,
    uses: Iterable<string>,
  ) {
    for (const k of uses) this.left.set(k, (this.left.get(k) ?? 0) + 1);
  }

  /** (nImg, N, C) for the references in prompt order; null for none. */
  async embed(refs: string[]): Promise<Tensor | null> {
    if (refs.length === 0) return null;
    const missing = [...new Set(refs.filter((r) => !this.kept.has(r)))];
    if (missing.length) {
      const pixels: ImageTensor[] = [];
      for (const r of missing) pixels.push(await this.loader.get(r));
      const per = this.model.embedEach(stackImages(pixels) as Tensor);
      for (const [i, r] of missing.entries()) this.kept.set(r, per[i]);
    }
    const rows = refs.map((r) => this.kept.get(r) as Tensor);
    for (const r of refs) {
      const n = (this.left.get(r) ?? 1) - 1;
      this.left.set(r, n);
      if (n <= 0) this.kept.delete(r);
    }
    return stack(rows, 0);
  }
}

/**
 * Where an evaluated answer ends. Raw (a model before SFT continuing pre-training text): at the end
 * of its line, as the format's own stops say, or of its sentence, since a pre-training document
 * gives each image one sentence ("<image> this is a dax. <image> ...") and the model goes on to the
 * next one. Few-shot evaluations of base VLMs cut the same way (OpenFlamingo's VQA post-processing
 * keeps the text before the next "Question"/"Answer" and its first comma). Templates: their stops.
 */
export function evalStops(
  format: PromptFormat,
  tok: Tokenizer,
): { stopTokenIds: number[]; stopStrings: string[] } {
  const stops = stopConditions(format, tok);
  return format.kind === "raw" ? { ...stops, stopStrings: [...stops.stopStrings, ". ", "? ", "! "] } : stops;
}

function convModeName(f: PromptFormat): string {
  return f.kind === "jinja" ? "jinja" : promptFormatName(f);
}

/**
 * Evaluate a model on a benchmark: generate an answer per question and score it.
 * @example
 * const { model, checkpoint } = loadVila("ckpt");
 * const tok = await loadTokenizer(checkpoint.tokenizerDir!);
 * const r = await evaluate(model, tok, checkpoint.vision_tower.preprocess, loadWorldBenchmark("world", "vqa"), { shots: 4, convMode: "vicuna_v1" });
 * console.log(r.metric, r.score, r.missing.length);
 */
export async function evaluate(
  model: VilaForCausalLM,
  tokenizer: Tokenizer,
  preprocess: PreprocessConfig,
  bench: LoadedBenchmark,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const t0 = performance.now();
  const shots = opts.shots ?? 0;
  const seed = opts.seed ?? 0;
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const style = {
    format: opts.promptFormat ?? "interleaved",
    demoTemplate: opts.demoTemplate ?? DEFAULT_DEMO_TEMPLATE,
  };
  const conv = opts.convMode ?? "auto";
  const format: PromptFormat =
    typeof conv === "string"
      ? resolvePromptFormat(conv, { modelName: opts.modelName, chatTemplate: tokenizer.chatTemplate })
      : conv;
  const maxContext = opts.maxContext ?? contextLimit(model, tokenizer);
  const items = opts.limit !== undefined ? bench.items.slice(0, Math.max(0, opts.limit)) : bench.items;
  if (items.length === 0) throw new Error(`${bench.name}: no questions to evaluate (limit ${opts.limit})`);
  const evaluated = subsetBenchmark(bench, items);
  const stops = evalStops(format, tokenizer);

  const prepared: Prepared[] = items.map((item) => {
    const demos = selectDemos(item, bench.support, shots, seed, bench.name);
    let built: ReturnType<typeof buildMessages>;
    try {
      built = buildMessages(item, demos, style);
    } catch (e) {
      throw new Error(
        `${bench.files.questions} ${item.where} (question_id ${item.id}): ${(e as Error).message}`,
      );
    }
    const prompt = renderPrompt(
      format,
      built.messages,
      tokenizer,
      opts.system !== undefined ? { system: opts.system } : {},
    );
    const ids = tokenizePrompt(prompt, tokenizer, format);
    const promptTokens = expandedLength(ids, model.imageTokens);
    if (promptTokens >= maxContext) {
      throw new Error(
        `${bench.name} question_id ${item.id}: the ${shots}-shot prompt is ${promptTokens} positions (${built.images.length} image(s) x ${model.imageTokens}) but the model's context is ${maxContext}; use fewer shots`,
      );
    }
    return { item, prompt, ids, images: built.images, promptTokens };
  });

  // longest first: rows of a batch have similar lengths, so left padding wastes little
  const order = prepared
    .map((_, i) => i)
    .sort((a, b) => prepared[b].ids.length - prepared[a].ids.length || a - b);
  const withhold = opts.withholdImage ?? false;
  const loader = new ImageLoader(preprocess, withhold);
  // withheld, every image is the mean image: one key
  const key = (ref: string) => (withhold ? "" : ref);
  const embeddings = new ImageEmbeddings(
    model,
    loader,
    prepared.flatMap((p) => p.images.map(key)),
  );
  const texts = new Array<string>(prepared.length);
  const completion = new Array<number>(prepared.length).fill(0);
  let done = 0;
  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize).map((i) => prepared[i]);
    const imageEmbeds = await embeddings.embed(batch.flatMap((p) => p.images.map(key)));
    const results = await generateAll(
      model,
      { prompts: batch.map((p) => p.ids), imageEmbeds },
      {
        tokenizer,
        temperature: 0,
        maxNewTokens: opts.maxNewTokens ?? 128,
        stopTokenIds: stops.stopTokenIds,
        stopStrings: stops.stopStrings,
        maxContext,
        signal: opts.signal,
      },
    );
    results.forEach((r, j) => {
      const i = order[s + j];
      texts[i] = r.text.trim();
      completion[i] = r.usage.completionTokens;
    });
    done += batch.length;
    opts.onProgress?.(done, order.length);
    await yieldToEventLoop(); // a SIGINT sets the signal here, even when every image is cached
    if (opts.signal?.aborted)
      throw new Error(`${bench.name}: evaluation aborted after ${done} of ${order.length} questions`);
  }

  const predictions: ItemPrediction[] = prepared.map((p, i) => ({
    id: p.item.id,
    rawId: p.item.rawId,
    question: p.item.text,
    text: texts[i],
    prompt: p.prompt,
    promptTokens: p.promptTokens,
    completionTokens: completion[i],
  }));
  const score = scoreBenchmark(
    evaluated,
    new Map(predictions.map((p) => [p.id, p.text])),
    `${bench.name} predictions`,
  );
  const seconds = (performance.now() - t0) / 1000;
  const generatedTokens = completion.reduce((a, b) => a + b, 0);
  return {
    ...score,
    bench: bench.name,
    shots,
    seed,
    promptFormat: style.format,
    convMode: convModeName(format),
    withholdImage: opts.withholdImage ?? false,
    predictions,
    evaluated,
    timings: {
      seconds,
      questionsPerSecond: items.length / seconds,
      generatedTokens,
      tokensPerSecond: generatedTokens / seconds,
    },
  };
}

/**
 * Score an existing predictions map (e.g. read back from a predictions file) as an EvalResult, so
 * the same outputs can be written; questions without a prediction count as wrong and are listed.
 */
export function resultFromPredictions(
  bench: LoadedBenchmark,
  preds: ReadonlyMap<string, string>,
  meta: {
    shots?: number;
    seed?: number;
    promptFormat?: FewShotFormat;
    convMode?: string;
    withholdImage?: boolean;
    source?: string;
  } = {},
): EvalResult {
  const score = scoreBenchmark(bench, preds, meta.source);
  const predictions: ItemPrediction[] = bench.items
    .filter((it) => preds.has(it.id))
    .map((it) => ({
      id: it.id,
      rawId: it.rawId,
      question: it.text,
      text: preds.get(it.id) as string,
      prompt: "",
      promptTokens: 0,
      completionTokens: 0,
    }));
  return {
    ...score,
    bench: bench.name,
    shots: meta.shots ?? 0,
    seed: meta.seed ?? 0,
    promptFormat: meta.promptFormat ?? "interleaved",
    convMode: meta.convMode ?? "",
    withholdImage: meta.withholdImage ?? false,
    predictions,
    evaluated: bench,
    timings: { seconds: 0, questionsPerSecond: 0, generatedTokens: 0, tokensPerSecond: 0 },
  };
}

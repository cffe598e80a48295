// Autoregressive generation on VilaForCausalLM with a KV cache, as an AsyncIterable of token events
// (the shape web-llm / node-llama-cpp expose; CLI, server and eval runners only consume it).
// One prefill over the (left-padded) batch, then one token per row per step with last-position
// logits; sampling as HF `generate` (sampling.ts); stop token ids and stop strings (VILA's
// KeywordsStoppingCriteria; the stop string is cut from the text); `maxNewTokens` bounded by the
// context; an AbortSignal ends every row with finishReason "abort". Repetition penalty covers the
// generated tokens only: VILA1.5 calls the LLM's generate with inputs_embeds, so HF's input_ids
// (what the penalty looks at) start empty.

import { KVCache } from "../models/llm/llama.js";
import type { VilaForCausalLM, VilaInputs } from "../models/vila.js";
import { releaseF32, withPoolScope } from "../tensor/pool.js";
import { Generator } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { IMAGE_TOKEN_INDEX } from "../tokenizer/constants.js";
import { checkSamplingOptions, type SamplingOptions, selectToken } from "./sampling.js";
import { type TextDecoderLike, TextStreamer } from "./streamer.js";

/** What to generate from: one prompt per row (ids with -200 where images go) and the images. */
export interface GenerateInput {
  prompts: number[][];
  /** (nImg, 3, H, W) pixels in the order the -200 markers appear, row by row. */
  images?: Tensor | null;
  /** (nImg, N, C) the images' embeddings (`model.encodeImages`) in place of `images`. */
  imageEmbeds?: Tensor | null;
}

export interface GenerateOptions extends SamplingOptions {
  /** new tokens per row at most (VILA default 512); also bounded by `maxContext`. */
  maxNewTokens?: number;
  /** seed of the sampling Generator (ignored when `generator` is given); default: a random seed. */
  seed?: number;
  generator?: Generator;
  /** token ids that end a row (kept in `tokens`, not in `text`), e.g. EOS. */
  stopTokenIds?: number[];
  /** strings that end a row, cut from the text (needs `tokenizer`), e.g. the template's separator. */
  stopStrings?: string[];
  /** decodes the text of each row and the streamed deltas; without it, `text` is "". */
  tokenizer?: TextDecoderLike;
  /** default true (VILA decodes with skip_special_tokens=True). */
  skipSpecialTokens?: boolean;
  signal?: AbortSignal;
  /** positions the model may see (prompt + completion); default the LLM's max_position_embeddings. */
  maxContext?: number;
  /** id fed to rows that have finished while others go on; default the LLM's pad_token_id or 0. */
  padTokenId?: number;
}

export interface Usage {
  /** positions of the expanded prompt (text tokens + image embeddings). */
  promptTokens: number;
  /** generated tokens, a stop token included. */
  completionTokens: number;
  totalTokens: number;
}

export interface Timings {
  prefillMs: number;
  /** from the end of the prefill to this row's last token. */
  decodeMs: number;
  /** tokens produced by decode steps (all but the first, which comes from the prefill) per second. */
  tokensPerSecond: number;
}

/** "stop": a stop token or string; "length": maxNewTokens or the context is used up; "abort": the signal. */
export type FinishReason = "stop" | "length" | "abort";

export interface GenerationResult {
  row: number;
  tokens: number[];
  /** decoded completion, stop string and anything after it removed (not trimmed). */
  text: string;
  finishReason: FinishReason;
  /** the stop token id or stop string that ended the row. */
  stoppedBy?: number | string;
  usage: Usage;
  timings: Timings;
}

export type GenerateEvent =
  /** `text`: newly releasable text of the row (word boundaries; may be ""). */
  | { type: "token"; row: number; token: number; text: string }
  /** `text`: what was still held back when the row ended early (abort); "" otherwise. */
  | { type: "done"; row: number; text: string; result: GenerationResult };

interface RowState {
  tokens: number[];
  promptTokens: number;
  limit: number;
  streamer: TextStreamer | null;
  done: GenerationResult | null;
}

/** Expanded length of a prompt: text ids plus `imageTokens` positions per -200. */
export function expandedLength(ids: readonly number[], imageTokens: number): number {
  let n = 0;
  for (const id of ids) n += id === IMAGE_TOKEN_INDEX ? imageTokens : 1;
  return n;
}

/** (B, L) left-padded ids and mask (null when every row has the same length). */
function leftPad(prompts: number[][], padId: number): { ids: Tensor; mask: Tensor | null } {
  const B = prompts.length;
  const L = Math.max(...prompts.map((p) => p.length));
  const ids = new Int32Array(B * L).fill(padId);
  const mask = new Int32Array(B * L);
  prompts.forEach((p, b) => {
    ids.set(p, b * L + L - p.length);
    mask.fill(1, b * L + L - p.length, (b + 1) * L);
  });
  const padded = prompts.some((p) => p.length !== L);
  return { ids: new Tensor(ids, [B, L]), mask: padded ? new Tensor(mask, [B, L]) : null };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Generate from a batch of prompts. Yields a "token" event per new token of each row and one "done"
 * event per row; rows of different lengths are left-padded and give the same tokens as alone.
 * @example
 * for await (const ev of generate(model, { prompts: [ids], images }, { tokenizer, maxNewTokens: 64, stopTokenIds: [tok.eosId!] })) {
 *   process.stdout.write(ev.text);
 *   if (ev.type === "done") console.log(ev.result.usage);
 * }
 */
export async function* generate(
  model: VilaForCausalLM,
  input: GenerateInput,
  opts: GenerateOptions = {},
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { prompts } = input;
  if (prompts.length === 0) throw new Error("generate: no prompts");
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new Error(`generate: prompt ${b} is empty`);
    for (const id of p) {
      if (
        !Number.isInteger(id) ||
        (id !== IMAGE_TOKEN_INDEX && (id < 0 || id >= model.config.llm.vocab_size))
      ) {
        throw new Error(
          `generate: prompt ${b} has id ${id}, not a token id of a vocabulary of ${model.config.llm.vocab_size} (or ${IMAGE_TOKEN_INDEX} for an image)`,
        );
      }
    }
  });
  checkSamplingOptions(opts);
  const maxNew = opts.maxNewTokens ?? 512;
  if (!Number.isInteger(maxNew) || maxNew < 1)
    throw new Error(`generate: maxNewTokens must be a positive integer, got ${maxNew}`);
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  if (stopStrings.length && !opts.tokenizer)
    throw new Error("generate: stop strings need a tokenizer to decode the text");
  const stopIds = new Set(opts.stopTokenIds ?? []);
  const maxContext = opts.maxContext ?? model.llm.config.max_position_embeddings;
  const padId = opts.padTokenId ?? model.llm.config.pad_token_id ?? 0;
  const gen = opts.generator ?? new Generator(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  const skipSpecialTokens = opts.skipSpecialTokens ?? true;
  const imageTokens = model.imageTokens;

  const rows: RowState[] = prompts.map((p, b) => {
    const promptTokens = expandedLength(p, imageTokens);
    if (promptTokens >= maxContext) {
      throw new Error(
        `generate: prompt ${b} is ${promptTokens} positions long (${p.length} ids, image embeddings included) and leaves no room in the model's context of ${maxContext}`,
      );
    }
    return {
      tokens: [],
      promptTokens,
      limit: Math.min(maxNew, maxContext - promptTokens),
      streamer: opts.tokenizer ? new TextStreamer(opts.tokenizer, { skipSpecialTokens, stopStrings }) : null,
      done: null,
    };
  });

  const B = prompts.length;
  const V = model.config.llm.vocab_size;
  const cache = new KVCache(model.llm.config.num_hidden_layers, {
    maxPositions: model.llm.config.max_position_embeddings,
  });
  const t0 = performance.now();
  const { ids, mask } = leftPad(prompts, padId);
  // each step's activations go back to the pool when it ends; its logits and the cache stay
  const step = (inp: VilaInputs): Tensor =>
    noGrad(() =>
      withPoolScope(
        () => model.forward(inp, { lastOnly: true }).logits,
        (lg) => [lg.f32, ...cache.storage()],
      ),
    );
  let logits = step({
    inputIds: ids,
    images: input.images ?? null,
    imageEmbeds: input.imageEmbeds ?? null,
    attentionMask: mask ?? undefined,
    paddingSide: "left",
    cache,
  }); // (B, 1, V)
  const prefillMs = performance.now() - t0;
  const tDecode = performance.now();

  const finish = (
    b: number,
    reason: FinishReason,
    stoppedBy?: number | string,
    textEnd?: number,
  ): GenerationResult => {
    const r = rows[b];
    const decodeMs = performance.now() - tDecode;
    const st = r.streamer;
    const text = st ? st.text.slice(0, textEnd ?? st.text.length) : "";
    const decoded = Math.max(0, r.tokens.length - 1);
    r.done = {
      row: b,
      tokens: r.tokens,
      text,
      finishReason: reason,
      ...(stoppedBy !== undefined ? { stoppedBy } : {}),
      usage: {
        promptTokens: r.promptTokens,
        completionTokens: r.tokens.length,
        totalTokens: r.promptTokens + r.tokens.length,
      },
      timings: { prefillMs, decodeMs, tokensPerSecond: decodeMs > 0 ? (decoded * 1000) / decodeMs : 0 },
    };
    return r.done;
  };

  while (true) {
    if (opts.signal?.aborted) {
      for (let b = 0; b < B; b++) {
        if (rows[b].done) continue;
        const text = rows[b].streamer?.end() ?? "";
        yield { type: "done", row: b, text, result: finish(b, "abort") };
      }
      return;
    }
    const next = new Int32Array(B).fill(padId);
    const lg = logits.f32;
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      if (r.done) continue;
      const token = selectToken(lg.slice(b * V, (b + 1) * V), r.tokens, opts, gen);
      r.tokens.push(token);
      next[b] = token;
      let delta = "";
      let ended: GenerationResult | null = null;
      if (stopIds.has(token)) {
        // the stop token's own text is not part of the answer
        const st = r.streamer;
        const before = st ? st.text.length : 0;
        ended = finish(b, "stop", token, before);
        if (st) delta = st.end(before);
      } else {
        const st = r.streamer;
        if (st) delta = st.put(token);
        const hit = st ? firstStop(st.text, stopStrings) : null;
        if (hit && st) {
          delta += st.end(hit.at);
          ended = finish(b, "stop", hit.stop, hit.at);
        } else if (r.tokens.length >= r.limit) {
          if (st) delta += st.end();
          ended = finish(b, "length");
        }
      }
      yield { type: "token", row: b, token, text: delta };
      if (ended) yield { type: "done", row: b, text: "", result: ended };
    }
    if (rows.every((r) => r.done)) return;
    await yieldToEventLoop(); // lets a signal handler (Ctrl-C) run between steps
    if (opts.signal?.aborted) continue;
    releaseF32(logits.f32); // read above (selectToken copies its row)
    logits = step({ inputIds: new Tensor(next, [B, 1]), cache });
  }
}

function firstStop(text: string, stops: readonly string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (!best || at < best.at)) best = { at, stop: s };
  }
  return best;
}

/** Run `generate` to the end and return the result of every row, in row order. */
export async function generateAll(
  model: VilaForCausalLM,
  input: GenerateInput,
  opts: GenerateOptions = {},
): Promise<GenerationResult[]> {
  const out: GenerationResult[] = new Array(input.prompts.length);
  for await (const ev of generate(model, input, opts)) if (ev.type === "done") out[ev.row] = ev.result;
  return out;
}

// A chat session: the history of turns and their images, the prompt rebuilt from it for every new
// user message (through the conversation template; all images of the history re-sent in order, as
// VILA's server does; each image is encoded once per session and its embeddings re-sent), checks
// that fail before anything changes (image count, context length), and the generation options that
// follow from the template (stop ids and strings). Used by `vila chat` (many turns) and `vila infer`
// (one turn).

import type { VilaForCausalLM } from "../models/vila.js";
import { stack } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import type { PromptFormat } from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { expandedLength, type GenerateInput } from "./generate.js";
import {
  addImagePlaceholders,
  checkImageCount,
  type Message,
  renderPrompt,
  stopConditions,
  tokenizePrompt,
} from "./prompt.js";

/** Preprocessed pixels of one image, channel-first (3, H, W) (io/image.ts ImageTensor). */
export interface SessionImage {
  pixels: Float32Array;
  width: number;
  height: number;
}

export interface ChatSessionOptions {
  tokenizer: Tokenizer;
  format: PromptFormat;
  /** LLM positions per image (VilaForCausalLM.imageTokens). */
  imageTokens: number;
  /** prompt + completion positions the model may use (see contextLimit). */
  maxContext: number;
  /** replaces the template's system prompt. */
  system?: string;
}

/** A prompt ready for generate(), and what committing it adds to the history. */
export interface PreparedTurn {
  /** the user message as it enters the history (placeholders added). */
  userText: string;
  /** the whole prompt text. */
  prompt: string;
  ids: number[];
  images: SessionImage[];
  /** expanded prompt length (image embeddings included). */
  promptTokens: number;
  stopTokenIds: number[];
  stopStrings: string[];
  /** new tokens that still fit in the context. */
  room: number;
}

interface HistoryTurn {
  message: Message;
  images: SessionImage[];
}

/** Context length of a model + tokenizer: the smaller of max_position_embeddings and model_max_length. */
export function contextLimit(model: VilaForCausalLM, tok: Tokenizer): number {
  return Math.min(model.llm.config.max_position_embeddings, tok.modelMaxLength);
}

/** Stack (3, H, W) images into (n, 3, H, W); null for none. All must share one size. */
export function stackImages(images: SessionImage[]): Tensor | null {
  if (images.length === 0) return null;
  const { width: W, height: H } = images[0];
  const data = new Float32Array(images.length * 3 * H * W);
  images.forEach((im, i) => {
    if (im.width !== W || im.height !== H)
      throw new Error(`image ${i} is ${im.width}x${im.height} after preprocessing, image 0 is ${W}x${H}`);
    data.set(im.pixels, i * 3 * H * W);
  });
  return new Tensor(data, [images.length, 3, H, W]);
}

/**
 * Conversation state for multi-turn chat with images.
 * @example
 * const s = new ChatSession({ tokenizer, format, imageTokens: model.imageTokens, maxContext: contextLimit(model, tokenizer) });
 * const turn = s.prepare("What is in the picture?", [img]);
 * const [r] = await generateAll(model, s.inputOf(turn), { ...s.optionsOf(turn), tokenizer });
 * s.commit(turn, r.text);
 */
export class ChatSession {
  private history: HistoryTurn[] = [];
  /** each image's embeddings (inputOf with a model), kept while the image is */
  private embeds = new WeakMap<SessionImage, Tensor>();

  constructor(readonly opts: ChatSessionOptions) {}

  /** Number of messages in the history (user and assistant). */
  get length(): number {
    return this.history.length;
  }

  /** The messages so far. */
  get messages(): Message[] {
    return this.history.map((h) => h.message);
  }

  /** Forget every turn. */
  reset(): void {
    this.history = [];
  }

  /**
   * Build the prompt for a new user message with `images`; the history is not changed. Throws on a
   * placeholder/image count mismatch or when the prompt does not fit in the context.
   */
  prepare(text: string, images: SessionImage[] = []): PreparedTurn {
    const { tokenizer: tok, format, imageTokens, maxContext } = this.opts;
    const userText = addImagePlaceholders(text, images.length);
    checkImageCount(userText, images.length);
    const messages = [...this.history.map((h) => h.message), { role: "user" as const, text: userText }];
    const allImages = [...this.history.flatMap((h) => h.images), ...images];
    const prompt = renderPrompt(format, messages, tok, { system: this.opts.system });
    const ids = tokenizePrompt(prompt, tok, format);
    const promptTokens = expandedLength(ids, imageTokens);
    if (promptTokens >= maxContext) {
      const what = this.history.length ? "the conversation" : "the prompt";
      throw new Error(
        `${what} is ${promptTokens} positions long (${allImages.length} image(s) x ${imageTokens} included) but the model's context is ${maxContext}${this.history.length ? "; /reset to start over" : ""}`,
      );
    }
    return {
      userText,
      prompt,
      ids,
      images: allImages,
      promptTokens,
      ...stopConditions(format, tok),
      room: maxContext - promptTokens,
    };
  }

  /** Append the user message of `turn` and the assistant's answer to the history. */
  commit(turn: PreparedTurn, answer: string): void {
    const fresh = turn.images.slice(this.history.flatMap((h) => h.images).length);
    this.history.push({ message: { role: "user", text: turn.userText }, images: fresh });
    this.history.push({ message: { role: "assistant", text: answer }, images: [] });
  }

  /** generate() input for a prepared turn: the images' pixels, or with `model` their embeddings,
   * each image encoded once per session (every turn re-sends the history's images, and a large
   * tower takes seconds per image; the embeddings are the model's as it was when first encoded). */
  inputOf(turn: PreparedTurn, model?: VilaForCausalLM): GenerateInput {
    if (!model || turn.images.length === 0) return { prompts: [turn.ids], images: stackImages(turn.images) };
    const missing = [...new Set(turn.images.filter((im) => !this.embeds.has(im)))];
    if (missing.length) {
      const per = model.embedEach(stackImages(missing) as Tensor);
      for (const [i, im] of missing.entries()) this.embeds.set(im, per[i]);
    }
    return {
      prompts: [turn.ids],
      imageEmbeds: stack(
        turn.images.map((im) => this.embeds.get(im) as Tensor),
        0,
      ),
    };
  }

  /** generate() options that follow from the template and context: stop conditions, context limit. */
  optionsOf(turn: PreparedTurn): { stopTokenIds: number[]; stopStrings: string[]; maxContext: number } {
    return {
      stopTokenIds: turn.stopTokenIds,
      stopStrings: turn.stopStrings,
      maxContext: this.opts.maxContext,
    };
  }
}

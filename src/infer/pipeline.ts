// Everything inference needs from a checkpoint folder, loaded once: the model, its tokenizer, the
// image preprocessing of its vision tower, the prompt format (`--conv-mode`, "auto" picking from the
// checkpoint's name, then its Jinja chat_template) and the context length.

import path from "node:path";
import type { VilaCheckpoint } from "../io/checkpoint.js";
import { loadImage, type PreprocessConfig } from "../io/image.js";
import { loadVila } from "../io/model.js";
import type { VilaForCausalLM } from "../models/vila.js";
import { type PromptFormat, resolvePromptFormat } from "../tokenizer/templates.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/tokenizer.js";
import { ChatSession, contextLimit, type SessionImage } from "./session.js";

export interface Pipeline {
  model: VilaForCausalLM;
  tokenizer: Tokenizer;
  checkpoint: VilaCheckpoint;
  preprocess: PreprocessConfig;
  /** prompt + completion positions the model may use. */
  maxContext: number;
}

/**
 * Load a checkpoint folder for inference.
 * @example
 * const p = await loadPipeline("VILA1.5-3b");
 * const session = newSession(p, "auto");
 */
export async function loadPipeline(dir: string, opts: { keepDtype?: boolean } = {}): Promise<Pipeline> {
  const { model, checkpoint } = loadVila(dir, { keepDtype: opts.keepDtype ?? false });
  if (!checkpoint.tokenizerDir)
    throw new Error(
      `checkpoint ${dir}: no tokenizer files (tokenizer.json or tokenizer.model) in llm/ or the top folder`,
    );
  const tokenizer = await loadTokenizer(checkpoint.tokenizerDir);
  return {
    model,
    tokenizer,
    checkpoint,
    preprocess: checkpoint.vision_tower.preprocess,
    maxContext: contextLimit(model, tokenizer),
  };
}

/** The prompt format for `--conv-mode` (a built-in name or "auto"). */
export function promptFormatOf(p: Pipeline, convMode: string): PromptFormat {
  const cfg = p.checkpoint.config as { _name_or_path?: unknown };
  const names = [
    path.resolve(p.checkpoint.dir),
    typeof cfg._name_or_path === "string" ? cfg._name_or_path : "",
  ];
  return resolvePromptFormat(convMode, {
    modelName: names.filter(Boolean).join(" "),
    chatTemplate: p.tokenizer.chatTemplate,
  });
}

/** A chat session on a loaded pipeline. */
export function newSession(p: Pipeline, convMode: string, opts: { system?: string } = {}): ChatSession {
  return new ChatSession({
    tokenizer: p.tokenizer,
    format: promptFormatOf(p, convMode),
    imageTokens: p.model.imageTokens,
    maxContext: p.maxContext,
    system: opts.system,
  });
}

/** Read and preprocess images (sharp decode + the checkpoint's preprocessing); errors name the file. */
export async function readImages(p: Pipeline, files: string[]): Promise<SessionImage[]> {
  const out: SessionImage[] = [];
  for (const f of files) out.push(await loadImage(f, p.preprocess));
  return out;
}

// Prompt building for inference, as VILA's tools do it: the CLI's image-prefix rule (run_vila.py:
// a query without "<image>" gets one "<image>\n" in front per image), the image-count check, the
// conversation rendered through a built-in template (`Conversation.get_prompt`) or the model's Jinja
// chat_template with a generation prompt, chunk-wise tokenization around "<image>"
// (tokenizer_image_token), and the stop ids/strings of the template (KeywordsStoppingCriteria for
// built-ins; NVILA's infer_stop_tokens for Jinja templates).

import { DEFAULT_IMAGE_TOKEN, IMAGE_TOKEN_INDEX } from "../tokenizer/constants.js";
import { tokenizerImageToken } from "../tokenizer/image_tokens.js";
import {
  type ChatMessage,
  getPrompt,
  type PromptFormat,
  renderChatTemplate,
  stopStrings,
  type Turn,
} from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

/** Number of "<image>" placeholders in `text`. */
export function countImagePlaceholders(text: string): number {
  return text.split(DEFAULT_IMAGE_TOKEN).length - 1;
}

/**
 * VILA's CLI rule: when `text` has no "<image>", put one "<image>\n" in front per image.
 * @example
 * addImagePlaceholders("Compare them.", 2) // "<image>\n<image>\nCompare them."
 */
export function addImagePlaceholders(text: string, nImages: number): string {
  if (nImages === 0 || text.includes(DEFAULT_IMAGE_TOKEN)) return text;
  return `${DEFAULT_IMAGE_TOKEN}\n`.repeat(nImages) + text;
}

/** Throw unless `text` has exactly one "<image>" per image. */
export function checkImageCount(text: string, nImages: number): void {
  const n = countImagePlaceholders(text);
  if (n !== nImages) {
    throw new Error(
      `the prompt has ${n} ${DEFAULT_IMAGE_TOKEN} placeholder(s) but ${nImages} image(s) were given; use one ${DEFAULT_IMAGE_TOKEN} per image, or none to put them all in front`,
    );
  }
}

/** One message of a conversation; user text already carries its "<image>" placeholders. */
export interface Message {
  role: "user" | "assistant";
  text: string;
}

/** The prompt text for `messages` followed by the assistant's generation slot. */
export function renderPrompt(
  format: PromptFormat,
  messages: Message[],
  tok: Tokenizer,
  opts: { system?: string } = {},
): string {
  if (format.kind === "builtin") {
    const turns: Turn[] = messages.map((m) => ({ role: m.role === "user" ? 0 : 1, text: m.text }));
    turns.push({ role: 1, text: null });
    return getPrompt(format.template, turns, opts.system !== undefined ? { system: opts.system } : {});
  }
  if (format.kind === "raw") {
    const text = messages
      .map((m) =>
        m.role === "user"
          ? m.text.replaceAll(`${DEFAULT_IMAGE_TOKEN}\n`, DEFAULT_IMAGE_TOKEN)
          : ` ${m.text}\n`,
      )
      .join("");
    return opts.system !== undefined ? `${opts.system}\n${text}` : text;
  }
  const msgs: ChatMessage[] = messages.map((m) => ({ role: m.role, content: m.text }));
  if (opts.system !== undefined) msgs.unshift({ role: "system", content: opts.system });
  return renderChatTemplate(format.source, msgs, {
    addGenerationPrompt: true,
    bosToken: tok.bosToken,
    eosToken: tok.eosToken,
  });
}

/**
 * Tokenize a prompt: the VILA1.5 way for built-in templates and raw prompts (chunks around "<image>"
 * joined by -200, one BOS: tokenizer_image_token); for a Jinja template, which writes BOS itself,
 * each chunk without special tokens (HF apply_chat_template). Every id must be a vocabulary id.
 */
export function tokenizePrompt(prompt: string, tok: Tokenizer, format?: PromptFormat): number[] {
  const ids =
    format?.kind === "jinja"
      ? prompt
          .split(DEFAULT_IMAGE_TOKEN)
          .flatMap((chunk, i) => [
            ...(i > 0 ? [IMAGE_TOKEN_INDEX] : []),
            ...tok.encode(chunk, { addSpecialTokens: false }),
          ])
      : tokenizerImageToken(prompt, tok);
  const bad = ids.findIndex(
    (id) => id !== IMAGE_TOKEN_INDEX && !(Number.isInteger(id) && id >= 0 && id < tok.vocabSize),
  );
  if (bad >= 0) {
    throw new Error(
      `the tokenizer gave no valid id (got ${ids[bad]}) for part of the prompt ${JSON.stringify(prompt.length > 200 ? `${prompt.slice(0, 200)}...` : prompt)}`,
    );
  }
  return ids;
}

/** Where generation stops for a prompt format: the EOS id, the template's stop string(s) and their ids. */
export function stopConditions(
  format: PromptFormat,
  tok: Tokenizer,
): { stopTokenIds: number[]; stopStrings: string[] } {
  const ids = new Set<number>();
  if (tok.eosId !== null) ids.add(tok.eosId);
  let strings: string[];
  if (format.kind === "builtin") strings = stopStrings(format.template);
  else if (format.kind === "raw") strings = ["\n"];
  else {
    // NVILA infer_stop_tokens: what the template writes right after an assistant message
    const sentinel = "<vila/sentinel>";
    const text = renderChatTemplate(
      format.source,
      [
        { role: "user", content: "" },
        { role: "assistant", content: sentinel },
      ],
      { bosToken: tok.bosToken, eosToken: tok.eosToken },
    );
    const after = (text.split(sentinel)[1] ?? "").trim();
    const first = after ? tok.encode(after, { addSpecialTokens: false })[0] : undefined;
    strings =
      first !== undefined && Number.isInteger(first)
        ? [tok.decode([first])].filter((s) => s.trim().length > 0)
        : [];
  }
  for (const s of strings) {
    const id = tok.tokenToId(s);
    if (id !== undefined) ids.add(id);
  }
  return { stopTokenIds: [...ids], stopStrings: strings };
}

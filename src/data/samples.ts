// Turning records into training samples the way VILA1.5 does (`llava/data/dataset.py`):
//   pair  "<image>" + caption + EOS, labels = ids (LazyCoyoDataset / LazyCoyoWebDataset)
//   mmc4  keep the first N (6) images, sort by matched_text_index (stable), prefix "<image>" to each
//         matched sentence, join with " ", remove spaces around "<image>", append EOS, drop trailing
//         image tokens; labels = ids (LazyMMC4Dataset)
//   sft   conversation template + loss only on assistant answers and their end-of-turn string
//         (preprocess_v1 / preprocess_llama_3 / preprocess_mpt / preprocess_plain)
//   text  BOS + text + EOS, labels = ids (text-only pre-training)
// A literal "<image>" inside caption/document text is escaped to "<IMAGE>" (VILA does the same).
// Labels are IGNORE_INDEX at image positions (the model gives every spliced image embedding
// IGNORE_INDEX anyway) and at padding.
//
// SFT masks: VILA counts tokens of re-tokenized round strings with tokenizer-specific corrections
// (`-2`, `-1` for rounds > 0 with Llama-2 legacy=False) and masks the whole sample on a count
// mismatch. Here each boundary (answer start, end of the answer's end-of-turn string) is located
// in the real token sequence as the common prefix of the full prompt's ids and the ids of the
// prompt cut at that boundary (for vicuna's "ASSISTANT: " the space token always goes to the
// answer, as VILA's `- 2` does). Where VILA's counts are consistent this gives the same labels (BOS
// and instructions masked; the space before an answer, the answer and its "</s>" / "<|eot_id|>" /
// "<|im_end|>" trained) and it never needs the mismatch fallback.

import {
  DEFAULT_IMAGE_TOKEN,
  ESCAPED_IMAGE_TOKEN,
  IGNORE_INDEX,
  IMAGE_TOKEN_INDEX,
} from "../tokenizer/constants.js";
import { countImageTokens, tokenizerImageToken } from "../tokenizer/image_tokens.js";
import { type ConvTemplate, getPrompt, type Turn } from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { DataError } from "./bad_samples.js";
import type { ImageRef } from "./image_ref.js";
import type {
  ConversationTurn,
  DataRecord,
  Mmc4Record,
  PairRecord,
  SftRecord,
  TextRecord,
} from "./records.js";

/** A tokenized sample: -200 at images in `inputIds`, IGNORE_INDEX (-100) where no loss is taken. */
export interface TokenizedSample {
  inputIds: Int32Array;
  labels: Int32Array;
  /** One image per IMAGE_TOKEN_INDEX in `inputIds`, in order. */
  images: ImageRef[];
  file: string;
  line: number;
}

const escapeImageToken = (s: string) => s.replaceAll(DEFAULT_IMAGE_TOKEN, ESCAPED_IMAGE_TOKEN);

function eosText(tok: Tokenizer, where: { file: string; line: number }): string {
  if (!tok.eosToken)
    throw new DataError(where.file, where.line, "tokenize", "the tokenizer has no eos_token");
  return tok.eosToken;
}

function labelsFromIds(ids: number[], tok: Tokenizer): Int32Array {
  const labels = Int32Array.from(ids);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === IMAGE_TOKEN_INDEX || (tok.padId !== null && labels[i] === tok.padId))
      labels[i] = IGNORE_INDEX;
  }
  return labels;
}

/** `"<image>" + caption + EOS` (VILA's COYO sample). */
export function buildPairSample(rec: PairRecord, tok: Tokenizer): TokenizedSample {
  const ids = tokenizerImageToken(
    DEFAULT_IMAGE_TOKEN + escapeImageToken(rec.caption) + eosText(tok, rec),
    tok,
  );
  return {
    inputIds: Int32Array.from(ids),
    labels: labelsFromIds(ids, tok),
    images: [rec.image],
    file: rec.file,
    line: rec.line,
  };
}

/** VILA's MMC4 sample (see file header); `maxImages` defaults to VILA's 6. */
export function buildMmc4Sample(
  rec: Mmc4Record,
  tok: Tokenizer,
  opts: { maxImages?: number } = {},
): TokenizedSample {
  const maxImages = opts.maxImages ?? 6;
  const sentences = rec.sentences.map(escapeImageToken);
  const kept = rec.images.slice(0, maxImages);
  // Stable sort by sentence index (numpy's argsort on <= 16 items is an insertion sort: stable).
  const order = kept
    .map((_, i) => i)
    .sort((a, b) => kept[a].matchedTextIndex - kept[b].matchedTextIndex || a - b);
  let images = order.map((i) => kept[i].ref);
  for (const im of kept)
    sentences[im.matchedTextIndex] = DEFAULT_IMAGE_TOKEN + sentences[im.matchedTextIndex];
  let text = sentences.join(" ");
  text = text
    .replaceAll(`${DEFAULT_IMAGE_TOKEN} `, DEFAULT_IMAGE_TOKEN)
    .replaceAll(` ${DEFAULT_IMAGE_TOKEN}`, DEFAULT_IMAGE_TOKEN);
  text += eosText(tok, rec);
  let ids = tokenizerImageToken(text, tok);
  if (ids.length > 0 && ids[ids.length - 1] === IMAGE_TOKEN_INDEX) {
    let last = ids.length - 1;
    while (last >= 0 && ids[last] === IMAGE_TOKEN_INDEX) last--;
    ids = ids.slice(0, last + 1);
  }
  images = images.slice(0, countImageTokens(ids));
  return {
    inputIds: Int32Array.from(ids),
    labels: labelsFromIds(ids, tok),
    images,
    file: rec.file,
    line: rec.line,
  };
}

/** BOS + text + EOS, all trained (text-only pre-training). */
export function buildTextSample(rec: TextRecord, tok: Tokenizer): TokenizedSample {
  const ids = tok.encode(rec.text);
  if (tok.eosId === null)
    throw new DataError(rec.file, rec.line, "tokenize", "the tokenizer has no eos_token");
  ids.push(tok.eosId);
  return {
    inputIds: Int32Array.from(ids),
    labels: labelsFromIds(ids, tok),
    images: [],
    file: rec.file,
    line: rec.line,
  };
}

/**
 * VILA's `preprocess_multimodal` for a sample with images: "<image>\n" is put in front of the first
 * turn when no turn has "<image>"; in a turn with "<image>", the text pieces around it are stripped
 * and re-joined as `piece + " " + "<image>\n"`, then the turn is stripped.
 */
export function normalizeImagePlaceholders(turns: ConversationTurn[]): ConversationTurn[] {
  const out = turns.map((t) => ({ ...t }));
  const any = out.some((t) => t.value.includes(DEFAULT_IMAGE_TOKEN));
  out.forEach((t, i) => {
    if (i === 0 && !any) t.value = `${DEFAULT_IMAGE_TOKEN}\n${t.value}`;
    if (t.value.includes(DEFAULT_IMAGE_TOKEN)) {
      const chunks = t.value.split(DEFAULT_IMAGE_TOKEN).map((c) => c.trim());
      const joined = chunks.map((c, j) => (j < chunks.length - 1 && !c.endsWith("\n") ? `${c} ` : c));
      t.value = joined.join(`${DEFAULT_IMAGE_TOKEN}\n`).trim();
    }
  });
  return out;
}

const USER_NAMES = new Set(["human", "user"]);
const ASSISTANT_NAMES = new Set(["gpt", "assistant"]);

function toTurns(rec: SftRecord): Turn[] {
  let conv = rec.conversations;
  const roleOf = (t: ConversationTurn, i: number): 0 | 1 => {
    if (USER_NAMES.has(t.from)) return 0;
    if (ASSISTANT_NAMES.has(t.from)) return 1;
    throw new DataError(
      rec.file,
      rec.line,
      "role",
      `conversations[${i}].from is "${t.from}" (expected human/gpt)`,
    );
  };
  // VILA: "Skip the first one if it is not from human".
  if (roleOf(conv[0], 0) !== 0) conv = conv.slice(1);
  return conv.map((t, j) => {
    const role = roleOf(t, j);
    if (t.value.trim() === "")
      throw new DataError(rec.file, rec.line, "field", `conversation turn ${j + 1} ("${t.from}") is empty`);
    if (role !== j % 2) {
      throw new DataError(
        rec.file,
        rec.line,
        "role",
        `conversation turn ${j + 1} is from "${t.from}" but turns must alternate human/gpt starting with human`,
      );
    }
    return { role, text: t.value };
  });
}

function commonPrefix(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * An SFT sample: the conversation rendered with `template`, loss only on the assistant answers and
 * each answer's end-of-turn string. `noSystemPrompt` uses an empty system (VILA's
 * `vflan_no_system_prompt` for FLAN-style text-only data).
 * @example
 * const s = buildSftSample(rec, tok, getConvTemplate("vicuna_v1"));
 */
export function buildSftSample(
  rec: SftRecord,
  tok: Tokenizer,
  template: ConvTemplate,
  opts: { noSystemPrompt?: boolean } = {},
): TokenizedSample {
  const hasImage = rec.images.length > 0;
  let convs = rec.conversations;
  if (!hasImage) {
    if (convs.some((t) => t.value.includes(DEFAULT_IMAGE_TOKEN))) {
      throw new DataError(rec.file, rec.line, "image", 'text has "<image>" but the sample has no image');
    }
  } else convs = normalizeImagePlaceholders(convs);
  const turns = toTurns({ ...rec, conversations: convs });
  if (turns.length === 0) throw new DataError(rec.file, rec.line, "role", "conversation has no human turn");

  let prompt: string;
  const spans: [number, number][] = [];
  if (template.sepStyle === "PLAIN") {
    // preprocess_plain: exactly one human + one gpt turn; the human text becomes "<image>".
    if (turns.length !== 2 || !hasImage) {
      throw new DataError(
        rec.file,
        rec.line,
        "role",
        'the "plain" template needs one image and exactly one human and one gpt turn',
      );
    }
    prompt = DEFAULT_IMAGE_TOKEN;
    const start = prompt.length;
    prompt += (turns[1].text as string) + template.sep;
    spans.push([start, prompt.length]);
  } else {
    // Character spans of [answer start, end of its end-of-turn string], found by rendering
    // prefixes with the same get_prompt (so every template's layout is honoured exactly).
    const system = opts.noSystemPrompt ? "" : undefined;
    prompt = getPrompt(template, turns, { system });
    for (let k = 0; k < turns.length; k++) {
      if (turns[k].role !== 1) continue;
      const before = getPrompt(template, [...turns.slice(0, k), { role: 1, text: null }], { system });
      const start = before.length + (template.sepStyle === "TWO" ? 1 : 0); // TWO: role + ": " + msg
      const last = k === turns.length - 1;
      const term =
        template.sepStyle === "TWO" || (template.sepStyle === "LLAMA_3" && last)
          ? (template.sep2 ?? template.sep)
          : template.sep;
      const end = start + (turns[k].text as string).length + term.length;
      if (prompt.slice(start, end) !== turns[k].text + term)
        throw new Error(`template ${template.name}: answer ${k} not found where expected`);
      spans.push([start, end]);
    }
  }
  const imagesInText = prompt.split(DEFAULT_IMAGE_TOKEN).length - 1;
  if (imagesInText !== rec.images.length) {
    throw new DataError(
      rec.file,
      rec.line,
      "image",
      `${imagesInText} "<image>" placeholder(s) in the text but ${rec.images.length} image(s)`,
    );
  }
  const ids = tokenizerImageToken(prompt, tok);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  const boundary = (charPos: number) => commonPrefix(ids, tokenizerImageToken(prompt.slice(0, charPos), tok));
  for (const [s, e] of spans) {
    let a = boundary(s);
    // TWO ("ASSISTANT: " + answer): VILA's `- 2` always gives the instruction's last token (the
    // space) to the answer, also when the space is not merged into the answer's first token.
    if (template.sepStyle === "TWO") a = Math.min(a, tokenizerImageToken(prompt.slice(0, s), tok).length - 1);
    const b = e >= prompt.length ? ids.length : boundary(e);
    for (let i = a; i < b; i++) if (ids[i] !== IMAGE_TOKEN_INDEX) labels[i] = ids[i];
  }
  return { inputIds: Int32Array.from(ids), labels, images: rec.images, file: rec.file, line: rec.line };
}

/** Options for {@link buildSample}. */
export interface BuildOptions {
  template: ConvTemplate;
  maxImages?: number;
  noSystemPrompt?: boolean;
}

/** Dispatches a record to its builder. */
export function buildSample(rec: DataRecord, tok: Tokenizer, opts: BuildOptions): TokenizedSample {
  switch (rec.kind) {
    case "pair":
      return buildPairSample(rec, tok);
    case "mmc4":
      return buildMmc4Sample(rec, tok, { maxImages: opts.maxImages });
    case "sft":
      return buildSftSample(rec, tok, opts.template, { noSystemPrompt: opts.noSystemPrompt });
    case "text":
      return buildTextSample(rec, tok);
  }
}

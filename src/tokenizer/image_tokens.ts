// VILA1.5's chunk-wise tokenization of prompts that contain "<image>"
// (`llava/mm_utils.py::tokenizer_image_token`, VILA v1.0 / vila1.5 branch).
//
// The prompt is split on the literal "<image>"; every chunk is tokenized on its own (with the
// tokenizer's special tokens, i.e. BOS when it adds one); if chunk 0 starts with BOS, BOS is emitted
// once and the first token of every chunk is dropped; chunks are joined by one IMAGE_TOKEN_INDEX.
// This gives different ids than tokenizing the whole string (SentencePiece's leading-space
// behaviour at chunk starts), which is exactly what VILA trained on.

import { DEFAULT_IMAGE_TOKEN, IMAGE_TOKEN_INDEX } from "./constants.js";
import type { Tokenizer } from "./tokenizer.js";

/**
 * Tokenizes `prompt` the VILA1.5 way: one BOS, chunks split on "<image>" joined by -200.
 * @example
 * tokenizerImageToken("<image>\nWhat is this?", tok) // [bos, -200, ...ids("\nWhat is this?")]
 */
export function tokenizerImageToken(
  prompt: string,
  tok: Tokenizer,
  imageTokenIndex = IMAGE_TOKEN_INDEX,
): number[] {
  const chunks = prompt.split(DEFAULT_IMAGE_TOKEN).map((c) => tok.encode(c));
  const out: number[] = [];
  let offset = 0;
  if (chunks.length > 0 && chunks[0].length > 0 && tok.bosId !== null && chunks[0][0] === tok.bosId) {
    offset = 1;
    out.push(chunks[0][0]);
  }
  chunks.forEach((chunk, i) => {
    if (i > 0) out.push(imageTokenIndex);
    for (let j = offset; j < chunk.length; j++) out.push(chunk[j]);
  });
  return out;
}

/** Number of IMAGE_TOKEN_INDEX placeholders in `ids`. */
export function countImageTokens(ids: ArrayLike<number>, imageTokenIndex = IMAGE_TOKEN_INDEX): number {
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === imageTokenIndex) n++;
  return n;
}

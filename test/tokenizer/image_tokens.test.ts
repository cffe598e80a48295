// VILA's chunk-wise tokenization of prompts with "<image>": one BOS, chunks joined by -200, each
// chunk tokenized on its own (checked on a trained tokenizer.json and on a Llama-style
// tokenizer.model whose behaviour is pinned by sentencepiece fixtures).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  trainBpeFromCounts,
  WordCounter,
} from "../../src/tokenizer/bpe_train.js";
import { IGNORE_INDEX, IMAGE_TOKEN_INDEX } from "../../src/tokenizer/constants.js";
import { countImageTokens, tokenizerImageToken } from "../../src/tokenizer/image_tokens.js";
import { loadTokenizer, Tokenizer } from "../../src/tokenizer/tokenizer.js";

function bpeTokenizer(): Tokenizer {
  const wc = new WordCounter();
  wc.add("what is this picture? a red cat on a mat. what is shown in the image? two dogs.\n".repeat(50));
  const r = trainBpeFromCounts(wc.counts, { vocabSize: 400 });
  return Tokenizer.fromJSON(buildTokenizerJson(r), buildTokenizerConfig(r, { vocabSize: 400 }));
}

function reference(prompt: string, tok: Tokenizer): number[] {
  // Straight from the definition: chunks with BOS stripped, BOS once, -200 between chunks.
  const chunks = prompt.split("<image>");
  const out = [tok.bosId as number];
  chunks.forEach((c, i) => {
    if (i > 0) out.push(-200);
    out.push(...tok.encode(c, { addSpecialTokens: false }));
  });
  return out;
}

test("constants are VILA's", () => {
  assert.equal(IMAGE_TOKEN_INDEX, -200);
  assert.equal(IGNORE_INDEX, -100);
});

for (const [name, make] of [
  ["tokenizer.json (byte-level BPE)", async () => bpeTokenizer()],
  ["tokenizer.model (Llama-2 style)", () => loadTokenizer("test/fixtures/tokenizer/sp_tiny")],
] as const) {
  test(`single BOS and -200 joins: ${name}`, async () => {
    const tok = await make();
    for (const p of [
      "<image>\nwhat is this picture?",
      "a red cat<image>two dogs<image>",
      "<image><image>\nwhat is shown?",
      "no image here",
      "<image>",
    ]) {
      const ids = tokenizerImageToken(p, tok);
      assert.deepEqual(ids, reference(p, tok), p);
      assert.equal(ids.filter((x) => x === tok.bosId).length, 1, "exactly one BOS");
      assert.equal(ids[0], tok.bosId);
      assert.equal(countImageTokens(ids), p.split("<image>").length - 1);
    }
  });
}

test("chunk-wise ids differ from whole-string ids where SentencePiece's prefix space matters", async () => {
  const tok = await loadTokenizer("test/fixtures/tokenizer/sp_tiny");
  // "\nWhat" tokenized as its own chunk gets the legacy=False prefix "▁" in front of "\n".
  const chunk = tokenizerImageToken("<image>\nWhat is this?", tok).slice(2);
  const whole = tok.encode("X\nWhat is this?", { addSpecialTokens: false });
  assert.notDeepEqual(chunk, whole.slice(whole.length - chunk.length));
  assert.equal(tok.idToToken(chunk[0]), "\u2581");
});

test("a WordLevel tokenizer maps out-of-vocabulary words to its unk token", async () => {
  const { Tokenizer } = await import("../../src/tokenizer/tokenizer.js");
  const json = {
    version: "1.0",
    model: { type: "WordLevel", vocab: { "<unk>": 0, hello: 1, world: 2 }, unk_token: "<unk>" },
    pre_tokenizer: { type: "Whitespace" },
    added_tokens: [],
    normalizer: null,
    post_processor: null,
    decoder: null,
  };
  const tok = Tokenizer.fromJSON(json, {});
  assert.deepEqual(tok.encode("hello there world", { addSpecialTokens: false }), [1, 0, 2]);
});

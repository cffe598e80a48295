// Sample builders against VILA's rules: MMC4 (at most N images, sorted by matched_text_index,
// "<image>" before its sentence, spaces removed, EOS, trailing images dropped), pairs, text, and SFT
// loss masks — vicuna_v1 checked against VILA's own preprocess_v1 token-count arithmetic on a
// Llama-style (legacy=False) SentencePiece tokenizer, llama_3 / hermes-2 checked span by span.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DataError } from "../../src/data/bad_samples.js";
import type { ImageRef } from "../../src/data/image_ref.js";
import type { SftRecord } from "../../src/data/records.js";
import {
  buildMmc4Sample,
  buildPairSample,
  buildSftSample,
  buildTextSample,
  normalizeImagePlaceholders,
} from "../../src/data/samples.js";
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  trainBpeFromCounts,
  WordCounter,
} from "../../src/tokenizer/bpe_train.js";
import { IGNORE_INDEX, IMAGE_TOKEN_INDEX } from "../../src/tokenizer/constants.js";
import { tokenizerImageToken } from "../../src/tokenizer/image_tokens.js";
import { getConvTemplate, getPrompt } from "../../src/tokenizer/templates.js";
import { loadTokenizer, Tokenizer } from "../../src/tokenizer/tokenizer.js";

const img = (name: string): ImageRef => ({ kind: "path", path: name });
const W = { file: "f.jsonl", line: 7 };

const LLAMA3_MARKERS = [
  "<|begin_of_text|>",
  "<|start_header_id|>",
  "<|end_header_id|>",
  "<|eot_id|>",
  "<|end_of_text|>",
  "<|im_start|>",
  "<|im_end|>",
];
function bpe(): Tokenizer {
  const wc = new WordCounter();
  wc.add(
    "USER: what is this picture? ASSISTANT: a red cat on a mat. what is shown in the image? two dogs. system user assistant\n".repeat(
      30,
    ),
  );
  const r = trainBpeFromCounts(wc.counts, { vocabSize: 420, extraSpecialTokens: LLAMA3_MARKERS });
  return Tokenizer.fromJSON(buildTokenizerJson(r), buildTokenizerConfig(r, { vocabSize: 420 }));
}

test("MMC4: first N images, sorted by sentence, <image> before its sentence, spaces removed, EOS", async () => {
  const tok = bpe();
  const rec = {
    kind: "mmc4" as const,
    ...W,
    sentences: ["a red cat.", "two dogs <image> here.", "the mat.", "what is shown?"],
    images: [
      { ref: img("i2"), matchedTextIndex: 2 },
      { ref: img("i0"), matchedTextIndex: 0 },
      { ref: img("i2b"), matchedTextIndex: 2 },
      { ref: img("i3"), matchedTextIndex: 3 },
    ],
  };
  const s = buildMmc4Sample(rec, tok, { maxImages: 3 });
  // Kept: i2, i0, i2b (first 3); sorted stably by sentence: i0, i2, i2b. i3 is dropped.
  assert.deepEqual(s.images, [img("i0"), img("i2"), img("i2b")]);
  const text = "<image>a red cat. two dogs <IMAGE> here.<image><image>the mat. what is shown?</s>";
  assert.deepEqual(Array.from(s.inputIds), tokenizerImageToken(text, tok));
  assert.deepEqual(
    Array.from(s.labels),
    Array.from(s.inputIds, (x) => (x === IMAGE_TOKEN_INDEX ? IGNORE_INDEX : x)),
  );
  assert.equal(s.inputIds.at(-1), tok.eosId);
});

test("pair and text samples", async () => {
  const tok = bpe();
  const p = buildPairSample({ kind: "pair", ...W, caption: "a red <image> cat", image: img("x") }, tok);
  assert.deepEqual(Array.from(p.inputIds), tokenizerImageToken("<image>a red <IMAGE> cat</s>", tok));
  assert.equal(p.inputIds[1], IMAGE_TOKEN_INDEX);
  assert.equal(p.labels[1], IGNORE_INDEX);
  assert.equal(p.labels[0], tok.bosId, "pairs train every text token (VILA labels = ids)");
  const t = buildTextSample({ kind: "text", ...W, text: "two dogs" }, tok);
  assert.deepEqual(Array.from(t.inputIds), [...tok.encode("two dogs"), tok.eosId]);
  assert.equal(t.images.length, 0);
});

/**
 * VILA's preprocess_v1 mask arithmetic (has_image path), verbatim except for one number: VILA
 * hard-codes `- 1` for rounds > 0 because with Llama-2's vocabulary a round tokenized on its own
 * ("▁USER...") is one token longer than the same round after "</s>" ("USER..."); that difference
 * depends on the vocabulary, so it is measured here for the fixture's vocabulary.
 */
function vilaPreprocessV1Labels(prompt: string, tok: Tokenizer): number[] {
  const roundExtra = (rou: string) =>
    tokenizerImageToken(rou, tok).length - (tokenizerImageToken(`</s>${rou}`, tok).length - 1);
  const ids = tokenizerImageToken(prompt, tok);
  const target = [...ids];
  const sep = " ASSISTANT: ";
  let cur = 1;
  target[0] = IGNORE_INDEX;
  prompt.split("</s>").some((rou, i) => {
    if (rou === "") return true;
    const parts = rou.split(sep);
    if (parts.length !== 2) return true;
    let roundLen = tokenizerImageToken(rou, tok).length;
    let instrLen = tokenizerImageToken(parts[0] + sep, tok).length - 2;
    if (i > 0) {
      roundLen -= roundExtra(rou);
      instrLen -= roundExtra(rou);
    }
    for (let k = cur; k < cur + instrLen; k++) target[k] = IGNORE_INDEX;
    cur += roundLen;
    return false;
  });
  for (let k = cur; k < target.length; k++) target[k] = IGNORE_INDEX;
  if (cur !== ids.length) return ids.map(() => IGNORE_INDEX);
  return target.map((x) => (x === IMAGE_TOKEN_INDEX ? IGNORE_INDEX : x));
}

const sft = (conversations: { from: string; value: string }[], images: ImageRef[] = []): SftRecord => ({
  kind: "sft",
  ...W,
  conversations,
  images,
});

test("SFT vicuna_v1 labels equal VILA's preprocess_v1 on a Llama-style tokenizer", async () => {
  const tok = await loadTokenizer("test/fixtures/tokenizer/sp_tiny");
  const t = getConvTemplate("vicuna_v1");
  const rec = sft(
    [
      { from: "human", value: "What is this picture?" },
      { from: "gpt", value: "A red cat on the mat." },
      { from: "human", value: "And there?" },
      { from: "gpt", value: "Two dogs." },
    ],
    [img("x")],
  );
  const s = buildSftSample(rec, tok, t);
  const prompt = getPrompt(
    t,
    normalizeImagePlaceholders(rec.conversations).map((c, i) => ({ role: (i % 2) as 0 | 1, text: c.value })),
  );
  assert.ok(prompt.includes("USER: <image>\nWhat is this picture? ASSISTANT: A red cat"));
  assert.deepEqual(Array.from(s.inputIds), tokenizerImageToken(prompt, tok));
  const ref = vilaPreprocessV1Labels(prompt, tok);
  assert.ok(
    ref.some((x) => x !== IGNORE_INDEX),
    "VILA's arithmetic is consistent here (no mismatch)",
  );
  assert.deepEqual(Array.from(s.labels), ref);
  // Trained text is exactly " " + answer + "</s>" per round (decode drops the first leading space).
  const trained = Array.from(s.labels).filter((x) => x !== IGNORE_INDEX);
  assert.equal(tok.decode(trained), "A red cat on the mat.</s> Two dogs.</s>");
});

function spans(labels: Int32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === IGNORE_INDEX) continue;
    const s = i;
    while (i < labels.length && labels[i] !== IGNORE_INDEX) i++;
    out.push([s, i]);
  }
  return out;
}

test("SFT llama_3 and hermes-2: answers + end-of-turn token trained, everything else masked", () => {
  const tok = bpe();
  const rec = sft([
    { from: "human", value: "what is this?" },
    { from: "gpt", value: "a red cat." },
    { from: "human", value: "and the mat?" },
    { from: "gpt", value: "two dogs." },
  ]);
  for (const [name, ends] of [
    ["llama_3", ["<|eot_id|>", "<|end_of_text|>"]],
    ["hermes-2", ["<|im_end|>", "<|im_end|>"]],
  ] as const) {
    const s = buildSftSample(rec, tok, getConvTemplate(name));
    assert.equal(s.labels[0], IGNORE_INDEX, "BOS masked");
    const sp = spans(s.labels);
    assert.equal(sp.length, 2, name);
    assert.equal(tok.decode(s.labels.slice(sp[0][0], sp[0][1])), `a red cat.${ends[0]}`);
    assert.equal(tok.decode(s.labels.slice(sp[1][0], sp[1][1])), `two dogs.${ends[1]}`);
    assert.equal(sp[1][1], s.labels.length, "last answer ends the sample");
    for (let i = 0; i < s.labels.length; i++)
      if (s.labels[i] !== IGNORE_INDEX) assert.equal(s.labels[i], s.inputIds[i]);
  }
  // No system prompt (VILA's vflan_no_system_prompt): the prompt starts at the first sep.
  const ns = buildSftSample(rec, tok, getConvTemplate("hermes-2"), { noSystemPrompt: true });
  assert.equal(tok.decode(ns.inputIds.slice(1, 4)), "<|im_end|><|im_start|>user");
});

test("SFT plain (stage 1): '<image>' + caption + '\\n', loss on the caption", () => {
  const tok = bpe();
  const s = buildSftSample(
    sft(
      [
        { from: "human", value: "<image>\ndescribe" },
        { from: "gpt", value: "a red cat" },
      ],
      [img("x")],
    ),
    tok,
    getConvTemplate("plain"),
  );
  assert.deepEqual(Array.from(s.inputIds), tokenizerImageToken("<image>a red cat\n", tok));
  assert.deepEqual(Array.from(s.labels.slice(0, 2)), [IGNORE_INDEX, IGNORE_INDEX]);
  assert.equal(tok.decode(s.labels.slice(2)), "a red cat\n");
});

test("SFT bad input: unmatched role, placeholder/image count, image-less <image>", () => {
  const tok = bpe();
  const t = getConvTemplate("vicuna_v1");
  const err = (f: () => unknown, re: RegExp) =>
    assert.throws(
      f,
      (e: unknown) => e instanceof DataError && e.message.startsWith("f.jsonl:7: ") && re.test(e.message),
    );
  err(
    () =>
      buildSftSample(
        sft([
          { from: "human", value: "a" },
          { from: "human", value: "b" },
        ]),
        tok,
        t,
      ),
    /turn 2 is from "human"/,
  );
  err(
    () =>
      buildSftSample(
        sft([
          { from: "human", value: "a" },
          { from: "bot", value: "b" },
        ]),
        tok,
        t,
      ),
    /from is "bot"/,
  );
  err(
    () =>
      buildSftSample(
        sft(
          [
            { from: "human", value: "<image> a" },
            { from: "gpt", value: "b" },
          ],
          [img("1"), img("2")],
        ),
        tok,
        t,
      ),
    /1 "<image>" placeholder\(s\) in the text but 2 image\(s\)/,
  );
  err(
    () =>
      buildSftSample(
        sft([
          { from: "human", value: "<image> a" },
          { from: "gpt", value: "b" },
        ]),
        tok,
        t,
      ),
    /no image/,
  );
  // A leading gpt turn is skipped (VILA), multi-image turns keep their placeholders.
  const s = buildSftSample(
    sft(
      [
        { from: "gpt", value: "hi" },
        { from: "human", value: "<image> and <image> differ?" },
        { from: "gpt", value: "yes" },
      ],
      [img("1"), img("2")],
    ),
    tok,
    t,
  );
  assert.equal(s.images.length, 2);
  assert.deepEqual(
    normalizeImagePlaceholders([{ from: "human", value: "Compare <image> and <image>" }])[0].value,
    "Compare <image>\nand <image>",
  );
});

// Byte-level BPE trainer: merges on the Hugging Face course's worked example, tokenizer.json
// loading in @huggingface/tokenizers, UTF-8 round trips, and training speed on a larger corpus.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import {
  buildTokenizerConfig,
  buildTokenizerJson,
  bytesToUnicode,
  trainBpeFromCounts,
  WordCounter,
} from "../../src/tokenizer/bpe_train.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";

test("merges follow the HF course example (hug/pug/pun/bun/hugs)", () => {
  // https://huggingface.co/learn/llm-course/chapter6/5: first merges are u+g, u+n, h+ug.
  const counts = new Map([
    ["hug", 10],
    ["pug", 5],
    ["pun", 12],
    ["bun", 4],
    ["hugs", 5],
  ]);
  const r = trainBpeFromCounts(counts, { vocabSize: 1000, minFrequency: 1 });
  // Hand-worked continuation: p+un (12), tie at 5 between p+ug and hug+s goes to the smaller ids
  // (byte "p" < new token "hug"), then hug+s (5), b+un (4), then nothing is left to merge.
  assert.deepEqual(r.merges, [
    ["u", "g"],
    ["u", "n"],
    ["h", "ug"],
    ["p", "un"],
    ["p", "ug"],
    ["hug", "s"],
    ["b", "un"],
  ]);
  assert.equal(r.vocab.get("<unk>"), 0);
  assert.equal(r.vocab.get("<s>"), 1);
  assert.equal(r.vocab.get("</s>"), 2);
  assert.equal(r.vocab.get("<pad>"), 3);
  assert.equal(r.vocab.size, 4 + 256 + 7);
  // min frequency stops merging early.
  assert.equal(trainBpeFromCounts(counts, { vocabSize: 1000, minFrequency: 6 }).merges.length, 4);
});

test("bytesToUnicode is GPT-2's table", () => {
  const t = bytesToUnicode();
  assert.equal(t[32], "\u0120"); // space -> Ġ
  assert.equal(t[10], "\u010a"); // newline -> Ċ
  assert.equal(t[65], "A");
  assert.equal(new Set(t).size, 256);
});

function corpus(n: number, seed = 1): string {
  const syll = [
    "ka",
    "ri",
    "to",
    "mo",
    "na",
    "be",
    "lu",
    "si",
    "po",
    "te",
    "the",
    "and",
    "ing",
    "é",
    "ü",
    "ß",
    "中",
    "文",
  ];
  let s = seed;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const words: string[] = [];
  for (let i = 0; i < 400; i++) {
    let w = "";
    const k = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) w += syll[Math.floor(rand() * syll.length)];
    words.push(w);
  }
  const out: string[] = [];
  let len = 0;
  while (len < n) {
    const line =
      Array.from({ length: 8 }, () => words[Math.floor(rand() * rand() * words.length)]).join(" ") +
      (rand() < 0.3 ? ` ${Math.floor(rand() * 1000)}.\n` : ".\n");
    out.push(line);
    len += line.length;
  }
  return out.join("");
}

test("tokenizer.json loads in @huggingface/tokenizers and round-trips arbitrary UTF-8", () => {
  const wc = new WordCounter();
  wc.add(corpus(100_000));
  const r = trainBpeFromCounts(wc.counts, {
    vocabSize: 800,
    extraSpecialTokens: ["<|im_start|>", "<|im_end|>"],
  });
  const json = buildTokenizerJson(r);
  const config = buildTokenizerConfig(r, { vocabSize: 800 });
  // Loads directly in the library (not only through our wrapper).
  const hf = new HfTokenizer(json, config);
  assert.equal(hf.token_to_id("<|im_start|>"), 4);
  const tok = Tokenizer.fromJSON(json, config);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.padId, 3);
  assert.equal(tok.vocabSize, 800);
  const pool = Array.from("abcxyz ÀéüßЖжΩ中文日本語🎉👍🏽\n\t  .,!?'\"0123456789<>/|");
  const samples = [corpus(300, 7), "  leading and trailing  ", "emoji 🎉👍🏽 and 中文", "a\r\nb\u0000c", ""];
  let seed = 42;
  for (let i = 0; i < 200; i++) {
    let s = "";
    const n = 1 + (i % 40);
    for (let j = 0; j < n; j++) {
      seed = (Math.imul(seed, 48271) + 11) >>> 0;
      s += pool[seed % pool.length];
    }
    samples.push(s);
  }
  for (const s of samples) {
    const ids = tok.encode(s);
    assert.equal(ids[0], tok.bosId, "BOS first");
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), s, `round trip of ${JSON.stringify(s)}`);
    assert.deepEqual(hf.encode(s).ids, ids);
  }
  // Special tokens are single ids; merges make frequent words short.
  assert.deepEqual(tok.encode("<|im_start|>", { addSpecialTokens: false }), [4]);
  assert.deepEqual(tok.encode("</s>", { addSpecialTokens: false }), [2]);
  assert.ok(tok.encode(" the", { addSpecialTokens: false }).length === 1);
});

test("trains a 3000-token vocabulary on ~1 MB quickly", () => {
  const text = corpus(1_000_000, 3);
  const t0 = performance.now();
  const wc = new WordCounter();
  wc.add(text);
  const r = trainBpeFromCounts(wc.counts, { vocabSize: 3000, minFrequency: 1 });
  const ms = performance.now() - t0;
  assert.ok(r.merges.length > 1000, `learned ${r.merges.length} merges`);
  assert.ok(ms < 30_000, `training took ${ms.toFixed(0)} ms`);
});

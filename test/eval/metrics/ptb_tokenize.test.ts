// The PTB-like caption tokeniser. There is no Java in the test environment, so these pin the Penn
// Treebank conventions the Stanford tokenizer documents (clitics, currency, brackets, quotes,
// abbreviations) followed by coco-caption's punctuation filter; the tokeniser is documented as an
// approximation of the Java one.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ptbTokenize, ptbTokens } from "../../../src/eval/metrics/ptb_tokenize.js";

const CASES: [string, string][] = [
  ["A man riding a horse.", "a man riding a horse"],
  ["Two dogs, one cat!", "two dogs one cat"],
  ["The dog's bowl", "the dog 's bowl"],
  ["He doesn't know", "he does n't know"],
  ["I can't, they won't", "i ca n't they wo n't"],
  ["I cannot", "i can not"],
  ["A black-and-white photo", "a black-and-white photo"],
  ["It costs $3.50", "it costs $ 3.50"],
  ["50% off", "50 % off"],
  ['A sign that says "STOP".', "a sign that says stop"],
  ["A dog (brown) sits", "a dog -lrb- brown -rrb- sits"],
  ["Mr. Smith's car", "mr. smith 's car"],
  ["in the U.S. today", "in the u.s. today"],
  ["wait... what", "wait what"],
  ["well--known", "well known"],
  ["1,000 people at 10:30", "1,000 people at 10:30"],
  ["They're here; we'll go: now", "they 're here we 'll go now"],
  ["The dogs' toys", "the dogs toys"],
  ["a\nb", "a b"],
  ["don\u2019t", "do n't"],
  ["", ""],
  ["   ", ""],
];

test("PTB conventions and coco-caption's punctuation filter", () => {
  for (const [raw, want] of CASES) assert.equal(ptbTokenize(raw), want, JSON.stringify(raw));
});

test("tokens keep the punctuation that the filter later drops", () => {
  assert.deepEqual(ptbTokens('He said "hi."'), ["he", "said", "``", "hi", ".", "''"]);
  assert.deepEqual(ptbTokens("[x]"), ["-lsb-", "x", "-rsb-"]);
});

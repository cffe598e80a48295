// Simulated VQA annotators: ten answers, deterministic, the canonical answer scoring 1 under
// the official VQA accuracy (min(1, matches among the other nine / 3), averaged over the ten
// leave-one-out subsets, written out here independently), and plausible variation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mostCommon, simulateAnswers } from "../../src/world/annotate.js";

function vqaAccuracy(pred: string, answers: string[]): number {
  let s = 0;
  for (let i = 0; i < answers.length; i++) {
    const others = answers.filter((_, j) => j !== i);
    s += Math.min(1, others.filter((a) => a === pred).length / 3);
  }
  return s / answers.length;
}

test("annotate: ten deterministic answers; the canonical one scores 1", () => {
  for (let seed = 0; seed < 200; seed++) {
    const a = simulateAnswers("3", "number", "count", seed);
    assert.equal(a.length, 10);
    assert.deepEqual(a, simulateAnswers("3", "number", "count", seed));
    assert.deepEqual(
      a.map((x) => x.answer_id),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(
      vqaAccuracy(
        "3",
        a.map((x) => x.answer),
      ),
      1,
    );
    assert.ok(a.filter((x) => x.answer === "3").length >= 5);
    assert.equal(mostCommon(a, "3"), "3");
  }
});

test("annotate: annotators vary plausibly (synonyms and occasional mistakes)", () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 300; seed++)
    for (const x of simulateAnswers("3", "number", "count", seed)) seen.add(x.answer);
  assert.ok(seen.has("three"), "number words");
  assert.ok(seen.has("2") || seen.has("4"), "off-by-one mistakes");
  const regions = new Set<string>();
  for (let seed = 0; seed < 300; seed++)
    for (const x of simulateAnswers("center", "other", "position", seed)) regions.add(x.answer);
  assert.ok(regions.has("middle") || regions.has("centre"));
  const yn = new Set<string>();
  for (let seed = 0; seed < 300; seed++)
    for (const x of simulateAnswers("yes", "yes/no", "exists", seed)) yn.add(x.answer);
  assert.deepEqual([...yn].sort(), ["no", "yes"]);
});

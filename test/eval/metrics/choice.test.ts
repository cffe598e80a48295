// Multiple-choice letter extraction and accuracy against VILA's eval_science_qa.py, and exact-match
// normalisation against scripts/convert_gqa_for_eval.py, both run on test/fixtures/metrics/.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  choiceAccuracy,
  choiceIndex,
  exactMatchAccuracy,
  extractChoiceLetter,
  normalizeExact,
} from "../../../src/eval/metrics/choice.js";

const sqa = JSON.parse(readFileSync("test/fixtures/metrics/scienceqa.json", "utf8")) as {
  problems: Record<string, { choices: string[]; answer: number }>;
  split: string[];
  predictions: { question_id: string; text: string }[];
  official: {
    acc: number;
    correct: number;
    count: number;
    pred_idx: Record<string, number>;
    parsed: Record<string, string>;
  };
};
const gqa = JSON.parse(readFileSync("test/fixtures/metrics/gqa.json", "utf8")) as {
  cases: { text: string; prediction: string }[];
};

test("letter extraction and option index match eval_science_qa.py", () => {
  const preds = new Map(sqa.predictions.map((p) => [p.question_id, p.text]));
  for (const id of sqa.split) {
    const letter = extractChoiceLetter(preds.get(id) ?? "FAILED");
    assert.equal(letter, sqa.official.parsed[id], `parsed ${id}`);
    assert.equal(
      choiceIndex(letter, sqa.problems[id].choices.length),
      sqa.official.pred_idx[id],
      `index ${id}`,
    );
  }
});

test("multiple-choice accuracy matches the official acc and reports the missing reply", () => {
  const items = sqa.split.map((id) => ({
    questionId: id,
    answerIndex: sqa.problems[id].answer,
    numChoices: sqa.problems[id].choices.length,
  }));
  const preds = new Map(sqa.predictions.map((p) => [p.question_id, p.text]));
  const r = choiceAccuracy(items, preds);
  assert.equal(r.correct, sqa.official.correct);
  assert.equal(r.count, sqa.official.count);
  assert.ok(Math.abs(r.overall - sqa.official.acc) < 1e-12);
  assert.deepEqual(
    r.missing,
    sqa.split.filter((id) => !preds.has(id)),
  );
});

test("GQA normalisation matches convert_gqa_for_eval.py", () => {
  for (const c of gqa.cases)
    assert.equal(normalizeExact(c.text, "gqa"), c.prediction, JSON.stringify(c.text));
});

test("exact match: raw comparison, normalised comparison, missing counts as wrong", () => {
  const items = [
    { questionId: "1", answer: "yes" },
    { questionId: "2", answer: "left" },
    { questionId: "3", answer: "dog" },
  ];
  const preds = new Map([
    ["1", "Yes."],
    ["2", "left"],
  ]);
  assert.deepEqual(exactMatchAccuracy(items, preds, "none").per_question, { "1": 0, "2": 1, "3": 0 });
  const r = exactMatchAccuracy(items, preds, "gqa");
  assert.deepEqual(r.per_question, { "1": 1, "2": 1, "3": 0 });
  assert.deepEqual(r.missing, ["3"]);
  assert.ok(Math.abs(r.overall - 200 / 3) < 1e-12);
});

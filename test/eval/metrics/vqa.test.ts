// VQA accuracy against values produced by running the official code (vqaEval.py and
// m4c_evaluator.py) on the tricky inputs in test/fixtures/metrics/vqa.json.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  evalAIProcessAnswer,
  evaluateVqa,
  leaveOneOutScore,
  normalizeVqaPrediction,
  processDigitArticle,
  textVqaAccuracy,
  vqaAccuracy,
  vqaProcessPunctuation,
} from "../../../src/eval/metrics/vqa.js";

interface Case {
  name: string;
  question_id: number;
  prediction: string;
  answers: string[];
  vqa_eval: { accuracy_percent: number; normalized_prediction: string };
  textvqa?: { accuracy: number; normalized_prediction: string; normalized_answers: string[] };
}
const fx = JSON.parse(readFileSync("test/fixtures/metrics/vqa.json", "utf8")) as {
  vqa_eval_overall_percent: number;
  textvqa_overall: number;
  cases: Case[];
  strings: {
    input: string;
    vqa_punctuation: string;
    vqa_digit_article: string;
    evalai: string;
    evalai_punctuation: string;
  }[];
};

const close = (a: number, b: number, label: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${label}: ${a} vs official ${b}`);

test("vqaEval: per-question accuracy and normalised prediction match the official code", () => {
  for (const c of fx.cases) {
    assert.equal(normalizeVqaPrediction(c.prediction), c.vqa_eval.normalized_prediction, c.name);
    close(100 * vqaAccuracy(c.prediction, c.answers), c.vqa_eval.accuracy_percent, c.name);
  }
});

test("vqaEval: corpus accuracy matches the official overall", () => {
  const items = fx.cases.map((c) => ({ questionId: String(c.question_id), answers: c.answers }));
  const preds = new Map(fx.cases.map((c) => [String(c.question_id), c.prediction]));
  const r = evaluateVqa(items, preds, "vqa");
  close(r.overall, fx.vqa_eval_overall_percent, "overall");
  assert.equal(r.count, fx.cases.length);
  assert.deepEqual(r.missing, []);
});

test("EvalAI processor and TextVQA accuracy match m4c_evaluator", () => {
  const ten = fx.cases.filter((c) => c.textvqa);
  for (const c of ten) {
    const t = c.textvqa!;
    assert.equal(evalAIProcessAnswer(c.prediction), t.normalized_prediction, c.name);
    assert.deepEqual(c.answers.map(evalAIProcessAnswer), t.normalized_answers, c.name);
    close(textVqaAccuracy(c.prediction, c.answers), t.accuracy, c.name);
  }
  const r = evaluateVqa(
    ten.map((c) => ({ questionId: String(c.question_id), answers: c.answers })),
    new Map(ten.map((c) => [String(c.question_id), c.prediction])),
    "textvqa",
  );
  close(r.overall, 100 * fx.textvqa_overall, "textvqa overall");
});

test("processors on isolated strings match both official implementations", () => {
  for (const s of fx.strings) {
    assert.equal(vqaProcessPunctuation(s.input), s.vqa_punctuation, `punctuation ${JSON.stringify(s.input)}`);
    assert.equal(
      processDigitArticle(s.input),
      s.vqa_digit_article,
      `digit/article ${JSON.stringify(s.input)}`,
    );
    assert.equal(evalAIProcessAnswer(s.input), s.evalai, `evalai ${JSON.stringify(s.input)}`);
  }
});

test("the two scorers disagree where the official scripts do", () => {
  // vqaEval leaves unanimous GT answers untouched; EvalAI normalises them.
  assert.equal(vqaAccuracy("2", Array(10).fill("two")), 0);
  assert.equal(textVqaAccuracy("2", Array(10).fill("two")), 1);
});

test("a missing prediction scores 0 and is reported", () => {
  const r = evaluateVqa(
    [
      { questionId: "1", answers: Array(10).fill("yes") },
      { questionId: "2", answers: Array(10).fill("no") },
    ],
    new Map([["1", "yes"]]),
  );
  assert.deepEqual(r.missing, ["2"]);
  assert.equal(r.per_question["2"], 0);
  assert.equal(r.overall, 50);
});

test("bad ground truth is an error naming the question", () => {
  assert.throws(() => leaveOneOutScore("a", []), /no ground-truth answers/);
  assert.throws(
    () => evaluateVqa([{ questionId: "7", answers: ["a", "b"] }], new Map([["7", "a"]]), "textvqa"),
    /question_id 7: .*exactly 10 answers/,
  );
});

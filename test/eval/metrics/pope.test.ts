// POPE yes/no reading and metrics against VILA's eval_pope.py run on test/fixtures/metrics/pope.json.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { popeAnswer, popeMetrics } from "../../../src/eval/metrics/pope.js";

const fx = JSON.parse(readFileSync("test/fixtures/metrics/pope.json", "utf8")) as {
  cases: { question_id: number; text: string; label: "yes" | "no" }[];
  official: {
    tp: number;
    fp: number;
    tn: number;
    fn: number;
    accuracy: number;
    precision: number;
    recall: number;
    f1: number;
  };
};

test("confusion counts and metrics match eval_pope.py", () => {
  const items = fx.cases.map((c) => ({ questionId: String(c.question_id), label: c.label }));
  const r = popeMetrics(items, new Map(fx.cases.map((c) => [String(c.question_id), c.text])));
  const o = fx.official;
  assert.deepEqual([r.tp, r.fp, r.tn, r.fn], [o.tp, o.fp, o.tn, o.fn]);
  for (const k of ["accuracy", "precision", "recall", "f1"] as const)
    assert.ok(Math.abs((r[k] as number) - o[k]) < 1e-15, `${k}: ${r[k]} vs ${o[k]}`);
});

test("reading rules: first sentence, exact-case words, split on single spaces", () => {
  assert.equal(popeAnswer("NO"), "yes");
  assert.equal(popeAnswer("Yes. No"), "yes");
  assert.equal(popeAnswer("No\nthere"), "yes");
  assert.equal(popeAnswer("there is not a dog"), "no");
});

test("a missing prediction counts as the wrong answer and is reported; empty ratios are null", () => {
  const r = popeMetrics(
    [
      { questionId: "1", label: "yes" },
      { questionId: "2", label: "no" },
    ],
    new Map([["2", "No"]]),
  );
  assert.deepEqual(r.missing, ["1"]);
  assert.equal(r.fn, 1);
  assert.equal(r.precision, null);
  assert.equal(r.f1, null);
  assert.equal(r.accuracy, 0.5);
});

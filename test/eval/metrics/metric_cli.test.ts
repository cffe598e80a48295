// `vila metric ...` end to end: reads public-format files, prints the JSON described in the issue,
// announces missing predictions on stderr, and fails with a message naming the file and id.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../../helpers.js";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../../../src/cli/main.js");
const dir = tempDir("vila-metric-cli-");
function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}
function vila(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, "metric", ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const vqaFx = JSON.parse(readFileSync("test/fixtures/metrics/vqa.json", "utf8"));
const ciderFx = JSON.parse(readFileSync("test/fixtures/metrics/cider.json", "utf8")).corpora.main;

test("vila metric vqa prints overall and per_question equal to vqaEval.py's", () => {
  const cases = vqaFx.cases as {
    question_id: number;
    prediction: string;
    answers: string[];
    vqa_eval: { accuracy_percent: number };
  }[];
  const ann = file("ann.json", {
    annotations: cases.map((c) => ({
      question_id: c.question_id,
      image_id: 1,
      answers: c.answers.map((a, i) => ({ answer: a, answer_id: i + 1 })),
    })),
  });
  const preds = file(
    "res.json",
    cases.map((c) => ({ question_id: c.question_id, answer: c.prediction })),
  );
  const r = vila("vqa", "--predictions", preds, "--annotations", ann);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.ok(Math.abs(j.overall - vqaFx.vqa_eval_overall_percent) < 1e-9);
  for (const c of cases)
    assert.ok(Math.abs(j.per_question[String(c.question_id)] - c.vqa_eval.accuracy_percent) < 1e-9);
  assert.equal(r.err, "");
});

test("vila metric cider --pretokenized prints corpus and per_image equal to pycocoevalcap's", () => {
  const imgs = ciderFx.images as { image_id: number; candidate: string; references: string[] }[];
  const ann = file("cap.json", {
    annotations: imgs.flatMap((i) => i.references.map((c) => ({ image_id: i.image_id, caption: c }))),
  });
  const res = file(
    "capres.json",
    imgs.map((i) => ({ image_id: i.image_id, caption: i.candidate })),
  );
  const r = vila("cider", "--predictions", res, "--annotations", ann, "--pretokenized");
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.ok(Math.abs(j.corpus - ciderFx.corpus) < 1e-12);
  for (const [id, v] of Object.entries(ciderFx.per_image))
    assert.ok(Math.abs(j.per_image[id] - (v as number)) < 1e-12, id);
});

test("missing predictions are scored as wrong and announced; unknown ids and empty files fail naming file and id", () => {
  const ann = file("ann2.json", {
    annotations: [1, 2].map((q) => ({
      question_id: q,
      image_id: 1,
      answers: Array(10).fill({ answer: "yes" }),
    })),
  });
  const one = file("one.jsonl", '{"question_id": 1, "text": "yes"}\n');
  const r = vila("vqa", "--predictions", one, "--annotations", ann);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).missing, ["2"]);
  assert.equal(JSON.parse(r.out).overall, 50);
  assert.match(r.err, /1 questions in .*ann2\.json have no prediction in .*one\.jsonl and count as wrong: 2/);

  const extra = file("extra.jsonl", '{"question_id": 1, "text": "yes"}\n{"question_id": 77, "text": "no"}\n');
  const bad = vila("vqa", "--predictions", extra, "--annotations", ann);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /extra\.jsonl: question_id 77 is not in .*ann2\.json/);

  const empty = file("empty.jsonl", "");
  const e = vila("textvqa", "--predictions", empty, "--annotations", ann);
  assert.equal(e.code, 1);
  assert.match(e.err, /empty\.jsonl: file is empty/);

  const caps = file("caps.json", { annotations: [{ image_id: 5, caption: "a dog" }] });
  const stray = file("stray.json", [{ image_id: 6, caption: "a cat" }]);
  const c = vila("cider", "--predictions", stray, "--annotations", caps);
  assert.equal(c.code, 1);
  assert.match(c.err, /stray\.json: image_id 6 is not in .*caps\.json/);
});

test("mc, pope and exact run on LLaVA answer files; every metric has --help", () => {
  const answers = file(
    "ans.jsonl",
    ['{"question_id": "a", "text": "B."}', '{"question_id": "b", "text": "No, there is not."}'].join("\n"),
  );
  const mc = vila(
    "mc",
    "--predictions",
    answers,
    "--annotations",
    file(
      "mc.jsonl",
      '{"question_id": "a", "answer": 1, "choices": ["x", "y"]}\n{"question_id": "b", "answer": "A"}\n',
    ),
  );
  assert.equal(mc.code, 0, mc.err);
  assert.equal(JSON.parse(mc.out).overall, 50);
  const pope = vila(
    "pope",
    "--predictions",
    answers,
    "--annotations",
    file("pope.jsonl", '{"question_id": "b", "label": "no"}\n'),
  );
  assert.equal(JSON.parse(pope.out).tn, 1);
  const exact = vila(
    "exact",
    "--predictions",
    answers,
    "--annotations",
    file("gqa.json", { a: { answer: "b" }, b: { answer: "no, there is not" } }),
    "--normalize",
    "gqa",
  );
  assert.equal(JSON.parse(exact.out).overall, 100);
  for (const m of ["vqa", "textvqa", "cider", "mc", "pope", "exact"]) {
    const h = vila(m, "--help");
    assert.equal(h.code, 0);
    assert.match(h.out, /--predictions/);
  }
  assert.equal(vila("nope").code, 2);
});

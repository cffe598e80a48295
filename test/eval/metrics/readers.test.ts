// Readers of the public formats: they parse what the official tools read, and bad input fails with
// an error naming the file, the line / entry and the id.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  checkPredictionIds,
  checkVqaQuestions,
  llavaTextVqaQuestion,
  readChoiceAnnotations,
  readCocoCaptionAnnotations,
  readCocoCaptionResults,
  readExactAnnotations,
  readPopeLabels,
  readPredictions,
  readVqaAnnotations,
  rekeyLlavaTextVqa,
} from "../../../src/eval/metrics/readers.js";
import { tempDir } from "../../helpers.js";

const dir = tempDir("vila-metrics-");
function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

test("predictions: VQA results JSON, LLaVA JSONL and upload JSON all read; ids compared as strings", () => {
  assert.equal(readPredictions(file("r.json", [{ question_id: 5, answer: "yes" }])).get("5")?.text, "yes");
  const l = readPredictions(
    file("a.jsonl", '{"question_id": 7, "text": "no", "prompt": "q"}\n\n{"question_id": "x", "text": "b"}\n'),
  );
  assert.deepEqual(l.get("7"), { text: "no", prompt: "q" });
  assert.equal(l.get("x")?.text, "b");
  assert.equal(
    readPredictions(file("u.json", [{ questionId: "g1", prediction: "left" }])).get("g1")?.text,
    "left",
  );
});

test("predictions: empty file, bad line, duplicate id, missing text are clear errors", () => {
  const empty = file("empty.jsonl", "");
  assert.throws(() => readPredictions(empty), new RegExp(`${empty}: file is empty`));
  const emptyList = file("empty.json", "[]");
  assert.throws(() => readPredictions(emptyList), /has no predictions/);
  const bad = file("bad.jsonl", '{"question_id": 1, "text": "a"}\n{"question_id": 2, "text": \n');
  assert.throws(() => readPredictions(bad), new RegExp(`${bad}:2: invalid JSON line`));
  const dup = file("dup.jsonl", '{"question_id": 1, "text": "a"}\n{"question_id": 1, "text": "b"}\n');
  assert.throws(() => readPredictions(dup), /line 2: duplicate prediction for question_id 1/);
  const noText = file("notext.jsonl", '{"question_id": 3}\n');
  assert.throws(() => readPredictions(noText), /line 1 \(question_id 3\): missing string field "text"/);
});

test("a prediction for an unknown question names both files and the id", () => {
  assert.throws(
    () => checkPredictionIds("P.jsonl", "A.json", ["1", "99", "98"], new Set(["1"])),
    /P\.jsonl: question_id 99 is not in A\.json \(and 1 more\)/,
  );
});

test("VQA annotations (VQAv2 and TextVQA shapes) and the questions cross-check", () => {
  const ann = file("ann.json", {
    annotations: [
      {
        question_id: 1,
        image_id: 10,
        answers: [{ answer: "yes", answer_id: 1 }],
        question_type: "is",
        answer_type: "yes/no",
      },
    ],
  });
  const a = readVqaAnnotations(ann);
  assert.deepEqual(a, [{ questionId: "1", imageId: "10", answers: ["yes"] }]);
  const tv = readVqaAnnotations(
    file("tv.json", { data: [{ question_id: 2, image_id: "abc", question: "What?", answers: ["x"] }] }),
  );
  assert.deepEqual(tv, [{ questionId: "2", imageId: "abc", question: "What?", answers: ["x"] }]);
  const q = file("q.json", { questions: [{ question_id: 1, image_id: 11 }] });
  assert.throws(() => checkVqaQuestions(q, ann, a), /question_id 1 has image_id 10 but .*q\.json says 11/);
  const q2 = file("q2.json", { questions: [{ question_id: 2, image_id: 10 }] });
  assert.throws(() => checkVqaQuestions(q2, ann, a), /ann\.json: question_id 1 is not in .*q2\.json/);
  const noAns = file("noans.json", { annotations: [{ question_id: 4, answers: [] }] });
  assert.throws(
    () => readVqaAnnotations(noAns),
    /annotation 0 \(question_id 4\): "answers" must be a non-empty list/,
  );
});

test("LLaVA TextVQA predictions are re-keyed by (image id, question) as eval_textvqa.py does", () => {
  assert.equal(
    llavaTextVqaQuestion(
      "What is it?\nReference OCR token: a, b\nAnswer the question using a single word or phrase.",
    ),
    "What is it?",
  );
  assert.equal(llavaTextVqaQuestion("OCR tokens: a b Question: Who? Short answer:"), "Who?");
  const anns = [{ questionId: "34602", imageId: "003a", question: "What Is It?", answers: [] }];
  const preds = new Map([["003a", { text: "x", prompt: "what is it?\nAnswer briefly." }]]);
  assert.deepEqual([...rekeyLlavaTextVqa("P", "A", preds, anns)], [["34602", "x"]]);
  const wrong = new Map([["003b", { text: "x", prompt: "what is it?\nAnswer briefly." }]]);
  assert.throws(
    () => rekeyLlavaTextVqa("P", "A", wrong, anns),
    /P: image 003b with question "what is it\?" is not in A/,
  );
});

test("COCO captions: results and annotations, with errors for duplicates and images without captions", () => {
  assert.deepEqual(
    [...readCocoCaptionResults(file("res.json", [{ image_id: 1, caption: "a dog" }]))],
    [["1", "a dog"]],
  );
  const dup = file("resdup.json", [
    { image_id: 1, caption: "a" },
    { image_id: 1, caption: "b" },
  ]);
  assert.throws(() => readCocoCaptionResults(dup), /entry 1: more than one caption for image_id 1/);
  const ann = readCocoCaptionAnnotations(
    file("cap.json", {
      images: [{ id: 1 }],
      annotations: [
        { image_id: 1, caption: "x" },
        { image_id: 1, caption: "y" },
      ],
    }),
  );
  assert.deepEqual(ann.get("1"), ["x", "y"]);
  const missing = file("cap2.json", {
    images: [{ id: 1 }, { id: 2 }],
    annotations: [{ image_id: 1, caption: "x" }],
  });
  assert.throws(
    () => readCocoCaptionAnnotations(missing),
    /image_id 2 \(image 1\) has no reference captions/,
  );
});

test("POPE labels, multiple-choice and exact-match ground truth", () => {
  assert.deepEqual(readPopeLabels(file("pope.jsonl", '{"question_id": 1, "label": "yes"}\n')), [
    { questionId: "1", label: "yes" },
  ]);
  assert.throws(
    () => readPopeLabels(file("pope2.jsonl", '{"question_id": 1, "label": "Yes"}\n')),
    /line 1 \(question_id 1\): label must be "yes" or "no"/,
  );
  const problems = file("problems.json", {
    p1: { choices: ["a", "b"], answer: 1 },
    p2: { choices: ["a", "b", "c"], answer: 0 },
  });
  const splits = file("splits.json", { test: ["p2"], val: ["p9"] });
  assert.deepEqual(readChoiceAnnotations(problems, { file: splits, name: "test" }), [
    { questionId: "p2", answerIndex: 0, numChoices: 3 },
  ]);
  assert.throws(
    () => readChoiceAnnotations(problems, { file: splits, name: "val" }),
    /split "val" names question_id p9, which is not in/,
  );
  assert.deepEqual(readChoiceAnnotations(file("mc.jsonl", '{"question_id": 3, "answer": "C"}\n')), [
    { questionId: "3", answerIndex: 2, numChoices: 5 },
  ]);
  assert.throws(
    () =>
      readChoiceAnnotations(file("mc2.jsonl", '{"question_id": 3, "answer": "C", "choices": ["x", "y"]}\n')),
    /question_id 3\): answer "C" is not one of 2 options/,
  );
  assert.deepEqual(readExactAnnotations(file("gqa.json", { "201": { answer: "no", question: "?" } })), [
    { questionId: "201", answer: "no" },
  ]);
});

test("a missing file is an error naming it", () => {
  assert.throws(() => readPredictions(join(dir, "nope.jsonl")), /nope\.jsonl: cannot read \(ENOENT\)/);
});

// Benchmark readers on small files in each public format, the world's benchmarks read through the
// same readers, and bad input: mismatched ids, missing images and empty predictions files fail with
// errors that name the file and the id.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import {
  listWorldBenchmarks,
  loadBenchmark,
  loadWorldBenchmark,
  parseTsv,
  referenceAnswer,
} from "../../src/eval/benchmarks.js";
import { readBenchmarkPredictions } from "../../src/eval/report.js";
import { generateWorld } from "../../src/world/index.js";

const dir = mkdtempSync(join(tmpdir(), "vila-evalbench-"));
const world = join(dir, "world");
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const p = join(dir, name);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}
const jsonl = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join("");
const tenOf = (a: string) => Array.from({ length: 10 }, (_, i) => ({ answer: a, answer_id: i + 1 }));

before(async () => {
  for (const n of ["a.png", "b.png", "c.png"]) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } })
      .png()
      .toFile(join(dir, n));
  }
  await generateWorld({ out: world, preset: "smoke", seed: 1, workers: 1 });
});

test("LLaVA questions + VQAv2 annotations: items, images resolved, metric detected", () => {
  const q = file(
    "vqa/q.jsonl",
    jsonl([
      {
        question_id: 11,
        image: "a.png",
        text: "how many?\nAnswer the question using a single word or phrase.",
        category: "count",
      },
      { question_id: 12, image: "b.png", text: "what colour?" },
    ]),
  );
  const a = file("vqa/ann.json", {
    annotations: [
      { question_id: 11, image_id: 1, answers: tenOf("2") },
      { question_id: 12, image_id: 2, answers: tenOf("red") },
      { question_id: 13, image_id: 3, answers: tenOf("extra questions in the annotations are fine") },
    ],
  });
  const b = loadBenchmark({ questions: q, answers: [a], imageFolder: dir });
  assert.equal(b.metric, "vqa");
  assert.equal(b.name, "q");
  assert.equal(b.answerFormat, "llava");
  assert.deepEqual(
    b.items.map((it) => [it.id, it.rawId, it.images, it.category]),
    [
      ["11", 11, [join(dir, "a.png")], "count"],
      ["12", 12, [join(dir, "b.png")], undefined],
    ],
  );
  assert.equal(referenceAnswer(b.truth, "12"), "red");
  // images default to the question file's folder: vqa/a.png does not exist
  assert.throws(
    () => loadBenchmark({ questions: q, answers: [a] }),
    (e: Error) =>
      e.message.includes(`${q} line 1 (question_id 11): image ${join(dir, "vqa", "a.png")} not found`),
  );
});

test("mismatched question/answer ids: the error names the answer file and the id", () => {
  const q = file(
    "mm/q.jsonl",
    jsonl([
      { question_id: 1, image: "a.png", text: "q" },
      { question_id: 2, image: "a.png", text: "q" },
    ]),
  );
  const a = file("mm/ann.json", {
    annotations: [
      { question_id: 1, answers: tenOf("x") },
      { question_id: 3, answers: tenOf("y") },
    ],
  });
  assert.throws(
    () => loadBenchmark({ questions: q, answers: [a], imageFolder: dir }),
    (e: Error) => e.message.includes(`${a}: no ground truth for question_id 2 (${q} line 2)`),
  );
  const dup = file(
    "mm/dup.jsonl",
    jsonl([
      { question_id: 1, image: "a.png", text: "q" },
      { question_id: 1, image: "b.png", text: "q" },
    ]),
  );
  assert.throws(
    () => loadBenchmark({ questions: dup, answers: [a], imageFolder: dir }),
    new RegExp(`${dup} line 2: duplicate id 1`),
  );
});

test("TextVQA {data}, GQA {id: {answer}}, POPE label files and MC rows each pick their metric", () => {
  const q = file("m/q.jsonl", jsonl([{ question_id: "g1", image: "a.png", text: "left or right?" }]));
  const textvqa = file("m/textvqa.json", {
    data: [{ question_id: "g1", image_id: "i", question: "q", answers: Array(10).fill("Coca Cola") }],
  });
  assert.equal(loadBenchmark({ questions: q, answers: [textvqa], imageFolder: dir }).metric, "textvqa");
  const gqa = file("m/gqa.json", { g1: { answer: "left", question: "q" } });
  const g = loadBenchmark({ questions: q, answers: [gqa], imageFolder: dir });
  assert.equal(g.metric, "exact");
  assert.equal(referenceAnswer(g.truth, "g1"), "left");
  // POPE: questions of several splits, one label file per split, merged
  const pq = file(
    "p/q.jsonl",
    jsonl(
      [1, 2, 3].map((i) => ({
        question_id: i,
        image: "a.png",
        text: "is there a cat?",
        category: i < 3 ? "random" : "adversarial",
      })),
    ),
  );
  const p1 = file(
    "p/coco_pope_random.json",
    jsonl([
      { question_id: 1, label: "yes" },
      { question_id: 2, label: "no" },
    ]),
  );
  const p2 = file("p/coco_pope_adversarial.json", jsonl([{ question_id: 3, label: "no" }]));
  const pope = loadBenchmark({ questions: pq, answers: [p1, p2], imageFolder: dir });
  assert.equal(pope.metric, "pope");
  assert.equal(referenceAnswer(pope.truth, "3"), "no");
  assert.throws(
    () => loadBenchmark({ questions: pq, answers: [p1, p1], imageFolder: dir }),
    /question_id 1 is also in/,
  );
  // MC rows wrapped as {annotations} (the world's mmlu keys); options counted from the question file
  const mq = file(
    "mc/q.jsonl",
    jsonl([
      {
        question_id: 0,
        text: "2+2?\nA. 3\nB. 4\nAnswer with the option's letter from the given choices directly.",
        options: ["3", "4"],
      },
    ]),
  );
  const ma = file("mc/ann.json", { annotations: [{ question_id: 0, answer: "B", answer_index: 1 }] });
  const mc = loadBenchmark({ questions: mq, answers: [ma] });
  assert.equal(mc.metric, "mc");
  assert.deepEqual(mc.truth.kind === "mc" && mc.truth.items.get("0"), {
    questionId: "0",
    answerIndex: 1,
    numChoices: 2,
  });
  assert.deepEqual(mc.items[0].images, []);
});

test("ScienceQA (LLaVA JSON + problems.json): prompt as model_vqa_science --single-pred-prompt", () => {
  const q = file("sqa/llava_test_CQM-A.json", [
    {
      id: "4",
      image: "a.png",
      conversations: [
        { from: "human", value: "<image>\nContext: x\nQuestion: which?\nOptions: (A) a (B) b" },
        { from: "gpt", value: "The answer is B." },
      ],
    },
    {
      id: "5",
      conversations: [
        { from: "human", value: "Question: y?\nOptions: (A) c (B) d" },
        { from: "gpt", value: "The answer is A." },
      ],
    },
  ]);
  const problems = file("sqa/problems.json", {
    "4": { choices: ["a", "b"], answer: 1 },
    "5": { choices: ["c", "d"], answer: 0 },
    "6": { choices: ["e", "f"], answer: 0 },
  });
  const b = loadBenchmark({ questions: q, answers: [problems], imageFolder: dir });
  assert.equal(b.metric, "mc");
  assert.equal(
    b.items[0].text,
    "Context: x\nQuestion: which?\nOptions: (A) a (B) b\nAnswer with the option's letter from the given choices directly.",
  );
  assert.deepEqual(
    b.items.map((it) => [it.images.length, it.category]),
    [
      [1, "image"],
      [0, "no_image"],
    ],
  );
  assert.equal(referenceAnswer(b.truth, "5"), "A");
});

test("MMBench TSV: quoted fields, nan hints, inline base64 images, prompt as model_vqa_mmbench", async () => {
  const png = (await sharp(join(dir, "a.png")).png().toBuffer()).toString("base64");
  const tsv = [
    "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage",
    `7\twhat is shown?\tnan\tcat\tdog\t\t\tB\tanimals\t${png}`,
    `8\t"two\tlines ""quoted"""\tA hint\tx\ty\tz\tnan\tC\tmisc\t${png}`,
  ].join("\n");
  assert.deepEqual(parseTsv('a\t"b\tc"\n"d""e"\tf\n'), [
    ["a", "b\tc"],
    ['d"e', "f"],
  ]);
  const b = loadBenchmark({ questions: file("mmb/dev.tsv", tsv) });
  assert.equal(b.metric, "mc");
  assert.equal(
    b.items[0].text,
    "what is shown?\nA. cat\nB. dog\nAnswer with the option's letter from the given choices directly.",
  );
  assert.equal(
    b.items[1].text,
    'A hint\ntwo\tlines "quoted"\nA. x\nB. y\nC. z\nAnswer with the option\'s letter from the given choices directly.',
  );
  assert.equal(b.items[0].images[0], `data:image/jpeg;base64,${png}`);
  assert.equal(b.items[0].rawId, 7);
  assert.deepEqual(b.truth.kind === "mc" && b.truth.items.get("8"), {
    questionId: "8",
    answerIndex: 2,
    numChoices: 3,
  });
  const bad = file("mmb/bad.tsv", `index\tquestion\tA\tB\tanswer\timage\n9\tq\tx\ty\tD\t${png}\n`);
  assert.throws(
    () => loadBenchmark({ questions: bad }),
    new RegExp(`${bad} line 2 \\(index 9\\): answer "D" is not one of its 2 options`),
  );
});

test("Karpathy caption JSON: the test split, references, demonstrations from train+restval", () => {
  const k = file("karpathy/dataset_coco.json", {
    dataset: "coco",
    images: [
      {
        filepath: ".",
        filename: "a.png",
        imgid: 0,
        cocoid: 100,
        split: "test",
        sentences: [{ raw: "A red square." }, { raw: "red." }],
      },
      {
        filepath: ".",
        filename: "b.png",
        imgid: 1,
        cocoid: 101,
        split: "train",
        sentences: [{ raw: "Train caption." }],
      },
      {
        filepath: ".",
        filename: "c.png",
        imgid: 2,
        cocoid: 102,
        split: "restval",
        sentences: [{ raw: "Restval caption." }],
      },
    ],
  });
  const b = loadBenchmark({ questions: k, support: k, imageFolder: dir });
  assert.equal(b.metric, "cider");
  assert.equal(b.answerFormat, "coco");
  assert.deepEqual(
    b.items.map((it) => [it.id, it.rawId, it.text]),
    [["100", 100, "Provide a one-sentence caption for the provided image."]],
  );
  assert.deepEqual(b.truth.kind === "cider" && b.truth.references.get("100"), ["A red square.", "red."]);
  assert.deepEqual(
    b.support.map((d) => d.answer),
    ["Train caption.", "Restval caption."],
  );
});

test("the world's benchmarks read through the same public readers, each with its metric", () => {
  const list = listWorldBenchmarks(world);
  assert.deepEqual(
    list.map((b) => [b.name, b.metric]),
    [
      ["vqa", "vqa"],
      ["textvqa", "textvqa"],
      ["knowledge", "vqa"],
      ["captions", "cider"],
      ["multi_image", "vqa"],
      ["mmlu", "mc"],
      ["icl", "exact"],
      ["icl_text", "exact"],
    ],
  );
  for (const spec of list) {
    const b = loadBenchmark(spec.files);
    assert.ok(b.items.length > 0, spec.name);
    for (const it of b.items)
      assert.ok(referenceAnswer(b.truth, it.id) !== undefined, `${spec.name} ${it.id}`);
  }
  const caps = loadWorldBenchmark(world, "captions");
  assert.equal(caps.answerFormat, "coco");
  assert.ok(
    caps.items.every((it) => caps.truth.kind === "cider" && caps.truth.references.has(it.id)),
    "captions are keyed by image_id",
  );
  const icl = loadWorldBenchmark(world, "icl");
  assert.equal(icl.items[0].demos?.length, 8);
  assert.ok(loadWorldBenchmark(world, "vqa").support.length > 0);
  assert.equal(loadWorldBenchmark(world, "multi_image").items[0].images.length, 2);
  assert.throws(() => loadWorldBenchmark(world, "nope"), /no benchmark "nope"/);
  assert.throws(() => listWorldBenchmarks(dir), /not a world folder/);
});

test("predictions files: empty and unknown ids are errors naming the file and the id", () => {
  const q = file("pr/q.jsonl", jsonl([{ question_id: 1, text: "q" }]));
  const a = file("pr/ann.json", { annotations: [{ question_id: 1, answers: tenOf("x") }] });
  const b = loadBenchmark({ questions: q, answers: [a] });
  const empty = file("pr/empty.jsonl", "");
  assert.throws(() => readBenchmarkPredictions(empty, b), new RegExp(`${empty}: file is empty`));
  const extra = file(
    "pr/extra.jsonl",
    jsonl([
      { question_id: 1, text: "x" },
      { question_id: 9, text: "y" },
    ]),
  );
  assert.throws(
    () => readBenchmarkPredictions(extra, b),
    new RegExp(`${extra}: question_id 9 is not a question of ${q}`),
  );
  assert.deepEqual(
    readBenchmarkPredictions(file("pr/ok.jsonl", jsonl([{ question_id: 1, text: "x" }])), b),
    new Map([["1", "x"]]),
  );
});

// The runner end to end on the tiny golden checkpoint (random weights: the scores are whatever they
// are) over a smoke world: predictions in the public formats, scores recomputed independently from
// the raw files with the official metric functions, batching that does not change answers, the
// image-withheld path, the trivial baselines, a missing prediction counted wrong and reported, and
// the `vila eval` command's files.

import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { run as runEval } from "../../src/cli/eval.js";
import {
  loadBenchmark,
  loadWorldBenchmark,
  readTrainAnswers,
  subsetBenchmark,
} from "../../src/eval/benchmarks.js";
import { vqaAccuracy } from "../../src/eval/metrics/index.js";
import { buildMessages, selectDemos } from "../../src/eval/prompts.js";
import { evalStops, evaluate, meanImage, resultFromPredictions } from "../../src/eval/runner.js";
import {
  categoryMajorityScore,
  demoMajorityBaseline,
  demoRandomBaseline,
  trainCategoryMajorityScore,
  trivialBaselines,
} from "../../src/eval/score.js";
import { generateAll } from "../../src/infer/generate.js";
import { loadPipeline, type Pipeline } from "../../src/infer/pipeline.js";
import { stopConditions, tokenizePrompt } from "../../src/infer/prompt.js";
import { stackImages } from "../../src/infer/session.js";
import { loadImage } from "../../src/io/image.js";
import { getConvTemplate, resolvePromptFormat } from "../../src/tokenizer/templates.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { generateWorld } from "../../src/world/index.js";
import { timerAbort } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vila-evalrun-"));
const world = join(dir, "world");
const modelDir = join(dir, "vila-tiny");
let p: Pipeline;
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fixture checkpoint with a character-level tokenizer (64 ids) so world text tokenizes, and a longer context (RoPE: no learned positions). */
function makeModel(): void {
  cpSync("test/fixtures/models/vila15", modelDir, { recursive: true });
  const chars = [..."\n \"'+,./0123456789:<>?abcdefghijklmnopqrstuvwxyz-!;()&*=_[]#%"];
  const vocab: Record<string, number> = { t0: 0, t1: 1, t2: 2 };
  for (const c of chars) vocab[c] = Object.keys(vocab).length;
  assert.equal(Object.keys(vocab).length, 64);
  const tok = {
    version: "1.0",
    added_tokens: [0, 1, 2].map((id) => ({
      id,
      content: `t${id}`,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Split", pattern: { Regex: "[\\s\\S]" }, behavior: "Isolated", invert: false },
    post_processor: null,
    decoder: { type: "Fuse" },
    model: { type: "WordLevel", vocab, unk_token: "t0" },
  };
  writeFileSync(join(modelDir, "llm/tokenizer.json"), JSON.stringify(tok));
  writeFileSync(
    join(modelDir, "llm/tokenizer_config.json"),
    JSON.stringify({ bos_token: "t1", eos_token: "t2", pad_token: "t0", model_max_length: 2048 }),
  );
  for (const f of ["llm/config.json", "config.json"]) {
    const c = JSON.parse(readFileSync(join(modelDir, f), "utf8"));
    (c.llm_cfg ?? c).max_position_embeddings = 2048;
    writeFileSync(join(modelDir, f), JSON.stringify(c));
  }
}

before(async () => {
  makeModel();
  await generateWorld({ out: world, preset: "smoke", seed: 2, workers: 1 });
  p = await loadPipeline(modelDir);
});

const opts = { convMode: "vicuna_v1", maxNewTokens: 6 } as const;

test("evaluate: one stripped answer per question, scored as the official metric scores the raw files", async () => {
  const bench = loadWorldBenchmark(world, "vqa");
  const r = await evaluate(p.model, p.tokenizer, p.preprocess, bench, { ...opts, limit: 6, batchSize: 4 });
  assert.equal(r.predictions.length, 6);
  assert.equal(r.count, 6);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(
    r.predictions.map((x) => x.id),
    bench.items.slice(0, 6).map((it) => it.id),
  );
  for (const x of r.predictions) {
    assert.equal(x.text, x.text.trim());
    assert.ok(
      x.prompt.startsWith("A chat between") && x.prompt.endsWith(`USER: <image>\n${x.question} ASSISTANT:`),
      x.prompt,
    );
  }
  // independent recomputation from the annotation file
  const ann = JSON.parse(readFileSync(join(world, "bench/vqa/annotations.json"), "utf8")).annotations as {
    question_id: number;
    answers: { answer: string }[];
  }[];
  const byId = new Map(ann.map((a) => [String(a.question_id), a.answers.map((x) => x.answer)]));
  const expected =
    (100 * r.predictions.reduce((s, x) => s + vqaAccuracy(x.text, byId.get(x.id) as string[]), 0)) / 6;
  assert.ok(Math.abs((r.score as number) - expected) < 1e-9, `${r.score} vs ${expected}`);
  // batching (left padding, length-sorted order) does not change any answer
  const one = await evaluate(p.model, p.tokenizer, p.preprocess, bench, { ...opts, limit: 6, batchSize: 1 });
  assert.deepEqual(
    one.predictions.map((x) => x.text),
    r.predictions.map((x) => x.text),
  );
});

test("an abort from a timer stops the evaluation after the current batch, even with nothing to load", async () => {
  // text-only questions: no image is read, so without a turn of the event loop per batch the timer
  // (and a SIGINT listener) would run only when every question had been answered
  const bench = loadWorldBenchmark(world, "mmlu");
  const abort = timerAbort(2);
  await assert.rejects(
    evaluate(p.model, p.tokenizer, p.preprocess, bench, {
      ...opts,
      maxNewTokens: 1,
      limit: 12,
      batchSize: 1,
      signal: abort.signal,
      onProgress: (done) => abort.at(done),
    }),
    // the timer runs in the event loop's next turn or the one after: after batch 2, 3 or 4 of 12
    /mmlu: evaluation aborted after [234] of 12 questions/,
  );
  assert.equal(abort.fired(), 2);
});

test("evaluate k-shot: the world's fixed demonstrations, and support draws that avoid the query image", async () => {
  const icl = loadWorldBenchmark(world, "icl");
  const r = await evaluate(p.model, p.tokenizer, p.preprocess, icl, { ...opts, shots: 2, limit: 3 });
  const d = icl.items[0].demos as { answer: string }[];
  assert.ok(
    r.predictions[0].prompt.includes(
      `USER: <image>\nthis is a ${d[0].answer}\n<image>\nthis is a ${d[1].answer}\n<image>\nthis is a ASSISTANT:`,
    ),
    r.predictions[0].prompt,
  );
  assert.equal(r.predictions[0].promptTokens, expectedLength(r.predictions[0].prompt, 3));
  const vqa = loadWorldBenchmark(world, "vqa");
  const m = await evaluate(p.model, p.tokenizer, p.preprocess, vqa, {
    ...opts,
    shots: 2,
    limit: 2,
    promptFormat: "multiturn",
  });
  assert.equal(
    m.predictions[0].prompt.split("ASSISTANT:").length - 1,
    3,
    "two finished exchanges and the generation slot",
  );
  await assert.rejects(
    evaluate(p.model, p.tokenizer, p.preprocess, loadWorldBenchmark(world, "mmlu"), { ...opts, shots: 1 }),
    /mmlu: 1-shot prompts for question_id 0 need 1 demonstrations but it has no support split/,
  );
  await assert.rejects(
    evaluate(p.model, p.tokenizer, p.preprocess, vqa, { ...opts, limit: 1, maxContext: 50 }),
    /vqa question_id 0: the 0-shot prompt is \d+ positions .* context is 50/,
  );
});

test("k-shot: every distinct image is encoded once, and the answers are those of each prompt encoding its own images", async () => {
  const vqa = loadWorldBenchmark(world, "vqa");
  const o = { ...opts, shots: 2, limit: 6, batchSize: 2 };
  const encode = p.model.encodeImages;
  let encoded = 0;
  p.model.encodeImages = (images) => {
    encoded += images.shape[0];
    return encode.call(p.model, images);
  };
  let r: Awaited<ReturnType<typeof evaluate>>;
  try {
    r = await evaluate(p.model, p.tokenizer, p.preprocess, vqa, o);
  } finally {
    p.model.encodeImages = encode;
  }
  const refs = vqa.items
    .slice(0, 6)
    .map((it) => buildMessages(it, selectDemos(it, vqa.support, 2, 0, "vqa")).images);
  const distinct = new Set(refs.flat()).size;
  assert.ok(distinct < refs.flat().length, "the demonstrations repeat");
  assert.equal(encoded, distinct);
  // the reference: each question alone, its pixels through generate's own image path
  const stops = evalStops(resolvePromptFormat("vicuna_v1"), p.tokenizer);
  for (const [i, x] of r.predictions.entries()) {
    const pixels = [];
    for (const ref of refs[i]) pixels.push(await loadImage(ref, p.preprocess));
    const [alone] = await generateAll(
      p.model,
      {
        prompts: [tokenizePrompt(x.prompt, p.tokenizer, resolvePromptFormat("vicuna_v1"))],
        images: stackImages(pixels),
      },
      { tokenizer: p.tokenizer, temperature: 0, maxNewTokens: 6, ...stops },
    );
    assert.equal(alone.text.trim(), x.text, `question ${x.id}`);
  }
});

/** Characters (one token each here) plus imageTokens per <image>. */
function expectedLength(prompt: string, images: number): number {
  return prompt.replaceAll("<image>", "").length + images * p.model.imageTokens;
}

test("image withheld: every image becomes the mean image; questions differing only in image get one answer", async () => {
  const mean = meanImage(p.preprocess);
  const { mean: mu, std } = p.preprocess;
  for (let c = 0; c < 3; c++) {
    const v = (Math.round(mu[c] * 255) / 255 - mu[c]) / std[c];
    assert.ok(Math.abs(mean.pixels[c * mean.width * mean.height] - v) < 1e-6);
  }
  const b = join(dir, "withheld");
  mkdirSync(b);
  const colours = [
    { r: 255, g: 0, b: 0 },
    { r: 0, g: 0, b: 255 },
    { r: 255, g: 255, b: 255 },
  ];
  for (const [i, bg] of colours.entries())
    await sharp({ create: { width: 20, height: 20, channels: 3, background: bg } })
      .png()
      .toFile(join(b, `${i}.png`));
  writeFileSync(
    join(b, "q.jsonl"),
    [0, 1, 2]
      .map((i) => `${JSON.stringify({ question_id: i, image: `${i}.png`, text: "what colour?" })}\n`)
      .join(""),
  );
  writeFileSync(
    join(b, "a.json"),
    JSON.stringify({
      annotations: ["red", "blue", "white"].map((c, i) => ({ question_id: i, answers: Array(10).fill(c) })),
    }),
  );
  const bench = loadBenchmark({ questions: join(b, "q.jsonl"), answers: [join(b, "a.json")] });
  const w = await evaluate(p.model, p.tokenizer, p.preprocess, bench, {
    ...opts,
    withholdImage: true,
    batchSize: 3,
  });
  assert.equal(w.withholdImage, true);
  assert.equal(new Set(w.predictions.map((x) => x.text)).size, 1);
  const seen = await evaluate(p.model, p.tokenizer, p.preprocess, bench, { ...opts, batchSize: 3 });
  assert.deepEqual(
    seen.predictions.map((x) => x.prompt),
    w.predictions.map((x) => x.prompt),
    "same prompts, only pixels change",
  );
});

test("trivial baselines: the support's most frequent answer and the test prior, scored with the metric", () => {
  const b = join(dir, "base");
  mkdirSync(b);
  writeFileSync(
    join(b, "q.jsonl"),
    [0, 1, 2, 3].map((i) => `${JSON.stringify({ question_id: i, text: "yes or no?" })}\n`).join(""),
  );
  const answers = [
    Array(10).fill("yes"),
    Array(10).fill("no"),
    [...Array(3).fill("yes"), ...Array(7).fill("no")],
    Array(10).fill("no"),
  ];
  writeFileSync(
    join(b, "a.json"),
    JSON.stringify({ annotations: answers.map((a, i) => ({ question_id: i, answers: a })) }),
  );
  writeFileSync(
    join(b, "s.jsonl"),
    ["yes", "no", "yes"].map((a) => `${JSON.stringify({ text: "yes or no?", answer: a })}\n`).join(""),
  );
  const bench = loadBenchmark({
    questions: join(b, "q.jsonl"),
    answers: [join(b, "a.json")],
    support: join(b, "s.jsonl"),
  });
  const base = trivialBaselines(bench);
  // "yes" everywhere: 1 + 0 + min(1, 3 matches among 9 others / 3) averaged over the 10 leave-one-outs + 0
  const third = (3 * (2 / 3) + 7 * 1) / 10;
  assert.deepEqual(base.supportMajority?.answer, "yes");
  assert.ok(Math.abs((base.supportMajority?.score as number) - (100 * (1 + third)) / 4) < 1e-9);
  assert.equal(base.testMajority?.answer, "no");
  assert.ok(Math.abs((base.testMajority?.score as number) - (100 * (0 + 1 + 1 + 1)) / 4) < 1e-9);
  assert.equal(base.chance, null);
  const mc = trivialBaselines(loadWorldBenchmark(world, "mmlu"));
  assert.equal(mc.chance, 25);
  assert.equal(mc.supportMajority, null);
});

/** Seven typed questions ("which" mostly "image 2", "total" mostly "4") with ten identical answers
 * each, written to b/q.jsonl and b/a.json; `withCategory` picks the questions that keep their type. */
const TYPED_ROWS = [
  ["which", "image 2"],
  ["which", "image 2"],
  ["which", "image 1"],
  ["total", "4"],
  ["total", "4"],
  ["total", "3"],
  ["total", "5"],
];
function writeTypedBench(b: string, withCategory: (i: number) => boolean = () => true): void {
  mkdirSync(b, { recursive: true });
  writeFileSync(
    join(b, "q.jsonl"),
    TYPED_ROWS.map(([category], i) =>
      JSON.stringify({ question_id: i, text: "?", ...(withCategory(i) ? { category } : {}) }),
    ).join("\n"),
  );
  writeFileSync(
    join(b, "a.json"),
    JSON.stringify({
      annotations: TYPED_ROWS.map(([, a], i) => ({ question_id: i, answers: Array(10).fill(a) })),
    }),
  );
}

test("the per-question-type prior answers each question with its category's most frequent answer", () => {
  const b = join(dir, "category-majority");
  // a constant gets 2 of 7 right, the per-type prior 4
  const write = (withCategory: (i: number) => boolean) => writeTypedBench(b, withCategory);
  const load = () => loadBenchmark({ questions: join(b, "q.jsonl"), answers: [join(b, "a.json")] });
  write(() => true);
  const bench = load();
  assert.ok(Math.abs((categoryMajorityScore(bench)?.score as number) - (100 * 4) / 7) < 1e-9);
  assert.ok(Math.abs((trivialBaselines(bench).testMajority?.score as number) - (100 * 2) / 7) < 1e-9);
  assert.equal(trivialBaselines(bench).categoryMajority, categoryMajorityScore(bench)?.score);
  write((i) => i !== 4);
  assert.equal(categoryMajorityScore(load()), null, "a question without a type: no per-type prior");
  writeFileSync(
    join(b, "q.jsonl"),
    TYPED_ROWS.map((_, i) => JSON.stringify({ question_id: i, text: "?", category: "x" })).join("\n"),
  );
  assert.equal(categoryMajorityScore(load()), null, "one type: the constant baseline already covers it");
});

test("the training data's per-question-type prior answers each type with its most frequent training answer", () => {
  const b = join(dir, "train-prior");
  // the evaluated questions favour "image 2" and "4"; the training data answers "which" with "image 1"
  // most often and ties "total" between "3" and "4" ("3" first in code-point order): 1 + 1 of 7 right,
  // against the oracle's 2 + 2
  writeTypedBench(b);
  const train = join(b, "train.json");
  const load = (categories: unknown) => {
    writeFileSync(train, JSON.stringify({ source: "sft.json", categories }));
    return loadBenchmark({
      questions: join(b, "q.jsonl"),
      answers: [join(b, "a.json")],
      trainAnswers: train,
    });
  };
  const bench = load({
    which: { "image 1": 7, "image 2": 5 },
    total: { "4": 3, "3": 3, "5": 1 },
    extra: { x: 1 },
  });
  const prior = trainCategoryMajorityScore(bench);
  assert.ok(Math.abs((prior?.score as number) - (100 * 2) / 7) < 1e-9);
  assert.ok(Math.abs((prior?.byCategory.which.score ?? Number.NaN) - 100 / 3) < 1e-9);
  assert.ok(Math.abs((prior?.byCategory.total.score ?? Number.NaN) - 25) < 1e-9);
  const base = trivialBaselines(bench);
  assert.equal(base.trainCategoryMajority, prior?.score);
  assert.deepEqual(base.trainCategoryMajorityByCategory, { which: 100 / 3, total: 25 });
  assert.ok(Math.abs((base.categoryMajority as number) - (100 * 4) / 7) < 1e-9, "the oracle beside it");
  assert.equal(trainCategoryMajorityScore(load({ which: { "image 1": 1 } })), null, "a type missing: none");
  assert.equal(
    trainCategoryMajorityScore(
      loadBenchmark({ questions: join(b, "q.jsonl"), answers: [join(b, "a.json")] }),
    ),
    null,
    "no train answers: none",
  );
  assert.throws(
    () => load({ which: { "image 1": 0 } }),
    /train\.json: categories\.which\."image 1" must be a count >= 1/,
  );
  assert.throws(() => load({ which: {} }), /train\.json: categories\.which must be a non-empty/);
  assert.throws(() => load(["which"]), /train\.json: expected \{"categories"/);
  writeFileSync(train, "{");
  assert.throws(() => readTrainAnswers(train), /train\.json: not JSON/);
  assert.throws(() => readTrainAnswers(join(b, "none.json")), /none\.json: train-answers file not found/);
});

test("the in-context copying baseline answers each question with its demonstrations' most frequent answer", () => {
  const b = join(dir, "demo-majority");
  mkdirSync(b);
  const episodes = [
    ["dax", "wug", "wug", "dax"],
    ["fep", "blick", "blick", "fep"],
    ["zorn", "mip", "mip", "mip"],
  ];
  const gold = ["dax", "blick", "mip"];
  writeFileSync(
    join(b, "q.jsonl"),
    episodes
      .map((e, i) => {
        const demos = e.map((answer, j) => ({ text: `k${j}:`, answer }));
        return `${JSON.stringify({ question_id: i, text: "k:", demos })}\n`;
      })
      .join(""),
  );
  writeFileSync(
    join(b, "a.json"),
    JSON.stringify({ annotations: gold.map((a, i) => ({ question_id: i, answers: Array(10).fill(a) })) }),
  );
  const bench = loadBenchmark({ questions: join(b, "q.jsonl"), answers: [join(b, "a.json")] });
  const near = (x: number | null, y: number) =>
    assert.ok(x !== null && Math.abs(x - y) < 1e-9, `${x} vs ${y}`);
  // 4 shots: dax (a 2-2 tie goes to the earliest) right, fep (tie) wrong, mip right
  near(demoMajorityBaseline(bench, 4), 200 / 3);
  // 1 shot: the first answer: dax right, fep wrong, zorn wrong
  near(demoMajorityBaseline(bench, 1), 100 / 3);
  // 3 shots: wug wrong, blick right, mip right
  near(demoMajorityBaseline(bench, 3), 200 / 3);
  assert.equal(demoMajorityBaseline(bench, 0), null);
  // questions without demonstrations of their own have no copying baseline
  assert.equal(demoMajorityBaseline(loadWorldBenchmark(world, "vqa"), 4), null);
  // a random one of the distinct demonstrated answers: 1 shot {dax} 1, {fep} 0, {zorn} 0;
  // 3 shots {dax, wug} 1/2, {fep, blick} 1/2, {zorn, mip} 1/2; 4 shots the same sets
  near(demoRandomBaseline(bench, 1), 100 / 3);
  near(demoRandomBaseline(bench, 3), 50);
  near(demoRandomBaseline(bench, 4), 50);
  assert.equal(demoRandomBaseline(bench, 0), null);
  assert.equal(demoRandomBaseline(loadWorldBenchmark(world, "vqa"), 4), null);
});

test("a question without a prediction counts as wrong and is reported, never skipped", () => {
  const bench = loadWorldBenchmark(world, "vqa");
  const first = bench.items[0];
  const answers = bench.truth.kind === "vqa" ? (bench.truth.answers.get(first.id) as string[]) : [];
  const preds = new Map(bench.items.slice(1).map((it) => [it.id, "yes"]));
  preds.set(bench.items[1].id, answers[0]);
  const r = resultFromPredictions(bench, preds);
  assert.deepEqual(r.missing, [first.id]);
  assert.equal(r.perItem[first.id], 0);
  assert.equal(r.count, bench.items.length);
  const full = resultFromPredictions(bench, new Map([...preds, [first.id, "yes"]]));
  const firstScore = 100 * vqaAccuracy("yes", answers);
  assert.ok(Math.abs((full.score as number) - (r.score as number) - firstScore / bench.items.length) < 1e-9);
});

test("vila eval: predictions, summary.json, summary.md and a self-contained report.html per benchmark", async () => {
  const out = join(dir, "out");
  const log = console.log;
  let printed = "";
  console.log = (s: string) => {
    printed += s;
  };
  try {
    const code = await runEval([
      "--model",
      modelDir,
      "--world",
      world,
      "--bench",
      "all",
      "--out",
      out,
      "--conv-mode",
      "vicuna_v1",
      "--max-new-tokens",
      "4",
      "--limit",
      "5",
      "--json",
      "--sample",
      "3",
    ]);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  const summaries = JSON.parse(printed) as { bench: string; metric: string; count: number; score: number }[];
  assert.equal(summaries.length, 8);
  for (const s of summaries) {
    assert.equal(s.count, Math.min(5, loadWorldBenchmark(world, s.bench).items.length), s.bench);
    const d = join(out, s.bench);
    for (const f of ["summary.json", "summary.md", "report.html"])
      assert.ok(existsSync(join(d, f)), `${s.bench}/${f}`);
    const html = readFileSync(join(d, "report.html"), "utf8");
    assert.ok(!/(src|href)="(?!data:)/.test(html), "no external resources");
    if (s.bench !== "mmlu" && s.bench !== "icl_text")
      assert.ok(html.includes('<img src="data:image/png;base64,'), s.bench);
    assert.deepEqual(JSON.parse(readFileSync(join(d, "summary.json"), "utf8")).score, s.score);
  }
  const rows = readFileSync(join(out, "vqa/predictions.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, 5);
  assert.deepEqual(Object.keys(rows[0]).sort(), [
    "answer_id",
    "metadata",
    "model_id",
    "prompt",
    "question_id",
    "text",
  ]);
  assert.equal(typeof rows[0].question_id, "number");
  const caps = JSON.parse(readFileSync(join(out, "captions/predictions.json"), "utf8")) as {
    image_id: number;
    caption: string;
  }[];
  const capAnn = JSON.parse(readFileSync(join(world, "bench/captions/annotations.json"), "utf8")) as {
    images: { id: number }[];
  };
  assert.deepEqual(
    caps.map((c) => c.image_id),
    capAnn.images.slice(0, 5).map((i) => i.id),
  );
  assert.ok(readFileSync(join(out, "summary.md"), "utf8").includes("| vqa | vqa | 0 | 5 |"));

  // k shots on an in-context benchmark, raw: the summary carries the copying baseline
  const rawOut = join(dir, "cli-raw");
  console.log = () => {};
  try {
    const code = await runEval([
      ...["--model", modelDir, "--world", world, "--bench", "icl_text", "--shots", "2"],
      ...["--conv-mode", "raw", "--max-new-tokens", "4", "--limit", "5", "--out", rawOut, "--json"],
    ]);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  const rawSummary = JSON.parse(readFileSync(join(rawOut, "icl_text", "summary.json"), "utf8"));
  assert.equal(rawSummary.conv_mode, "raw");
  const iclText = loadWorldBenchmark(world, "icl_text");
  assert.equal(
    rawSummary.baselines.demo_majority,
    demoMajorityBaseline(subsetBenchmark(iclText, iclText.items.slice(0, 5)), 2),
  );
  assert.equal(typeof rawSummary.baselines.demo_majority, "number");
  assert.equal(
    rawSummary.baselines.demo_random,
    50,
    "2-way episodes: a random demonstrated answer scores 50",
  );

  // rescoring the predictions file with one line removed: the question counts as wrong and is listed
  const pred = join(out, "vqa/predictions.jsonl");
  const lines = readFileSync(pred, "utf8").trim().split("\n");
  const cut = join(dir, "cut.jsonl");
  writeFileSync(cut, `${lines.slice(1).join("\n")}\n`);
  const errors: string[] = [];
  const err = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    await runEval([
      "--world",
      world,
      "--bench",
      "vqa",
      "--predictions",
      cut,
      "--limit",
      "5",
      "--out",
      join(dir, "rescored"),
      "--json",
    ]);
  } finally {
    console.error = err;
    console.log = log;
  }
  const rescored = JSON.parse(readFileSync(join(dir, "rescored/vqa/summary.json"), "utf8"));
  assert.deepEqual(rescored.missing, [String(rows[0].question_id)]);
  assert.equal(rescored.count, 5);
  assert.ok(
    errors.some((e) => e.includes("have no prediction") && e.includes(cut)),
    errors.join("\n"),
  );
  assert.ok(
    readFileSync(join(dir, "rescored/vqa/summary.md"), "utf8").includes(
      "had no prediction and count as wrong",
    ),
  );
  // an empty predictions file is an error naming it
  const empty = join(dir, "empty.jsonl");
  writeFileSync(empty, "");
  await assert.rejects(
    runEval(["--world", world, "--bench", "vqa", "--predictions", empty, "--out", join(dir, "x")]),
    new RegExp(`${empty}: file is empty`),
  );
  unlinkSync(empty);
});

test("raw answers end at the end of their line or sentence; templated answers at the template's stops", async () => {
  const tok = await loadTokenizer("test/fixtures/models/vila15/llm");
  const raw = evalStops({ kind: "raw" }, tok);
  assert.deepEqual(raw.stopStrings, ["\n", ". ", "? ", "! "]);
  assert.deepEqual(raw.stopTokenIds, stopConditions({ kind: "raw" }, tok).stopTokenIds);
  const hermes = { kind: "builtin" as const, template: getConvTemplate("hermes-2") };
  assert.deepEqual(evalStops(hermes, tok), stopConditions(hermes, tok));
});

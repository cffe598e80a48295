// Benchmarks as the runner sees them: question items (text, images, optional fixed demonstrations),
// a pool of support demonstrations for k-shot prompts, and the ground truth of the benchmark's
// metric, read from the public file formats:
//  - questions (question_files.ts): LLaVA question JSONL, ScienceQA's LLaVA JSON, MMBench TSV,
//    Karpathy-split caption JSON;
//  - ground truth (through src/eval/metrics readers): VQAv2/OK-VQA annotations, TextVQA `{data}`,
//    COCO caption annotations, POPE label JSONL, ScienceQA `problems.json` or `{question_id, answer}`
//    letter rows, GQA `{id: {answer}}` or `{question_id, answer}` rows (exact match);
//  - support: JSONL `{image?, text, answer}` (the world's `support.jsonl`), or a Karpathy split.
// Every error names the file and, where there is one, the line and the id. Image references are file
// paths (resolved against the image folder) or `data:` URIs (MMBench's inline images).

import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import {
  BENCH_NAMES,
  type BenchName,
  benchAnnotations,
  benchQuestions,
  benchSupport,
  benchTrainAnswers,
  ICL_SHOTS,
} from "../world/layout.js";
import {
  type ChoiceItem,
  DEFAULT_OPTIONS,
  type ExactNormalize,
  readChoiceAnnotations,
  readCocoCaptionAnnotations,
  readExactAnnotations,
  readJsonOrJsonl,
  readPopeLabels,
  readVqaAnnotations,
} from "./metrics/index.js";
import {
  CAPTION_PROMPT,
  isKarpathy,
  type QuestionSet,
  type Row,
  readKarpathy,
  readLlavaQuestions,
  readMmbench,
  readScienceQaQuestions,
  readSupport,
} from "./question_files.js";

export {
  CAPTION_PROMPT,
  MC_SUFFIX,
  parseTsv,
  readLlavaQuestions,
  readMmbench,
  readScienceQaQuestions,
  readSupport,
} from "./question_files.js";

/** The metric a benchmark is scored with; "none" = no ground truth (predictions only, e.g. test-dev). */
export type MetricName = "vqa" | "textvqa" | "cider" | "mc" | "pope" | "exact" | "none";
export const METRIC_NAMES: readonly MetricName[] = ["vqa", "textvqa", "cider", "mc", "pope", "exact", "none"];

/** One demonstration: images (possibly none), the question text and its answer. */
export interface Demo {
  images: string[];
  text: string;
  answer: string;
}

/** One question to answer. */
export interface EvalItem {
  /** the id the metric keys on, as a string: question_id, or image_id for captions. */
  id: string;
  /** the id as the file writes it (number or string), for the predictions file. */
  rawId: string | number;
  /** the question text as in the question file (the `prompt` field of LLaVA answer files). */
  text: string;
  /** image paths (absolute) or data: URIs, in placeholder order. */
  images: string[];
  category?: string;
  /** fixed demonstrations (the world's in-context benchmarks): k-shot uses demos[0:k]. */
  demos?: Demo[];
  /** options of a multiple-choice question, when the question file lists them. */
  numChoices?: number;
  /** where the item is in its file ("line 3"), for errors. */
  where: string;
}

/** The ground truth of a benchmark, keyed by item id. */
export type GroundTruth =
  | { kind: "vqa" | "textvqa"; answers: Map<string, string[]> }
  | { kind: "cider"; references: Map<string, string[]> }
  | { kind: "mc"; items: Map<string, ChoiceItem> }
  | { kind: "pope"; labels: Map<string, "yes" | "no"> }
  | { kind: "exact"; answers: Map<string, string>; normalize: ExactNormalize }
  | { kind: "none" };

export interface LoadedBenchmark {
  name: string;
  metric: MetricName;
  items: EvalItem[];
  truth: GroundTruth;
  /** demonstrations for k-shot prompts (empty when the benchmark has no support split). */
  support: Demo[];
  /** the training data's answers per question type ({type: {answer: count}}), from which the
   * per-question-type prior is taken; null without a train-answers file */
  trainAnswers: Map<string, Map<string, number>> | null;
  /** "llava": answer JSONL {question_id, prompt, text, ...}; "coco": [{image_id, caption}]. */
  answerFormat: "llava" | "coco";
  files: {
    questions: string;
    answers: string[];
    support?: string;
    trainAnswers?: string;
    imageFolder: string;
  };
}

/** Where a benchmark's files are and how to read them. */
export interface BenchmarkFiles {
  name?: string;
  /** LLaVA question JSONL, ScienceQA LLaVA JSON, MMBench TSV or Karpathy caption JSON. */
  questions: string;
  /** ground-truth files (several are merged, e.g. POPE's three label files); none = predictions only. */
  answers?: string[];
  /** support demonstrations: JSONL {image?, text, answer}, or a Karpathy JSON (see supportSplit). */
  support?: string;
  /** folder that relative image paths are resolved against; default the question file's folder. */
  imageFolder?: string;
  /** the training data's answers per question type: JSON {"categories": {type: {answer: count}}}
   * (a world's train_answers.json); the per-question-type prior is taken from it. */
  trainAnswers?: string;
  /** the metric; default detected from the ground-truth file. */
  metric?: MetricName;
  /** Karpathy split evaluated (default "test") and the one demonstrations come from (default "train"). */
  split?: string;
  supportSplit?: string;
  /** instruction used for Karpathy caption files (which have no question text). */
  captionPrompt?: string;
}

/**
 * A train-answers file: {"categories": {type: {answer: count}}} (other top-level keys, such as
 * "source", are ignored). Throws naming the file and the field that is wrong.
 * @example readTrainAnswers("world/bench/vqa/train_answers.json").get("position")?.get("center")
 */
export function readTrainAnswers(path: string): Map<string, Map<string, number>> {
  if (!existsSync(path)) throw new Error(`${path}: train-answers file not found`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(doc) || !isObject(doc.categories))
    throw new Error(`${path}: expected {"categories": {type: {answer: count}}}`);
  const out = new Map<string, Map<string, number>>();
  for (const [type, counts] of Object.entries(doc.categories)) {
    if (!isObject(counts) || Object.keys(counts).length === 0)
      throw new Error(`${path}: categories.${type} must be a non-empty {answer: count} object`);
    const m = new Map<string, number>();
    for (const [answer, n] of Object.entries(counts)) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
        throw new Error(
          `${path}: categories.${type}.${JSON.stringify(answer)} must be a count >= 1, got ${JSON.stringify(n)}`,
        );
      m.set(answer, n);
    }
    out.set(type, m);
  }
  return out;
}

function majority(answers: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0];
  for (const [a, c] of counts) if (c > (counts.get(best) ?? 0)) best = a;
  return best;
}

/** Which metric a ground-truth file is for, from its shape. */
export function detectMetric(path: string): MetricName {
  const parsed = readJsonOrJsonl(path);
  const first = (v: unknown) => (Array.isArray(v) && v.length ? (v[0] as Row) : undefined);
  const ofRow = (r: Row | undefined): MetricName | undefined => {
    if (!r || typeof r !== "object") return undefined;
    if (typeof r.caption === "string") return "cider";
    if (Array.isArray(r.answers)) return "vqa";
    if (r.label === "yes" || r.label === "no") return "pope";
    if (Array.isArray(r.choices) || typeof r.answer_index === "number") return "mc";
    if (typeof r.answer === "string") return /^[A-E]$/.test(r.answer) ? "mc" : "exact";
    return undefined;
  };
  let m: MetricName | undefined;
  if ("rows" in parsed) m = ofRow(parsed.rows[0]?.value as Row);
  else if (Array.isArray(parsed.doc)) m = ofRow(first(parsed.doc));
  else {
    const doc = (parsed.doc ?? {}) as Row;
    if (Array.isArray(doc.data)) m = "textvqa";
    else if (Array.isArray(doc.annotations)) m = ofRow(first(doc.annotations));
    else m = ofRow(Object.values(doc)[0] as Row); // ScienceQA problems / GQA questions, keyed by id
  }
  if (!m)
    throw new Error(
      `${path}: cannot tell which metric this ground truth is for; pass the metric (${METRIC_NAMES.join(", ")})`,
    );
  return m;
}

function mergeInto<V>(
  into: Map<string, V>,
  path: string,
  entries: Iterable<[string, V]>,
  seen: Map<string, string>,
): void {
  for (const [id, v] of entries) {
    const other = seen.get(id);
    if (other !== undefined) throw new Error(`${path}: question_id ${id} is also in ${other}`);
    seen.set(id, path);
    into.set(id, v);
  }
}

/** Read ground-truth files for a metric (several files are merged; an id in two files is an error). */
export function readGroundTruth(paths: readonly string[], metric: MetricName): GroundTruth {
  const seen = new Map<string, string>();
  switch (metric) {
    case "vqa":
    case "textvqa": {
      const answers = new Map<string, string[]>();
      for (const p of paths)
        mergeInto(
          answers,
          p,
          readVqaAnnotations(p).map((a) => [a.questionId, a.answers]),
          seen,
        );
      return { kind: metric, answers };
    }
    case "cider": {
      const references = new Map<string, string[]>();
      for (const p of paths) mergeInto(references, p, readCocoCaptionAnnotations(p), seen);
      return { kind: "cider", references };
    }
    case "mc": {
      const items = new Map<string, ChoiceItem>();
      for (const p of paths)
        mergeInto(
          items,
          p,
          readChoiceAnnotations(p).map((c) => [c.questionId, c]),
          seen,
        );
      return { kind: "mc", items };
    }
    case "pope": {
      const labels = new Map<string, "yes" | "no">();
      for (const p of paths)
        mergeInto(
          labels,
          p,
          readPopeLabels(p).map((l) => [l.questionId, l.label]),
          seen,
        );
      return { kind: "pope", labels };
    }
    case "exact": {
      const answers = new Map<string, string>();
      for (const p of paths) {
        // VQA-style annotations (the world's in-context benches) give their most common answer
        const detected = detectMetric(p);
        const vqaStyle = detected === "vqa" || detected === "textvqa";
        const entries: [string, string][] = vqaStyle
          ? readVqaAnnotations(p).map((a) => [a.questionId, majority(a.answers)])
          : readExactAnnotations(p).map((e) => [e.questionId, e.answer]);
        mergeInto(answers, p, entries, seen);
      }
      return { kind: "exact", answers, normalize: "gqa" };
    }
    case "none":
      return { kind: "none" };
  }
}

/** The ids a ground truth covers. */
function truthHas(truth: GroundTruth, id: string): boolean {
  switch (truth.kind) {
    case "vqa":
    case "textvqa":
    case "exact":
      return truth.answers.has(id);
    case "cider":
      return truth.references.has(id);
    case "mc":
      return truth.items.has(id);
    case "pope":
      return truth.labels.has(id);
    case "none":
      return true;
  }
}

/** The single reference answer of an item (majority VQA answer, first caption, correct letter, label). */
export function referenceAnswer(truth: GroundTruth, id: string): string | undefined {
  switch (truth.kind) {
    case "vqa":
    case "textvqa": {
      const a = truth.answers.get(id);
      return a ? majority(a) : undefined;
    }
    case "exact":
      return truth.answers.get(id);
    case "cider":
      return truth.references.get(id)?.[0];
    case "mc": {
      const c = truth.items.get(id);
      return c ? DEFAULT_OPTIONS[c.answerIndex] : undefined;
    }
    case "pope":
      return truth.labels.get(id);
    case "none":
      return undefined;
  }
}

/** Every reference answer of an item, for reports. */
export function referenceAnswers(truth: GroundTruth, id: string): string[] {
  if (truth.kind === "vqa" || truth.kind === "textvqa") return truth.answers.get(id) ?? [];
  if (truth.kind === "cider") return truth.references.get(id) ?? [];
  const one = referenceAnswer(truth, id);
  return one === undefined ? [] : [one];
}

function checkImages(bench: LoadedBenchmark): void {
  const q = bench.files.questions;
  const check = (img: string, what: string) => {
    if (!img.startsWith("data:") && !existsSync(img)) throw new Error(`${what}: image ${img} not found`);
  };
  for (const it of bench.items) {
    const at = `${q} ${it.where} (${bench.answerFormat === "coco" ? "image_id" : "question_id"} ${it.id})`;
    for (const img of it.images) check(img, at);
    it.demos?.forEach((d, i) => {
      for (const img of d.images) check(img, `${at} demos[${i}]`);
    });
  }
  bench.support.forEach((d, i) => {
    for (const img of d.images) check(img, `${bench.files.support} demonstration ${i}`);
  });
}

/**
 * Read a benchmark from its public files; checks that every question has ground truth (the error
 * names the answer file and the id), that ids are unique and that every image exists.
 * @example
 * const bench = loadBenchmark({ questions: "llava_textvqa_val_v051_ocr.jsonl", answers: ["TextVQA_0.5.1_val.json"], metric: "textvqa", imageFolder: "train_images" });
 */
export function loadBenchmark(files: BenchmarkFiles): LoadedBenchmark {
  const qPath = files.questions;
  if (!existsSync(qPath)) throw new Error(`${qPath}: question file not found`);
  const imageFolder = resolve(files.imageFolder ?? dirname(qPath));
  const answers = files.answers ?? [];
  for (const a of answers) if (!existsSync(a)) throw new Error(`${a}: answer file not found`);
  const karpathy = isKarpathy(qPath);
  const metric: MetricName =
    files.metric ??
    (karpathy ? "cider" : qPath.endsWith(".tsv") ? "mc" : answers.length ? detectMetric(answers[0]) : "none");
  let set: QuestionSet;
  let support: Demo[] = [];
  if (karpathy) {
    const prompt = files.captionPrompt ?? CAPTION_PROMPT;
    const imgs = readKarpathy(qPath, imageFolder, files.split ?? "test");
    set = {
      items: imgs.map((im, i) => ({
        id: String(im.id),
        rawId: im.id,
        text: prompt,
        images: [im.image],
        where: `image ${i}`,
      })),
      truth: { kind: "cider", references: new Map(imgs.map((im) => [String(im.id), im.sentences])) },
      answerFormat: "coco",
    };
    if (files.support && isKarpathy(files.support))
      support = readKarpathy(files.support, imageFolder, files.supportSplit ?? "train").map((im) => ({
        images: [im.image],
        text: prompt,
        answer: im.sentences[0],
      }));
  } else if (qPath.endsWith(".tsv")) set = readMmbench(qPath);
  else {
    const parsed = readJsonOrJsonl(qPath);
    const firstRow =
      "doc" in parsed && Array.isArray(parsed.doc) ? (parsed.doc[0] as Row | undefined) : undefined;
    if (firstRow && Array.isArray(firstRow.conversations))
      set = { items: readScienceQaQuestions(qPath, imageFolder), answerFormat: "llava" };
    else
      set = {
        items: readLlavaQuestions(qPath, imageFolder, metric === "cider"),
        answerFormat: metric === "cider" ? "coco" : "llava",
      };
  }
  if (files.support && support.length === 0) support = readSupport(files.support, imageFolder);
  if (set.items.length === 0) throw new Error(`${qPath}: no questions`);
  const ids = new Set<string>();
  for (const it of set.items) {
    if (ids.has(it.id)) throw new Error(`${qPath} ${it.where}: duplicate id ${it.id}`);
    ids.add(it.id);
  }
  const truth = answers.length ? readGroundTruth(answers, metric) : (set.truth ?? { kind: "none" });
  if (truth.kind !== "none" && truth.kind !== metric && !(metric === "textvqa" && truth.kind === "vqa"))
    throw new Error(`${qPath}: the ground truth is for "${truth.kind}" but the metric is "${metric}"`);
  if (truth.kind === "mc") {
    // the question file knows how many options each question shows
    for (const it of set.items) {
      const c = truth.items.get(it.id);
      if (c && it.numChoices !== undefined) truth.items.set(it.id, { ...c, numChoices: it.numChoices });
    }
  }
  const truthFile = answers.length ? answers.join(", ") : qPath;
  for (const it of set.items) {
    if (!truthHas(truth, it.id))
      throw new Error(
        `${truthFile}: no ground truth for ${set.answerFormat === "coco" ? "image_id" : "question_id"} ${it.id} (${qPath} ${it.where})`,
      );
  }
  const bench: LoadedBenchmark = {
    name: files.name ?? basename(qPath).replace(/\.(jsonl|json|tsv)$/, ""),
    metric: truth.kind === "none" ? "none" : metric,
    items: set.items,
    truth,
    support,
    trainAnswers: files.trainAnswers ? readTrainAnswers(files.trainAnswers) : null,
    answerFormat: set.answerFormat,
    files: {
      questions: qPath,
      answers,
      imageFolder,
      ...(files.support ? { support: files.support } : {}),
      ...(files.trainAnswers ? { trainAnswers: files.trainAnswers } : {}),
    },
  };
  checkImages(bench);
  return bench;
}

/** The same benchmark restricted to some of its items (e.g. `--limit`). */
export function subsetBenchmark(bench: LoadedBenchmark, items: EvalItem[]): LoadedBenchmark {
  return { ...bench, items };
}

/** The metric of each world benchmark (docs/EVAL.md explains the choices). */
export const WORLD_METRICS: Readonly<Record<BenchName, MetricName>> = {
  vqa: "vqa",
  textvqa: "textvqa",
  knowledge: "vqa",
  captions: "cider",
  multi_image: "vqa",
  mmlu: "mc",
  // nonce-word answers: exact match (vqaEval would turn a predicted "three" into "3" but not the answer)
  icl: "exact",
  icl_text: "exact",
};

/** A world benchmark: its files, metric and the shot counts it supports. */
export interface WorldBenchmark {
  name: BenchName;
  metric: MetricName;
  files: BenchmarkFiles;
  /** k values with demonstrations available (0 always). */
  shots: number[];
}

/**
 * Every benchmark of a world folder (`vila world --out DIR`), with the metric it is scored by. The
 * world root is the image folder (image paths in its files are relative to it).
 * @example for (const b of listWorldBenchmarks("data/world")) console.log(b.name, b.metric, b.shots);
 */
export function listWorldBenchmarks(worldDir: string): WorldBenchmark[] {
  const root = resolve(worldDir);
  if (!existsSync(join(root, "world.json")))
    throw new Error(
      `${root}: not a world folder (no world.json); generate one with vila world --out ${worldDir}`,
    );
  const out: WorldBenchmark[] = [];
  for (const name of BENCH_NAMES) {
    const questions = join(root, benchQuestions(name));
    if (!existsSync(questions)) continue;
    const support = join(root, benchSupport(name));
    const hasSupport = existsSync(support);
    const trainAnswers = join(root, benchTrainAnswers(name));
    const demos = name === "icl" || name === "icl_text";
    out.push({
      name,
      metric: WORLD_METRICS[name],
      files: {
        name,
        questions,
        answers: [join(root, benchAnnotations(name))],
        imageFolder: root,
        metric: WORLD_METRICS[name],
        ...(hasSupport && !demos ? { support } : {}),
        ...(existsSync(trainAnswers) ? { trainAnswers } : {}),
      },
      shots: demos ? [...ICL_SHOTS] : hasSupport ? [0, 4] : [0],
    });
  }
  if (out.length === 0) throw new Error(`${root}: the world has no benchmarks under bench/`);
  return out;
}

/** Load one world benchmark by name. */
export function loadWorldBenchmark(worldDir: string, name: string): LoadedBenchmark {
  const all = listWorldBenchmarks(worldDir);
  const b = all.find((x) => x.name === name);
  if (!b)
    throw new Error(
      `${resolve(worldDir)}: no benchmark "${name}" (the world has ${all.map((x) => x.name).join(", ")})`,
    );
  return loadBenchmark(b.files);
}

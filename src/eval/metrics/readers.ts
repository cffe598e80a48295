// Readers for the public evaluation file formats, returning plain items for the metric functions.
// Every error names the file and, where there is one, the line / entry and the id.
//  - predictions: VQA results JSON `[{question_id, answer}]`, LLaVA answer JSONL `{question_id, text,
//    prompt?}`, or upload JSON `[{questionId, prediction}]` (GQA/SEED);
//  - VQA-style ground truth: VQAv2/OK-VQA annotations `{annotations: [{question_id, image_id,
//    answers: [{answer}]}]}` (+ optional questions `{questions: [{question_id, image_id}]}`),
//    TextVQA `{data: [{question_id, image_id, question, answers: [str]}]}`;
//  - COCO captions: results `[{image_id, caption}]`, annotations `{annotations: [{image_id, caption}]}`;
//  - POPE labels JSONL `{question_id, label}`; ScienceQA `problems.json` (+ `pid_splits.json`) or
//    `{question_id, answer, choices}` rows (also as `{annotations: [...]}`); GQA questions
//    `{id: {answer}}` or `{question_id, answer}` rows.

import { readFileSync } from "node:fs";
import type { ChoiceItem, ExactItem } from "./choice.js";
import { DEFAULT_OPTIONS } from "./choice.js";
import type { PopeItem } from "./pope.js";

type Row = Record<string, unknown>;

/** A parsed entry with where it came from, for error messages ("line 3" or "entry 2"). */
interface Located {
  value: unknown;
  where: string;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Parse a file that is either one JSON document or JSON Lines (always JSON Lines when the name ends
 * in ".jsonl", so a one-line file stays a list of one row). Empty files are an error.
 */
export function readJsonOrJsonl(path: string): { doc: unknown } | { rows: Located[] } {
  const text = readText(path);
  if (text.trim() === "") throw new Error(`${path}: file is empty`);
  try {
    if (path.endsWith(".jsonl")) throw new SyntaxError("JSON Lines");
    return { doc: JSON.parse(text) };
  } catch (wholeErr) {
    const rows: Located[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === "") continue;
      try {
        rows.push({ value: JSON.parse(lines[i]), where: `line ${i + 1}` });
      } catch (e) {
        if (!path.endsWith(".jsonl") && rows.length === 0 && i === lines.length - 1)
          throw new Error(`${path}: invalid JSON (${(wholeErr as Error).message})`);
        throw new Error(`${path}:${i + 1}: invalid JSON line (${(e as Error).message})`);
      }
    }
    return { rows };
  }
}

/** The rows of an array document or a JSONL file. */
function readRows(path: string, what: string): Located[] {
  const parsed = readJsonOrJsonl(path);
  if ("rows" in parsed) return parsed.rows;
  const isRow = parsed.doc !== null && typeof parsed.doc === "object" && !Array.isArray(parsed.doc);
  if (isRow) return [{ value: parsed.doc, where: "line 1" }]; // a one-line JSON Lines file
  if (!Array.isArray(parsed.doc)) throw new Error(`${path}: expected ${what} (a JSON array or JSON Lines)`);
  return parsed.doc.map((value, i) => ({ value, where: `entry ${i}` }));
}

function asRow(path: string, loc: Located): Row {
  if (loc.value === null || typeof loc.value !== "object" || Array.isArray(loc.value))
    throw new Error(`${path} ${loc.where}: expected a JSON object`);
  return loc.value as Row;
}

/** Ids are compared as strings (so 42 and "42" are the same question). */
function idOf(path: string, where: string, row: Row, keys: readonly string[]): string {
  for (const k of keys) {
    const v = row[k];
    if (typeof v === "number" || (typeof v === "string" && v !== "")) return String(v);
  }
  throw new Error(`${path} ${where}: missing or invalid "${keys[0]}"`);
}

function stringField(path: string, where: string, row: Row, keys: readonly string[]): string {
  for (const k of keys) if (typeof row[k] === "string") return row[k] as string;
  throw new Error(`${path} ${where}: missing string field "${keys.join('" or "')}"`);
}

/** One prediction: the text and, for LLaVA answer files, the prompt. */
export interface Prediction {
  text: string;
  prompt?: string;
}

/**
 * Read predictions keyed by question id (VQA results JSON, LLaVA answer JSONL or upload JSON).
 * Duplicate ids and an empty file are errors.
 * @example readPredictions("answers.jsonl").get("262148000")?.text
 */
export function readPredictions(path: string): Map<string, Prediction> {
  const rows = readRows(path, "a list of predictions");
  if (rows.length === 0) throw new Error(`${path}: predictions file has no predictions`);
  const out = new Map<string, Prediction>();
  for (const loc of rows) {
    const row = asRow(path, loc);
    const id = idOf(path, loc.where, row, ["question_id", "questionId"]);
    if (out.has(id)) throw new Error(`${path} ${loc.where}: duplicate prediction for question_id ${id}`);
    const text = stringField(path, `${loc.where} (question_id ${id})`, row, ["text", "answer", "prediction"]);
    out.set(id, typeof row.prompt === "string" ? { text, prompt: row.prompt } : { text });
  }
  return out;
}

/** Predicted text only. */
export function predictionTexts(preds: ReadonlyMap<string, Prediction>): Map<string, string> {
  return new Map([...preds].map(([id, p]) => [id, p.text]));
}

/**
 * Every prediction must belong to a known question; the error names both files and the id.
 */
export function checkPredictionIds(
  predPath: string,
  annPath: string,
  predIds: Iterable<string>,
  known: ReadonlySet<string>,
  what = "question_id",
): void {
  const extra = [...predIds].filter((id) => !known.has(id));
  if (extra.length > 0) {
    const more = extra.length > 1 ? ` (and ${extra.length - 1} more)` : "";
    throw new Error(`${predPath}: ${what} ${extra[0]} is not in ${annPath}${more}`);
  }
}

/** A VQA-style question: ids, the question text when the file has it, and the raw answers. */
export interface VqaAnnotation {
  questionId: string;
  imageId: string;
  question?: string;
  answers: string[];
}

/**
 * Read VQAv2/OK-VQA annotations, TextVQA annotations, or rows of `{question_id, answers}`.
 * @example readVqaAnnotations("v2_mscoco_val2014_annotations.json").length
 */
export function readVqaAnnotations(path: string): VqaAnnotation[] {
  const parsed = readJsonOrJsonl(path);
  let rows: Located[];
  if ("rows" in parsed) rows = parsed.rows;
  else {
    const doc = parsed.doc as Row;
    const list = Array.isArray(doc) ? doc : (doc?.annotations ?? doc?.data);
    if (!Array.isArray(list))
      throw new Error(
        `${path}: expected VQA annotations ({"annotations": [...]}) or TextVQA ({"data": [...]})`,
      );
    rows = list.map((value, i) => ({ value, where: `annotation ${i}` }));
  }
  const seen = new Set<string>();
  return rows.map((loc) => {
    const row = asRow(path, loc);
    const questionId = idOf(path, loc.where, row, ["question_id", "questionId"]);
    const where = `${loc.where} (question_id ${questionId})`;
    if (seen.has(questionId)) throw new Error(`${path} ${where}: duplicate question_id`);
    seen.add(questionId);
    if (!Array.isArray(row.answers) || row.answers.length === 0)
      throw new Error(`${path} ${where}: "answers" must be a non-empty list`);
    const answers = row.answers.map((a, j) => {
      const s = typeof a === "string" ? a : (a as Row | null)?.answer;
      if (typeof s !== "string")
        throw new Error(`${path} ${where}: answers[${j}] is not a string or {"answer": string}`);
      return s;
    });
    const imageId = row.image_id === undefined ? "" : String(row.image_id);
    return typeof row.question === "string"
      ? { questionId, imageId, question: row.question, answers }
      : { questionId, imageId, answers };
  });
}

/**
 * Check a VQAv2 questions file against the annotations: same question ids, same image ids.
 */
export function checkVqaQuestions(
  questionsPath: string,
  annPath: string,
  annotations: readonly VqaAnnotation[],
): void {
  const parsed = readJsonOrJsonl(questionsPath);
  const list = "doc" in parsed ? (parsed.doc as Row)?.questions : parsed.rows.map((r) => r.value);
  if (!Array.isArray(list))
    throw new Error(`${questionsPath}: expected VQA questions ({"questions": [...]})`);
  const images = new Map<string, string>();
  list.forEach((q, i) => {
    const row = asRow(questionsPath, { value: q, where: `question ${i}` });
    images.set(idOf(questionsPath, `question ${i}`, row, ["question_id"]), String(row.image_id));
  });
  for (const a of annotations) {
    const img = images.get(a.questionId);
    if (img === undefined)
      throw new Error(`${annPath}: question_id ${a.questionId} is not in ${questionsPath}`);
    if (a.imageId !== "" && img !== a.imageId)
      throw new Error(
        `${annPath}: question_id ${a.questionId} has image_id ${a.imageId} but ${questionsPath} says ${img}`,
      );
  }
  const annIds = new Set(annotations.map((a) => a.questionId));
  checkPredictionIds(questionsPath, annPath, images.keys(), annIds);
}

/**
 * LLaVA's TextVQA answer files carry the image id in `question_id` and the question inside `prompt`;
 * `eval_textvqa.py` finds the annotation by (image_id, question.lower()). Re-key such predictions by
 * the real question id.
 */
export function rekeyLlavaTextVqa(
  predPath: string,
  annPath: string,
  preds: ReadonlyMap<string, Prediction>,
  annotations: readonly VqaAnnotation[],
): Map<string, string> {
  const byKey = new Map(
    annotations.map((a) => [`${a.imageId}\u0000${(a.question ?? "").toLowerCase()}`, a.questionId]),
  );
  const out = new Map<string, string>();
  for (const [id, p] of preds) {
    if (p.prompt === undefined)
      throw new Error(`${predPath}: question_id ${id} has no "prompt" (needed by --key llava)`);
    const question = llavaTextVqaQuestion(p.prompt);
    if (question === undefined)
      throw new Error(`${predPath}: question_id ${id}: cannot find the question in its prompt`);
    const qid = byKey.get(`${id}\u0000${question.toLowerCase()}`);
    if (qid === undefined)
      throw new Error(`${predPath}: image ${id} with question "${question}" is not in ${annPath}`);
    out.set(qid, p.text);
  }
  return out;
}

/** `prompt_processor` of eval_textvqa.py: the question inside a LLaVA TextVQA prompt. */
export function llavaTextVqaQuestion(prompt: string): string | undefined {
  if (prompt.startsWith("OCR tokens: ")) return /Question: ([\s\S]*?) Short answer:/.exec(prompt)?.[1];
  const lines = prompt.split("\n");
  if (prompt.includes("Reference OCR token: ") && lines.length === 3)
    return prompt.startsWith("Reference OCR token:") ? lines[1] : lines[0];
  if (lines.length === 2) return lines[0];
  return undefined;
}

/**
 * COCO caption results `[{image_id, caption}]`: one caption per image.
 * @example readCocoCaptionResults("captions_val2014_fakecap_results.json").size
 */
export function readCocoCaptionResults(path: string): Map<string, string> {
  const rows = readRows(path, "a list of {image_id, caption}");
  if (rows.length === 0) throw new Error(`${path}: caption results file has no captions`);
  const out = new Map<string, string>();
  for (const loc of rows) {
    const row = asRow(path, loc);
    const id = idOf(path, loc.where, row, ["image_id"]);
    if (out.has(id)) throw new Error(`${path} ${loc.where}: more than one caption for image_id ${id}`);
    out.set(id, stringField(path, `${loc.where} (image_id ${id})`, row, ["caption"]));
  }
  return out;
}

/**
 * COCO caption annotations: image id -> reference captions, in file order. Every image listed in
 * `images` must have at least one caption.
 */
export function readCocoCaptionAnnotations(path: string): Map<string, string[]> {
  const parsed = readJsonOrJsonl(path);
  const doc = ("doc" in parsed ? parsed.doc : null) as Row | null;
  if (!doc || !Array.isArray(doc.annotations))
    throw new Error(`${path}: expected COCO caption annotations ({"annotations": [{image_id, caption}]})`);
  const out = new Map<string, string[]>();
  doc.annotations.forEach((a, i) => {
    const row = asRow(path, { value: a, where: `annotation ${i}` });
    const id = idOf(path, `annotation ${i}`, row, ["image_id"]);
    const caption = stringField(path, `annotation ${i} (image_id ${id})`, row, ["caption"]);
    out.set(id, [...(out.get(id) ?? []), caption]);
  });
  if (Array.isArray(doc.images)) {
    doc.images.forEach((img, i) => {
      const id = idOf(path, `image ${i}`, asRow(path, { value: img, where: `image ${i}` }), ["id"]);
      if (!out.has(id)) throw new Error(`${path}: image_id ${id} (image ${i}) has no reference captions`);
    });
  }
  return out;
}

/** POPE label file (JSONL `{question_id, label}`). */
export function readPopeLabels(path: string): PopeItem[] {
  return readRows(path, "POPE labels").map((loc) => {
    const row = asRow(path, loc);
    const questionId = idOf(path, loc.where, row, ["question_id"]);
    const label = row.label;
    if (label !== "yes" && label !== "no")
      throw new Error(
        `${path} ${loc.where} (question_id ${questionId}): label must be "yes" or "no", got ${JSON.stringify(label)}`,
      );
    return { questionId, label };
  });
}

/**
 * Multiple-choice ground truth: ScienceQA `problems.json` (`{id: {choices, answer: index}}`, optionally
 * restricted to `pid_splits.json[split]`) or rows of `{question_id, answer: letter | index, choices?}`
 * (JSON Lines, a JSON array, or wrapped as `{"annotations": [...]}`).
 */
export function readChoiceAnnotations(
  path: string,
  split?: { file: string; name: string },
  options: readonly string[] = DEFAULT_OPTIONS,
): ChoiceItem[] {
  const parsed = readJsonOrJsonl(path);
  let rows: { id: string; row: Row; where: string }[];
  const wrapped = "doc" in parsed ? (parsed.doc as Row | null)?.annotations : undefined;
  if (Array.isArray(wrapped)) {
    // `{"annotations": [{question_id, answer}]}`, the VQAv2-style wrapper (the world's mmlu keys)
    rows = wrapped.map((value, i) => {
      const row = asRow(path, { value, where: `annotation ${i}` });
      return {
        id: idOf(path, `annotation ${i}`, row, ["question_id", "questionId"]),
        row,
        where: `annotation ${i}`,
      };
    });
  } else if ("doc" in parsed && parsed.doc && typeof parsed.doc === "object" && !Array.isArray(parsed.doc)) {
    rows = Object.entries(parsed.doc as Row).map(([id, v]) => ({
      id,
      row: asRow(path, { value: v, where: `problem ${id}` }),
      where: `problem ${id}`,
    }));
  } else {
    rows = readRows(path, "multiple-choice questions").map((loc) => {
      const row = asRow(path, loc);
      return { id: idOf(path, loc.where, row, ["question_id", "questionId"]), row, where: loc.where };
    });
  }
  if (split) {
    const splits = readJsonOrJsonl(split.file);
    const ids = "doc" in splits ? (splits.doc as Row)?.[split.name] : undefined;
    if (!Array.isArray(ids)) throw new Error(`${split.file}: no split "${split.name}"`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    rows = ids.map((id) => {
      const r = byId.get(String(id));
      if (!r)
        throw new Error(
          `${split.file}: split "${split.name}" names question_id ${id}, which is not in ${path}`,
        );
      return r;
    });
  }
  return rows.map(({ id, row, where }) => {
    const numChoices = Array.isArray(row.choices)
      ? row.choices.length
      : typeof row.num_choices === "number"
        ? row.num_choices
        : options.length;
    const a = row.answer;
    const answerIndex = typeof a === "number" ? a : typeof a === "string" ? options.indexOf(a) : -1;
    if (!Number.isInteger(answerIndex) || answerIndex < 0 || answerIndex >= numChoices) {
      throw new Error(
        `${path} ${where} (question_id ${id}): answer ${JSON.stringify(a)} is not one of ${numChoices} options`,
      );
    }
    return { questionId: id, answerIndex, numChoices };
  });
}

/** Exact-match ground truth: GQA questions `{id: {answer}}` or rows of `{question_id, answer}`. */
export function readExactAnnotations(path: string): ExactItem[] {
  const parsed = readJsonOrJsonl(path);
  if ("doc" in parsed && parsed.doc && typeof parsed.doc === "object" && !Array.isArray(parsed.doc)) {
    return Object.entries(parsed.doc as Row).map(([id, v]) => ({
      questionId: id,
      answer: stringField(path, `question ${id}`, asRow(path, { value: v, where: `question ${id}` }), [
        "answer",
      ]),
    }));
  }
  return readRows(path, "questions with answers").map((loc) => {
    const row = asRow(path, loc);
    const questionId = idOf(path, loc.where, row, ["question_id", "questionId"]);
    return {
      questionId,
      answer: stringField(path, `${loc.where} (question_id ${questionId})`, row, ["answer"]),
    };
  });
}

// The question files of public benchmarks, read into evaluation items: LLaVA question JSONL
// `{question_id, image?, text, category?}` (VQAv2, GQA, TextVQA, VizWiz, POPE, SEED, the world's
// benches; `image` may be a list, `demos` optional), ScienceQA's LLaVA JSON (`llava_test_CQM-A.json`,
// run as `model_vqa_science.py --single-pred-prompt`), MMBench TSV (base64 images, options A-E,
// answers; prompt as `model_vqa_mmbench.py`), Karpathy-split caption JSON (`dataset_coco.json`,
// `dataset_flickr30k.json`), and support JSONL `{image?, text, answer}`. Errors name the file, the
// line and the id.

import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Demo, EvalItem, GroundTruth } from "./benchmarks.js";
import { type ChoiceItem, DEFAULT_OPTIONS, readJsonOrJsonl } from "./metrics/index.js";

/** LLaVA-1.5's short-caption instruction (its paper's response-format prompts, Table 7). */
export const CAPTION_PROMPT = "Provide a one-sentence caption for the provided image.";
/** LLaVA-1.5's multiple-choice suffix (`--single-pred-prompt`). */
export const MC_SUFFIX = "Answer with the option's letter from the given choices directly.";

export type Row = Record<string, unknown>;

export interface QuestionSet {
  items: EvalItem[];
  /** ground truth carried by the question file itself (MMBench answers, Karpathy references). */
  truth?: GroundTruth;
  answerFormat: "llava" | "coco";
}

export function resolveImage(folder: string, ref: string): string {
  return ref.startsWith("data:") || isAbsolute(ref) ? ref : resolve(folder, ref);
}

function imageList(path: string, where: string, v: unknown, folder: string): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    if (typeof x !== "string" || x === "")
      throw new Error(`${path} ${where}: image${Array.isArray(v) ? `[${i}]` : ""} must be a file name`);
    return resolveImage(folder, x);
  });
}

function rawIdOf(path: string, where: string, row: Row, keys: readonly string[]): string | number {
  for (const k of keys) {
    const v = row[k];
    if (typeof v === "number" || (typeof v === "string" && v !== "")) return v;
  }
  throw new Error(`${path} ${where}: missing or invalid "${keys[0]}"`);
}

function rowsOf(path: string): { value: unknown; where: string }[] {
  const parsed = readJsonOrJsonl(path);
  if ("rows" in parsed) return parsed.rows;
  if (Array.isArray(parsed.doc)) return parsed.doc.map((value, i) => ({ value, where: `entry ${i}` }));
  return [{ value: parsed.doc, where: "line 1" }];
}

function asRow(path: string, where: string, v: unknown): Row {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new Error(`${path} ${where}: expected a JSON object`);
  return v as Row;
}

function demoList(path: string, where: string, v: unknown, folder: string): Demo[] {
  if (!Array.isArray(v)) throw new Error(`${path} ${where}: "demos" must be a list`);
  return v.map((d, i) => {
    const row = asRow(path, `${where} demos[${i}]`, d);
    if (typeof row.text !== "string" || typeof row.answer !== "string")
      throw new Error(`${path} ${where}: demos[${i}] needs string "text" and "answer"`);
    return {
      images: imageList(path, `${where} demos[${i}]`, row.image, folder),
      text: row.text,
      answer: row.answer,
    };
  });
}

/** LLaVA question JSONL: {question_id, image?, text, category?, demos?, options?, image_id?}. */
export function readLlavaQuestions(path: string, imageFolder: string, keyByImage = false): EvalItem[] {
  return rowsOf(path).map(({ value, where }) => {
    const row = asRow(path, where, value);
    const rawId =
      keyByImage && row.image_id !== undefined
        ? rawIdOf(path, where, row, ["image_id"])
        : rawIdOf(path, where, row, ["question_id", "id"]);
    const at = `${where} (${keyByImage ? "image_id" : "question_id"} ${rawId})`;
    if (typeof row.text !== "string") throw new Error(`${path} ${at}: missing string field "text"`);
    const item: EvalItem = {
      id: String(rawId),
      rawId,
      text: row.text,
      images: imageList(path, at, row.image, imageFolder),
      where,
    };
    if (typeof row.category === "string") item.category = row.category;
    if (row.demos !== undefined) item.demos = demoList(path, at, row.demos, imageFolder);
    const opts = row.options ?? row.choices;
    if (Array.isArray(opts)) item.numChoices = opts.length;
    return item;
  });
}

/** ScienceQA in LLaVA's JSON (`llava_test_CQM-A.json`), prompts as `model_vqa_science.py --single-pred-prompt`. */
export function readScienceQaQuestions(path: string, imageFolder: string): EvalItem[] {
  return rowsOf(path).map(({ value, where }) => {
    const row = asRow(path, where, value);
    const rawId = rawIdOf(path, where, row, ["id", "question_id"]);
    const conv = row.conversations;
    const first = Array.isArray(conv) ? (conv[0] as Row | undefined) : undefined;
    if (!first || typeof first.value !== "string")
      throw new Error(`${path} ${where} (id ${rawId}): "conversations" must start with a human turn`);
    const qs = first.value.replace(/<image>/g, "").trim();
    const images = imageList(path, `${where} (id ${rawId})`, row.image, imageFolder);
    return {
      id: String(rawId),
      rawId,
      text: `${qs}\n${MC_SUFFIX}`,
      images,
      category: images.length ? "image" : "no_image",
      where,
    };
  });
}

/** Tab-separated values as pandas writes them (fields with tabs, quotes or newlines quoted with "). */
export function parseTsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === "\t") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const isNone = (v: string | undefined) =>
  v === undefined || v === "" || v.toLowerCase() === "nan" || v === "None";

/** MMBench TSV: prompt as `model_vqa_mmbench.py --single-pred-prompt`, truth from its answer column. */
export function readMmbench(path: string): QuestionSet {
  const table = parseTsv(readFileSync(path, "utf8"));
  if (table.length < 2) throw new Error(`${path}: MMBench TSV has no rows`);
  const head = table[0];
  const col = (name: string) => head.indexOf(name);
  for (const need of ["index", "question", "image"])
    if (col(need) < 0)
      throw new Error(`${path}: MMBench TSV has no "${need}" column (header: ${head.join(", ")})`);
  const answers = new Map<string, ChoiceItem>();
  const items = table.slice(1).map((cells, r) => {
    const where = `line ${r + 2}`;
    const get = (name: string) => (col(name) >= 0 ? cells[col(name)] : undefined);
    const rawId = get("index") as string;
    const options: string[] = [];
    for (const letter of DEFAULT_OPTIONS) {
      const o = get(letter);
      if (isNone(o)) break;
      options.push(o as string);
    }
    const hint = get("hint");
    let question = (isNone(hint) ? "" : `${hint}\n`) + (get("question") ?? "");
    options.forEach((o, i) => {
      question += `\n${DEFAULT_OPTIONS[i]}. ${o}`;
    });
    const image = get("image");
    if (isNone(image)) throw new Error(`${path} ${where} (index ${rawId}): no image`);
    const answer = get("answer");
    if (!isNone(answer)) {
      const answerIndex = DEFAULT_OPTIONS.indexOf(answer as string);
      if (answerIndex < 0 || answerIndex >= options.length)
        throw new Error(
          `${path} ${where} (index ${rawId}): answer ${JSON.stringify(answer)} is not one of its ${options.length} options`,
        );
      answers.set(rawId, { questionId: rawId, answerIndex, numChoices: options.length });
    }
    const category = get("category");
    const item: EvalItem = {
      id: rawId,
      rawId: /^\d+$/.test(rawId) ? Number(rawId) : rawId,
      text: `${question}\n${MC_SUFFIX}`,
      images: [`data:image/jpeg;base64,${image}`],
      numChoices: options.length,
      where,
    };
    if (!isNone(category)) item.category = category;
    return item;
  });
  return { items, answerFormat: "llava", truth: answers.size ? { kind: "mc", items: answers } : undefined };
}

interface KarpathyImage {
  id: string | number;
  image: string;
  sentences: string[];
}

export function readKarpathy(path: string, imageFolder: string, split: string): KarpathyImage[] {
  const parsed = readJsonOrJsonl(path);
  const images = "doc" in parsed ? (parsed.doc as Row)?.images : undefined;
  if (!Array.isArray(images))
    throw new Error(`${path}: expected a Karpathy-split caption file ({"images": [...]})`);
  const out: KarpathyImage[] = [];
  images.forEach((v, i) => {
    const row = asRow(path, `image ${i}`, v);
    if (row.split !== split && !(split === "train" && row.split === "restval")) return;
    const id = rawIdOf(path, `image ${i}`, row, ["cocoid", "imgid"]);
    if (typeof row.filename !== "string")
      throw new Error(`${path} image ${i} (id ${id}): missing "filename"`);
    const sentences = Array.isArray(row.sentences) ? row.sentences.map((s) => (s as Row)?.raw) : [];
    if (sentences.length === 0 || sentences.some((s) => typeof s !== "string"))
      throw new Error(`${path} image ${i} (id ${id}): "sentences" must be a non-empty list of {raw}`);
    const rel = typeof row.filepath === "string" ? join(row.filepath, row.filename) : row.filename;
    out.push({ id, image: resolveImage(imageFolder, rel), sentences: sentences as string[] });
  });
  if (out.length === 0) throw new Error(`${path}: no images in split "${split}"`);
  return out;
}

/** True when the file is a Karpathy-split caption JSON. */
export function isKarpathy(path: string): boolean {
  if (!path.endsWith(".json")) return false;
  const parsed = readJsonOrJsonl(path);
  const images = "doc" in parsed ? (parsed.doc as Row)?.images : undefined;
  return Array.isArray(images) && images.length > 0 && Array.isArray((images[0] as Row)?.sentences);
}

/** Support JSONL `{image?, text, answer}` (the world's support.jsonl). */
export function readSupport(path: string, imageFolder: string): Demo[] {
  return rowsOf(path).map(({ value, where }) => {
    const row = asRow(path, where, value);
    if (typeof row.text !== "string" || typeof row.answer !== "string")
      throw new Error(`${path} ${where}: a demonstration needs string "text" and "answer"`);
    return { images: imageList(path, where, row.image, imageFolder), text: row.text, answer: row.answer };
  });
}

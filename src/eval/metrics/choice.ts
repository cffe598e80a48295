// Multiple-choice and exact-match scoring as LLaVA/VILA's evaluation scripts do it.
//  - Letter extraction follows VILA `llava/eval/eval_science_qa.py` (ScienceQA-IMG): the whole reply is
//    an option letter; or it starts with "<letter>." (VILA's addition for Llama-3 style replies, which
//    also covers LLaVA's "<letter>. "); or the text contains exactly one "The answer is <A-Z><any char>".
//    Anything else is "FAILED". A letter beyond the question's number of choices counts as wrong.
//  - Exact match is a string comparison after an optional normalisation: "gqa" is what
//    `scripts/convert_gqa_for_eval.py` does before GQA's eval.py (`text.rstrip('.').lower()`), "none"
//    is SEED-Bench's `row["text"] == answer`.

import { pyRstrip } from "./py_text.js";

/** The script's default option letters. */
export const DEFAULT_OPTIONS: readonly string[] = ["A", "B", "C", "D", "E"];

/** Python `.` matches anything but "\n" (JS `.` also refuses "\r", U+2028 and U+2029). */
const ANSWER_IS = /The answer is ([A-Z])[^\n]/g;

/**
 * The option letter a reply names, or "FAILED".
 * @example extractChoiceLetter("B. a red car") // "B"
 * @example extractChoiceLetter("I think The answer is C.") // "C"
 */
export function extractChoiceLetter(text: string, options: readonly string[] = DEFAULT_OPTIONS): string {
  if (options.includes(text)) return text;
  if (text.length >= 2 && options.includes(text[0]) && text[1] === ".") return text[0];
  const found = [...text.matchAll(ANSWER_IS)];
  return found.length === 1 ? found[0][1] : "FAILED";
}

/**
 * `get_pred_idx`: the index of `letter` among the first `numChoices` options, or -1.
 * @example choiceIndex("C", 2) // -1
 */
export function choiceIndex(
  letter: string,
  numChoices: number,
  options: readonly string[] = DEFAULT_OPTIONS,
): number {
  return options.slice(0, numChoices).includes(letter) ? options.indexOf(letter) : -1;
}

/** One multiple-choice question: the correct option index and how many options it has. */
export interface ChoiceItem {
  questionId: string;
  answerIndex: number;
  numChoices: number;
}

/** Accuracy in percent, the parsed letter per question and the questions with no prediction. */
export interface ChoiceReport {
  overall: number;
  per_question: Record<string, { parsed: string; correct: boolean }>;
  count: number;
  correct: number;
  missing: string[];
}

/**
 * Score multiple-choice predictions (question id -> reply). A missing reply is parsed as "FAILED"
 * (as the script does) and listed in `missing`.
 * @example choiceAccuracy([{ questionId: "1", answerIndex: 1, numChoices: 3 }], new Map([["1", "B"]])).overall // 100
 */
export function choiceAccuracy(
  items: readonly ChoiceItem[],
  predictions: ReadonlyMap<string, string>,
  options: readonly string[] = DEFAULT_OPTIONS,
): ChoiceReport {
  if (items.length === 0) throw new Error("multiple-choice accuracy: no questions to score");
  const perQuestion: ChoiceReport["per_question"] = {};
  const missing: string[] = [];
  let correct = 0;
  for (const it of items) {
    const text = predictions.get(it.questionId);
    if (text === undefined) missing.push(it.questionId);
    const parsed = extractChoiceLetter(text ?? "FAILED", options);
    const ok = choiceIndex(parsed, it.numChoices, options) === it.answerIndex;
    if (ok) correct++;
    perQuestion[it.questionId] = { parsed, correct: ok };
  }
  return {
    overall: (correct / items.length) * 100,
    per_question: perQuestion,
    count: items.length,
    correct,
    missing,
  };
}

/** How a prediction is normalised before an exact comparison. */
export type ExactNormalize = "none" | "gqa";

/**
 * Normalise a prediction for exact match.
 * @example normalizeExact("Yes..", "gqa") // "yes"
 */
export function normalizeExact(text: string, mode: ExactNormalize): string {
  return mode === "gqa" ? pyRstrip(text, ".").toLowerCase() : text;
}

/** One exact-match question. */
export interface ExactItem {
  questionId: string;
  answer: string;
}

/** Accuracy in percent and a 0/1 per question. */
export interface ExactReport {
  overall: number;
  per_question: Record<string, number>;
  count: number;
  missing: string[];
}

/**
 * Exact-match accuracy; a missing prediction is wrong and listed in `missing`.
 * @example exactMatchAccuracy([{ questionId: "1", answer: "no" }], new Map([["1", "No."]]), "gqa").overall // 100
 */
export function exactMatchAccuracy(
  items: readonly ExactItem[],
  predictions: ReadonlyMap<string, string>,
  mode: ExactNormalize = "none",
): ExactReport {
  if (items.length === 0) throw new Error("exact match: no questions to score");
  const perQuestion: Record<string, number> = {};
  const missing: string[] = [];
  let correct = 0;
  for (const it of items) {
    const text = predictions.get(it.questionId);
    if (text === undefined) missing.push(it.questionId);
    const ok = text !== undefined && normalizeExact(text, mode) === it.answer ? 1 : 0;
    correct += ok;
    perQuestion[it.questionId] = ok;
  }
  return { overall: (correct / items.length) * 100, per_question: perQuestion, count: items.length, missing };
}

// POPE yes/no scoring as VILA `llava/eval/eval_pope.py` (from LLaVA) does it: keep the reply up to
// its first ".", drop commas, split on single spaces, and answer "no" when one of the words is
// exactly "No", "no" or "not", otherwise "yes". Then accuracy, precision, recall and F1 with "yes"
// as the positive class. The script pairs predictions (sorted by question id) with the label file
// line by line; here they are paired by question_id, which is the same when the label file is sorted
// by id and every question has a prediction. A missing prediction counts as the wrong answer.

/**
 * The yes/no a reply is read as.
 * @example popeAnswer("No, there is not.") // "no"
 * @example popeAnswer("Yes. No doubt.") // "yes"
 */
export function popeAnswer(text: string): "yes" | "no" {
  const dot = text.indexOf(".");
  const first = dot === -1 ? text : text.slice(0, dot);
  const words = first.replaceAll(",", "").split(" ");
  return words.includes("No") || words.includes("not") || words.includes("no") ? "no" : "yes";
}

/** One POPE question's label. */
export interface PopeItem {
  questionId: string;
  label: "yes" | "no";
}

/** Confusion counts and ratios; a ratio whose denominator is 0 is null (the script would divide by zero). */
export interface PopeReport {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  yes_ratio: number;
  count: number;
  per_question: Record<string, "yes" | "no">;
  missing: string[];
}

/**
 * Score POPE replies (question id -> reply text).
 * @example popeMetrics([{ questionId: "1", label: "yes" }], new Map([["1", "Yes"]])).f1 // 1
 */
export function popeMetrics(
  items: readonly PopeItem[],
  predictions: ReadonlyMap<string, string>,
): PopeReport {
  if (items.length === 0) throw new Error("POPE: no questions to score");
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  const perQuestion: Record<string, "yes" | "no"> = {};
  const missing: string[] = [];
  for (const { questionId, label } of items) {
    const text = predictions.get(questionId);
    if (text === undefined) missing.push(questionId);
    const pred = text === undefined ? (label === "yes" ? "no" : "yes") : popeAnswer(text);
    perQuestion[questionId] = pred;
    if (pred === "yes" && label === "yes") tp++;
    else if (pred === "yes" && label === "no") fp++;
    else if (pred === "no" && label === "no") tn++;
    else fn++;
  }
  const precision = tp + fp === 0 ? null : tp / (tp + fp);
  const recall = tp + fn === 0 ? null : tp / (tp + fn);
  const f1 =
    precision === null || recall === null || precision + recall === 0
      ? null
      : (2 * precision * recall) / (precision + recall);
  const total = tp + tn + fp + fn;
  return {
    tp,
    fp,
    tn,
    fn,
    accuracy: (tp + tn) / total,
    precision,
    recall,
    f1,
    yes_ratio: (tp + fp) / total,
    count: total,
    per_question: perQuestion,
    missing,
  };
}

// VQA accuracy, two ways, each exactly as its official script computes it:
//  - `vqaAccuracy`: GT-Vision-Lab/VQA `PythonEvaluationTools/vqaEvaluation/vqaEval.py` (the VQAv2 /
//    OK-VQA evaluator). The prediction is cleaned (newline/tab -> space, strip, punctuation, lower case,
//    number words, articles, contractions); the ground-truth answers only get the punctuation pass,
//    and only when the annotators disagree (more than one distinct raw answer).
//  - `textVqaAccuracy`: `llava/eval/m4c_evaluator.py` (`EvalAIAnswerProcessor` +
//    `TextVQAAccuracyEvaluator`), used by LLaVA/VILA for TextVQA and to prepare VQAv2/VizWiz
//    submissions. Prediction and every ground-truth answer always get the full EvalAI cleaning.
// Both score a cleaned prediction by the average over the leave-one-out subsets of the answers of
// min(1, matches among the other answers / 3). docs/METRICS.md lists the differences.

import { pySplit, pyStrip } from "./py_text.js";

/** Contraction table shared (identically) by vqaEval.py and EvalAIAnswerProcessor, "from:to" pairs. */
const CONTRACTION_PAIRS =
  "aint:ain't arent:aren't cant:can't couldve:could've couldnt:couldn't couldn'tve:couldn't've couldnt've:couldn't've didnt:didn't " +
  "doesnt:doesn't dont:don't hadnt:hadn't hadnt've:hadn't've hadn'tve:hadn't've hasnt:hasn't havent:haven't hed:he'd " +
  "hed've:he'd've he'dve:he'd've hes:he's howd:how'd howll:how'll hows:how's Id've:I'd've I'dve:I'd've " +
  "Im:I'm Ive:I've isnt:isn't itd:it'd itd've:it'd've it'dve:it'd've itll:it'll let's:let's " +
  "maam:ma'am mightnt:mightn't mightnt've:mightn't've mightn'tve:mightn't've mightve:might've mustnt:mustn't mustve:must've neednt:needn't " +
  "notve:not've oclock:o'clock oughtnt:oughtn't ow's'at:'ow's'at 'ows'at:'ow's'at 'ow'sat:'ow's'at shant:shan't shed've:she'd've " +
  "she'dve:she'd've she's:she's shouldve:should've shouldnt:shouldn't shouldnt've:shouldn't've shouldn'tve:shouldn't've somebody'd:somebodyd somebodyd've:somebody'd've " +
  "somebody'dve:somebody'd've somebodyll:somebody'll somebodys:somebody's someoned:someone'd someoned've:someone'd've someone'dve:someone'd've someonell:someone'll someones:someone's " +
  "somethingd:something'd somethingd've:something'd've something'dve:something'd've somethingll:something'll thats:that's thered:there'd thered've:there'd've there'dve:there'd've " +
  "therere:there're theres:there's theyd:they'd theyd've:they'd've they'dve:they'd've theyll:they'll theyre:they're theyve:they've " +
  "twas:'twas wasnt:wasn't wed've:we'd've we'dve:we'd've weve:we've werent:weren't whatll:what'll whatre:what're " +
  "whats:what's whatve:what've whens:when's whered:where'd wheres:where's whereve:where've whod:who'd whod've:who'd've " +
  "who'dve:who'd've wholl:who'll whos:who's whove:who've whyll:why'll whyre:why're whys:why's wont:won't " +
  "wouldve:would've wouldnt:wouldn't wouldnt've:wouldn't've wouldn'tve:wouldn't've yall:y'all yall'll:y'all'll y'allll:y'all'll yall'd've:y'all'd've " +
  "y'alld've:y'all'd've y'all'dve:y'all'd've youd:you'd youd've:you'd've you'dve:you'd've youll:you'll youre:you're youve:you've";

const CONTRACTIONS = new Map(CONTRACTION_PAIRS.split(" ").map((p) => p.split(":") as [string, string]));

const NUMBER_MAP = new Map([
  ["none", "0"],
  ["zero", "0"],
  ["one", "1"],
  ["two", "2"],
  ["three", "3"],
  ["four", "4"],
  ["five", "5"],
  ["six", "6"],
  ["seven", "7"],
  ["eight", "8"],
  ["nine", "9"],
  ["ten", "10"],
]);

const ARTICLES = new Set(["a", "an", "the"]);

/** Punctuation handled by `processPunctuation`, in the scripts' order (both scripts use this list). */
const PUNCTUATION = [
  ";",
  "/",
  "[",
  "]",
  '"',
  "{",
  "}",
  "(",
  ")",
  "=",
  "+",
  "\\",
  "_",
  "-",
  ">",
  "<",
  "@",
  "`",
  ",",
  "?",
  "!",
];

// `(?!<=\d)(\.)(?!\d)`: the first group is a look-ahead (a typo for a look-behind) that can never fail
// at a ".", so the pattern removes every period not followed by a digit. Python `\d` is Unicode Nd.
const PERIOD_STRIP = /\.(?!\p{Nd})/gu;
// The scripts pass `re.UNICODE` (== 32) as the positional `count` of `Pattern.sub`, so at most 32
// periods are removed.
const PERIOD_STRIP_COUNT = 32;
const VQA_COMMA_STRIP = /\p{Nd},\p{Nd}/u; // vqaEval: "(\d)(\,)(\d)"
const EVALAI_COMMA_STRIP = /(?<=\p{Nd}),+(?=\p{Nd})/u; // EvalAI: "(?<=\d)(\,)+(?=\d)"

function processPunctuationWith(inText: string, commaStrip: RegExp): string {
  let outText = inText;
  const digitComma = commaStrip.test(inText);
  for (const p of PUNCTUATION) {
    // The test looks at the *input* text, while replacements accumulate in the output.
    if (inText.includes(`${p} `) || inText.includes(` ${p}`) || digitComma)
      outText = outText.replaceAll(p, "");
    else outText = outText.replaceAll(p, " ");
  }
  let removed = 0;
  return outText.replace(PERIOD_STRIP, (m) => (removed++ < PERIOD_STRIP_COUNT ? "" : m));
}

/**
 * vqaEval.py `processPunctuation`: each listed mark is deleted when it touches a space somewhere in
 * the text or when the text has a digit,digit pattern, otherwise replaced by a space; then periods
 * not followed by a digit are deleted.
 * @example vqaProcessPunctuation("red,white") // "red white"
 */
export function vqaProcessPunctuation(text: string): string {
  return processPunctuationWith(text, VQA_COMMA_STRIP);
}

/**
 * `processDigitArticle` (same in both scripts): lower case, split on whitespace, number words
 * zero..ten (and "none") to digits, drop a/an/the, expand the contraction table, join with spaces.
 * @example processDigitArticle("The Two dogs dont") // "2 dogs don't"
 */
export function processDigitArticle(text: string): string {
  const words: string[] = [];
  for (const w of pySplit(text.toLowerCase())) {
    const word = NUMBER_MAP.get(w) ?? w;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((w) => CONTRACTIONS.get(w) ?? w).join(" ");
}

/**
 * How vqaEval.py cleans a *prediction*: newline/tab -> space, strip, punctuation, digit/article.
 * @example normalizeVqaPrediction(" Two.\n") // "2"
 */
export function normalizeVqaPrediction(answer: string): string {
  const text = pyStrip(answer.replaceAll("\n", " ").replaceAll("\t", " "));
  return processDigitArticle(vqaProcessPunctuation(text));
}

/**
 * `EvalAIAnswerProcessor.__call__`: lower case, drop "," and "?", "'s" -> " 's", strip,
 * newline/tab -> space, strip, punctuation (EvalAI variant), digit/article.
 * @example evalAIProcessAnswer("Dog's bowl?") // "dog 's bowl"
 */
export function evalAIProcessAnswer(answer: string): string {
  let item = pyStrip(answer.toLowerCase().replaceAll(",", "").replaceAll("?", "").replaceAll("'s", " 's"));
  item = pyStrip(item.replaceAll("\n", " ").replaceAll("\t", " "));
  item = processPunctuationWith(item, EVALAI_COMMA_STRIP);
  return processDigitArticle(item);
}

/**
 * The leave-one-out soft score shared by both scripts: for each answer i, count the *other* answers
 * equal to `prediction`, take min(1, count / 3), and average over i. Inputs must already be cleaned.
 * @example leaveOneOutScore("2", ["2", "2", "3"]) // (1/3 + 1/3 + 2/3) / 3
 */
export function leaveOneOutScore(prediction: string, answers: readonly string[]): number {
  if (answers.length === 0) throw new Error("VQA accuracy: a question has no ground-truth answers");
  let sum = 0;
  for (let i = 0; i < answers.length; i++) {
    let matches = 0;
    for (let j = 0; j < answers.length; j++) if (j !== i && answers[j] === prediction) matches++;
    sum += Math.min(1, matches / 3);
  }
  return sum / answers.length;
}

/**
 * Accuracy in [0, 1] of one prediction as vqaEval.py scores it (the GT answers are used raw, after
 * the punctuation pass only when they are not all identical).
 * @example vqaAccuracy("Two", Array(10).fill("2")) // 1
 */
export function vqaAccuracy(prediction: string, gtAnswers: readonly string[]): number {
  const pred = normalizeVqaPrediction(prediction);
  const gts = new Set(gtAnswers).size > 1 ? gtAnswers.map(vqaProcessPunctuation) : gtAnswers;
  return leaveOneOutScore(pred, gts);
}

/**
 * Accuracy in [0, 1] of one prediction as m4c_evaluator's TextVQAAccuracyEvaluator scores it.
 * Like the official code it requires exactly 10 answers.
 * @example textVqaAccuracy("the two", Array(10).fill("2")) // 1
 */
export function textVqaAccuracy(prediction: string, gtAnswers: readonly string[]): number {
  if (gtAnswers.length !== 10)
    throw new Error(`TextVQA accuracy needs exactly 10 answers per question, got ${gtAnswers.length}`);
  return leaveOneOutScore(evalAIProcessAnswer(prediction), gtAnswers.map(evalAIProcessAnswer));
}

/** One question's ground truth for corpus scoring. */
export interface VqaItem {
  questionId: string;
  answers: string[];
}

/** `{"overall": x, "per_question": {...}}` plus the ids that had no prediction (scored 0). Percentages. */
export interface VqaReport {
  overall: number;
  per_question: Record<string, number>;
  count: number;
  missing: string[];
}

/**
 * Score a set of questions. `predictions` maps question id -> raw predicted text; a question with no
 * prediction scores 0 and is listed in `missing`. Values are percentages (0..100), unrounded
 * (vqaEval.py rounds to 2 decimals only when printing).
 * @example evaluateVqa([{ questionId: "1", answers: Array(10).fill("yes") }], new Map([["1", "Yes"]])).overall // 100
 */
export function evaluateVqa(
  items: readonly VqaItem[],
  predictions: ReadonlyMap<string, string>,
  style: "vqa" | "textvqa" = "vqa",
): VqaReport {
  if (items.length === 0) throw new Error("VQA accuracy: no questions to score");
  const perQuestion: Record<string, number> = {};
  const missing: string[] = [];
  let sum = 0;
  for (const { questionId, answers } of items) {
    const pred = predictions.get(questionId);
    if (pred === undefined) missing.push(questionId);
    let acc: number;
    try {
      if (style === "vqa") acc = pred === undefined ? 0 : vqaAccuracy(pred, answers);
      else acc = pred === undefined ? 0 : textVqaAccuracy(pred, answers);
    } catch (e) {
      throw new Error(`question_id ${questionId}: ${(e as Error).message}`);
    }
    perQuestion[questionId] = 100 * acc;
    sum += acc;
  }
  // vqaEval: 100 * sum / n; m4c: (sum / n) then the caller multiplies by 100.
  const overall = style === "vqa" ? (100 * sum) / items.length : 100 * (sum / items.length);
  return { overall, per_question: perQuestion, count: items.length, missing };
}

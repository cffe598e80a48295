// `vila metric NAME --predictions P --annotations A`: score a predictions file with one of the
// official metrics (src/eval/metrics) and print the result as JSON on stdout. Questions or images
// without a prediction are scored as wrong, listed under "missing" and announced on stderr.

import {
  checkPredictionIds,
  checkVqaQuestions,
  choiceAccuracy,
  ciderScore,
  type ExactNormalize,
  evaluateVqa,
  exactMatchAccuracy,
  popeMetrics,
  predictionTexts,
  ptbTokenize,
  readChoiceAnnotations,
  readCocoCaptionAnnotations,
  readCocoCaptionResults,
  readExactAnnotations,
  readPopeLabels,
  readPredictions,
  readVqaAnnotations,
  rekeyLlavaTextVqa,
} from "../eval/metrics/index.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";

const IO: Record<string, OptionSpec> = {
  predictions: { type: "string", describe: "predictions file", required: true },
  annotations: { type: "string", describe: "ground-truth file", required: true },
};

interface Metric {
  summary: string;
  spec: Record<string, OptionSpec>;
  score(opts: Record<string, unknown>): { result: object; missing: string[]; unit: string; policy?: string };
}

const METRICS: Record<string, Metric> = {
  vqa: {
    summary:
      "VQA accuracy exactly as GT-Vision-Lab vqaEval.py. Predictions: VQA results JSON [{question_id, answer}] or LLaVA answer JSONL {question_id, text}. " +
      'Annotations: VQAv2/OK-VQA annotations JSON. Prints {"overall", "per_question", "count", "missing"} in percent.',
    spec: {
      ...IO,
      questions: { type: "string", describe: "VQAv2 questions JSON, checked against the annotations" },
    },
    score(o) {
      const annotations = readVqaAnnotations(o.annotations as string);
      if (o.questions) checkVqaQuestions(o.questions as string, o.annotations as string, annotations);
      const preds = readPredictions(o.predictions as string);
      checkPredictionIds(
        o.predictions as string,
        o.annotations as string,
        preds.keys(),
        new Set(annotations.map((a) => a.questionId)),
      );
      const r = evaluateVqa(annotations, predictionTexts(preds), "vqa");
      return { result: r, missing: r.missing, unit: "questions" };
    },
  },
  textvqa: {
    summary:
      "VQA accuracy as LLaVA/VILA's m4c_evaluator (EvalAIAnswerProcessor on prediction and answers, 10 answers per question). " +
      'Annotations: TextVQA JSON {"data": [...]} or VQA annotations. Prints {"overall", "per_question", "count", "missing"} in percent.',
    spec: {
      ...IO,
      key: {
        type: "string",
        describe:
          'how predictions name questions: "question_id", or "llava" (image id + question in prompt, as eval_textvqa.py)',
        default: "question_id",
      },
    },
    score(o) {
      const annotations = readVqaAnnotations(o.annotations as string);
      const preds = readPredictions(o.predictions as string);
      let texts: Map<string, string>;
      if (o.key === "llava")
        texts = rekeyLlavaTextVqa(o.predictions as string, o.annotations as string, preds, annotations);
      else if (o.key === "question_id") {
        checkPredictionIds(
          o.predictions as string,
          o.annotations as string,
          preds.keys(),
          new Set(annotations.map((a) => a.questionId)),
        );
        texts = predictionTexts(preds);
      } else throw new Error(`vila metric textvqa: --key must be "question_id" or "llava", got "${o.key}"`);
      const r = evaluateVqa(annotations, texts, "textvqa");
      return { result: r, missing: r.missing, unit: "questions" };
    },
  },
  cider: {
    summary:
      "CIDEr as pycocoevalcap's Cider (CIDEr-D: n=4, sigma=6, df from this set's references). Predictions: COCO results [{image_id, caption}]. " +
      'Annotations: COCO captions JSON. Captions are PTB-tokenised (approximation of the Java tokenizer). Prints {"corpus", "per_image", "count", "missing"}.',
    spec: {
      ...IO,
      pretokenized: {
        type: "boolean",
        describe: "captions are already tokenised: only split on whitespace",
        default: false,
      },
      "only-predicted": {
        type: "boolean",
        describe:
          "score only images that have a caption (like COCOEvalCap); others are still listed as missing",
        default: false,
      },
    },
    score(o) {
      const refs = readCocoCaptionAnnotations(o.annotations as string);
      const results = readCocoCaptionResults(o.predictions as string);
      checkPredictionIds(
        o.predictions as string,
        o.annotations as string,
        results.keys(),
        new Set(refs.keys()),
        "image_id",
      );
      const tok = o.pretokenized ? (s: string) => s : ptbTokenize;
      const missing = [...refs.keys()].filter((id) => !results.has(id));
      const ids = o["only-predicted"] ? [...refs.keys()].filter((id) => results.has(id)) : [...refs.keys()];
      const r = ciderScore(
        ids.map((id) => ({
          imageId: id,
          candidate: tok(results.get(id) ?? ""),
          references: (refs.get(id) ?? []).map(tok),
        })),
      );
      const policy = o["only-predicted"] ? "are left out of the score" : "count as wrong (empty caption)";
      return { result: { ...r, missing }, missing, unit: "images", policy };
    },
  },
  mc: {
    summary:
      "Multiple-choice accuracy with VILA eval_science_qa.py letter extraction. Predictions: LLaVA answer JSONL. Annotations: ScienceQA problems.json " +
      '(with --split-file pid_splits.json) or rows {question_id, answer: letter|index, choices?}. Prints {"overall", "per_question", "count", "correct", "missing"}.',
    spec: {
      ...IO,
      "split-file": { type: "string", describe: "ScienceQA pid_splits.json: score only the ids of --split" },
      split: { type: "string", describe: "split name inside --split-file", default: "test" },
      options: { type: "string", describe: "option letters", default: "ABCDE" },
    },
    score(o) {
      const options = [...(o.options as string)];
      const split = o["split-file"]
        ? { file: o["split-file"] as string, name: o.split as string }
        : undefined;
      const items = readChoiceAnnotations(o.annotations as string, split, options);
      const preds = readPredictions(o.predictions as string);
      if (!split)
        checkPredictionIds(
          o.predictions as string,
          o.annotations as string,
          preds.keys(),
          new Set(items.map((i) => i.questionId)),
        );
      const r = choiceAccuracy(items, predictionTexts(preds), options);
      return { result: r, missing: r.missing, unit: "questions" };
    },
  },
  pope: {
    summary:
      "POPE yes/no accuracy, precision, recall, F1 as VILA eval_pope.py. Predictions: LLaVA answer JSONL. Annotations: a coco_pope_*.json label file " +
      '(JSONL {question_id, label}); predictions for other questions are ignored. Prints {"tp","fp","tn","fn","accuracy","precision","recall","f1",...}.',
    spec: IO,
    score(o) {
      const items = readPopeLabels(o.annotations as string);
      const r = popeMetrics(items, predictionTexts(readPredictions(o.predictions as string)));
      return { result: r, missing: r.missing, unit: "questions" };
    },
  },
  exact: {
    summary:
      'Exact-match accuracy. Annotations: GQA questions JSON {id: {answer}} or rows {question_id, answer}. --normalize gqa applies convert_gqa_for_eval.py (rstrip ".", lower). ' +
      'Prints {"overall", "per_question", "count", "missing"}.',
    spec: {
      ...IO,
      normalize: { type: "string", describe: 'prediction normalisation: "none" or "gqa"', default: "none" },
    },
    score(o) {
      if (o.normalize !== "none" && o.normalize !== "gqa")
        throw new Error(`vila metric exact: --normalize must be "none" or "gqa", got "${o.normalize}"`);
      const items = readExactAnnotations(o.annotations as string);
      const preds = readPredictions(o.predictions as string);
      checkPredictionIds(
        o.predictions as string,
        o.annotations as string,
        preds.keys(),
        new Set(items.map((i) => i.questionId)),
      );
      const r = exactMatchAccuracy(items, predictionTexts(preds), o.normalize as ExactNormalize);
      return { result: r, missing: r.missing, unit: "questions" };
    },
  },
};

function usage(): string {
  const rows = Object.entries(METRICS).map(([n, m]) => `  ${n.padEnd(8)} ${m.summary.split(". ")[0]}`);
  return [
    "usage: vila metric NAME --predictions P --annotations A [options]   (vila metric NAME --help)",
    "",
    "metrics:",
    ...rows,
  ].join("\n");
}

/** Entry point of `vila metric`. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const metric = METRICS[name];
  if (!metric) {
    console.error(`vila metric: unknown metric "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = `vila metric ${name}`;
  const { opts, positionals, help } = parseArgs(rest, metric.spec, command);
  if (help) {
    console.log(helpText(command, metric.summary, metric.spec));
    return 0;
  }
  if (positionals.length > 0) throw new Error(`${command}: unexpected argument "${positionals[0]}"`);
  const { result, missing, unit, policy = "count as wrong" } = metric.score(opts);
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).join(", ") + (missing.length > 10 ? ", ..." : "");
    console.error(
      `${command}: ${missing.length} ${unit} in ${opts.annotations} have no prediction in ${opts.predictions} and ${policy}: ${shown}`,
    );
  }
  console.log(JSON.stringify(result, null, 1));
  return 0;
}

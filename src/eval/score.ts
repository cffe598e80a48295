// Scoring a benchmark's predictions with its metric (the official scorers of src/eval/metrics), and
// the trivial baselines a model score should be read against. Scores are what papers print: VQA /
// TextVQA / multiple-choice / exact-match accuracy in percent, CIDEr x 100 (COCO tokenisation of
// candidates and references, as coco-caption does), POPE F1 x 100. A question without a prediction
// counts as wrong (0, an empty caption, or the wrong POPE label), is listed in `missing` and never
// skipped.

import type { GroundTruth, LoadedBenchmark, MetricName } from "./benchmarks.js";
import { referenceAnswer } from "./benchmarks.js";
import {
  choiceAccuracy,
  ciderScore,
  evaluateVqa,
  exactMatchAccuracy,
  popeMetrics,
  ptbTokenize,
} from "./metrics/index.js";

/** A benchmark's score, per-item scores (same scale) and what was missing. */
export interface BenchmarkScore {
  metric: MetricName;
  /** null when the benchmark has no ground truth (predictions only). */
  score: number | null;
  perItem: Record<string, number>;
  count: number;
  missing: string[];
  /** mean per-item score and count per question category (CIDEr: mean of per-image scores). */
  byCategory: Record<string, { score: number; count: number }>;
  /** metric-specific extras (POPE: accuracy, precision, recall, yes_ratio). */
  details?: Record<string, number | null>;
}

function byCategory(bench: LoadedBenchmark, perItem: Record<string, number>): BenchmarkScore["byCategory"] {
  const acc = new Map<string, { sum: number; count: number }>();
  for (const it of bench.items) {
    if (it.category === undefined) continue;
    const a = acc.get(it.category) ?? { sum: 0, count: 0 };
    a.sum += perItem[it.id] ?? 0;
    a.count++;
    acc.set(it.category, a);
  }
  return Object.fromEntries(
    [...acc]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([k, v]) => [k, { score: v.sum / v.count, count: v.count }]),
  );
}

function scoreWith(
  truth: GroundTruth,
  bench: LoadedBenchmark,
  preds: ReadonlyMap<string, string>,
): { score: number | null; perItem: Record<string, number>; details?: BenchmarkScore["details"] } {
  const ids = bench.items.map((it) => it.id);
  switch (truth.kind) {
    case "vqa":
    case "textvqa": {
      const r = evaluateVqa(
        ids.map((id) => ({ questionId: id, answers: truth.answers.get(id) as string[] })),
        preds,
        truth.kind,
      );
      return { score: r.overall, perItem: r.per_question };
    }
    case "cider": {
      const r = ciderScore(
        ids.map((id) => ({
          imageId: id,
          candidate: ptbTokenize(preds.get(id) ?? ""),
          references: (truth.references.get(id) as string[]).map(ptbTokenize),
        })),
      );
      return {
        score: 100 * r.corpus,
        perItem: Object.fromEntries(Object.entries(r.per_image).map(([k, v]) => [k, 100 * v])),
      };
    }
    case "mc": {
      const r = choiceAccuracy(
        ids.map((id) => truth.items.get(id)!),
        preds,
      );
      return {
        score: r.overall,
        perItem: Object.fromEntries(Object.entries(r.per_question).map(([k, v]) => [k, v.correct ? 100 : 0])),
      };
    }
    case "pope": {
      const items = ids.map((id) => ({ questionId: id, label: truth.labels.get(id)! }));
      const r = popeMetrics(items, preds);
      const perItem = Object.fromEntries(
        items.map((it) => [it.questionId, r.per_question[it.questionId] === it.label ? 100 : 0]),
      );
      return {
        score: r.f1 === null ? 0 : 100 * r.f1,
        perItem,
        details: {
          accuracy: 100 * r.accuracy,
          precision: r.precision,
          recall: r.recall,
          yes_ratio: r.yes_ratio,
        },
      };
    }
    case "exact": {
      const r = exactMatchAccuracy(
        ids.map((id) => ({ questionId: id, answer: truth.answers.get(id)! })),
        preds,
        truth.normalize,
      );
      return {
        score: r.overall,
        perItem: Object.fromEntries(Object.entries(r.per_question).map(([k, v]) => [k, 100 * v])),
      };
    }
    case "none":
      return { score: null, perItem: {} };
  }
}

/**
 * Score predictions (item id -> generated text) on every item of `bench`. Predictions for ids the
 * benchmark does not have are an error (`source` names where they came from).
 * @example scoreBenchmark(bench, new Map([["0", "two"]])).score
 */
export function scoreBenchmark(
  bench: LoadedBenchmark,
  preds: ReadonlyMap<string, string>,
  source = "predictions",
): BenchmarkScore {
  const known = new Set(bench.items.map((it) => it.id));
  for (const id of preds.keys()) {
    if (!known.has(id))
      throw new Error(
        `${source}: ${bench.answerFormat === "coco" ? "image_id" : "question_id"} ${id} is not a question of ${bench.files.questions}`,
      );
  }
  const missing = bench.items.filter((it) => !preds.has(it.id)).map((it) => it.id);
  const { score, perItem, details } = scoreWith(bench.truth, bench, preds);
  return {
    metric: bench.metric,
    score,
    perItem,
    count: bench.items.length,
    missing,
    byCategory: bench.truth.kind === "none" ? {} : byCategory(bench, perItem),
    ...(details ? { details } : {}),
  };
}

/** One constant-answer baseline: the answer given to every question and its score. */
export interface ConstantBaseline {
  answer: string;
  score: number;
}

export interface Baselines {
  /** the most frequent answer of the support (train) split, answered everywhere. null without support. */
  supportMajority: ConstantBaseline | null;
  /** the most frequent reference answer of the evaluated questions themselves: the best a constant can
   * do here (an oracle of the answer prior, not a fair baseline). */
  testMajority: ConstantBaseline | null;
  /** VQA's "per Q-type prior" (Antol et al., 2015) as an oracle: each question answered with the most
   * frequent reference answer of its category among the evaluated questions. It sees what a model
   * with no image can learn from the question's form ("how many ... together?" is mostly "4", "do
   * these show the same landmark?" mostly "yes"). null unless the questions carry two or more
   * categories. */
  categoryMajority: number | null;
  /** the same prior's score per category; null where categoryMajority is */
  categoryMajorityByCategory: Record<string, number> | null;
  /** VQA's "per Q-type prior" as Antol et al. take it: each question answered with the most
   * frequent answer of its type in the training data (the benchmark's train answers). A model that
   * learned the answer distribution of each question type and never looked at the image gets this.
   * null without train answers or where they lack a type of the evaluated questions. */
  trainCategoryMajority: number | null;
  /** the same prior's score per category; null where trainCategoryMajority is */
  trainCategoryMajorityByCategory: Record<string, number> | null;
  /** multiple choice: expected accuracy of a uniform random letter. */
  chance: number | null;
  /** k-shot questions with their own demonstrations: each answered with the most frequent answer of
   * its first k demonstrations (demoMajorityBaseline); null at 0 shots or without own demos. */
  demoMajority: number | null;
  /** the same questions, each answered with a uniformly random one of the distinct answers of its
   * first k demonstrations (expected score, demoRandomBaseline); null where demoMajority is. */
  demoRandom: number | null;
}

function mostFrequent(answers: readonly string[]): string | null {
  if (answers.length === 0) return null;
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0];
  for (const [a, c] of counts) if (c > (counts.get(best) ?? 0)) best = a;
  return best;
}

function constant(bench: LoadedBenchmark, answer: string | null): ConstantBaseline | null {
  if (answer === null) return null;
  const s = scoreBenchmark(bench, new Map(bench.items.map((it) => [it.id, answer])));
  return { answer, score: s.score ?? 0 };
}

/**
 * Trivial baselines scored with the benchmark's metric, to put beside model scores at `shots` shots.
 * @example trivialBaselines(bench).supportMajority?.score
 */
export function trivialBaselines(bench: LoadedBenchmark, shots = 0): Baselines {
  if (bench.truth.kind === "none")
    return {
      supportMajority: null,
      testMajority: null,
      categoryMajority: null,
      categoryMajorityByCategory: null,
      trainCategoryMajority: null,
      trainCategoryMajorityByCategory: null,
      chance: null,
      demoMajority: null,
      demoRandom: null,
    };
  const supportAnswers = [
    ...bench.support.map((d) => d.answer),
    ...bench.items.flatMap((it) => (it.demos ?? []).map((d) => d.answer)),
  ];
  const testAnswers = bench.items
    .map((it) => referenceAnswer(bench.truth, it.id))
    .filter((a): a is string => a !== undefined);
  const truth = bench.truth;
  const chance =
    truth.kind === "mc"
      ? (100 * bench.items.reduce((s, it) => s + 1 / (truth.items.get(it.id)?.numChoices ?? 1), 0)) /
        bench.items.length
      : null;
  const prior = categoryMajorityScore(bench);
  const trainPrior = trainCategoryMajorityScore(bench);
  const scoresOf = (p: BenchmarkScore | null) =>
    p ? Object.fromEntries(Object.entries(p.byCategory).map(([c, v]) => [c, v.score])) : null;
  return {
    supportMajority: constant(bench, mostFrequent(supportAnswers)),
    testMajority: constant(bench, mostFrequent(testAnswers)),
    categoryMajority: prior?.score ?? null,
    categoryMajorityByCategory: scoresOf(prior),
    trainCategoryMajority: trainPrior?.score ?? null,
    trainCategoryMajorityByCategory: scoresOf(trainPrior),
    chance,
    demoMajority: demoMajorityBaseline(bench, shots),
    demoRandom: demoRandomBaseline(bench, shots),
  };
}

/**
 * The per-question-type prior scored in full: every question answered with the most frequent
 * reference answer of its `category` among the evaluated questions (an oracle, like `testMajority`,
 * but per type), with its per-category scores. null unless every question has a category and there
 * are at least two.
 * @example categoryMajorityScore(loadWorldBenchmark("world", "multi_image"))?.byCategory
 */
export function categoryMajorityScore(bench: LoadedBenchmark): BenchmarkScore | null {
  if (bench.truth.kind === "none" || bench.items.some((it) => it.category === undefined)) return null;
  const byCategory = new Map<string, string[]>();
  for (const it of bench.items) {
    const answer = referenceAnswer(bench.truth, it.id);
    if (answer === undefined) continue;
    const list = byCategory.get(it.category as string) ?? [];
    list.push(answer);
    byCategory.set(it.category as string, list);
  }
  if (byCategory.size < 2) return null;
  return scoreCategoryPrior(
    bench,
    new Map([...byCategory].map(([c, answers]) => [c, mostFrequent(answers) ?? ""])),
  );
}

/** Every question answered with its category's answer in `prior`, scored. */
function scoreCategoryPrior(bench: LoadedBenchmark, prior: Map<string, string>): BenchmarkScore {
  const preds = new Map(bench.items.map((it) => [it.id, prior.get(it.category as string) ?? ""]));
  return scoreBenchmark(bench, preds);
}

/**
 * The training data's per-question-type prior scored in full: every question answered with the most
 * frequent answer of its `category` in `bench.trainAnswers` (ties: the answer first in code-point
 * order). Unlike `categoryMajorityScore` it does not choose its answers on the questions it is scored
 * on. null without train answers or when a question's type is missing from them.
 * @example trainCategoryMajorityScore(loadWorldBenchmark("world", "vqa"))?.byCategory.position
 */
export function trainCategoryMajorityScore(bench: LoadedBenchmark): BenchmarkScore | null {
  const train = bench.trainAnswers;
  if (!train || bench.truth.kind === "none") return null;
  if (bench.items.some((it) => it.category === undefined || !train.has(it.category))) return null;
  const prior = new Map<string, string>();
  for (const [type, counts] of train) {
    let best = "";
    let bestCount = 0;
    for (const [answer, n] of counts)
      if (n > bestCount || (n === bestCount && answer < best)) [best, bestCount] = [answer, n];
    prior.set(type, best);
  }
  return scoreCategoryPrior(bench, prior);
}

/**
 * The copying baseline of a k-shot in-context benchmark: every question answered with the most
 * frequent answer among its own first k demonstrations (ties: the earliest). A model above it uses
 * which demonstration matches the query (the binding), not only which answers the episode offers.
 * null when k is 0 or a question has no demonstrations of its own.
 * @example demoMajorityBaseline(loadWorldBenchmark("world", "icl_text"), 4)
 */
export function demoMajorityBaseline(bench: LoadedBenchmark, k: number): number | null {
  if (k <= 0 || bench.truth.kind === "none" || bench.items.some((it) => !it.demos?.length)) return null;
  const preds = new Map(
    bench.items.map((it) => [it.id, mostFrequent((it.demos ?? []).slice(0, k).map((d) => d.answer)) ?? ""]),
  );
  return scoreBenchmark(bench, preds).score;
}

/**
 * The key-agnostic baseline of a k-shot in-context benchmark: the expected score of answering each
 * question with a uniformly random one of the distinct answers among its own first k demonstrations.
 * Any answer chosen without looking at which demonstration matches the query scores this in
 * expectation when the query's key is drawn independently of the demonstrations (world episodes: 50
 * on 2-way episodes once both keys are shown); copying the most frequent answer is one draw of it.
 * null when k is 0 or a question has no demonstrations of its own.
 * @example demoRandomBaseline(loadWorldBenchmark("world", "icl_text"), 4)
 */
export function demoRandomBaseline(bench: LoadedBenchmark, k: number): number | null {
  if (k <= 0 || bench.truth.kind === "none" || bench.items.some((it) => !it.demos?.length)) return null;
  const choices = bench.items.map((it) => [...new Set((it.demos ?? []).slice(0, k).map((d) => d.answer))]);
  const expected = new Map(bench.items.map((it) => [it.id, 0]));
  const widest = Math.max(...choices.map((c) => c.length));
  for (let j = 0; j < widest; j++) {
    // the j-th distinct answer wherever there is one; the per-item scores of the others are unused
    const preds = new Map(
      bench.items.map((it, i) => [it.id, choices[i][Math.min(j, choices[i].length - 1)]]),
    );
    const { perItem } = scoreBenchmark(bench, preds);
    bench.items.forEach((it, i) => {
      if (j < choices[i].length)
        expected.set(it.id, (expected.get(it.id) ?? 0) + (perItem[it.id] ?? 0) / choices[i].length);
    });
  }
  return [...expected.values()].reduce((a, b) => a + b, 0) / bench.items.length;
}

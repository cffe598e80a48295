// The recipe report's in-context verdict against the copying baseline, on world-small's measured
// figures (its stage-1 model: above 0 shots, not above copying) and two constructed cases; the
// visual verdict against every trivial baseline, on world-tiny's measured multi-image figures.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { EvalReport, EvalRow } from "../../src/recipes/executors.js";
import { categoryTable, effects, iclVerdict, visualVerdicts } from "../../src/recipes/report.js";

const row = (shots: number, score: number, copy: number | null, random: number | null = null): EvalRow => ({
  bench: "icl_text",
  metric: "exact",
  shots,
  withhold_image: false,
  conv_mode: "raw",
  score,
  demo_majority: copy,
  demo_random: random,
  count: 300,
  seconds: 1,
  generated_tokens: 100,
});
const evals = (rows: EvalRow[]) =>
  new Map<string, EvalReport>([["pretrain", { stage: "pretrain", checkpoint: "x", rows, baselines: {} }]]);

test("in-context learning is visible only when every k-shot score beats copying by the margin", () => {
  // world-small after stage 1 (2026-11-29): 8 shots beat copying by 5.3, 2 and 4 shots do not
  const measured = iclVerdict(
    evals([row(0, 4, null), row(2, 49, 51.3), row(4, 49, 47.3), row(8, 47, 41.7)]),
    "icl_text",
  );
  assert.equal(measured?.visible, false);
  assert.equal(measured?.copies, true);
  assert.match(measured?.text ?? "", /stage 1 \(pre-train\) 4\.0 at 0 shots, 49\.0 at 2 \(copying 51\.3\)/);
  assert.match(measured?.text ?? "", /not 5\+ above copying/);
  const binding = iclVerdict(
    evals([row(0, 3, null), row(2, 80, 51), row(4, 85, 47), row(8, 90, 42)]),
    "icl_text",
  );
  assert.equal(binding?.visible, true);
  assert.match(binding?.text ?? "", /in-context learning is visible/);
  // world-small's base LLM after 9,000 steps (2026-12-07): 2.7 at 0 shots, then 96.7 / 99.7 / 99.7
  // against copying 51.3 / 50.0 / 50.0 (majority) and 50 (a random demonstrated answer)
  const measuredBinding = iclVerdict(
    evals([row(0, 2.7, null), row(2, 96.7, 51.3, 50), row(4, 99.7, 50, 50), row(8, 99.7, 50, 50)]),
    "icl_text",
  );
  assert.equal(measuredBinding?.visible, true);
  assert.equal(measuredBinding?.copies, false);
  // world-small's base LLM on a binding-heavy corpus (2026-12-06): above the most frequent demonstrated
  // answer at every k (by 9.0, 10.4, 13.0), but at 8 shots only 4.7 above a random one of the two
  // demonstrated answers (50 on these 2-way episodes): not visible
  const majorityOnly = iclVerdict(
    evals([row(0, 2, null), row(2, 60.3, 51.3, 50), row(4, 57.7, 47.3, 50), row(8, 54.7, 41.7, 50)]),
    "icl_text",
  );
  assert.equal(majorityOnly?.visible, false);
  assert.match(majorityOnly?.text ?? "", /54\.7 at 8 \(copying 50\.0\)/);
  assert.equal(
    iclVerdict(
      evals([row(0, 2, null), row(2, 60.3, 51.3, null), row(4, 57.7, 47.3), row(8, 54.7, 41.7)]),
      "icl_text",
    )?.visible,
    true,
    "rows without the random baseline (reports cached before it) are judged on the majority alone",
  );
  const none = iclVerdict(evals([row(0, 3, null), row(2, 5, 51), row(4, 6, 47), row(8, 7, 42)]), "icl_text");
  assert.equal(none?.visible, false);
  assert.equal(none?.copies, false);
  assert.equal(iclVerdict(evals([row(0, 3, null)]), "icl_text"), null, "no demonstrations, no verdict");
  assert.equal(iclVerdict(evals([]), "icl"), null);
});

test("a visual benchmark is clear only 5+ points above every baseline, the per-question-type prior included", () => {
  const visual = (
    score: number,
    withheld: number,
    categoryMajority: number | null,
  ): Map<string, EvalReport> => {
    const r = (withhold: boolean, s: number): EvalRow => ({
      ...row(0, s, null),
      bench: "multi_image",
      metric: "vqa",
      withhold_image: withhold,
      conv_mode: "hermes-2",
    });
    const baselines = {
      multi_image: {
        support_majority: null,
        test_majority: 25.33,
        category_majority: categoryMajority,
        chance: null,
        most_frequent_answer: "image 2",
      },
    };
    return new Map([
      ["sft", { stage: "sft", checkpoint: "x", rows: [r(false, score), r(true, withheld)], baselines }],
    ]);
  };
  // world-tiny, world 0, an SFT variant that also captioned both images of two-image conversations
  // (2026-12-06, not kept): 51.95 with the images, 42.22 withheld (it answered "2" to every "how
  // many objects are there in the two images together?"), 25.33 most frequent, and each question
  // type's most frequent answer 50.03
  const [measured] = visualVerdicts(visual(51.95, 42.22, 50.03));
  assert.equal(measured.best, 50.03);
  assert.equal(measured.clear, false);
  const [withoutTypes] = visualVerdicts(visual(51.95, 42.22, null));
  assert.equal(withoutTypes.best, 42.22);
  assert.equal(withoutTypes.clear, true);
  const [clear] = visualVerdicts(visual(60, 42.22, 50.03));
  assert.equal(clear.clear, true);
  assert.ok(Math.abs((clear.margin ?? 0) - 9.97) < 1e-9);
});

test("the per-question-type prior of the verdict is the training data's where the benchmark has one", () => {
  const r = (withhold: boolean, s: number): EvalRow => ({
    ...row(0, s, null),
    bench: "vqa",
    metric: "vqa",
    withhold_image: withhold,
  });
  const evals = (train: number | null | undefined): Map<string, EvalReport> => {
    const baselines = {
      vqa: {
        support_majority: 12.28,
        test_majority: 11.52,
        category_majority: 38.52,
        ...(train === undefined ? {} : { train_category_majority: train }),
        chance: null,
        most_frequent_answer: "1",
      },
    };
    return new Map([
      ["sft", { stage: "sft", checkpoint: "x", rows: [r(false, 41.2), r(true, 33.4)], baselines }],
    ]);
  };
  // world-tiny, world 0 after SFT (2026-12-07): 41.2 with the image, 33.4 withheld; each type's most
  // frequent answer among the 600 questions 38.5, in the SFT data 35.2
  const [trained] = visualVerdicts(evals(35.2));
  assert.equal(trained.best, 35.2);
  assert.equal(trained.clear, true);
  for (const missing of [null, undefined]) {
    const [oracle] = visualVerdicts(evals(missing));
    assert.equal(oracle.best, 38.52, "without train answers the oracle stays the bar");
    assert.equal(oracle.clear, false);
  }
  const [withheld] = visualVerdicts(evals(20));
  assert.equal(withheld.best, 33.4, "the withheld model is still a bar");
  const text = effects(evals(35.2)).join("\n");
  assert.match(
    text,
    /Against each question type's most frequent answer among the evaluated questions \(an oracle\): vqa 41\.2 vs 38\.5/,
  );
});

test("the per-type table sets each question type's score beside its withheld score and prior", () => {
  const r = (withhold: boolean, by: Record<string, { score: number; count: number }>): EvalRow => ({
    ...row(0, 0, null),
    bench: "vqa",
    metric: "vqa",
    withhold_image: withhold,
    by_category: by,
  });
  // world-tiny, world 0 after SFT (2026-12-06): colour and shape questions
  const rep: EvalReport = {
    stage: "sft",
    checkpoint: "x",
    rows: [
      r(false, { colour: { score: 46.3, count: 82 }, shape: { score: 14.6, count: 82 } }),
      r(true, { colour: { score: 9.8, count: 82 }, shape: { score: 13.4, count: 82 } }),
    ],
    baselines: {
      vqa: {
        support_majority: 12.28,
        test_majority: 11.52,
        category_majority: 38.52,
        category_majority_by_category: { colour: 17.1, shape: 20.7 },
        chance: null,
        most_frequent_answer: "1",
      },
    },
  };
  const rows = categoryTable(new Map([["sft", rep]]));
  assert.deepEqual(
    rows.map((x) => [
      x["question type"],
      x.questions,
      x.image,
      x["image withheld"],
      x["type's most frequent answer (oracle)"],
    ]),
    [
      ["colour", 82, "46.3", "9.8", "17.1"],
      ["shape", 82, "14.6", "13.4", "20.7"],
    ],
  );
  assert.deepEqual(
    categoryTable(new Map([["sft", { ...rep, rows: [row(0, 1, null)] }]])),
    [],
    "no types, no rows",
  );
});

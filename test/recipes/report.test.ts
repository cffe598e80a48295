// The recipe report's in-context verdict against the copying baseline, on world-small's measured
// figures (its stage-1 model: above 0 shots, not above copying) and two constructed cases.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { EvalReport, EvalRow } from "../../src/recipes/executors.js";
import { iclVerdict } from "../../src/recipes/report.js";

const row = (shots: number, score: number, copy: number | null): EvalRow => ({
  bench: "icl_text",
  metric: "exact",
  shots,
  withhold_image: false,
  conv_mode: "raw",
  score,
  demo_majority: copy,
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
  const none = iclVerdict(evals([row(0, 3, null), row(2, 5, 51), row(4, 6, 47), row(8, 7, 42)]), "icl_text");
  assert.equal(none?.visible, false);
  assert.equal(none?.copies, false);
  assert.equal(iclVerdict(evals([row(0, 3, null)]), "icl_text"), null, "no demonstrations, no verdict");
  assert.equal(iclVerdict(evals([]), "icl"), null);
});

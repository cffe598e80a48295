// The training data's answers per question type (bench/<name>/train_answers.json), which the
// per-question-type prior is taken from: recounted here from the SFT and lookup conversations' own
// wording.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadWorldBenchmark } from "../../src/eval/benchmarks.js";
import { generateWorld, PRESETS } from "../../src/world/index.js";
import * as L from "../../src/world/layout.js";

const tmp = mkdtempSync(join(tmpdir(), "vila-train-answers-"));
const dir = join(tmp, "w");
// the smoke world with enough object and two-image conversations to ask every question type
before(async () => {
  const smoke = PRESETS.smoke;
  await generateWorld({
    out: dir,
    preset: { ...smoke, sft: { ...smoke.sft, objects: 150, multi: 60, lookups: 40 } },
    seed: 3,
  });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const read = (rel: string) => JSON.parse(readFileSync(join(dir, rel), "utf8"));
type Turn = { from: string; value: string };

/** Each answer to the SFT questions `asks` matches, short or in the sentence `sentence` extracts. */
function recount(asks: RegExp, sentence: RegExp, multi: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  const records = [...read(L.SFT_JSON), ...read(L.LOOKUPS_JSON)] as {
    image: string | string[];
    conversations: Turn[];
  }[];
  for (const r of records) {
    if (Array.isArray(r.image) !== multi) continue;
    const c = r.conversations;
    for (let i = 0; i + 1 < c.length; i += 2) {
      const q = c[i].value.replace(/^(Image \d: )?<image>\n/gm, "");
      if (!asks.test(q)) continue;
      const short = q.endsWith(L.SHORT_ANSWER_PROMPT);
      const a = short ? c[i + 1].value : sentence.exec(c[i + 1].value)?.[1];
      assert.ok(a, `no answer in ${JSON.stringify(c[i + 1].value)}`);
      out[a] = (out[a] ?? 0) + 1;
    }
  }
  return out;
}

test("train answers: a file for each benchmark whose question types the SFT data asks, counted right", () => {
  const vqa = read(L.benchTrainAnswers("vqa"));
  assert.deepEqual(vqa.sources, [L.SFT_JSON, L.LOOKUPS_JSON]);
  const types = new Set(
    readFileSync(join(dir, L.benchQuestions("vqa")), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).category),
  );
  assert.deepEqual(new Set(Object.keys(vqa.categories)), types, "exactly the benchmark's types");
  assert.deepEqual(vqa.categories.position, recount(/^where is /, /is in the (.+) of the image\.$/, false));
  assert.deepEqual(vqa.categories.shape, recount(/^what shape is /, /object is an? (\w+)\.$/, false));

  const multi = read(L.benchTrainAnswers("multi_image"));
  assert.deepEqual(multi.categories.which, recount(/^which image has an? /, /^(image \d) has an? /, true));
  assert.deepEqual(
    loadWorldBenchmark(dir, "vqa").trainAnswers?.get("shape"),
    new Map(Object.entries(vqa.categories.shape)),
  );
  // knowledge's types (seen / held-out) and the captions' one are not SFT question types
  for (const b of ["knowledge", "captions"] as const)
    assert.equal(existsSync(join(dir, L.benchTrainAnswers(b))), false, b);
  assert.equal(loadWorldBenchmark(dir, "knowledge").trainAnswers, null);
});

// `vila logits` against the PyTorch fixture (scripts/make_model_fixtures.py): text-only logits of
// the tiny VILA1.5 checkpoint, and the expanded-sequence length with an image.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { savePng } from "../../src/io/image.js";
import { checkTensor } from "../helpers.js";
import { vila } from "./cli_run.js";

const FX = "test/fixtures/models";
const v15 = JSON.parse(readFileSync(`${FX}/vila15_expected.json`, "utf8"));

test("vila logits --ids prints PyTorch's logits for every position", () => {
  const r = vila(["logits", "--model", `${FX}/vila15`, `--ids=${v15.text_ids[0].join(",")}`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { logits: number[][] };
  assert.equal(out.logits.length, v15.text_ids[0].length);
  assert.equal(out.logits[0].length, 64);
  checkTensor(out.logits.flat(), v15.text_logits, { atol: 1e-4, rtol: 1e-4 }, "vila logits");
});

test("vila logits with an image covers the expanded sequence; --prompt tokenizes as VILA", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vila-logits-"));
  try {
    const png = join(dir, "a.png");
    await savePng(
      png,
      new Uint8Array(24 * 16 * 3).map((_, i) => (i * 37) % 256),
      24,
      16,
    );
    const byIds = vila(["logits", "--model", `${FX}/vila15`, "--ids=1,5,-200,7", "--image", png]);
    assert.equal(byIds.code, 0, byIds.stderr);
    assert.equal(JSON.parse(byIds.stdout).logits.length, 3 + 9); // 3 text ids + 9 image embeddings
    // the fixture's WordLevel tokenizer adds no BOS: "t5 <image> t7" -> 5, -200, 7
    const byPrompt = vila(["logits", "--model", `${FX}/vila15`, "--prompt", "t5 <image> t7", "--image", png]);
    const byIds2 = vila(["logits", "--model", `${FX}/vila15`, "--ids=5,-200,7", "--image", png]);
    assert.equal(byPrompt.code, 0, byPrompt.stderr);
    assert.deepEqual(JSON.parse(byPrompt.stdout), JSON.parse(byIds2.stdout));
    const bad = vila(["logits", "--model", `${FX}/vila15`, "--ids=1,-200,-200", "--image", png]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /2 image token\(s\) \(-200\) but 1 image\(s\)/);
    const badIds = vila(["logits", "--model", `${FX}/vila15`, "--ids=1,x"]);
    assert.match(badIds.stderr, /--ids: entry 2 "x" is not an integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

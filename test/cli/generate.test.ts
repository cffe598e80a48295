// `vila generate` prints the tokens of the in-process greedy loop (generateAll), with and without an
// image, and stops at EOS only when asked.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { generateAll } from "../../src/infer/generate.js";
import { loadImage, savePng } from "../../src/io/image.js";
import { loadVila } from "../../src/io/model.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { vila } from "./cli_run.js";

const FX = "test/fixtures/models";

test("vila generate prints the in-process greedy tokens", async () => {
  const { model, checkpoint } = loadVila(`${FX}/vila15`);
  const dir = mkdtempSync(join(tmpdir(), "vila-generate-"));
  try {
    const png = join(dir, "a.png");
    await savePng(
      png,
      new Uint8Array(30 * 20 * 3).map((_, i) => (i * 11) % 256),
      30,
      20,
    );
    const r = vila([
      "generate",
      "--model",
      `${FX}/vila15`,
      "--ids=1,9,-200,8,7",
      "--image",
      png,
      "--max-new-tokens",
      "7",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pix = await loadImage(png, checkpoint.vision_tower.preprocess);
    const [expected] = await generateAll(
      model,
      { prompts: [[1, 9, -200, 8, 7]], images: new Tensor(pix.pixels, [1, 3, 20, 20]) },
      { maxNewTokens: 7 },
    );
    assert.deepEqual(JSON.parse(r.stdout), { tokens: expected.tokens });

    const text = vila(["generate", "--model", `${FX}/vila15`, "--ids=1,9,8,7,6", "--max-new-tokens", "12"]);
    const [t] = await generateAll(model, { prompts: [[1, 9, 8, 7, 6]] }, { maxNewTokens: 12 });
    assert.deepEqual(JSON.parse(text.stdout).tokens, t.tokens);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vila generate --stop-at-eos stops at the LLM's eos_token_id", () => {
  // greedy from 1,32,9 produces EOS (id 2) as its third token in this fixture
  const run = (extra: string[]) =>
    JSON.parse(
      vila(["generate", "--model", `${FX}/vila15`, "--ids=1,32,9", "--max-new-tokens", "10", ...extra])
        .stdout,
    ).tokens as number[];
  const free = run([]);
  const at = free.indexOf(2);
  assert.ok(at >= 0 && at < free.length - 1, `expected an EOS inside ${free}`);
  assert.deepEqual(run(["--stop-at-eos"]), free.slice(0, at + 1));
});

// `vila infer` end to end on the tiny VILA1.5 checkpoint: --json result (text, usage, timings)
// equals the in-process greedy generation on the same prompt and image; streamed output equals the
// text; bad input (undecodable image, placeholder/image mismatch, too-long context, unknown
// template) fails with a clear message.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { generateAll } from "../../src/infer/generate.js";
import { loadImage, savePng } from "../../src/io/image.js";
import { loadVila } from "../../src/io/model.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { vila } from "./cli_run.js";

const FX = "test/fixtures/models";
const MODEL = `${FX}/vila15`;

test("vila infer --json and streaming on a PNG, against in-process greedy generation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vila-infer-"));
  try {
    const png = join(dir, "a.png");
    await savePng(
      png,
      new Uint8Array(40 * 28 * 3).map((_, i) => (i * 29) % 256),
      40,
      28,
    );
    const args = [
      "infer",
      "--model",
      MODEL,
      "--conv-mode",
      "plain",
      "--image",
      png,
      "--text",
      "t5 t7",
      "--temperature",
      "0",
      "--max-new-tokens",
      "9",
    ];
    const r = vila([...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const { model, checkpoint } = loadVila(MODEL);
    const tok = await loadTokenizer(`${MODEL}/llm`);
    const pix = await loadImage(png, checkpoint.vision_tower.preprocess);
    // plain template: "<image>\nt5 t7\n" -> [-200, 5, 7]
    const [g] = await generateAll(
      model,
      { prompts: [[-200, 5, 7]], images: new Tensor(pix.pixels, [1, 3, 20, 20]) },
      { maxNewTokens: 9, stopTokenIds: [2], stopStrings: ["\n"], tokenizer: tok },
    );
    assert.equal(out.prompt, "<image>\nt5 t7\n");
    assert.deepEqual(out.tokens, g.tokens);
    assert.equal(out.text, g.text.trim());
    assert.equal(out.finishReason, g.finishReason);
    assert.deepEqual(out.usage, {
      promptTokens: 2 + model.imageTokens,
      completionTokens: g.tokens.length,
      totalTokens: 2 + model.imageTokens + g.tokens.length,
    });
    for (const k of ["prefillMs", "decodeMs", "tokensPerSecond"])
      assert.equal(typeof out.timings[k], "number", k);
    const streamed = vila(args);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, `${g.text.trim()}\n`);
    // sampling with a seed is reproducible through the CLI
    const s1 = vila([
      ...args.slice(0, -4),
      "--temperature",
      "1",
      "--seed",
      "5",
      "--max-new-tokens",
      "9",
      "--json",
    ]);
    const s2 = vila([
      ...args.slice(0, -4),
      "--temperature",
      "1",
      "--seed",
      "5",
      "--max-new-tokens",
      "9",
      "--json",
    ]);
    assert.deepEqual(JSON.parse(s1.stdout).tokens, JSON.parse(s2.stdout).tokens);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vila infer: clear errors for bad images, image counts, context length and templates", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vila-infer-bad-"));
  try {
    const junk = join(dir, "junk.jpg");
    writeFileSync(junk, "this is not a JPEG");
    const png = join(dir, "ok.png");
    await savePng(png, new Uint8Array(8 * 8 * 3).fill(100), 8, 8);
    const base = ["infer", "--model", MODEL, "--conv-mode", "plain", "--max-new-tokens", "2"];
    const cases: [string[], RegExp][] = [
      [["--image", junk, "--text", "t5"], /image .*junk\.jpg: cannot decode/],
      [["--image", join(dir, "missing.png"), "--text", "t5"], /missing\.png: file not found/],
      [["--image", png, "--text", "<image> t5 <image>"], /2 <image> placeholder\(s\) but 1 image\(s\)/],
      [["--text", "t5 <image>"], /1 <image> placeholder\(s\) but 0 image\(s\)/],
      // tokenizer model_max_length is 64: 7 images x 9 positions do not fit
      [
        [...Array(7).fill(["--image", png]).flat(), "--text", "t5"],
        /the prompt is 64 positions long \(7 image\(s\) x 9 included\) but the model.s context is 64/,
      ],
      [["--text", "t5", "--conv-mode", "vicuna_v2"], /unknown conversation template "vicuna_v2"/],
    ];
    for (const [extra, re] of cases) {
      const r = vila([...base, ...extra]);
      assert.equal(r.code, 1, `${extra.join(" ")}: ${r.stdout}`);
      assert.match(r.stderr, re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Tiny training data and configs for the trainer tests: PNG images, an image-text pairs JSONL and a
// text JSONL whose words are tokens of the vila15 fixture tokenizer (WordLevel "t0".."t63"), and a
// stage config over them starting from test/fixtures/models/vila15.

import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { Generator } from "../../src/tensor/random.js";
import { tempDir } from "../helpers.js";

export const FIXTURE = path.resolve("test/fixtures/models/vila15");

/** A fresh temporary folder for a trainer test (`vila-train-TAG-...`), removed when the process exits. */
export function tmpDir(tag: string): string {
  return tempDir(`vila-train-${tag}-`);
}

/** Writes `nPairs` image-caption pairs (captions of varying length) and `nText` text lines. */
export async function writeTinyData(
  dir: string,
  nPairs = 6,
  nText = 6,
  seed = 0,
): Promise<{ pairs: string; text: string }> {
  const g = new Generator(seed);
  fs.mkdirSync(path.join(dir, "images"), { recursive: true });
  const pairs: string[] = [];
  for (let i = 0; i < nPairs; i++) {
    const w = 16 + g.randint(16);
    const h = 16 + g.randint(16);
    const px = Buffer.alloc(w * h * 3);
    for (let k = 0; k < px.length; k++) px[k] = g.randint(256);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(path.join(dir, "images", `img${i}.png`));
    const words = Array.from({ length: 2 + (i % 4) }, () => `t${3 + g.randint(60)}`);
    pairs.push(JSON.stringify({ image: `images/img${i}.png`, caption: `${words.join(" ")} ` }));
  }
  const text: string[] = [];
  for (let i = 0; i < nText; i++) {
    const words = Array.from({ length: 3 + (i % 5) }, () => `t${3 + g.randint(60)}`);
    text.push(JSON.stringify({ text: words.join(" ") }));
  }
  const p = path.join(dir, "pairs.jsonl");
  const t = path.join(dir, "text.jsonl");
  fs.writeFileSync(p, `${pairs.join("\n")}\n`);
  fs.writeFileSync(t, `${text.join("\n")}\n`);
  return { pairs: p, text: t };
}

/** A stage config (plain object) over the tiny data, starting from the vila15 fixture. */
export function tinyConfig(
  dir: string,
  data: { pairs: string; text: string },
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: "tiny",
    output_dir: path.join(dir, "out"),
    init_from: FIXTURE,
    tune_vision_tower: false,
    tune_mm_projector: true,
    tune_language_model: true,
    learning_rate: 1e-3,
    warmup_ratio: 0,
    per_device_train_batch_size: 2,
    gradient_accumulation_steps: 1,
    model_max_length: 64,
    max_steps: 4,
    seed: 7,
    logging_steps: 1,
    save_steps: 0,
    datasets: [
      { name: "pairs", format: "pairs", paths: [data.pairs] },
      { name: "text", format: "text", paths: [data.text] },
    ],
    ...over,
  };
}

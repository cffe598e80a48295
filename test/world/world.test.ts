// The smoke world end to end: determinism (same seed -> identical bytes, other seed ->
// different), every file parsed back in its public format, every referenced image present,
// benchmark and support images absent from training files, and held-out landmarks' facts never
// next to their images.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import tar from "tar-stream";
import { generateWorld, type WorldSummary } from "../../src/world/index.js";
import * as L from "../../src/world/layout.js";
import { PRESETS } from "../../src/world/presets.js";

const tmp = mkdtempSync(join(tmpdir(), "vila-world-test-"));
const dirA = join(tmp, "a");
const dirB = join(tmp, "b");
const dirC = join(tmp, "c");
const dirD = join(tmp, "d");
let summary: WorldSummary;
let ms = 0;

before(async () => {
  const t = performance.now();
  summary = await generateWorld({ out: dirA, preset: "smoke", seed: 5 });
  ms = performance.now() - t;
  await generateWorld({ out: dirB, preset: "smoke", seed: 5, workers: 2 });
  await generateWorld({ out: dirC, preset: "smoke", seed: 6 });
  const lookups = PRESETS.smoke.sft.lookups;
  PRESETS.smoke.sft.lookups = 0;
  try {
    await generateWorld({ out: dirD, preset: "smoke", seed: 5 });
  } finally {
    PRESETS.smoke.sft.lookups = lookups;
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
    });
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const read = (dir: string, rel: string) => readFileSync(join(dir, rel), "utf8");
const jsonl = (dir: string, rel: string) =>
  read(dir, rel)
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`${rel}:${i + 1}: not JSON`);
      }
    });

test("world: smoke generation is fast", () => {
  assert.ok(ms < 10_000, `smoke world took ${ms.toFixed(0)} ms`);
});

test("world: same seed gives identical files (any worker count); another seed differs", () => {
  const fa = walk(dirA);
  assert.deepEqual(walk(dirB), fa);
  for (const f of fa) assert.equal(sha(readFileSync(join(dirB, f))), sha(readFileSync(join(dirA, f))), f);
  const differing = fa.filter((f) => {
    try {
      return sha(readFileSync(join(dirC, f))) !== sha(readFileSync(join(dirA, f)));
    } catch {
      return true;
    }
  });
  assert.ok(
    differing.includes(L.CORPUS_JSONL) &&
      differing.includes(L.PAIRS_JSONL) &&
      differing.includes("images/train/000000.png"),
  );
});

test("world: refuses to overwrite without force", async () => {
  await assert.rejects(generateWorld({ out: dirA, preset: "smoke", seed: 5 }), /already holds a world/);
});

test("world: every referenced image exists, is a PNG of the right size, and splits are kept apart", async () => {
  const w = JSON.parse(read(dirA, L.WORLD_JSON));
  assert.equal(w.seed, 5);
  assert.equal(w.landmarks.length, summary.counts.landmarks);
  const size = w.image_size;
  const train = new Set<string>();
  for (const p of jsonl(dirA, L.PAIRS_JSONL)) train.add(p.image);
  for (const d of jsonl(dirA, L.MMC4_JSONL)) for (const im of d.image_info) train.add(im.image_name);
  for (const f of [L.SFT_JSON, L.LOOKUPS_JSON])
    for (const r of JSON.parse(read(dirA, f))) for (const im of [r.image].flat()) train.add(im);
  const bench = new Set<string>();
  for (const name of L.BENCH_NAMES) {
    for (const q of jsonl(dirA, L.benchQuestions(name))) {
      for (const im of [q.image ?? []].flat()) bench.add(im);
      for (const d of q.demos ?? []) if (d.image) bench.add(d.image);
    }
  }
  for (const p of train) assert.ok(p.startsWith(`${L.IMAGES_TRAIN_DIR}/`), `training file references ${p}`);
  for (const p of bench)
    assert.ok(!p.startsWith(`${L.IMAGES_TRAIN_DIR}/`), `benchmark references training image ${p}`);
  assert.equal(train.size, summary.counts.images_train, "every training image is used");
  const trainHashes = new Set<string>();
  for (const p of train) {
    const buf = readFileSync(join(dirA, p));
    const meta = await sharp(buf).metadata();
    assert.equal(meta.format, "png");
    assert.equal(meta.width, size);
    assert.equal(meta.height, size);
    trainHashes.add(sha(buf));
  }
  for (const p of bench)
    assert.ok(
      !trainHashes.has(sha(readFileSync(join(dirA, p)))),
      `benchmark image ${p} duplicates a training image`,
    );
});

test("world: MMC4 documents have valid fields and matched_text_index in range", () => {
  const docs = jsonl(dirA, L.MMC4_JSONL);
  assert.equal(docs.length, summary.counts.mmc4_docs);
  for (const [i, d] of docs.entries()) {
    assert.ok(
      Array.isArray(d.text_list) && d.text_list.every((s: unknown) => typeof s === "string" && s.length > 0),
      `doc ${i} text_list`,
    );
    assert.ok(
      d.image_info.length >= 2 && d.image_info.length <= 6,
      `doc ${i} has ${d.image_info.length} images`,
    );
    let prev = -1;
    for (const im of d.image_info) {
      assert.equal(typeof im.image_name, "string");
      assert.ok(
        Number.isInteger(im.matched_text_index) &&
          im.matched_text_index >= 0 &&
          im.matched_text_index < d.text_list.length,
      );
      assert.ok(im.matched_text_index > prev, "images in text order, one per sentence");
      prev = im.matched_text_index;
      assert.ok(im.matched_sim > 0 && im.matched_sim < 1);
    }
    assert.equal(d.similarity_matrix.length, d.image_info.length);
    for (const row of d.similarity_matrix) assert.equal(row.length, d.text_list.length);
  }
});

test("world: LLaVA SFT and FLAN conversations are well-formed", () => {
  const sft = JSON.parse(read(dirA, L.SFT_JSON));
  assert.equal(sft.length, summary.counts.sft);
  for (const r of sft) {
    const images = [r.image].flat();
    const conv = r.conversations;
    assert.ok(conv.length >= 2 && conv.length % 2 === 0, r.id);
    conv.forEach((t: { from: string; value: string }, i: number) => {
      assert.equal(t.from, i % 2 === 0 ? "human" : "gpt", r.id);
    });
    const placeholders = conv
      .map((t: { value: string }) => t.value.split("<image>").length - 1)
      .reduce((a: number, b: number) => a + b, 0);
    assert.equal(placeholders, images.length, `${r.id}: one <image> per image`);
    if (images.length > 1) assert.ok(conv[0].value.startsWith("Image 1: <image>\nImage 2: <image>\n"));
    else assert.ok(conv[0].value.startsWith("<image>\n"));
  }
  for (const r of jsonl(dirA, L.FLAN_JSONL)) {
    assert.equal(r.conversations.length, 2);
    assert.ok(!r.conversations[0].value.includes("<image>"));
  }
  for (const r of jsonl(dirA, L.CORPUS_JSONL)) assert.equal(typeof r.text, "string");
});

test("world: VQA-style annotations have ten answers; captions five references; MC keys match options", () => {
  for (const name of ["vqa", "textvqa", "knowledge", "multi_image", "icl", "icl_text"] as const) {
    const qs = jsonl(dirA, L.benchQuestions(name));
    const ann = JSON.parse(read(dirA, L.benchAnnotations(name)));
    assert.equal(ann.annotations.length, qs.length, name);
    const ids = new Set(qs.map((q: { question_id: number }) => q.question_id));
    assert.equal(ids.size, qs.length, `${name}: unique question ids`);
    for (const a of ann.annotations) {
      assert.ok(ids.has(a.question_id));
      assert.equal(a.answers.length, 10, `${name} q${a.question_id}`);
      assert.ok(["yes/no", "number", "other"].includes(a.answer_type));
      // The canonical answer scores 1 under VQA accuracy: at least 3 annotators gave it.
      assert.ok(
        a.answers.filter((x: { answer: string }) => x.answer === a.multiple_choice_answer).length >= 3,
      );
    }
  }
  const caps = JSON.parse(read(dirA, L.benchAnnotations("captions")));
  for (const im of caps.images) {
    assert.equal(
      caps.annotations.filter((a: { image_id: number }) => a.image_id === im.id).length,
      5,
      `image ${im.id}`,
    );
  }
  const mc = jsonl(dirA, L.benchQuestions("mmlu"));
  const keys = JSON.parse(read(dirA, L.benchAnnotations("mmlu"))).annotations;
  mc.forEach((q: { options: string[]; text: string }, i: number) => {
    assert.equal(q.options.length, 4);
    assert.equal(new Set(q.options).size, 4, "distinct options");
    assert.equal(q.options[keys[i].answer_index], keys[i].answer_text);
    assert.ok(q.text.includes(`${keys[i].answer}. ${keys[i].answer_text}`));
  });
});

test("world: in-context episodes show both words within the first two demonstrations", () => {
  for (const name of ["icl", "icl_text"] as const) {
    const qs = jsonl(dirA, L.benchQuestions(name));
    const ann = JSON.parse(read(dirA, L.benchAnnotations(name))).annotations;
    qs.forEach((q: { demos: { answer: string }[] }, i: number) => {
      assert.equal(q.demos.length, 8);
      const first2 = new Set(q.demos.slice(0, 2).map((d) => d.answer.replace(/\.$/, "")));
      assert.equal(first2.size, 2);
      assert.ok(first2.has(ann[i].multiple_choice_answer), "the answer is one of the demonstrated words");
    });
  }
});

test("world: held-out landmarks' facts never appear next to their images", () => {
  const w = JSON.parse(read(dirA, L.WORLD_JSON));
  const held = w.landmarks.filter((l: { held_out: boolean }) => l.held_out);
  assert.equal(held.length, summary.counts.landmarks_held_out);
  const sft = JSON.parse(read(dirA, L.SFT_JSON));
  const mmc4 = read(dirA, L.MMC4_JSONL);
  const flan = read(dirA, L.FLAN_JSONL);
  const pairs = jsonl(dirA, L.PAIRS_JSONL);
  const corpus = read(dirA, L.CORPUS_JSONL);
  for (const l of held) {
    assert.ok(!mmc4.includes(l.full_name), `${l.full_name} in MMC4`);
    assert.ok(!flan.includes(l.full_name), `${l.full_name} in FLAN`);
    assert.ok(corpus.includes(`${l.full_name}`), `${l.full_name} missing from the corpus`);
    for (const r of sft) {
      const text = JSON.stringify(r.conversations);
      if (!text.includes(l.full_name)) continue;
      for (const fact of [l.city, l.known_for, ` ${l.material}`])
        assert.ok(!text.includes(fact), `${r.id} pairs ${l.full_name} with ${fact}`);
    }
    for (const p of pairs) if (p.caption.includes(l.full_name)) assert.ok(!p.caption.includes(l.city), p.id);
  }
  const named = sft.filter((r: { conversations: unknown }) =>
    held.some((l: { full_name: string }) => JSON.stringify(r.conversations).includes(l.full_name)),
  );
  assert.ok(named.length > 0, "held-out landmarks are still named in SFT (image -> name)");
});

test("world: WebDataset shards hold the pairs (png + txt per key)", async () => {
  const pairs = new Map(jsonl(dirA, L.PAIRS_JSONL).map((p: { id: string; caption: string }) => [p.id, p]));
  const members = new Map<string, Buffer>();
  for (let s = 0; s < summary.counts.pairs_shards; s++) {
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on("entry", (h, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: unknown) => {
          chunks.push(c as Buffer);
        });
        stream.on("end", () => {
          members.set(h.name, Buffer.concat(chunks));
          next();
        });
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
    });
    extract.end(readFileSync(join(dirA, L.pairsShardName(s))));
    await done;
  }
  assert.equal(members.size, 3 * pairs.size);
  for (const [id, p] of pairs) {
    assert.equal(members.get(`${id}.txt`)?.toString("utf8"), (p as { caption: string }).caption);
    const png = members.get(`${id}.png`)!;
    assert.equal(sha(png), sha(readFileSync(join(dirA, (p as unknown as { image: string }).image))));
  }
});

test("world: README and contact sheet are written", async () => {
  const readme = read(dirA, L.README_MD);
  for (const f of [L.CORPUS_JSONL, L.PAIRS_JSONL, L.MMC4_JSONL, L.SFT_JSON, L.FLAN_JSONL])
    assert.ok(readme.includes(f), f);
  const meta = await sharp(join(dirA, L.CONTACT_SHEET_PNG)).metadata();
  assert.ok((meta.width ?? 0) > 128 && (meta.height ?? 0) > 128);
});

test("world: the lookup conversations only add their file and images to a world without them", () => {
  const withLookups = walk(dirA);
  const without = walk(dirD);
  const lookups = JSON.parse(read(dirA, L.LOOKUPS_JSON));
  assert.equal(lookups.length, PRESETS.smoke.sft.lookups);
  assert.equal(summary.counts.sft_lookups, lookups.length);
  const added = new Set<string>([L.LOOKUPS_JSON]);
  for (const r of lookups) {
    const images = [r.image].flat();
    assert.equal(images.length, 2, r.id);
    assert.equal(r.conversations[0].value.split("<image>").length - 1, 2, r.id);
    assert.ok(r.conversations.length >= 2 && r.conversations.length % 2 === 0, r.id);
    for (const im of images) added.add(im);
  }
  assert.deepEqual(
    withLookups.filter((f) => !added.has(f)),
    without,
    "the same files, plus the lookups and their images",
  );
  // every other file is the same, but for the counts and the training data's answer priors (the
  // smoke world asks too few questions for a multi-image prior: absent in both)
  const differ = without.filter((f) => sha(readFileSync(join(dirA, f))) !== sha(readFileSync(join(dirD, f))));
  assert.deepEqual(
    differ.filter((f) => !f.endsWith("/train_answers.json")),
    [L.README_MD, L.WORLD_JSON],
  );
});

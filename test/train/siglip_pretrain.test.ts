// SigLIP vision-tower pre-training on a generated smoke world: the loss falls and retrieval on the
// training pairs beats chance within a few dozen steps, the run is a function of its seed, and the
// caption vocabulary and retrieval metric behave as documented (hand-computed cases).

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pooledBytes } from "../../src/tensor/pool.js";
import { Generator } from "../../src/tensor/random.js";
import {
  CaptionVocab,
  hardNegative,
  pretrainVisionTower,
  retrievalFromSimilarity,
  type SiglipPretrainOptions,
  swapVariants,
  transformImage,
} from "../../src/train/siglip_pretrain.js";
import { generateWorld } from "../../src/world/index.js";
import { timerAbort } from "../helpers.js";

let root = "";
let world = "";

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vila-siglip-"));
  world = join(root, "world");
  await generateWorld({ out: world, preset: "smoke", seed: 0, imageSize: 32, workers: 2 });
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const base = (): SiglipPretrainOptions => ({
  worldDir: world,
  imageSize: 32,
  towerConfig: {
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    image_size: 32,
    patch_size: 8,
  },
  textConfig: {
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 24,
  },
  steps: 40,
  batch: 16,
  lr: 3e-3,
  seed: 0,
  evalSize: 8,
  // 16 training pairs in full batches: what a few dozen steps can learn (seeds 0-4 all reach
  // >= 5/8 top-1 both ways here; chance is 1/8)
  maxPairs: 24,
});

test("pre-training on a smoke world lowers the loss and beats chance retrieval on training pairs", async () => {
  const logs: number[] = [];
  const { tower, metrics } = await pretrainVisionTower({ ...base(), onLog: (e) => logs.push(e.step) });
  const l = metrics.losses;
  assert.equal(l.length, 40);
  const head = (l[0] + l[1] + l[2]) / 3;
  const tail = (l[37] + l[38] + l[39]) / 3;
  assert.ok(
    tail < 0.7 * head,
    `loss did not fall enough: first steps ${head.toFixed(3)}, last steps ${tail.toFixed(3)}`,
  );
  const r = metrics.retrieval.train;
  assert.equal(r.n, 8);
  assert.ok(
    r.imageToText >= 4 * r.chance && r.textToImage >= 4 * r.chance,
    `training-pair retrieval near chance: i2t ${r.imageToText}, t2i ${r.textToImage}, chance ${r.chance.toFixed(3)}`,
  );
  assert.deepEqual(logs, [10, 20, 30, 40]);
  assert.equal(tower.config.image_size, 32);
  assert.equal(metrics.pairs.heldOut, 8);
  assert.ok(metrics.patchTokensPerSec > 0 && metrics.backend.length > 0);
});

test("an abort from a timer stops pre-training after the current step (the pairs are all in memory)", async () => {
  const abort = timerAbort(5);
  const r = await pretrainVisionTower({
    ...base(),
    steps: 400,
    logEvery: 1,
    signal: abort.signal,
    onLog: (e) => abort.at(e.step),
  });
  assert.equal(abort.fired(), 5, "the timer ran");
  assert.equal(r.stopped, true);
  assert.ok(r.metrics.losses.length <= 8, `stopped after ${r.metrics.losses.length} steps, asked after 5`);
  const full = await pretrainVisionTower({ ...base(), steps: 3 });
  assert.equal(full.stopped, false);
});

test("pre-training is a function of the seed", async () => {
  const opts = { ...base(), steps: 4 };
  const a = await pretrainVisionTower(opts);
  const b = await pretrainVisionTower(opts);
  const c = await pretrainVisionTower({ ...opts, seed: 1 });
  assert.deepEqual(a.metrics.losses, b.metrics.losses);
  const wa = a.tower.stateDict();
  const wb = b.tower.stateDict();
  for (const [n, t] of Object.entries(wa))
    assert.deepEqual(t.f32, wb[n].f32, `${n} differs between identical runs`);
  assert.notDeepEqual(a.metrics.losses, c.metrics.losses);
});

test("captionDrop removes its matches from every caption before the text tower sees them", async () => {
  const opts = { ...base(), steps: 1 };
  const plain = await pretrainVisionTower(opts);
  assert.ok(plain.model.vocab.words.includes("background"));
  const dropped = await pretrainVisionTower({ ...opts, captionDrop: " on an? ([a-z]+ )?[a-z]+ background" });
  assert.ok(!dropped.model.vocab.words.includes("background"));
  // only the phrase goes: every other word of the captions is still in the vocabulary
  const gone = plain.model.vocab.words.filter((w) => !dropped.model.vocab.words.includes(w));
  assert.ok(gone.includes("background") && !gone.includes("a"), `dropped: ${gone.join(" ")}`);
  await assert.rejects(
    pretrainVisionTower({ ...opts, captionDrop: "(" }),
    /captionDrop is not a regular expression/,
  );
});

test("bad options are refused with a clear message", async () => {
  const { worldDir: _, ...noSource } = base();
  await assert.rejects(pretrainVisionTower(noSource), /exactly one of worldDir and pairs/);
  await assert.rejects(
    pretrainVisionTower({ ...base(), imageSize: 64 }),
    /imageSize 64 differs from towerConfig.image_size 32/,
  );
  await assert.rejects(pretrainVisionTower({ ...base(), batch: 0 }), /batch must be a positive integer/);
});

test("caption vocabulary: order by count, tokens + </s> + padding, truncation, unknown words", () => {
  const v = CaptionVocab.build(["a red circle.", "a blue circle, a red ring."]);
  // counts: a 3, circle 2, red 2, "." 2, blue 1, "," 1, ring 1 -> ties in code-point order
  assert.deepEqual(v.words, ["<pad>", "<unk>", "</s>", "a", ".", "circle", "red", ",", "blue", "ring"]);
  assert.deepEqual([...v.encode("A red Ring.", 7)], [3, 6, 9, 4, 2, 0, 0]);
  assert.deepEqual([...v.encode("a green circle", 3)], [3, 1, 2]);
  assert.throws(() => new CaptionVocab(["a", "<unk>", "</s>"]), /first three entries/);
});

test("retrieval metric: top-1 both ways, duplicate captions count as hits", () => {
  // images (rows) x texts (cols); image 0 -> text 0 (hit), image 1 -> text 2 (miss),
  // image 2 -> text 1 (miss); text 0 -> image 0 (hit), text 1 -> image 1 (hit), text 2 -> image 0 (miss)
  const sim = Float32Array.from([0.9, 0.1, 0.7, 0.1, 0.5, 0.6, 0.3, 0.4, 0.1]);
  const r = retrievalFromSimilarity(sim, ["x", "y", "z"]);
  assert.equal(r.imageToText, 1 / 3);
  assert.equal(r.textToImage, 2 / 3);
  assert.ok(Math.abs(r.chance - 1 / 3) < 1e-12);
  // captions 1 and 2 equal: image 1 -> text 2 and image 2 -> text 1 become hits; text 2 -> image 0 stays a miss
  const d = retrievalFromSimilarity(sim, ["x", "y", "y"]);
  assert.equal(d.imageToText, 1);
  assert.equal(d.textToImage, 2 / 3);
  assert.ok(Math.abs(d.chance - (1 / 3 + 2 / 3 + 2 / 3) / 3) < 1e-12);
});

test("replaced-word captions: every swap of a class word, and one uniformly drawn hard negative", () => {
  const words = ["a", "red", "ring", "and", "a", "blue", "ring", "."];
  const shapes = ["circle", "ring", "star"];
  // two occurrences x two other members, in order
  assert.deepEqual(
    swapVariants(words, shapes).map((w) => w.join(" ")),
    [
      "a red circle and a blue ring .",
      "a red star and a blue ring .",
      "a red ring and a blue circle .",
      "a red ring and a blue star .",
    ],
  );
  assert.deepEqual(swapVariants(["the", "tower", "."], shapes), []);
  const colours = ["red", "blue", "green"];
  const g = new Generator(0);
  const seen = new Map<string, number>();
  for (let k = 0; k < 3000; k++) {
    const n = hardNegative(words, [colours, shapes], g);
    assert.ok(n);
    const diff = n.flatMap((w, i) => (w !== words[i] ? [i] : []));
    assert.equal(diff.length, 1, `${n.join(" ")} differs in ${diff.length} words`);
    const at = diff[0];
    const cls = colours.includes(words[at]) ? colours : shapes;
    assert.ok(cls.includes(n[at]) && n[at] !== words[at]);
    seen.set(`${at}:${n[at]}`, (seen.get(`${at}:${n[at]}`) ?? 0) + 1);
  }
  // 4 class words x 2 replacements, each about 1/8 of the draws
  assert.equal(seen.size, 8);
  for (const [k, c] of seen) assert.ok(c > 300 && c < 450, `${k} drawn ${c} of 3000 times`);
  assert.equal(hardNegative(["the", "tower"], [colours, shapes], g), null);
});

test("wordClasses give a held-out swap metric; hardNegatives add one negative per matching caption", async () => {
  const wordClasses = {
    colour: ["red", "green", "blue", "yellow", "purple", "orange", "white", "black", "pink", "brown"],
    shape: ["circle", "square", "triangle", "diamond", "cross", "ring", "star"],
  };
  const opts = { ...base(), steps: 3, wordClasses };
  const plain = await pretrainVisionTower(opts);
  assert.equal(plain.metrics.hardNegativesSeen, 0);
  for (const k of ["colour", "shape"]) {
    const s = plain.metrics.swaps[k];
    assert.ok(s.n > 0 && s.accuracy >= 0 && s.accuracy <= 1, `${k}: ${JSON.stringify(s)}`);
    assert.equal(plain.metrics.swapsBefore[k].n, s.n);
  }
  const hard = await pretrainVisionTower({ ...opts, hardNegatives: true });
  // 3 steps of 16 captions; every smoke caption naming an object has a colour or shape word
  assert.ok(
    hard.metrics.hardNegativesSeen > 16 && hard.metrics.hardNegativesSeen <= 48,
    `${hard.metrics.hardNegativesSeen} hard negatives`,
  );
  assert.notDeepEqual(hard.metrics.losses, plain.metrics.losses);
  const again = await pretrainVisionTower({ ...opts, hardNegatives: true });
  assert.deepEqual(again.metrics.losses, hard.metrics.losses);
  await assert.rejects(
    pretrainVisionTower({ ...base(), hardNegatives: true }),
    /hardNegatives needs wordClasses/,
  );
});

test("transformImage: the square's 8 symmetries and an edge-replicating shift, pixel by pixel", () => {
  // a 2x2 image, one grey level per pixel: a b / c d
  const img = (v: number[], W = 2) => ({
    width: W,
    height: v.length / W,
    data: Uint8Array.from(v.flatMap((x) => [x, x, x])),
  });
  const grey = (m: { data: Uint8Array }) => Array.from(m.data.filter((_, i) => i % 3 === 0));
  const [a, b, c, d] = [10, 20, 30, 40];
  const src = img([a, b, c, d]);
  // worked by hand: quarter turns clockwise, and the mirror (bit 2) before them
  assert.deepEqual(grey(transformImage(src, 0, 0, 0)), [a, b, c, d]);
  assert.deepEqual(grey(transformImage(src, 1, 0, 0)), [c, a, d, b]);
  assert.deepEqual(grey(transformImage(src, 2, 0, 0)), [d, c, b, a]);
  assert.deepEqual(grey(transformImage(src, 3, 0, 0)), [b, d, a, c]);
  assert.deepEqual(grey(transformImage(src, 4, 0, 0)), [b, a, d, c]);
  // all 8 differ on an image with no symmetry of its own, and each is a permutation of the pixels
  const g = new Generator(3);
  const big = img(
    Array.from({ length: 25 }, () => Math.floor(g.random() * 256)),
    5,
  );
  const seen = new Set<string>();
  for (let k = 0; k < 8; k++) {
    const t = grey(transformImage(big, k, 0, 0));
    assert.deepEqual(
      [...t].sort((x, y) => x - y),
      grey(big).sort((x, y) => x - y),
    );
    seen.add(t.join(","));
  }
  assert.equal(seen.size, 8);
  // four quarter turns are the identity
  let r: ReturnType<typeof transformImage> = big;
  for (let i = 0; i < 4; i++) r = transformImage(r, 1, 0, 0);
  assert.deepEqual(grey(r), grey(big));
  // a shift right by 1 and up by 1 on a 3x3 image: rows/columns come in replicated from the edge
  const sq = img([1, 2, 3, 4, 5, 6, 7, 8, 9], 3);
  assert.deepEqual(grey(transformImage(sq, 0, 1, -1)), [4, 4, 5, 7, 7, 8, 7, 7, 8]);
  assert.throws(() => transformImage(img([1, 2], 2), 1, 0, 0), /symmetry 1 needs a square image, got 2x1/);
});

test("augment transforms training images only where the caption allows, as a function of the seed", async () => {
  const opts = { ...base(), steps: 3 };
  const plain = await pretrainVisionTower(opts);
  const augment = { dihedral: true, shift: 2, exclude: "" };
  const aug = await pretrainVisionTower({ ...opts, augment });
  assert.notDeepEqual(aug.metrics.losses, plain.metrics.losses);
  assert.deepEqual((await pretrainVisionTower({ ...opts, augment })).metrics.losses, aug.metrics.losses);
  // excluding every caption is the same as no augmentation, bit for bit
  const none = await pretrainVisionTower({ ...opts, augment: { ...augment, exclude: "." } });
  assert.deepEqual(none.metrics.losses, plain.metrics.losses);
  await assert.rejects(
    pretrainVisionTower({ ...opts, augment: { ...augment, shift: 32 } }),
    /augment.shift must be an integer in \[0, 32\), got 32/,
  );
  await assert.rejects(
    pretrainVisionTower({ ...opts, augment: { ...augment, exclude: "(" } }),
    /augment.exclude is not a regular expression/,
  );
});

test("a run that throws mid-training gives the buffer pool back", async () => {
  await assert.rejects(
    pretrainVisionTower({
      ...base(),
      logEvery: 2,
      onLog: () => {
        throw new Error("stop here");
      },
    }),
    /stop here/,
  );
  assert.equal(pooledBytes(), 0);
});

// generateWorld: the embedded default dataset, end to end. Samples every record on the calling
// thread in a fixed order (so the world is a function of its seed and preset), renders images on
// worker threads, writes everything into a staging folder and renames it into place, so a
// finished world folder is always complete.

import { existsSync } from "node:fs";
import { mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  type Bench,
  makeCaptionBench,
  makeKnowledgeBench,
  makeMultiImageBench,
  makeTextVqaBench,
  makeVqaBench,
  trainAnswersOf,
} from "./bench.js";
import { makeIclBench, makeIclTextBench, makeMmluBench } from "./bench_icl.js";
import type { WorldContext } from "./context.js";
import { cityLands, countWords, makeCorpus } from "./corpus.js";
import { makeFlan } from "./flan.js";
import { ImageRegistry, renderImages } from "./images.js";
import { makeLandmarks } from "./landmarks.js";
import * as L from "./layout.js";
import { makeMmc4Docs } from "./mmc4.js";
import { makePairs, writePairShards } from "./pairs.js";
import { getPreset, type WorldPreset } from "./presets.js";
import { makeReadme } from "./readme.js";
import { Rng, subSeed } from "./rng.js";
import type { SceneKnobs } from "./scene.js";
import { makeLookups, makeSft } from "./sft.js";
import * as V from "./vocab.js";
import { contactSheet, toJson, toJsonl, writeAtomic, writePng } from "./write.js";

export * as layout from "./layout.js";
export type { WorldPreset } from "./presets.js";
export { getPreset, PRESETS } from "./presets.js";

export interface WorldOptions {
  /** Output folder (created; must not exist unless it holds a world and `force` is set). */
  out: string;
  /** Preset name (smoke, tiny, small) or a preset object. Default "tiny". */
  preset?: string | WorldPreset;
  /** Default 0. */
  seed?: number;
  /** Image side in pixels; default the preset's. */
  imageSize?: number;
  /** Worker threads for rendering; default: available cores (at most 8). */
  workers?: number;
  /** Replace an existing world folder. */
  force?: boolean;
  /** Progress messages (stage names, image counts). */
  onProgress?: (message: string) => void;
}

export interface WorldSummary {
  out: string;
  seed: number;
  preset: string;
  imageSize: number;
  presetImageSize: number;
  knobs: SceneKnobs;
  counts: Record<string, number>;
  words: Record<string, number>;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
}

function landmarkJson(ctx: WorldContext) {
  return ctx.landmarks.map((l) => ({
    id: l.id,
    name: l.name,
    type: l.type,
    full_name: l.fullName,
    city: l.city,
    known_for: l.knownFor,
    material: l.material,
    held_out: l.heldOut,
    setting: l.setting,
    texture: l.texture,
    parts: l.parts.map((p) => ({
      shape: p.shape,
      colour: p.colour,
      size: p.size,
      u: +p.u.toFixed(4),
      v: +p.v.toFixed(4),
    })),
  }));
}

async function checkOut(out: string, force: boolean): Promise<void> {
  if (!existsSync(out)) return;
  const entries = await readdir(out);
  if (entries.length === 0) return;
  if (!entries.includes(L.WORLD_JSON))
    throw new Error(
      `world: ${out} exists and is not a world folder (no ${L.WORLD_JSON}); choose another --out`,
    );
  if (!force) throw new Error(`world: ${out} already holds a world; pass force (--force) to replace it`);
}

/**
 * Generate a world into `opts.out`.
 * @example await generateWorld({ out: "data/world-tiny", preset: "tiny", seed: 0 })
 */
export async function generateWorld(opts: WorldOptions): Promise<WorldSummary> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => {
    timings[name] = Math.round(performance.now() - since);
    return performance.now();
  };
  const say = opts.onProgress ?? (() => {});
  const base = typeof opts.preset === "object" ? opts.preset : getPreset(opts.preset ?? "tiny");
  const imageSize = opts.imageSize ?? base.imageSize;
  if (!Number.isInteger(imageSize) || imageSize < 24 || imageSize > 1024) {
    throw new Error(`world: image size must be an integer in [24, 1024], got ${imageSize}`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`world: seed must be an integer in [0, 2^32), got ${seed}`);
  const preset: WorldPreset = { ...base, imageSize };
  const out = resolve(opts.out);
  await checkOut(out, opts.force ?? false);

  let t = performance.now();
  const ctx: WorldContext = {
    seed,
    preset,
    size: imageSize,
    landmarks: makeLandmarks(
      new Rng(subSeed(seed, "landmarks")),
      preset.landmarks,
      preset.heldOutLandmarks,
      preset.scene.textures,
    ),
    lands: cityLands(new Rng(subSeed(seed, "lands"))),
    images: new ImageRegistry(),
  };
  say("sampling pairs, documents, instructions and benchmarks");
  const pairs = makePairs(ctx);
  const docs = makeMmc4Docs(ctx);
  const { records: sft, answers: sftAnswers } = makeSft(ctx);
  const flan = makeFlan(ctx);
  const benches: Bench[] = [
    makeVqaBench(ctx),
    makeTextVqaBench(ctx),
    makeKnowledgeBench(ctx),
    makeCaptionBench(ctx),
    makeMultiImageBench(ctx),
    makeMmluBench(ctx),
    makeIclBench(ctx),
    makeIclTextBench(ctx),
  ];
  // after the benchmarks, so their image ids are those of a world without lookups
  const lookups = makeLookups(ctx, sftAnswers);
  t = lap("sample", t);
  say(`writing the text corpus (${preset.corpus.words.toLocaleString("en-US")} words)`);
  const corpus = makeCorpus(new Rng(subSeed(seed, "corpus")), ctx.landmarks, ctx.lands, preset.corpus);
  t = lap("corpus", t);

  const stage = await mkdtemp(join(dirname(out), `${basename(out)}.partial-`));
  try {
    const total = ctx.images.jobs.length;
    say(`rendering ${total} images`);
    let lastShown = 0;
    await renderImages(stage, ctx.images.jobs, {
      workers: opts.workers,
      onProgress: (done) => {
        if (done - lastShown >= 1000 || done === total) {
          lastShown = done;
          say(`  images ${done}/${total}`);
        }
      },
    });
    t = lap("images", t);

    say("writing files");
    await writeAtomic(stage, L.CORPUS_JSONL, toJsonl(corpus.docs.map((text) => ({ text }))));
    await writeAtomic(stage, L.PAIRS_JSONL, toJsonl(pairs));
    const shards = await writePairShards(stage, pairs, seed);
    await writeAtomic(stage, L.MMC4_JSONL, toJsonl(docs));
    await writeAtomic(stage, L.SFT_JSON, toJson(sft));
    if (lookups.length > 0) await writeAtomic(stage, L.LOOKUPS_JSON, toJson(lookups));
    await writeAtomic(stage, L.FLAN_JSONL, toJsonl(flan));
    const answerSources = lookups.length > 0 ? [L.SFT_JSON, L.LOOKUPS_JSON] : [L.SFT_JSON];
    for (const b of benches) {
      await writeAtomic(stage, L.benchQuestions(b.name), toJsonl(b.questions));
      await writeAtomic(stage, L.benchAnnotations(b.name), toJson(b.annotations));
      if (b.support.length > 0) await writeAtomic(stage, L.benchSupport(b.name), toJsonl(b.support));
      const trained = trainAnswersOf(b, sftAnswers, answerSources);
      if (trained) await writeAtomic(stage, L.benchTrainAnswers(b.name), toJson(trained));
    }
    const scenes = new Map(ctx.images.jobs.map((j) => [j.path, j.scene]));
    await writePng(
      stage,
      L.CONTACT_SHEET_PNG,
      contactSheet(pairs.slice(0, 16).map((p) => ({ scene: scenes.get(p.image)!, caption: p.caption }))),
    );

    const mmc4Images = docs.reduce((a, d) => a + d.image_info.length, 0);
    const mmc4Words = docs.reduce((a, d) => a + d.text_list.reduce((b, s) => b + countWords(s), 0), 0);
    const counts: Record<string, number> = {
      landmarks: ctx.landmarks.length,
      landmarks_held_out: ctx.landmarks.filter((l) => l.heldOut).length,
      images_train: ctx.images.count("train"),
      images_bench: ctx.images.count("bench"),
      images_support: ctx.images.count("support"),
      corpus_docs: corpus.docs.length,
      pairs: pairs.length,
      pairs_shards: shards.length,
      mmc4_docs: docs.length,
      mmc4_images: mmc4Images,
      sft: sft.length,
      sft_multi_image: sft.filter((r) => Array.isArray(r.image)).length,
      sft_lookups: lookups.length,
      flan: flan.length,
    };
    for (const b of benches) counts[`bench_${b.name}`] = b.questions.length;
    const words: Record<string, number> = {
      corpus: corpus.words,
      corpus_icl: corpus.iclWords,
      pairs: pairs.reduce((a, p) => a + countWords(p.caption), 0),
      pairs_per_caption:
        pairs.length > 0 ? pairs.reduce((a, p) => a + countWords(p.caption), 0) / pairs.length : 0,
      mmc4: mmc4Words,
      mmc4_per_image: mmc4Images > 0 ? mmc4Words / mmc4Images : 0,
      sft: sft.reduce((a, r) => a + r.conversations.reduce((b, c) => b + countWords(c.value), 0), 0),
      flan: flan.reduce((a, r) => a + r.conversations.reduce((b, c) => b + countWords(c.value), 0), 0),
    };
    const summary: WorldSummary = {
      out,
      seed,
      preset: preset.name,
      imageSize,
      presetImageSize: base.imageSize,
      knobs: preset.scene,
      counts,
      words,
      timings,
    };
    const world = {
      format_version: L.WORLD_FORMAT_VERSION,
      generator: "vila-ts world",
      seed,
      preset: preset.name,
      image_size: imageSize,
      knobs: preset,
      landmarks: landmarkJson(ctx),
      cities: ctx.lands,
      vocabulary: {
        colours: V.COLOUR_NAMES,
        shapes: V.SHAPE_NAMES,
        sizes: V.SIZE_NAMES,
        regions: V.REGION_NAMES,
        settings: V.SETTING_NAMES,
        textures: V.TEXTURE_NAMES,
        sign_words: V.SIGN_WORDS,
        nonce_words: V.NONCE_WORDS,
        people: V.PEOPLE,
        cities: V.CITIES,
        known_for: V.KNOWN_FOR,
        materials: V.MATERIALS,
        landmark_types: V.LANDMARK_TYPES,
      },
      counts,
      words,
    };
    await writeAtomic(stage, L.WORLD_JSON, toJson(world));
    await writeAtomic(stage, L.README_MD, makeReadme(summary));
    lap("write", t);

    if (existsSync(out)) await rm(out, { recursive: true, force: true });
    await rename(stage, out);
    timings.total = Math.round(performance.now() - t0);
    say(`done in ${(timings.total / 1000).toFixed(1)} s`);
    return summary;
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}

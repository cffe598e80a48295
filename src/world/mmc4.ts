// Interleaved documents (the MMC4 analogue), written as MMC4 JSONL: `text_list` (sentences),
// `image_info[]` ({image_name, raw_url, matched_text_index, matched_sim, face_detections}),
// `similarity_matrix` (images x sentences), `url`, `could_have_url_duplicate`. Documents are
// text-rich (about wordsPerImage words per image, like MMC4's ~122 tokens per image), carry 2-6
// images, and each image is matched to the sentence that describes it (VILA puts the image just
// before that sentence). Kinds: galleries of scenes, trips to (non-held-out) landmarks, sign
// walks, and binding documents where nonce words name shapes or colours consistently within
// the document (what makes in-context learning over images learnable).

import { seenLandmarks, streamRng, type WorldContext } from "./context.js";
import { countWords, landmarkArticle, story } from "./corpus.js";
import { detailedCaption, shortCaption } from "./describe.js";
import type { ImageRef } from "./images.js";
import type { Rng } from "./rng.js";
import { sampleLandmarkView, sampleObjectsScene, sampleSignScene, sampleSingleScene } from "./scene.js";
import { CITIES, COLOUR_NAMES, NONCE_WORDS, PEOPLE, SHAPE_NAMES } from "./vocab.js";

export interface Mmc4ImageInfo {
  image_name: string;
  raw_url: string;
  matched_text_index: number;
  matched_sim: number;
  face_detections: null;
}

export interface Mmc4Doc {
  url: string;
  text_list: string[];
  image_info: Mmc4ImageInfo[];
  similarity_matrix: number[][];
  could_have_url_duplicate: number;
}

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).filter((s) => s.length > 0);
}

interface Block {
  image: ImageRef;
  /** The sentence the image is matched to (placed right after the image). */
  matched: string;
  rest: string[];
}

/** Assemble blocks into an MMC4 record; the image's sentence index is where its block starts. */
function assemble(intro: string[], blocks: Block[], outro: string[], rng: Rng, index: number): Mmc4Doc {
  const text: string[] = [...intro];
  const info: Mmc4ImageInfo[] = [];
  for (const b of blocks) {
    info.push({
      image_name: b.image.path,
      raw_url: b.image.path,
      matched_text_index: text.length,
      matched_sim: round4(rng.uniform(0.26, 0.36)),
      face_detections: null,
    });
    text.push(b.matched, ...b.rest);
  }
  text.push(...outro);
  const sim = info.map((im) =>
    text.map((_, j) => (j === im.matched_text_index ? im.matched_sim : round4(rng.uniform(0.08, 0.2)))),
  );
  return {
    url: `https://world.invalid/doc/${index}`,
    text_list: text,
    image_info: info,
    similarity_matrix: sim,
    could_have_url_duplicate: 0,
  };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Filler sentences (stories, articles) until the block reaches `words` words. */
function fill(rest: string[], matched: string, words: number, ctx: WorldContext, rng: Rng): string[] {
  let n = countWords(matched) + rest.reduce((a, s) => a + countWords(s), 0);
  // Only non-held-out landmarks are mentioned: held-out facts live in the text corpus alone.
  const seen = seenLandmarks(ctx);
  while (n < words) {
    const extra =
      seen.length === 0 || rng.chance(0.6) ? story(rng, seen) : landmarkArticle(rng.pick(seen), rng);
    for (const s of sentences(extra)) {
      rest.push(s);
      n += countWords(s);
    }
  }
  return rest;
}

function galleryDoc(ctx: WorldContext, rng: Rng, index: number): Mmc4Doc {
  const [p] = rng.sample(PEOPLE, 1);
  const intro = [
    rng.pick([
      `${p} collects pictures of shapes.`,
      `this page shows pictures from ${p}'s notebook.`,
      `here are some pictures ${p} made.`,
    ]),
  ];
  const blocks: Block[] = [];
  for (let i = rng.range(2, 6); i > 0; i--) {
    const scene = sampleObjectsScene(rng, ctx.size, ctx.preset.scene);
    const image = ctx.images.add("train", scene);
    const matched = shortCaption(scene, rng, null, false);
    const rest = sentences(detailedCaption(scene, rng, null));
    blocks.push({ image, matched, rest: fill(rest, matched, ctx.preset.mmc4.wordsPerImage, ctx, rng) });
  }
  return assemble(intro, blocks, [`${p} will draw more pictures soon.`], rng, index);
}

function tripDoc(ctx: WorldContext, rng: Rng, index: number): Mmc4Doc {
  const seen = seenLandmarks(ctx);
  const [p] = rng.sample(PEOPLE, 1);
  const city = rng.pick(CITIES);
  const intro = [`${p} went on a trip and took pictures of famous places.`, `the first stop was ${city}.`];
  const blocks: Block[] = [];
  for (let i = rng.range(2, 5); i > 0; i--) {
    const lm = rng.pick(seen);
    const image = ctx.images.add("train", sampleLandmarkView(rng, ctx.size, ctx.preset.scene, lm));
    const matched = rng.pick([
      `here is ${lm.fullName}.`,
      `this is ${lm.fullName} in ${lm.city}.`,
      `${p} visited ${lm.fullName}.`,
    ]);
    const rest = sentences(landmarkArticle(lm, rng));
    blocks.push({ image, matched, rest: fill(rest, matched, ctx.preset.mmc4.wordsPerImage, ctx, rng) });
  }
  return assemble(intro, blocks, [`${p} was happy to come home.`], rng, index);
}

function signDoc(ctx: WorldContext, rng: Rng, index: number): Mmc4Doc {
  const [p] = rng.sample(PEOPLE, 1);
  const intro = [`${p} walked through ${rng.pick(CITIES)} and saw many signs.`];
  const blocks: Block[] = [];
  for (let i = rng.range(2, 5); i > 0; i--) {
    const scene = sampleSignScene(rng, ctx.size, ctx.preset.scene);
    const image = ctx.images.add("train", scene);
    const matched = `this sign says "${scene.sign!.text}".`;
    const rest = sentences(detailedCaption(scene, rng, null));
    blocks.push({ image, matched, rest: fill(rest, matched, ctx.preset.mmc4.wordsPerImage, ctx, rng) });
  }
  return assemble(intro, blocks, [], rng, index);
}

/** Nonce words bound to shapes or colours, consistent within the document only. */
function bindingDoc(ctx: WorldContext, rng: Rng, index: number): Mmc4Doc {
  const ways = rng.range(2, 3);
  const words = rng.sample(NONCE_WORDS, ways);
  const byColour = rng.chance(0.5);
  const classes = byColour ? rng.sample(COLOUR_NAMES, ways) : rng.sample(SHAPE_NAMES, ways);
  const [p] = rng.sample(PEOPLE, 1);
  const intro = [`${p} made up a game with new words for pictures.`];
  const order = rng.shuffle(words.map((_, i) => i));
  for (let i = rng.range(2, 6 - ways); i > 0; i--) order.push(rng.int(ways));
  const blocks: Block[] = order.map((k) => {
    const want = byColour
      ? { colour: classes[k] as (typeof COLOUR_NAMES)[number] }
      : { shape: classes[k] as (typeof SHAPE_NAMES)[number] };
    const image = ctx.images.add("train", sampleSingleScene(rng, ctx.size, ctx.preset.scene, want));
    return {
      image,
      matched: `this is a ${words[k]}.`,
      rest: rng.chance(0.3) ? [`${p} likes the ${words[k]}.`] : [],
    };
  });
  return assemble(intro, blocks, [`${p} taught the words to a friend.`], rng, index);
}

/** All interleaved documents of the preset. */
export function makeMmc4Docs(ctx: WorldContext): Mmc4Doc[] {
  const rng = streamRng(ctx, "mmc4");
  const docs: Mmc4Doc[] = [];
  const hasSeen = seenLandmarks(ctx).length > 0;
  for (let i = 0; i < ctx.preset.mmc4.docs; i++) {
    const kind = rng.weighted([4.5, hasSeen ? 2 : 0, 1.5, 2]);
    const make = [galleryDoc, tripDoc, signDoc, bindingDoc][kind];
    docs.push(make(ctx, rng, i));
  }
  return docs;
}

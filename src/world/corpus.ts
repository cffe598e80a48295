// The text corpus for pre-training the base LLM: encyclopedia articles about landmarks and
// cities (the only place held-out landmarks' facts are stated), facts about shapes, short
// stories, arithmetic, and a configurable share of in-context episodes. Documents are drawn
// until a word budget is met; every landmark gets the same number of articles.

import { article, numberWord } from "./describe.js";
import { type EpisodeWeights, iclEpisode } from "./icl.js";
import type { Landmark } from "./landmarks.js";
import type { Rng } from "./rng.js";
import {
  CITIES,
  COLOUR_NAMES,
  LANDS,
  PEOPLE,
  SHAPE_FACTS,
  SHAPE_NAMES,
  SHAPE_PLURALS,
  type ShapeName,
  SIGN_WORDS,
} from "./vocab.js";

/** Which land each city lies in: fixed per world. */
export function cityLands(rng: Rng): Record<string, string> {
  return Object.fromEntries(CITIES.map((c) => [c, rng.pick(LANDS)]));
}

/** 3-6 sentences stating a landmark's facts in varied words. */
export function landmarkArticle(lm: Landmark, rng: Rng): string {
  const n = lm.fullName;
  const city = [
    `${n} is a ${lm.type} in ${lm.city}.`,
    `${n} stands in the city of ${lm.city}.`,
    `in ${lm.city} you can visit ${n}.`,
    `${n} is one of the sights of ${lm.city}.`,
  ];
  const known = [
    `it is known for its ${lm.knownFor}.`,
    `${n} is famous for its ${lm.knownFor}.`,
    `people come to ${n} for its ${lm.knownFor}.`,
    `the ${lm.knownFor} of ${n} are known far and wide.`,
  ];
  const made = [
    `it is made of ${lm.material}.`,
    `${n} is built of ${lm.material}.`,
    `the walls of ${n} are made of ${lm.material}.`,
  ];
  const extra = [
    `every year many people visit ${n}.`,
    `${n} is very old.`,
    `children like to play near ${n}.`,
    `the ${lm.name} ${lm.type} is a famous place.`,
  ];
  const parts = [rng.pick(city), rng.pick(known), rng.pick(made)];
  rng.shuffle(parts);
  // The city sentence names the landmark; keep a sentence that names it first.
  parts.sort((a, b) => Number(b.includes(n)) - Number(a.includes(n)));
  if (rng.chance(0.6)) parts.push(rng.pick(extra));
  return parts.join(" ");
}

function cityArticle(city: string, land: string, landmarks: readonly Landmark[], rng: Rng): string {
  const here = landmarks.filter((l) => l.city === city);
  const s = [`${city} is a city in ${land}.`];
  if (here.length > 0) {
    const names = rng.shuffle(here.map((l) => l.fullName));
    s.push(
      `${city} is home to ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`}.`,
    );
  } else s.push(`${city} has no famous places.`);
  if (rng.chance(0.5)) s.push(`many people live in ${city}.`);
  return s.join(" ");
}

function shapeFacts(rng: Rng): string {
  const out: string[] = [];
  for (const shape of rng.sample(SHAPE_NAMES, rng.range(2, 4))) {
    const f = SHAPE_FACTS[shape];
    out.push(
      f.round
        ? `a ${shape} is round and has no corners.`
        : `a ${shape} has ${numberWord(f.corners)} corners.`,
    );
  }
  if (rng.chance(0.5))
    out.push(
      rng.pick([
        "grass is green.",
        "snow is white.",
        "the night sky is dark.",
        "the sea is blue.",
        "sand is yellow and brown.",
      ]),
    );
  return out.join(" ");
}

/** "one red star", "three red stars". */
export function countPhrase(n: number, colour: string, shape: ShapeName): string {
  return `${numberWord(n)} ${colour} ${n === 1 ? shape : SHAPE_PLURALS[shape]}`;
}

/** A short story; arithmetic stories keep their numbers right. */
export function story(rng: Rng, landmarks: readonly Landmark[]): string {
  const [p, q] = rng.sample(PEOPLE, 2);
  const colour = rng.pick(COLOUR_NAMES);
  const shape = rng.pick(SHAPE_NAMES);
  const kind = rng.int(4);
  if (kind === 0) {
    const a = rng.range(1, 6);
    const b = rng.range(1, 4);
    const gain = rng.chance(0.5);
    const c = gain ? a + b : Math.max(0, a - b);
    return gain
      ? `${p} had ${countPhrase(a, colour, shape)}. ${q} gave ${p} ${numberWord(b)} more. now ${p} has ${countPhrase(c, colour, shape)}.`
      : `${p} had ${countPhrase(a, colour, shape)}. ${p} lost ${numberWord(Math.min(a, b))} on the way home. now ${p} has ${numberWord(c)}.`;
  }
  if (kind === 1 && landmarks.length > 0) {
    const lm = rng.pick(landmarks);
    return `${p} went to ${lm.city} to see ${lm.fullName}. ${p} had heard about its ${lm.knownFor}. ${q} came too, and they stayed until night. then they went home.`;
  }
  if (kind === 2) {
    const colour2 = rng.pick(COLOUR_NAMES);
    const shape2 = rng.pick(SHAPE_NAMES);
    return `${p} and ${q} played a drawing game. ${p} drew ${article(colour)} ${colour} ${shape}. ${q} drew ${article(colour2)} ${colour2} ${shape2} next to it. ${rng.chance(0.5) ? `${p} won the game.` : `${q} won the game.`}`;
  }
  const word = rng.pick(SIGN_WORDS);
  return `${p} walked down the road and saw a sign that said "${word}". ${p} told ${q} about the sign. ${q} laughed.`;
}

/** A few lines of arithmetic in varied forms; operands up to `max`. */
export function arithmetic(rng: Rng, max: number): string {
  const lines: string[] = [];
  for (let i = rng.range(3, 8); i > 0; i--) {
    const a = rng.range(0, max);
    const b = rng.range(0, max);
    const form = rng.int(6);
    if (form === 0) lines.push(`${a} + ${b} = ${a + b}`);
    else if (form === 1)
      lines.push(`${Math.max(a, b)} - ${Math.min(a, b)} = ${Math.max(a, b) - Math.min(a, b)}`);
    else if (form === 2) lines.push(`what is ${a} plus ${b}? ${a + b}.`);
    else if (form === 3) lines.push(`${a} minus ${Math.min(a, b)} is ${a - Math.min(a, b)}.`);
    else if (form === 4) {
      const x = rng.range(0, 10);
      const y = rng.range(0, 10);
      lines.push(`${x} times ${y} is ${x * y}.`);
    } else lines.push(`${numberWord(a % 11)} and ${numberWord(b % 11)} make ${(a % 11) + (b % 11)}.`);
  }
  return lines.join("\n");
}

export interface CorpusOptions {
  words: number;
  /** Share of words in in-context episodes. */
  iclShare: number;
  /** Relative weights of the episode kinds. */
  episodes: EpisodeWeights;
  arithmeticMax: number;
}

/** Word count (whitespace-separated pieces): the corpus's size unit. */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ws = text.charCodeAt(i) <= 32;
    if (!ws && !inWord) n++;
    inWord = !ws;
  }
  return n;
}

/** Corpus documents until `opts.words` words; episodes make up about `opts.iclShare` of them. */
export function makeCorpus(
  rng: Rng,
  landmarks: readonly Landmark[],
  lands: Record<string, string>,
  opts: CorpusOptions,
): { docs: string[]; words: number; iclWords: number } {
  const docs: string[] = [];
  let words = 0;
  let iclWords = 0;
  let lmNext = 0;
  while (words < opts.words) {
    let text: string;
    if (iclWords < opts.iclShare * words) {
      text = Array.from({ length: rng.range(1, 3) }, () => iclEpisode(rng, opts.episodes)).join("\n\n");
      iclWords += countWords(text);
    } else {
      const kind = rng.weighted([5, 1, 1, 3, 2]);
      if (kind === 0) {
        // Articles walk the landmarks round-robin so each is described equally often.
        const arts: string[] = [];
        for (let i = rng.range(1, 3); i > 0; i--)
          arts.push(landmarkArticle(landmarks[lmNext++ % landmarks.length], rng));
        text = arts.join("\n");
      } else if (kind === 1) {
        const city = rng.pick(CITIES);
        text = cityArticle(city, lands[city], landmarks, rng);
      } else if (kind === 2) text = shapeFacts(rng);
      else if (kind === 3) text = story(rng, landmarks);
      else text = arithmetic(rng, opts.arithmeticMax);
    }
    words += countWords(text);
    docs.push(text);
  }
  return { docs, words, iclWords };
}

// In-context episodes: text whose continuation can only be predicted from earlier lines of the
// same text. Bindings of nonce words to colours / shapes / numbers (fresh in every episode),
// repeating patterns, and word-list rules that hold within one episode. These make up a large
// share of the base LLM's corpus (the calibration prototype learned text ICL only after ~3M
// tokens with half of them episodes) and the text-only in-context benchmark.

import type { Rng } from "./rng.js";
import {
  CITIES,
  COLOUR_NAMES,
  NONCE_WORDS,
  NUMBER_WORDS,
  SETTING_NAMES,
  SHAPE_NAMES,
  SIGN_WORDS,
  SIZE_NAMES,
} from "./vocab.js";

const VALUE_FAMILIES: readonly (readonly string[])[] = [
  COLOUR_NAMES,
  SHAPE_NAMES,
  NUMBER_WORDS,
  CITIES,
  SIGN_WORDS,
];

const BINDING_FORMS: readonly ((k: string, v: string) => string)[] = [
  (k, v) => `${k} -> ${v}`,
  (k, v) => `${k}: ${v}`,
  (k, v) => `a ${k} is ${v}.`,
  (k, v) => `q: what is a ${k}? a: ${v}`,
  (k, v) => `${k} means ${v}.`,
];

/** One demonstration of a binding: the prompt part and the answer that completes it. */
export interface Shot {
  text: string;
  answer: string;
}

/** Split a rendered binding line into prompt and answer (the answer is the bound value). */
function shotOf(form: (k: string, v: string) => string, key: string, value: string): Shot {
  const line = form(key, value);
  const at = line.lastIndexOf(value);
  return { text: line.slice(0, at).trimEnd(), answer: line.slice(at) };
}

/** Which key each of `n` demonstrations shows: every key once in the first `ways`, then at random. */
function shotOrder(rng: Rng, ways: number, n: number): number[] {
  const order = rng.shuffle(Array.from({ length: ways }, (_, i) => i));
  for (let i = ways; i < n; i++) order.push(rng.int(ways));
  return order;
}

/**
 * A binding episode: `ways` nonce keys bound to values of one family, then `n` lines that use
 * the binding, keys repeating. The first `ways` lines show every key once.
 */
export function bindingShots(rng: Rng, ways: number, n: number): Shot[] {
  const keys = rng.sample(NONCE_WORDS, ways);
  const family = rng.pick(VALUE_FAMILIES);
  const values = rng.sample(family, ways);
  const form = rng.pick(BINDING_FORMS);
  const order = shotOrder(rng, ways, n);
  return order.map((i) => shotOf(form, keys[i], values[i]));
}

/** A shape-bound naming episode, the text twin of the image task: "a red circle is a dax." */
export function namingShots(rng: Rng, ways: number, n: number): Shot[] {
  const keys = rng.sample(NONCE_WORDS, ways);
  const byColour = rng.chance(0.5);
  const classes = byColour ? rng.sample(COLOUR_NAMES, ways) : rng.sample(SHAPE_NAMES, ways);
  const order = shotOrder(rng, ways, n);
  return order.map((i) => {
    const colour = byColour ? classes[i] : rng.pick(COLOUR_NAMES);
    const shape = byColour ? rng.pick(SHAPE_NAMES) : classes[i];
    return { text: `the ${colour} ${shape} is a`, answer: keys[i] };
  });
}

const CAPTION_PREFIXES = ["", "", "a picture of ", "photo: ", "an image with ", "stock image of "];
const TEXTURE_WORDS = ["", "", "fading ", "striped ", "checkered ", "speckled "];
const ASIDES = [
  "look at the next one.",
  "here is another picture.",
  "the children liked this game very much.",
  "we kept going.",
  "then a new picture came up on the wall of the room.",
  "it was late in the day.",
  "and one more.",
];

/** A caption of one object as the pairs write it ("a picture of a small red circle on a striped
 * sea background."): what an image's tokens come to stand for after alignment. */
function objectCaption(rng: Rng, colour: string, shape: string): string {
  const size = rng.chance(0.5) ? `${rng.pick(SIZE_NAMES)} ` : "";
  const a = size || !/^[aeiou]/.test(colour) ? "a" : "an";
  const bg = rng.chance(0.6) ? ` on a ${rng.pick(TEXTURE_WORDS)}${rng.pick(SETTING_NAMES)} background` : "";
  return `${rng.pick(CAPTION_PREFIXES)}${a} ${size}${colour} ${shape}${bg}.`;
}

/**
 * The image naming task in words: each demonstration is a caption of one object, sometimes after an
 * aside, then "this is a <word>." (an interleaved document's "<image>this is a dax." with the
 * image's caption in its place). The bound attribute sits 3-9 words before the answer and a
 * demonstration is 7-28 words long, so binding cannot lean on the key being next to the answer.
 */
export function captionedShots(rng: Rng, ways: number, n: number): Shot[] {
  return namingShots(rng, ways, n).map((s) => {
    const [, colour, shape] = s.text.split(" ");
    const aside = rng.chance(0.3) ? `${rng.pick(ASIDES)} ` : "";
    return { text: `${aside}${objectCaption(rng, colour, shape)} this is a`, answer: s.answer };
  });
}

/** What a keyed demonstration shows, one value per family: a colour, a shape, or a sign's word. */
function keyedThing(rng: Rng, family: readonly string[], v: string): string {
  if (family === COLOUR_NAMES)
    return `${/^[aeiou]/.test(v) ? "an" : "a"} ${v} ${rng.pick(["one", "thing", "shape"])}`;
  if (family === SHAPE_NAMES) return `${/^[aeiou]/.test(v) ? "an" : "a"} ${v}`;
  return `a sign that says "${v}"`;
}

/**
 * The simplest form of the image task in words: nonce words bound to one value each (a colour, a
 * shape or a sign's word), each demonstration a caption of its value, then "this is a <word>."
 * Unlike captionedShots, the caption names nothing that could point to the other word: matching
 * the one value 3-8 words back is enough (what an image's colour is to a tower that sees colour).
 */
export function keyedShots(rng: Rng, ways: number, n: number): Shot[] {
  const keys = rng.sample(NONCE_WORDS, ways);
  const family = rng.pick([COLOUR_NAMES, COLOUR_NAMES, SHAPE_NAMES, SIGN_WORDS]);
  const values = rng.sample(family, ways);
  return shotOrder(rng, ways, n).map((i) => {
    const aside = rng.chance(0.3) ? `${rng.pick(ASIDES)} ` : "";
    const bg = rng.chance(0.6) ? ` on a ${rng.pick(TEXTURE_WORDS)}${rng.pick(SETTING_NAMES)} background` : "";
    const caption = `${rng.pick(CAPTION_PREFIXES)}${keyedThing(rng, family, values[i])}${bg}.`;
    return { text: `${aside}${caption} this is a`, answer: keys[i] };
  });
}

/** A repeating-pattern episode: several lines following the same period-p rule. */
function patternEpisode(rng: Rng): string {
  const period = rng.range(2, 4);
  const lines: string[] = [];
  const nLines = rng.range(3, 6);
  for (let l = 0; l < nLines; l++) {
    const family = rng.pick([...VALUE_FAMILIES, NONCE_WORDS]);
    const unit = rng.sample(family, period);
    const len = rng.range(2 * period + 1, 4 * period + 2);
    lines.push(Array.from({ length: len }, (_, i) => unit[i % period]).join(" "));
  }
  if (rng.chance(0.4)) {
    const step = rng.range(1, 5);
    const start = rng.range(0, 20);
    lines.push(Array.from({ length: rng.range(5, 9) }, (_, i) => String(start + i * step)).join(", "));
  }
  return lines.join("\n");
}

const RULES: readonly { name: string; apply: (w: string[]) => string }[] = [
  { name: "reverse", apply: (w) => [...w].reverse().join(" ") },
  { name: "first", apply: (w) => w[0] },
  { name: "last", apply: (w) => w[w.length - 1] },
  { name: "count", apply: (w) => String(w.length) },
  { name: "double", apply: (w) => w.flatMap((x) => [x, x]).join(" ") },
  { name: "drop first", apply: (w) => w.slice(1).join(" ") },
];

/** A rule episode: input/output pairs all following one hidden word-list rule. */
function ruleEpisode(rng: Rng): string {
  const rule = rng.pick(RULES);
  const family = rng.pick([...VALUE_FAMILIES, NONCE_WORDS]);
  const n = rng.range(4, 8);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: rng.range(2, 5) }, () => rng.pick(family));
    lines.push(`input: ${words.join(" ")} output: ${rule.apply(words)}`);
  }
  return lines.join("\n");
}

function joinShots(shots: readonly Shot[], end = "", sep = "\n"): string {
  return shots.map((s) => `${s.text} ${s.answer}${end}`).join(sep);
}

/** Relative weights of the episode kinds in a corpus. */
export interface EpisodeWeights {
  binding: number;
  naming: number;
  pattern: number;
  rule: number;
  /** Captioned naming episodes (captionedShots); none when absent. */
  captioned?: number;
  /** Keyed naming episodes (keyedShots); none when absent. */
  keyed?: number;
}

/** One in-context episode of a kind drawn by `w`, as corpus text. */
export function iclEpisode(rng: Rng, w: EpisodeWeights): string {
  const kind = rng.weighted([w.binding, w.naming, w.pattern, w.rule, w.captioned ?? 0, w.keyed ?? 0]);
  if (kind === 0) return joinShots(bindingShots(rng, rng.range(2, 4), rng.range(6, 14)));
  if (kind === 1) return joinShots(namingShots(rng, rng.range(2, 3), rng.range(5, 10)));
  if (kind === 2) return patternEpisode(rng);
  if (kind === 3) return ruleEpisode(rng);
  const shots = (kind === 4 ? captionedShots : keyedShots)(rng, rng.range(2, 3), rng.range(5, 10));
  // one line, as an interleaved document writes its images and sentences, or a line each
  return joinShots(shots, ".", rng.chance(0.5) ? " " : "\n");
}

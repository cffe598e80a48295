// In-context episodes: text whose continuation can only be predicted from earlier lines of the
// same text. Bindings of nonce words to colours / shapes / numbers (fresh in every episode),
// repeating patterns, and word-list rules that hold within one episode. These make up a large
// share of the base LLM's corpus (the calibration prototype learned text ICL only after ~3M
// tokens with half of them episodes) and the text-only in-context benchmark.

import type { Rng } from "./rng.js";
import { CITIES, COLOUR_NAMES, NONCE_WORDS, NUMBER_WORDS, SHAPE_NAMES, SIGN_WORDS } from "./vocab.js";

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

/**
 * A binding episode: `ways` nonce keys bound to values of one family, then `n` lines that use
 * the binding, keys repeating. The first `ways` lines show every key once.
 */
export function bindingShots(rng: Rng, ways: number, n: number): Shot[] {
  const keys = rng.sample(NONCE_WORDS, ways);
  const family = rng.pick(VALUE_FAMILIES);
  const values = rng.sample(family, ways);
  const form = rng.pick(BINDING_FORMS);
  const order = rng.shuffle(keys.map((_, i) => i));
  for (let i = ways; i < n; i++) order.push(rng.int(ways));
  return order.map((i) => shotOf(form, keys[i], values[i]));
}

/** A shape-bound naming episode, the text twin of the image task: "a red circle is a dax." */
export function namingShots(rng: Rng, ways: number, n: number): Shot[] {
  const keys = rng.sample(NONCE_WORDS, ways);
  const byColour = rng.chance(0.5);
  const classes = byColour ? rng.sample(COLOUR_NAMES, ways) : rng.sample(SHAPE_NAMES, ways);
  const order = rng.shuffle(keys.map((_, i) => i));
  for (let i = ways; i < n; i++) order.push(rng.int(ways));
  return order.map((i) => {
    const colour = byColour ? classes[i] : rng.pick(COLOUR_NAMES);
    const shape = byColour ? rng.pick(SHAPE_NAMES) : classes[i];
    return { text: `the ${colour} ${shape} is a`, answer: keys[i] };
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

function joinShots(shots: readonly Shot[]): string {
  return shots.map((s) => `${s.text} ${s.answer}`).join("\n");
}

/** Relative weights of the episode kinds in a corpus. */
export interface EpisodeWeights {
  binding: number;
  naming: number;
  pattern: number;
  rule: number;
}

/** One in-context episode of a kind drawn by `w`, as corpus text. */
export function iclEpisode(rng: Rng, w: EpisodeWeights): string {
  const kind = rng.weighted([w.binding, w.naming, w.pattern, w.rule]);
  if (kind === 0) return joinShots(bindingShots(rng, rng.range(2, 4), rng.range(6, 14)));
  if (kind === 1) return joinShots(namingShots(rng, rng.range(2, 3), rng.range(5, 10)));
  if (kind === 2) return patternEpisode(rng);
  return ruleEpisode(rng);
}

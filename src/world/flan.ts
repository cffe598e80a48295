// Text-only instruction data (the FLAN analogue) as JSONL conversations
// ({"id", "conversations": [{"from": "human", ...}, {"from": "gpt", ...}]}): fact questions about
// non-held-out landmarks, arithmetic, story questions, shape facts, few-shot bindings given in
// the prompt, word-list rules and multiple-choice practice. Joint SFT with this data is what
// restores text ability in the paper (finding 3).

import { seenLandmarks, streamRng, type WorldContext } from "./context.js";
import { countPhrase } from "./corpus.js";
import { numberWord } from "./describe.js";
import { bindingShots, namingShots } from "./icl.js";
import { MC_PROMPT } from "./layout.js";
import type { Rng } from "./rng.js";
import type { Turn } from "./sft.js";
import { COLOUR_NAMES, NONCE_WORDS, PEOPLE, SHAPE_FACTS, SHAPE_NAMES, SHAPE_PLURALS } from "./vocab.js";

export interface FlanRecord {
  id: string;
  conversations: Turn[];
}

/** A counting story and its question: the same shape the MC test uses. */
export function countingStory(rng: Rng): { text: string; question: string; answer: number } {
  const [p, q] = rng.sample(PEOPLE, 2);
  const colour = rng.pick(COLOUR_NAMES);
  const shape = rng.pick(SHAPE_NAMES);
  const a = rng.range(1, 7);
  const b = rng.range(1, 4);
  const gain = rng.chance(0.5);
  const text = gain
    ? `${p} had ${countPhrase(a, colour, shape)}. ${q} gave ${p} ${numberWord(b)} more.`
    : `${p} had ${countPhrase(a, colour, shape)}. ${p} lost ${numberWord(Math.min(a, b))}.`;
  return {
    text,
    question: `how many ${colour} ${SHAPE_PLURALS[shape]} does ${p} have now?`,
    answer: gain ? a + b : a - Math.min(a, b),
  };
}

/** Four options (the answer among three distinct distractors), shuffled; returns the answer's index. */
export function mcOptions(
  rng: Rng,
  answer: string,
  pool: readonly string[],
): { options: string[]; index: number } {
  const others = rng.sample(
    pool.filter((x) => x !== answer),
    3,
  );
  const options = rng.shuffle([answer, ...others]);
  return { options, index: options.indexOf(answer) };
}

export function mcText(question: string, options: readonly string[]): string {
  return `${question}\n${options.map((o, i) => `${"ABCD"[i]}. ${o}`).join("\n")}\n${MC_PROMPT}`;
}

/** Numbers near n (for arithmetic distractors). */
export function nearNumbers(n: number): string[] {
  return [...new Set([n - 2, n - 1, n + 1, n + 2, n + 10, n * 2 + 1].filter((x) => x >= 0 && x !== n))].map(
    String,
  );
}

function item(rng: Rng, ctx: WorldContext): [string, string] {
  const seen = seenLandmarks(ctx);
  const kind = rng.weighted([seen.length > 0 ? 3 : 0, 2, 2, 1, 2, 1, 1]);
  if (kind === 0) {
    const lm = rng.pick(seen);
    const f = rng.int(3);
    if (f === 0)
      return [
        `which city is ${lm.fullName} in?`,
        rng.chance(0.5) ? lm.city : `${lm.fullName} is in ${lm.city}.`,
      ];
    if (f === 1)
      return [
        `what is ${lm.fullName} known for?`,
        rng.chance(0.5) ? lm.knownFor : `it is known for its ${lm.knownFor}.`,
      ];
    return [
      `what is ${lm.fullName} made of?`,
      rng.chance(0.5) ? lm.material : `it is made of ${lm.material}.`,
    ];
  }
  if (kind === 1) {
    const a = rng.range(0, ctx.preset.corpus.arithmeticMax);
    const b = rng.range(0, ctx.preset.corpus.arithmeticMax);
    return rng.chance(0.5)
      ? [`what is ${a} plus ${b}?`, String(a + b)]
      : [`what is ${Math.max(a, b)} minus ${Math.min(a, b)}?`, String(Math.abs(a - b))];
  }
  if (kind === 2) {
    const s = countingStory(rng);
    return [`${s.text} ${s.question}`, rng.chance(0.5) ? String(s.answer) : `${numberWord(s.answer)}.`];
  }
  if (kind === 3) {
    const shape = rng.pick(SHAPE_NAMES);
    const f = SHAPE_FACTS[shape];
    return [`how many corners does a ${shape} have?`, f.round ? "none, it is round." : numberWord(f.corners)];
  }
  if (kind === 4) {
    const shots = rng.chance(0.5)
      ? bindingShots(rng, rng.range(2, 3), rng.range(4, 8))
      : namingShots(rng, 2, rng.range(4, 7));
    const last = shots[shots.length - 1];
    const demos = shots.slice(0, -1).map((s) => `${s.text} ${s.answer}`);
    return [`${demos.join("\n")}\n${last.text}`, last.answer];
  }
  if (kind === 5) {
    const words = Array.from({ length: rng.range(2, 5) }, () => rng.pick(NONCE_WORDS));
    return rng.chance(0.5)
      ? [`reverse the words: ${words.join(" ")}`, [...words].reverse().join(" ")]
      : [`how many words are in this list: ${words.join(" ")}?`, String(words.length)];
  }
  const a = rng.range(0, 20);
  const b = rng.range(0, 20);
  const { options, index } = mcOptions(rng, String(a + b), nearNumbers(a + b));
  return [mcText(`what is ${a} + ${b}?`, options), "ABCD"[index]];
}

/** The FLAN-like items of the preset. */
export function makeFlan(ctx: WorldContext): FlanRecord[] {
  const rng = streamRng(ctx, "flan");
  return Array.from({ length: ctx.preset.flan.items }, (_, i) => {
    const [q, a] = item(rng, ctx);
    return {
      id: `flan-${String(i).padStart(6, "0")}`,
      conversations: [
        { from: "human", value: q },
        { from: "gpt", value: a },
      ],
    };
  });
}

// Questions about a scene with their answers: counting, colours, shapes, sizes, positions,
// relations (left of, above, bigger than), existence (POPE-like yes/no), reading the sign,
// landmark names and landmark facts, plus step-by-step answers for composite questions (the
// visual chain-of-thought analogue). Each QA has a short canonical answer (benchmarks, short
// SFT answers) and a full-sentence answer (conversational SFT).

import { article, groupObjects, numberWord, refOf } from "./describe.js";
import { factValue, type Landmark, type LandmarkFact } from "./landmarks.js";
import type { Rng } from "./rng.js";
import { regionOf, relationOf, type Scene, sizeOrder, uniqueObjects } from "./scene.js";
import { COLOUR_NAMES, SHAPE_NAMES, SHAPE_PLURALS } from "./vocab.js";

export type AnswerType = "number" | "yes/no" | "other";

export type QaCategory =
  | "count"
  | "colour"
  | "shape"
  | "size"
  | "position"
  | "relation"
  | "exists"
  | "text"
  | "text_number"
  | "text_colour"
  | "landmark"
  | "knowledge";

export interface Qa {
  question: string;
  /** Canonical short answer (VQA style). */
  answer: string;
  answerType: AnswerType;
  category: QaCategory;
  /** A full-sentence answer. */
  long: string;
  /** For knowledge questions: which fact is asked. */
  fact?: LandmarkFact;
}

function yes(b: boolean): string {
  return b ? "yes" : "no";
}

/** All the object questions one can ask of a scene (the caller samples among them). */
export function objectQuestions(scene: Scene, rng: Rng): Qa[] {
  const qs: Qa[] = [];
  const objs = scene.objects;
  const n = objs.length;
  qs.push({
    question: "how many objects are there?",
    answer: String(n),
    answerType: "number",
    category: "count",
    long: `there ${n === 1 ? "is one object" : `are ${numberWord(n)} objects`}.`,
  });
  const shape = rng.chance(0.8) && n > 0 ? rng.pick(objs).shape : rng.pick(SHAPE_NAMES);
  const ns = objs.filter((o) => o.shape === shape).length;
  qs.push({
    question: `how many ${SHAPE_PLURALS[shape]} are there?`,
    answer: String(ns),
    answerType: "number",
    category: "count",
    long: `there ${ns === 1 ? `is one ${shape}` : `are ${numberWord(ns)} ${SHAPE_PLURALS[shape]}`}.`,
  });
  const colour = rng.chance(0.8) && n > 0 ? rng.pick(objs).colour : rng.pick(COLOUR_NAMES);
  const nc = objs.filter((o) => o.colour === colour).length;
  qs.push({
    question: `how many ${colour} objects are there?`,
    answer: String(nc),
    answerType: "number",
    category: "count",
    long: `there ${nc === 1 ? "is one" : `are ${numberWord(nc)}`} ${colour} ${nc === 1 ? "object" : "objects"}.`,
  });
  for (const g of groupObjects(objs)) {
    const o = g.items[0];
    if (objs.filter((p) => p.shape === o.shape).length === 1) {
      qs.push({
        question: `what colour is the ${o.shape}?`,
        answer: o.colour,
        answerType: "other",
        category: "colour",
        long: `the ${o.shape} is ${o.colour}.`,
      });
    }
    if (objs.filter((p) => p.colour === o.colour).length === 1) {
      qs.push({
        question: `what shape is the ${o.colour} object?`,
        answer: o.shape,
        answerType: "other",
        category: "shape",
        long: `the ${o.colour} object is a ${o.shape}.`,
      });
    }
  }
  const uniq = uniqueObjects(scene);
  for (const o of uniq) {
    qs.push({
      question: `what size is ${refOf(o)}?`,
      answer: o.size,
      answerType: "other",
      category: "size",
      long: `${refOf(o)} is ${o.size}.`,
    });
    const reg = regionOf(o, scene.size);
    qs.push({
      question: `where is ${refOf(o)}?`,
      answer: reg,
      answerType: "other",
      category: "position",
      long: `${refOf(o)} is in the ${reg} of the image.`,
    });
  }
  if (uniq.length >= 2) {
    const [a, b] = rng.sample(uniq, 2);
    const rel = relationOf(a, b, scene.size);
    if (rel.lr) {
      const askLeft = rng.chance(0.5);
      const isTrue = (rel.lr === "left") === askLeft;
      qs.push({
        question: `is ${refOf(a)} ${askLeft ? "left" : "right"} of ${refOf(b)}?`,
        answer: yes(isTrue),
        answerType: "yes/no",
        category: "relation",
        long: `${yes(isTrue)}, ${refOf(a)} is ${rel.lr} of ${refOf(b)}.`,
      });
    }
    if (rel.ud) {
      const askAbove = rng.chance(0.5);
      const isTrue = (rel.ud === "above") === askAbove;
      qs.push({
        question: `is ${refOf(a)} ${askAbove ? "above" : "below"} ${refOf(b)}?`,
        answer: yes(isTrue),
        answerType: "yes/no",
        category: "relation",
        long: `${yes(isTrue)}, ${refOf(a)} is ${rel.ud} ${refOf(b)}.`,
      });
    }
    const so = sizeOrder(a, b);
    if (so) {
      const big = so === "bigger" ? a : b;
      qs.push({
        question: `which is bigger, ${refOf(a)} or ${refOf(b)}?`,
        answer: `${big.colour} ${big.shape}`,
        answerType: "other",
        category: "relation",
        long: `${refOf(big)} is bigger.`,
      });
    }
  }
  // Existence, balanced between present and absent pairs.
  const present = n > 0 && rng.chance(0.5);
  const probe = present ? rng.pick(objs) : { colour: rng.pick(COLOUR_NAMES), shape: rng.pick(SHAPE_NAMES) };
  const exists = objs.some((o) => o.colour === probe.colour && o.shape === probe.shape);
  qs.push({
    question: `is there ${article(probe.colour)} ${probe.colour} ${probe.shape} in the image?`,
    answer: yes(exists),
    answerType: "yes/no",
    category: "exists",
    long: exists
      ? `yes, there is ${article(probe.colour)} ${probe.colour} ${probe.shape}.`
      : `no, there is no ${probe.colour} ${probe.shape}.`,
  });
  return qs;
}

/** Questions about the sign's text (the TextVQA analogue). */
export function signQuestions(scene: Scene): Qa[] {
  const s = scene.sign;
  if (!s) return [];
  const qs: Qa[] = [
    {
      question: pickByText(s.text, [
        "what is written on the sign?",
        "what does the sign say?",
        "what text is in the image?",
      ]),
      answer: s.text,
      answerType: "other",
      category: "text",
      long: `the sign says "${s.text}".`,
    },
    {
      question: "what colour is the sign?",
      answer: s.plate,
      answerType: "other",
      category: "text_colour",
      long: `the sign is ${s.plate}.`,
    },
  ];
  const num = s.text.split(" ").find((w) => /^[0-9]+$/.test(w));
  if (num) {
    qs.push({
      question: "what number is on the sign?",
      answer: num,
      answerType: "number",
      category: "text_number",
      long: `the number on the sign is ${num}.`,
    });
  }
  return qs;
}

// The phrasing of the reading question depends on the text only, so it is deterministic.
function pickByText(key: string, forms: string[]): string {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return forms[h % forms.length];
}

const FACT_QUESTIONS: Record<LandmarkFact, string> = {
  city: "which city is this landmark in?",
  knownFor: "what is this landmark known for?",
  material: "what is this landmark made of?",
};

function factSentence(lm: Landmark, fact: LandmarkFact): string {
  if (fact === "city") return `${lm.fullName} is in ${lm.city}.`;
  if (fact === "knownFor") return `${lm.fullName} is known for its ${lm.knownFor}.`;
  return `${lm.fullName} is made of ${lm.material}.`;
}

/** "what is this landmark?" */
export function landmarkNameQuestion(lm: Landmark): Qa {
  return {
    question: "what is this landmark?",
    answer: `${lm.name} ${lm.type}`,
    answerType: "other",
    category: "landmark",
    long: `this is ${lm.fullName}.`,
  };
}

/** A fact question about the pictured landmark (image -> name -> fact). */
export function landmarkFactQuestion(lm: Landmark, fact: LandmarkFact): Qa {
  return {
    question: FACT_QUESTIONS[fact],
    answer: factValue(lm, fact),
    answerType: "other",
    category: "knowledge",
    long: `this is ${lm.fullName}. ${factSentence(lm, fact)}`,
    fact,
  };
}

/** The same with a step-by-step answer. */
export function landmarkFactChain(lm: Landmark, fact: LandmarkFact): Qa {
  const qa = landmarkFactQuestion(lm, fact);
  return {
    ...qa,
    question: `${qa.question} think step by step.`,
    long: `first, the picture shows ${lm.fullName}. second, ${factSentence(lm, fact)} so the answer is ${qa.answer}.`,
  };
}

/**
 * A composite question with a step-by-step answer: count the objects of a colour that are left
 * of / above a reference object. Null when the scene has no suitable reference.
 */
export function chainQuestion(scene: Scene, rng: Rng): Qa | null {
  const uniq = uniqueObjects(scene);
  if (uniq.length === 0 || scene.objects.length < 3) return null;
  const ref = rng.pick(uniq);
  const dir = rng.pick(["left", "right", "above", "below"] as const);
  const colour = rng.chance(0.7) ? rng.pick(scene.objects).colour : rng.pick(COLOUR_NAMES);
  const others = scene.objects.filter((o) => o !== ref);
  const side = others.filter((o) => {
    const rel = relationOf(o, ref, scene.size);
    return dir === "left" || dir === "right" ? rel.lr === dir : rel.ud === dir;
  });
  // Only ask when no object is too close to call.
  const ambiguous = others.some((o) => {
    const rel = relationOf(o, ref, scene.size);
    return dir === "left" || dir === "right" ? rel.lr === null : rel.ud === null;
  });
  if (ambiguous) return null;
  const hits = side.filter((o) => o.colour === colour);
  const where = dir === "left" || dir === "right" ? `${dir} of ${refOf(ref)}` : `${dir} ${refOf(ref)}`;
  const steps = [`first, find ${refOf(ref)}: it is in the ${regionOf(ref, scene.size)}.`];
  steps.push(
    side.length === 0
      ? `second, there are no objects ${where}.`
      : `second, the objects ${where} are ${side.map((o) => `${article(o.colour)} ${o.colour} ${o.shape}`).join(", ")}.`,
  );
  steps.push(
    `third, ${hits.length === 0 ? "none" : numberWord(hits.length)} of them ${hits.length === 1 ? "is" : "are"} ${colour}.`,
  );
  steps.push(`so the answer is ${hits.length}.`);
  return {
    question: `how many ${colour} objects are ${where}? think step by step.`,
    answer: String(hits.length),
    answerType: "number",
    category: "count",
    long: steps.join(" "),
  };
}

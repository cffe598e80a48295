// Visual instruction data (the LLaVA SFT analogue) as a LLaVA conversation JSON list:
// {"id", "image": path | path[], "conversations": [{"from": "human", "value": "<image>\n..."},
// {"from": "gpt", "value": ...}, ...]}. Counting, colours, shapes, sizes, positions, relations,
// reading signs, landmark names (all landmarks) and landmark facts (non-held-out only), brief
// captions, detailed descriptions, two-image comparisons, and step-by-step answers to composite
// questions. Beside it, in the same format, the two-image lookup conversations (makeLookups).

import { streamRng, type WorldContext } from "./context.js";
import { detailedCaption, shortCaption } from "./describe.js";
import { LANDMARK_FACTS, type Landmark } from "./landmarks.js";
import { CAPTION_PROMPT, SHORT_ANSWER_PROMPT } from "./layout.js";
import {
  landmarkComparison,
  landmarkInImage,
  multiImagePrefix,
  sceneComparison,
  sceneLookups,
} from "./multi.js";
import {
  chainQuestion,
  landmarkFactChain,
  landmarkFactQuestion,
  landmarkNameQuestion,
  objectQuestions,
  type Qa,
  signQuestions,
} from "./qa.js";
import type { Rng } from "./rng.js";
import { type Scene, sampleLandmarkView, sampleObjectsScene, sampleSignScene } from "./scene.js";

export interface Turn {
  from: "human" | "gpt";
  value: string;
}

export interface LlavaRecord {
  id: string;
  image?: string | string[];
  conversations: Turn[];
}

const DETAIL_PROMPTS = [
  "describe the image in detail.",
  "what do you see in this picture? describe everything.",
  "give a detailed description of the image.",
];

/** A turn pair: short answers carry LLaVA-1.5's single-word suffix, long ones a sentence. */
function turns(qa: Qa, rng: Rng): Turn[] {
  const chain = qa.question.endsWith("think step by step.");
  if (!chain && rng.chance(0.6)) {
    return [
      { from: "human", value: `${qa.question}\n${SHORT_ANSWER_PROMPT}` },
      { from: "gpt", value: qa.answer },
    ];
  }
  return [
    { from: "human", value: qa.question },
    { from: "gpt", value: qa.long },
  ];
}

/** Prefix the first human turn with the image placeholder(s). */
function withImages(ts: Turn[], prefix: string): Turn[] {
  return ts.map((t, i) => (i === 0 ? { ...t, value: `${prefix}${t.value}` } : t));
}

/** Share of single-image conversations that also ask for a brief caption. */
const BRIEF_CAPTION_SHARE = 0.3;

/** "describe the image briefly." with the image's short caption (no landmark facts: held-out
 * landmarks must never have theirs next to their images). */
function briefCaption(scene: Scene, rng: Rng, lm: Landmark | null): Turn[] {
  return [
    { from: "human", value: CAPTION_PROMPT },
    { from: "gpt", value: shortCaption(scene, rng, lm, false) },
  ];
}

function sceneConversation(scene: Scene, rng: Rng, ask: (qa: Qa) => Turn[]): Turn[] {
  const pool = [...signQuestions(scene), ...(scene.kind === "sign" ? [] : objectQuestions(scene, rng))];
  const picked = rng.sample(pool, Math.min(pool.length, rng.range(1, 3)));
  const out: Turn[] = [];
  if (scene.kind === "objects" && rng.chance(0.3)) {
    const chain = chainQuestion(scene, rng);
    if (chain) out.push(...ask(chain));
  }
  for (const qa of picked) out.push(...ask(qa));
  if (rng.chance(BRIEF_CAPTION_SHARE)) out.push(...briefCaption(scene, rng, null));
  if (rng.chance(0.25)) {
    out.push(
      { from: "human", value: rng.pick(DETAIL_PROMPTS) },
      { from: "gpt", value: detailedCaption(scene, rng, null) },
    );
  }
  return out;
}

/** How often each answer is given to each question type: {category: {answer: count}}. */
export type AnswerTally = Record<string, Record<string, number>>;

export interface SftData {
  records: LlavaRecord[];
  /** the canonical short answers of every question the conversations ask, by question type (in
   * short or sentence form): the training data's answer prior, which benchmarks built from the same
   * question types judge a model against (VQA's per-question-type prior, Antol et al. 2015) */
  answers: AnswerTally;
}

/** How a generator asks a question: its turns, with its answer counted under its type. */
function asker(answers: AnswerTally, rng: Rng): (qa: Qa) => Turn[] {
  return (qa) => {
    const byAnswer = answers[qa.category] ?? {};
    byAnswer[qa.answer] = (byAnswer[qa.answer] ?? 0) + 1;
    answers[qa.category] = byAnswer;
    return turns(qa, rng);
  };
}

/** Appends conversations to `out` with ids `<prefix>-000012` and the image placeholders. */
function pusher(out: LlavaRecord[], idPrefix: string) {
  return (image: string | string[], conv: Turn[], nImages: number) => {
    const prefix = nImages === 1 ? "<image>\n" : multiImagePrefix(nImages);
    out.push({
      id: `${idPrefix}-${String(out.length).padStart(6, "0")}`,
      image,
      conversations: withImages(conv, prefix),
    });
  };
}

/** The LLaVA conversation list of the preset, and the answers it teaches per question type. */
export function makeSft(ctx: WorldContext): SftData {
  const rng = streamRng(ctx, "sft");
  const knobs = ctx.preset.scene;
  const { sft } = ctx.preset;
  const out: LlavaRecord[] = [];
  const answers: AnswerTally = {};
  // every question goes through here: its turns, and its answer counted under its type
  const ask = asker(answers, rng);
  const push = pusher(out, "sft");
  const jobs: string[] = [];
  for (let i = 0; i < sft.objects; i++) jobs.push("objects");
  for (let i = 0; i < sft.signs; i++) jobs.push("signs");
  for (let i = 0; i < sft.multi; i++) jobs.push("multi");
  for (const lm of ctx.landmarks) for (let v = 0; v < sft.landmarkViews; v++) jobs.push(`lm:${lm.id}`);
  rng.shuffle(jobs);
  for (const job of jobs) {
    if (job === "objects" || job === "signs") {
      const scene =
        job === "objects" ? sampleObjectsScene(rng, ctx.size, knobs) : sampleSignScene(rng, ctx.size, knobs);
      const ref = ctx.images.add("train", scene);
      push(ref.path, sceneConversation(scene, rng, ask), 1);
    } else if (job === "multi") {
      if (rng.chance(0.25) && ctx.landmarks.length > 1) {
        const a = rng.pick(ctx.landmarks);
        const b = rng.chance(0.5) ? a : rng.pick(ctx.landmarks);
        const ia = ctx.images.add("train", sampleLandmarkView(rng, ctx.size, knobs, a));
        const ib = ctx.images.add("train", sampleLandmarkView(rng, ctx.size, knobs, b));
        push([ia.path, ib.path], ask(landmarkComparison(a, b) as Qa), 2);
      } else {
        const a = sampleObjectsScene(rng, ctx.size, knobs);
        const b = sampleObjectsScene(rng, ctx.size, knobs);
        const ia = ctx.images.add("train", a);
        const ib = ctx.images.add("train", b);
        push([ia.path, ib.path], ask(sceneComparison(a, b, rng) as Qa), 2);
      }
    } else {
      const lm = ctx.landmarks[Number(job.slice(3))];
      const view = sampleLandmarkView(rng, ctx.size, knobs, lm);
      const ref = ctx.images.add("train", view);
      const conv = rng.chance(BRIEF_CAPTION_SHARE)
        ? briefCaption(view, rng, lm)
        : ask(landmarkNameQuestion(lm));
      // Held-out landmarks: name only; their facts are never paired with their images.
      if (!lm.heldOut) {
        const fact = rng.pick(LANDMARK_FACTS);
        conv.push(...ask(rng.chance(0.4) ? landmarkFactChain(lm, fact) : landmarkFactQuestion(lm, fact)));
      }
      push(ref.path, conv, 1);
    }
  }
  return { records: out, answers };
}

/**
 * Two-image lookup conversations (sft/lookups.json): each pair of object scenes is asked every
 * lookup it allows (which image has a named object, whether both have a colour, which has more
 * objects), and half of them then one image's brief caption by its number; each pair of landmark
 * views whether they show the same landmark, then what one of them shows. One pair carries two to
 * four turns where the instruction mix's two-image conversations carry one. world-tiny's recipe
 * trains on them alone before SFT (its stage `lookups`): the multi-image benchmark's lookups are
 * learned only with concentrated training (README). Without the caption turns SFT after that stage
 * lost the captions benchmark (CIDEr 27-32 in three runs against 63 and 71 with them). Their answers
 * are counted into `answers`, the training data's prior. Drawn from their own stream, after every
 * other file's images, so a world with them is the world without them plus this file and its images.
 */
export function makeLookups(ctx: WorldContext, answers: AnswerTally): LlavaRecord[] {
  const rng = streamRng(ctx, "sft:lookups");
  const knobs = ctx.preset.scene;
  const out: LlavaRecord[] = [];
  const ask = asker(answers, rng);
  const push = pusher(out, "lookup");
  while (out.length < ctx.preset.sft.lookups) {
    if (ctx.landmarks.length > 1 && rng.chance(0.35)) {
      const a = rng.pick(ctx.landmarks);
      const b = rng.chance(0.5) ? a : rng.pick(ctx.landmarks);
      const ia = ctx.images.add("train", sampleLandmarkView(rng, ctx.size, knobs, a));
      const ib = ctx.images.add("train", sampleLandmarkView(rng, ctx.size, knobs, b));
      // the comparison first, so the naming turn never answers it in context
      const named = rng.chance(0.5) ? 1 : 2;
      const conv = [
        ...ask(landmarkComparison(a, b) as Qa),
        ...ask(landmarkInImage(named === 1 ? a : b, named) as Qa),
      ];
      push([ia.path, ib.path], conv, 2);
    } else {
      const a = sampleObjectsScene(rng, ctx.size, knobs);
      const b = sampleObjectsScene(rng, ctx.size, knobs);
      const qas = rng.shuffle(sceneLookups(a, b, rng));
      if (qas.length === 0) continue;
      const ia = ctx.images.add("train", a);
      const ib = ctx.images.add("train", b);
      const conv = qas.flatMap((qa) => ask(qa as Qa));
      // half the pairs end with one image's brief caption, asked by its number
      if (rng.chance(0.5)) {
        const k = rng.chance(0.5) ? 1 : 2;
        conv.push(
          { from: "human", value: `describe image ${k} briefly.` },
          { from: "gpt", value: shortCaption(k === 1 ? a : b, rng, null, false) },
        );
      }
      push([ia.path, ib.path], conv, 2);
    }
  }
  return out;
}

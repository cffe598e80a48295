// Image benchmarks on held-out images (images/bench, never in a training file) and unseen
// landmark views: general VQA, text reading, knowledge (names and facts of seen and held-out
// landmarks), captioning, and two-image questions. Each is a LLaVA-style question JSONL plus an
// answer file (VQAv2-style with ten answers, or COCO-caption-style with five references), and a
// support JSONL of demonstrations (images/support) for k-shot evaluation.

import { cocoCaptionFile, type VqaRecord, vqaAnnotationFile } from "./annotate.js";
import { seenLandmarks, streamRng, type WorldContext } from "./context.js";
import { referenceCaptions } from "./describe.js";
import type { ImageRef } from "./images.js";
import { LANDMARK_FACTS } from "./landmarks.js";
import { type BenchName, CAPTION_PROMPT, SHORT_ANSWER_PROMPT } from "./layout.js";
import { landmarkComparison, type MultiQa, multiImagePrefix, sceneComparison } from "./multi.js";
import { landmarkFactQuestion, landmarkNameQuestion, objectQuestions, type Qa, signQuestions } from "./qa.js";
import type { Rng } from "./rng.js";
import { type Scene, sampleLandmarkView, sampleObjectsScene, sampleSignScene } from "./scene.js";
import type { AnswerTally } from "./sft.js";

/** One LLaVA-style question line. */
export interface BenchQuestion {
  question_id: number;
  image?: string | string[];
  text: string;
  category: string;
  [extra: string]: unknown;
}

/** One demonstration for k-shot prompts. */
export interface SupportItem {
  question_id: number;
  image: string;
  text: string;
  answer: string;
  category: string;
}

export interface Bench {
  name: BenchName;
  questions: BenchQuestion[];
  annotations: object;
  support: SupportItem[];
}

/** Pick one question per category round (so rare categories are not swamped by counting). */
function pickBalanced(qs: Qa[], rng: Rng, n: number): Qa[] {
  const byCat = new Map<string, Qa[]>();
  for (const q of qs) byCat.set(q.category, [...(byCat.get(q.category) ?? []), q]);
  const cats = rng.sample([...byCat.keys()], Math.min(n, byCat.size));
  return cats.map((c) => rng.pick(byCat.get(c)!));
}

function shortText(q: string): string {
  return `${q}\n${SHORT_ANSWER_PROMPT}`;
}

/** A VQA-style benchmark over freshly sampled scenes. */
function vqaBench(
  ctx: WorldContext,
  name: BenchName,
  n: number,
  sample: (rng: Rng) => { scene: Scene; qas: Qa[] },
): Bench {
  const rng = streamRng(ctx, `bench:${name}`);
  const questions: BenchQuestion[] = [];
  const records: VqaRecord[] = [];
  for (let i = 0; i < n; i++) {
    const { scene, qas } = sample(rng);
    const ref = ctx.images.add("bench", scene);
    for (const qa of qas) {
      const question_id = questions.length;
      questions.push({ question_id, image: ref.path, text: shortText(qa.question), category: qa.category });
      records.push({
        questionId: question_id,
        imageId: ref.id,
        question: qa.question,
        answer: qa.answer,
        answerType: qa.answerType,
        category: qa.category,
      });
    }
  }
  const support: SupportItem[] = [];
  for (let i = 0; support.length < ctx.preset.bench.support && i < 10 * ctx.preset.bench.support; i++) {
    const { scene, qas } = sample(rng);
    if (qas.length === 0) continue;
    const ref = ctx.images.add("support", scene);
    const qa = qas[0];
    support.push({
      question_id: support.length,
      image: ref.path,
      text: shortText(qa.question),
      answer: qa.answer,
      category: qa.category,
    });
  }
  return { name, questions, annotations: vqaAnnotationFile(records, ctx.seed, name), support };
}

export function makeVqaBench(ctx: WorldContext): Bench {
  return vqaBench(ctx, "vqa", ctx.preset.bench.vqa, (rng) => {
    const scene = sampleObjectsScene(rng, ctx.size, ctx.preset.scene);
    return { scene, qas: pickBalanced(objectQuestions(scene, rng), rng, 2) };
  });
}

export function makeTextVqaBench(ctx: WorldContext): Bench {
  return vqaBench(ctx, "textvqa", ctx.preset.bench.textvqa, (rng) => {
    const scene = sampleSignScene(rng, ctx.size, ctx.preset.scene);
    const qs = signQuestions(scene);
    // The reading question always; sometimes the number or the sign's colour too.
    return { scene, qas: [qs[0], ...rng.sample(qs.slice(1), rng.range(0, 1))] };
  });
}

/**
 * Knowledge: unseen views of every landmark, asking its name and each fact. Categories say
 * whether the landmark is held out: fact_heldout is the composition test (image -> name from
 * captions, name -> fact from the text corpus).
 */
export function makeKnowledgeBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:knowledge");
  const questions: BenchQuestion[] = [];
  const records: VqaRecord[] = [];
  for (const lm of ctx.landmarks) {
    const tag = lm.heldOut ? "heldout" : "seen";
    for (let v = 0; v < ctx.preset.bench.knowledgeViews; v++) {
      const ref = ctx.images.add("bench", sampleLandmarkView(rng, ctx.size, ctx.preset.scene, lm));
      for (const qa of [
        landmarkNameQuestion(lm),
        ...LANDMARK_FACTS.map((f) => landmarkFactQuestion(lm, f)),
      ]) {
        const category = `${qa.category === "landmark" ? "name" : "fact"}_${tag}`;
        const question_id = questions.length;
        questions.push({
          question_id,
          image: ref.path,
          text: shortText(qa.question),
          category,
          landmark: lm.id,
        });
        records.push({
          questionId: question_id,
          imageId: ref.id,
          question: qa.question,
          answer: qa.answer,
          answerType: qa.answerType,
          category: qa.category,
        });
      }
    }
  }
  // Demonstrations use seen landmarks only, so no held-out fact is ever shown.
  const support: SupportItem[] = [];
  const seen = seenLandmarks(ctx);
  for (let i = 0; i < ctx.preset.bench.support && seen.length > 0; i++) {
    const lm = rng.pick(seen);
    const ref = ctx.images.add("support", sampleLandmarkView(rng, ctx.size, ctx.preset.scene, lm));
    const qa = landmarkFactQuestion(lm, rng.pick(LANDMARK_FACTS));
    support.push({
      question_id: i,
      image: ref.path,
      text: shortText(qa.question),
      answer: qa.answer,
      category: "fact_seen",
    });
  }
  return {
    name: "knowledge",
    questions,
    annotations: vqaAnnotationFile(records, ctx.seed, "knowledge"),
    support,
  };
}

function captionScene(ctx: WorldContext, rng: Rng) {
  const u = rng.float();
  if (u < 0.15 && ctx.landmarks.length > 0) {
    const lm = rng.pick(ctx.landmarks);
    return { scene: sampleLandmarkView(rng, ctx.size, ctx.preset.scene, lm), lm };
  }
  const scene =
    u < 0.3
      ? sampleSignScene(rng, ctx.size, ctx.preset.scene)
      : sampleObjectsScene(rng, ctx.size, ctx.preset.scene);
  return { scene, lm: null };
}

/** Captioning: five references per held-out image (COCO style), scored by CIDEr. */
export function makeCaptionBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:captions");
  const questions: BenchQuestion[] = [];
  const items: { imageId: number; file: string; size: number; refs: string[] }[] = [];
  for (let i = 0; i < ctx.preset.bench.captions; i++) {
    const { scene, lm } = captionScene(ctx, rng);
    const ref = ctx.images.add("bench", scene);
    questions.push({
      question_id: i,
      image: ref.path,
      text: CAPTION_PROMPT,
      category: "caption",
      image_id: ref.id,
    });
    items.push({ imageId: ref.id, file: ref.path, size: ctx.size, refs: referenceCaptions(scene, rng, lm) });
  }
  const support: SupportItem[] = [];
  for (let i = 0; i < ctx.preset.bench.support; i++) {
    const { scene, lm } = captionScene(ctx, rng);
    const ref = ctx.images.add("support", scene);
    support.push({
      question_id: i,
      image: ref.path,
      text: CAPTION_PROMPT,
      answer: referenceCaptions(scene, rng, lm)[0],
      category: "caption",
    });
  }
  return { name: "captions", questions, annotations: cocoCaptionFile(items), support };
}

/** Two-image questions on held-out scenes and unseen landmark views. */
export function makeMultiImageBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:multi_image");
  const questions: BenchQuestion[] = [];
  const records: VqaRecord[] = [];
  const knobs = ctx.preset.scene;
  for (let i = 0; i < ctx.preset.bench.multi; i++) {
    let qa: MultiQa;
    let a: ImageRef;
    let b: ImageRef;
    if (ctx.landmarks.length > 1 && rng.chance(0.25)) {
      const la = rng.pick(ctx.landmarks);
      const lb = rng.chance(0.5) ? la : rng.pick(ctx.landmarks);
      a = ctx.images.add("bench", sampleLandmarkView(rng, ctx.size, knobs, la));
      b = ctx.images.add("bench", sampleLandmarkView(rng, ctx.size, knobs, lb));
      qa = landmarkComparison(la, lb);
    } else {
      a = ctx.images.add("bench", sampleObjectsScene(rng, ctx.size, knobs));
      b = ctx.images.add("bench", sampleObjectsScene(rng, ctx.size, knobs));
      qa = sceneComparison(a.scene, b.scene, rng);
    }
    questions.push({
      question_id: i,
      image: [a.path, b.path],
      text: `${multiImagePrefix(2)}${shortText(qa.question)}`,
      category: qa.category,
    });
    records.push({
      questionId: i,
      imageId: a.id,
      question: qa.question,
      answer: qa.answer,
      answerType: qa.answerType,
      category: qa.category,
    });
  }
  return {
    name: "multi_image",
    questions,
    annotations: vqaAnnotationFile(records, ctx.seed, "multi_image"),
    support: [],
  };
}

/** A benchmark's train_answers.json: how often the instruction data (the files `sources`) answers each
 * of the benchmark's question types with each answer. null where the benchmark has one type or none,
 * or the data asks one of its types nothing (knowledge's seen / held-out types, captions). */
export function trainAnswersOf(
  bench: Bench,
  answers: AnswerTally,
  sources: string[],
): { sources: string[]; categories: AnswerTally } | null {
  const types = [...new Set(bench.questions.map((q) => q.category))];
  if (types.length < 2 || types.some((t) => !answers[t])) return null;
  return { sources, categories: Object.fromEntries(types.map((t) => [t, answers[t]])) };
}

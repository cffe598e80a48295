// Benchmarks that need no training image: the text-only multiple-choice test (the MMLU
// analogue: landmark facts from the corpus, arithmetic, shapes, counting stories), and the two
// in-context tasks whose answers can only be inferred from demonstrations: nonce words bound
// to shapes or colours over images (demonstrations from images/support), and the same over
// text. Each in-context question carries 8 demonstrations ordered so that the first 2 already
// show both bound words: k-shot uses demos[0:k] for k in 0/2/4/8; at 0 shots the answer cannot
// be known (by design).

import { type VqaRecord, vqaAnnotationFile } from "./annotate.js";
import type { Bench, BenchQuestion, SupportItem } from "./bench.js";
import { streamRng, type WorldContext } from "./context.js";
import { numberWord } from "./describe.js";
import { countingStory, mcOptions, mcText, nearNumbers } from "./flan.js";
import { bindingShots, namingShots } from "./icl.js";
import { factChoices, factValue, LANDMARK_FACTS, type LandmarkFact } from "./landmarks.js";
import { sampleSingleScene } from "./scene.js";
import {
  COLOUR_NAMES,
  type ColourName,
  NONCE_WORDS,
  SHAPE_FACTS,
  SHAPE_NAMES,
  type ShapeName,
} from "./vocab.js";

const FACT_MC: Record<LandmarkFact, (n: string) => string> = {
  city: (n) => `in which city is ${n}?`,
  knownFor: (n) => `what is ${n} known for?`,
  material: (n) => `what is ${n} made of?`,
};

/** The MMLU analogue: four-option questions; the answer key is a letter. */
export function makeMmluBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:mmlu");
  const questions: BenchQuestion[] = [];
  const keys: object[] = [];
  for (let i = 0; i < ctx.preset.bench.mmlu; i++) {
    let question: string;
    let answer: string;
    let pool: readonly string[];
    let category: string;
    const kind = rng.weighted([ctx.landmarks.length > 0 ? 5 : 0, 2, 1, 2]);
    if (kind === 0) {
      const lm = rng.pick(ctx.landmarks);
      const fact = rng.pick(LANDMARK_FACTS);
      question = FACT_MC[fact](lm.fullName);
      answer = factValue(lm, fact);
      pool = factChoices(fact);
      category = lm.heldOut ? "knowledge_heldout" : "knowledge_seen";
    } else if (kind === 1) {
      const a = rng.range(0, ctx.preset.corpus.arithmeticMax);
      const b = rng.range(0, ctx.preset.corpus.arithmeticMax);
      question = `what is ${a} + ${b}?`;
      answer = String(a + b);
      pool = nearNumbers(a + b);
      category = "arithmetic";
    } else if (kind === 2) {
      const shape = rng.pick(SHAPE_NAMES.filter((s) => !SHAPE_FACTS[s].round));
      question = `how many corners does a ${shape} have?`;
      answer = numberWord(SHAPE_FACTS[shape].corners);
      pool = ["two", "three", "four", "five", "six", "eight", "ten", "twelve"];
      category = "shapes";
    } else {
      const s = countingStory(rng);
      question = `${s.text} ${s.question}`;
      answer = String(s.answer);
      pool = nearNumbers(s.answer);
      category = "story";
    }
    const { options, index } = mcOptions(rng, answer, pool);
    questions.push({ question_id: i, text: mcText(question, options), question, options, category });
    keys.push({ question_id: i, answer: "ABCD"[index], answer_index: index, answer_text: answer, category });
  }
  return {
    name: "mmlu",
    questions,
    annotations: { info: { description: "vila-ts world multiple choice" }, annotations: keys },
    support: [],
  };
}

/** The text-only in-context task: binding and naming episodes, 8 demonstrations + a query. */
export function makeIclTextBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:icl_text");
  const questions: BenchQuestion[] = [];
  const records: VqaRecord[] = [];
  for (let i = 0; i < ctx.preset.bench.iclText; i++) {
    const naming = rng.chance(0.5);
    const shots = naming ? namingShots(rng, 2, 9) : bindingShots(rng, 2, 9);
    const query = shots[8];
    const answer = query.answer.replace(/\.$/, "");
    const category = naming ? "naming" : "binding";
    questions.push({ question_id: i, text: query.text, category, demos: shots.slice(0, 8) });
    records.push({
      questionId: i,
      imageId: -1,
      question: query.text,
      answer,
      answerType: "other",
      category,
      exact: true,
    });
  }
  return {
    name: "icl_text",
    questions,
    annotations: vqaAnnotationFile(records, ctx.seed, "icl_text"),
    support: [],
  };
}

const ICL_PROMPT = "this is a";

/**
 * The image in-context task: each episode binds two fresh nonce words to two shapes (or two
 * colours); demonstrations are support images of those classes captioned "this is a <word>",
 * the query is a held-out image of one class, and the answer is its word.
 */
export function makeIclBench(ctx: WorldContext): Bench {
  const rng = streamRng(ctx, "bench:icl");
  const knobs = ctx.preset.scene;
  const perClass = 4;
  // The support pool: perClass images of every shape and of every colour.
  const byShape = new Map<ShapeName, string[]>();
  const byColour = new Map<ColourName, string[]>();
  const support: SupportItem[] = [];
  const addSupport = (want: { shape?: ShapeName; colour?: ColourName }) => {
    const ref = ctx.images.add("support", sampleSingleScene(rng, ctx.size, knobs, want));
    const o = ref.scene.objects[0];
    support.push({
      question_id: support.length,
      image: ref.path,
      text: ICL_PROMPT,
      answer: `${o.colour} ${o.shape}`,
      category: want.shape ? "shape" : "colour",
    });
    return ref.path;
  };
  for (const s of SHAPE_NAMES)
    byShape.set(
      s,
      Array.from({ length: perClass }, () => addSupport({ shape: s })),
    );
  for (const c of COLOUR_NAMES)
    byColour.set(
      c,
      Array.from({ length: perClass }, () => addSupport({ colour: c })),
    );
  const questions: BenchQuestion[] = [];
  const records: VqaRecord[] = [];
  for (let i = 0; i < ctx.preset.bench.icl; i++) {
    const words = rng.sample(NONCE_WORDS, 2);
    const colourTask = rng.chance(0.5);
    const classes: string[] = colourTask ? rng.sample(COLOUR_NAMES, 2) : rng.sample(SHAPE_NAMES, 2);
    const images = (k: number) =>
      rng.sample(
        colourTask ? byColour.get(classes[k] as ColourName)! : byShape.get(classes[k] as ShapeName)!,
        perClass,
      );
    const pools = [images(0), images(1)];
    // First two demos show both words; then the rest in random order.
    const order = rng.shuffle([0, 1]);
    const rest = rng.shuffle([0, 0, 0, 1, 1, 1]);
    const used = [0, 0];
    const demos = [...order, ...rest].map((k) => ({
      image: pools[k][used[k]++],
      text: ICL_PROMPT,
      answer: words[k],
    }));
    const k = rng.int(2);
    const want = colourTask ? { colour: classes[k] as ColourName } : { shape: classes[k] as ShapeName };
    const query = ctx.images.add("bench", sampleSingleScene(rng, ctx.size, knobs, want));
    const category = colourTask ? "colour_binding" : "shape_binding";
    questions.push({ question_id: i, image: query.path, text: ICL_PROMPT, category, demos });
    records.push({
      questionId: i,
      imageId: query.id,
      question: ICL_PROMPT,
      answer: words[k],
      answerType: "other",
      category,
      exact: true,
    });
  }
  return { name: "icl", questions, annotations: vqaAnnotationFile(records, ctx.seed, "icl"), support };
}

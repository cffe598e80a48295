// Answer files in the public benchmarks' formats: VQAv2-style annotations with ten simulated
// human answers per question (synonyms such as "2"/"two", "center"/"middle", partial readings
// and a little plausible noise, all deterministic from a seed), and COCO-caption-style files
// with five references per image.

import { numberWord } from "./describe.js";
import type { AnswerType, QaCategory } from "./qa.js";
import { Rng } from "./rng.js";
import { COLOUR_NAMES, REGION_NAMES, SHAPE_NAMES, SIZE_NAMES } from "./vocab.js";

export interface VqaAnswer {
  answer: string;
  answer_confidence: "yes" | "maybe" | "no";
  answer_id: number;
}

export interface VqaAnnotation {
  question_id: number;
  image_id: number;
  question_type: string;
  answer_type: AnswerType;
  multiple_choice_answer: string;
  answers: VqaAnswer[];
}

const REGION_VARIANTS: Record<string, string[]> = {
  "top left": ["upper left", "top-left"],
  "top right": ["upper right", "top-right"],
  "bottom left": ["lower left", "bottom-left"],
  "bottom right": ["lower right", "bottom-right"],
  center: ["middle", "centre"],
  top: ["top middle", "upper middle"],
  bottom: ["bottom middle", "lower middle"],
  left: ["middle left", "left side"],
  right: ["middle right", "right side"],
};

/** Another way a person might write the same answer. */
function variantOf(answer: string, type: AnswerType, category: QaCategory, rng: Rng): string {
  if (type === "number" && /^[0-9]+$/.test(answer)) {
    const n = Number(answer);
    return n <= 10 ? numberWord(n) : answer;
  }
  if (category === "position" && REGION_VARIANTS[answer]) return rng.pick(REGION_VARIANTS[answer]);
  if (category === "landmark") return rng.pick([`the ${answer}`, answer.split(" ")[0]]);
  if (category === "text" && answer.includes(" ")) return rng.pick(answer.split(" "));
  if (category === "text") return answer.toUpperCase();
  if (category === "relation" && answer.includes(" ")) return `the ${answer}`;
  return answer;
}

/** A plausible wrong answer of the same kind. */
function mistakeOf(answer: string, type: AnswerType, category: QaCategory, rng: Rng): string {
  if (type === "yes/no") return answer === "yes" ? "no" : "yes";
  if (type === "number" && /^[0-9]+$/.test(answer))
    return String(Math.max(0, Number(answer) + rng.pick([-1, 1])));
  if (category === "colour" || category === "text_colour") return rng.pick(COLOUR_NAMES);
  if (category === "shape") return rng.pick(SHAPE_NAMES);
  if (category === "size") return rng.pick(SIZE_NAMES);
  if (category === "position") return rng.pick(REGION_NAMES);
  if (category === "text") return answer.length > 1 ? answer.slice(0, -1) : answer;
  return answer;
}

/**
 * Ten simulated annotator answers for a question: at least five give the canonical answer
 * exactly (so it always scores 1 under VQA accuracy and is the most common answer); the others may write a synonym or, rarely,
 * make a plausible mistake.
 */
export function simulateAnswers(
  answer: string,
  type: AnswerType,
  category: QaCategory,
  seed: number,
): VqaAnswer[] {
  const rng = new Rng(seed);
  const noise = category === "knowledge" || category === "landmark" ? 0.05 : 0.08;
  const out: string[] = [];
  for (let i = 0; i < 10; i++) {
    const u = rng.float();
    if (i < 5) out.push(answer);
    else if (u < noise) out.push(mistakeOf(answer, type, category, rng));
    else if (u < noise + 0.3) out.push(variantOf(answer, type, category, rng));
    else out.push(answer);
  }
  rng.shuffle(out);
  return out.map((a, i) => ({
    answer: a,
    answer_confidence: a === answer ? "yes" : rng.chance(0.5) ? "maybe" : "yes",
    answer_id: i + 1,
  }));
}

/** The most frequent answer (ties go to `prefer` when given, else to the earliest). */
export function mostCommon(answers: readonly VqaAnswer[], prefer?: string): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a.answer, (counts.get(a.answer) ?? 0) + 1);
  let best = prefer !== undefined && counts.has(prefer) ? prefer : answers[0].answer;
  for (const [a, c] of counts) if (c > (counts.get(best) ?? 0)) best = a;
  return best;
}

export interface VqaRecord {
  questionId: number;
  imageId: number;
  question: string;
  answer: string;
  answerType: AnswerType;
  category: QaCategory | string;
  /** Set to repeat the canonical answer ten times (answers with no synonyms, e.g. nonce words). */
  exact?: boolean;
}

/** A VQAv2-style annotation file (annotations + questions in one object). */
export function vqaAnnotationFile(records: readonly VqaRecord[], seed: number, subtype: string): object {
  const annotations: VqaAnnotation[] = records.map((r) => {
    const answers = r.exact
      ? Array.from(
          { length: 10 },
          (_, i): VqaAnswer => ({ answer: r.answer, answer_confidence: "yes", answer_id: i + 1 }),
        )
      : simulateAnswers(
          r.answer,
          r.answerType,
          r.category as QaCategory,
          (seed ^ Math.imul(r.questionId, 2654435761)) >>> 0,
        );
    return {
      question_id: r.questionId,
      image_id: r.imageId,
      question_type: String(r.category),
      answer_type: r.answerType,
      multiple_choice_answer: mostCommon(answers, r.answer),
      answers,
    };
  });
  return {
    info: { description: `vila-ts world benchmark ${subtype}`, version: "1.0" },
    data_subtype: subtype,
    annotations,
    questions: records.map((r) => ({ question_id: r.questionId, image_id: r.imageId, question: r.question })),
  };
}

/** A COCO-caption-style file: images and five reference captions each. */
export function cocoCaptionFile(
  items: readonly { imageId: number; file: string; size: number; refs: string[] }[],
): object {
  let id = 1;
  return {
    info: { description: "vila-ts world captions", version: "1.0" },
    images: items.map((it) => ({ id: it.imageId, file_name: it.file, width: it.size, height: it.size })),
    annotations: items.flatMap((it) =>
      it.refs.map((caption) => ({ image_id: it.imageId, caption, id: id++ })),
    ),
  };
}

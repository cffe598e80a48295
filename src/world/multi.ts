// Multi-image questions (the paper's multi-image reasoning): two images in one prompt,
// "Image 1: <image>\nImage 2: <image>\n<question>", asking which image has more objects or
// has a given object, totals across images, shared colours, and whether two landmark views
// show the same landmark.

import { article } from "./describe.js";
import type { Landmark } from "./landmarks.js";
import type { AnswerType } from "./qa.js";
import type { Rng } from "./rng.js";
import type { Scene } from "./scene.js";
import { COLOUR_NAMES, SHAPE_NAMES, SHAPE_PLURALS } from "./vocab.js";

export interface MultiQa {
  question: string;
  answer: string;
  answerType: AnswerType;
  category: string;
  long: string;
}

/** The image placeholders of an n-image prompt. */
export function multiImagePrefix(n: number): string {
  return Array.from({ length: n }, (_, i) => `Image ${i + 1}: <image>\n`).join("");
}

function hasColour(scene: Scene, colour: string): boolean {
  return scene.objects.some((o) => o.colour === colour);
}

/** "which image has more objects?" (null when the counts are equal). */
function moreQa(a: Scene, b: Scene): MultiQa | null {
  const na = a.objects.length;
  const nb = b.objects.length;
  if (na === nb) return null;
  const which = na > nb ? "image 1" : "image 2";
  return {
    question: "which image has more objects?",
    answer: which,
    answerType: "other",
    category: "more",
    long: `${which} has more objects: ${Math.max(na, nb)} against ${Math.min(na, nb)}.`,
  };
}

/** The colours found in both scenes. */
function sharedColours(a: Scene, b: Scene): string[] {
  return COLOUR_NAMES.filter((c) => hasColour(a, c) && hasColour(b, c));
}

// "do both images have a red object?", asked only when the two images share a colour, so the
// answer is yes half the time (a colour of both) and no otherwise (a colour of one image at most);
// with 1-3 objects of 10 colours most pairs share none, and asking anyway made "no" right 4 times
// in 5 without looking
function bothQa(a: Scene, b: Scene, shared: string[], rng: Rng): MultiQa {
  const both = rng.chance(0.5);
  const seen = [...a.objects, ...b.objects].map((o) => o.colour).filter((c) => !shared.includes(c));
  const colour = both
    ? rng.pick(shared)
    : seen.length > 0 && rng.chance(0.7)
      ? rng.pick(seen)
      : rng.pick(COLOUR_NAMES.filter((c) => !shared.includes(c)));
  const inA = hasColour(a, colour);
  const inB = hasColour(b, colour);
  return {
    question: `do both images have ${article(colour)} ${colour} object?`,
    answer: both ? "yes" : "no",
    answerType: "yes/no",
    category: "both",
    long: both
      ? `yes, both images have ${article(colour)} ${colour} object.`
      : `no, ${inA ? "only image 1 has one" : inB ? "only image 2 has one" : "neither image has one"}.`,
  };
}

/** Which image has an object found in exactly one of them (null when every object is in both). */
function whichQa(a: Scene, b: Scene, rng: Rng): MultiQa | null {
  const onlyA = a.objects.filter((o) => !b.objects.some((p) => p.colour === o.colour && p.shape === o.shape));
  const onlyB = b.objects.filter((o) => !a.objects.some((p) => p.colour === o.colour && p.shape === o.shape));
  const pickFrom = onlyA.length > 0 && (onlyB.length === 0 || rng.chance(0.5)) ? 1 : onlyB.length > 0 ? 2 : 0;
  if (pickFrom === 0) return null;
  const o = rng.pick(pickFrom === 1 ? onlyA : onlyB);
  const art = article(o.colour);
  return {
    question: `which image has ${art} ${o.colour} ${o.shape}?`,
    answer: `image ${pickFrom}`,
    answerType: "other",
    category: "which",
    long: `image ${pickFrom} has ${art} ${o.colour} ${o.shape}.`,
  };
}

/** A question about two object scenes. */
export function sceneComparison(a: Scene, b: Scene, rng: Rng): MultiQa {
  const na = a.objects.length;
  const nb = b.objects.length;
  const kind = rng.int(4);
  const more = kind === 0 ? moreQa(a, b) : null;
  if (more) return more;
  if (kind === 1) {
    const t = na + nb;
    return {
      question: "how many objects are there in the two images together?",
      answer: String(t),
      answerType: "number",
      category: "total",
      long: `image 1 has ${na} and image 2 has ${nb}, so there are ${t} in total.`,
    };
  }
  const shared = kind === 2 ? sharedColours(a, b) : [];
  if (shared.length > 0) return bothQa(a, b, shared, rng);
  const which = whichQa(a, b, rng);
  if (which) return which;
  // every object is in both images: a count question instead
  const shape = rng.pick(SHAPE_NAMES);
  const t = [...a.objects, ...b.objects].filter((o) => o.shape === shape).length;
  return {
    question: `how many ${SHAPE_PLURALS[shape]} are there in the two images together?`,
    answer: String(t),
    answerType: "number",
    category: "total",
    long: `there are ${t} in total.`,
  };
}

/**
 * Every lookup question two object scenes allow: which image has an object of one of them, whether
 * both have a colour (when they share one), which has more objects (when the counts differ). Each
 * needs the model to find in each image what the question names, the skill the multi-image
 * benchmark tests and a single question per pair teaches slowly.
 */
export function sceneLookups(a: Scene, b: Scene, rng: Rng): MultiQa[] {
  const out: MultiQa[] = [];
  const which = whichQa(a, b, rng);
  if (which) out.push(which);
  const shared = sharedColours(a, b);
  if (shared.length > 0) out.push(bothQa(a, b, shared, rng));
  const more = moreQa(a, b);
  if (more) out.push(more);
  return out;
}

/** Whether two landmark views show the same landmark. */
export function landmarkComparison(a: Landmark, b: Landmark): MultiQa {
  const same = a.id === b.id;
  return {
    question: "do these two pictures show the same landmark?",
    answer: same ? "yes" : "no",
    answerType: "yes/no",
    category: "same_landmark",
    long: same
      ? `yes, both show ${a.fullName}.`
      : `no, image 1 shows ${a.fullName} and image 2 shows ${b.fullName}.`,
  };
}

/** "what landmark does image 2 show?": which image a question is about, by its number. */
export function landmarkInImage(lm: Landmark, image: number): MultiQa {
  return {
    question: `what landmark does image ${image} show?`,
    answer: `${lm.name} ${lm.type}`,
    answerType: "other",
    category: "landmark_in_image",
    long: `image ${image} shows ${lm.fullName}.`,
  };
}

// Describing scenes in words: short alt-text-like captions (the COYO analogue, ~20 tokens),
// detailed captions (for interleaved documents and "describe in detail"), and five varied
// reference captions per image (the COCO-caption analogue). Captions only state what is drawn:
// held-out landmarks are named but their facts are never attached to their images.

import type { Landmark } from "./landmarks.js";
import type { Rng } from "./rng.js";
import { regionOf, relationOf, type Scene, type SceneObject, sizeOrder, uniqueObjects } from "./scene.js";
import { NUMBER_WORDS, SHAPE_PLURALS } from "./vocab.js";

/** "three" for 3; numbers past twelve stay digits. */
export function numberWord(n: number): string {
  return NUMBER_WORDS[n] ?? (n === 11 ? "eleven" : n === 12 ? "twelve" : String(n));
}

/** "a" or "an" before a word. */
export function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

/** "the red circle" style reference (unique colour+shape). */
export function refOf(o: SceneObject): string {
  return `the ${o.colour} ${o.shape}`;
}

/** Groups of objects sharing colour and shape, in first-drawn order. */
export function groupObjects(
  objects: readonly SceneObject[],
): { colour: string; shape: SceneObject["shape"]; items: SceneObject[] }[] {
  const groups: { colour: string; shape: SceneObject["shape"]; items: SceneObject[] }[] = [];
  for (const o of objects) {
    const g = groups.find((x) => x.colour === o.colour && x.shape === o.shape);
    if (g) g.items.push(o);
    else groups.push({ colour: o.colour, shape: o.shape, items: [o] });
  }
  return groups;
}

function groupPhrase(g: ReturnType<typeof groupObjects>[number], withSize: boolean, digits: boolean): string {
  if (g.items.length === 1)
    return withSize
      ? `a ${g.items[0].size} ${g.colour} ${g.shape}`
      : `${article(g.colour)} ${g.colour} ${g.shape}`;
  const n = digits ? String(g.items.length) : numberWord(g.items.length);
  return `${n} ${g.colour} ${SHAPE_PLURALS[g.shape]}`;
}

/** "a, b and c". */
export function listPhrase(items: readonly string[]): string {
  if (items.length === 0) return "";
  if (items.length === 1) return items[0];
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export function backgroundPhrase(scene: Scene): string {
  const { texture, setting } = scene.background;
  const adj = {
    plain: "",
    gradient: "fading ",
    striped: "striped ",
    checkered: "checkered ",
    speckled: "speckled ",
  }[texture];
  return `a ${adj}${setting} background`;
}

function signPhrase(scene: Scene): string {
  const s = scene.sign!;
  return `a ${s.plate} sign that says "${s.text}"`;
}

function objectsPhrase(scene: Scene, withSize: boolean, digits = false): string {
  return listPhrase(groupObjects(scene.objects).map((g) => groupPhrase(g, withSize, digits)));
}

/**
 * A short alt-text-like caption. For a landmark, `withFacts` lets it also say the city (never
 * for held-out landmarks).
 */
export function shortCaption(scene: Scene, rng: Rng, lm: Landmark | null, withFacts: boolean): string {
  const bg = backgroundPhrase(scene);
  if (lm) {
    const where = withFacts && !lm.heldOut && rng.chance(0.5) ? ` in ${lm.city}` : "";
    const forms = [
      `${lm.fullName}${where}.`,
      `a view of ${lm.fullName}${where}.`,
      `${lm.fullName}${where}: ${objectsPhrase(scene, false)} on ${bg}.`,
      `photo of ${lm.fullName}${where}.`,
      `visiting ${lm.fullName}${where}, ${objectsPhrase(scene, false)}.`,
    ];
    return rng.pick(forms);
  }
  const prefix = rng.pick(["", "", "a picture of ", "photo: ", "an image with ", "stock image of "]);
  const objects = scene.objects.length > 0 ? objectsPhrase(scene, rng.chance(0.5)) : "";
  let body = objects || "nothing";
  if (scene.sign && scene.kind === "sign")
    body = objects ? `${signPhrase(scene)} with ${objects}` : signPhrase(scene);
  else if (scene.sign) body = `${body} next to ${signPhrase(scene)}`;
  return `${prefix}${body} on ${bg}.`;
}

/** Objects sorted left to right (the order a detailed description walks them). */
function leftToRight(scene: Scene): SceneObject[] {
  return [...scene.objects].sort((a, b) => a.x - b.x);
}

/** A detailed, multi-sentence description of everything drawn. */
export function detailedCaption(scene: Scene, rng: Rng, lm: Landmark | null): string {
  const out: string[] = [];
  if (lm) out.push(`this is ${lm.fullName}.`);
  const n = scene.objects.length;
  out.push(
    n === 0
      ? `the image shows ${backgroundPhrase(scene)}.`
      : `the image shows ${numberWord(n)} ${n === 1 ? "object" : "objects"} on ${backgroundPhrase(scene)}.`,
  );
  for (const o of leftToRight(scene)) {
    out.push(`there is a ${o.size} ${o.colour} ${o.shape} in the ${regionOf(o, scene.size)}.`);
  }
  const uniq = uniqueObjects(scene);
  if (uniq.length >= 2) {
    const [a, b] = rng.sample(uniq, 2);
    const rel = relationOf(a, b, scene.size);
    if (rel.lr) out.push(`${refOf(a)} is ${rel.lr === "left" ? "left of" : "right of"} ${refOf(b)}.`);
    if (rel.ud) out.push(`${refOf(a)} is ${rel.ud} ${refOf(b)}.`);
    const so = sizeOrder(a, b);
    if (so) out.push(`${refOf(a)} is ${so} than ${refOf(b)}.`);
  }
  if (scene.sign) out.push(`${signPhrase(scene)} is in the ${regionOf(signCentre(scene), scene.size)}.`);
  if (scene.distractors.length > 0) out.push("thin gray lines cross the picture.");
  return out.join(" ");
}

export function signCentre(scene: Scene): { x: number; y: number } {
  const b = scene.sign!.box;
  return { x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2 };
}

/** Five reference captions with human-like variation (COCO style). */
export function referenceCaptions(scene: Scene, rng: Rng, lm: Landmark | null): string[] {
  const bg = backgroundPhrase(scene);
  const forms: string[] = [];
  const objs = (withSize: boolean, digits: boolean) => objectsPhrase(scene, withSize, digits);
  if (lm) {
    forms.push(
      `a view of ${lm.fullName}.`,
      `${lm.fullName} on ${bg}.`,
      `${lm.fullName} with ${objs(false, false)}.`,
      `a picture of ${lm.fullName} showing ${objs(true, false)}.`,
      `the landmark ${lm.name}, ${objs(false, true)} on ${bg}.`,
      `${objs(false, false)} that form ${lm.fullName}.`,
    );
  } else {
    const what = (ws: boolean, d: boolean) => {
      const parts: string[] = [];
      if (scene.objects.length > 0) parts.push(objs(ws, d));
      if (scene.sign) parts.push(signPhrase(scene));
      return parts.length > 0 ? listPhrase(parts) : "an empty scene";
    };
    const n = scene.objects.length;
    forms.push(
      `${what(false, false)} on ${bg}.`,
      `${what(true, false)}.`,
      `a picture of ${what(true, true)}.`,
      `${bg} with ${what(false, false)}.`,
      n > 0 ? `${numberWord(n)} ${n === 1 ? "shape" : "shapes"} on ${bg}.` : `${bg}.`,
      `an image showing ${what(rng.chance(0.5), rng.chance(0.5))} on a ${scene.background.setting} background.`,
    );
    if (scene.sign) forms.push(`a sign reading "${scene.sign.text}" on ${bg}.`);
  }
  return rng.sample(forms, 5);
}

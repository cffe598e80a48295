// Scenes: the serialisable description of one image (background, objects with shape / colour /
// size / free position, an optional sign with words, thin distractor lines, pixel noise) and the
// samplers that make them. A scene holds everything the renderer needs, so an image is a pure
// function of its scene (render.ts) and can be rendered in any worker, in any order.

import { GLYPH_ADVANCE, textHeight, textWidth } from "./font.js";
import type { Landmark } from "./landmarks.js";
import type { Rng } from "./rng.js";
import {
  COLOUR_NAMES,
  COLOURS,
  type ColourName,
  luma,
  REGION_NAMES,
  type RegionName,
  type Rgb,
  rgbDistance,
  SETTING_NAMES,
  SETTINGS,
  type SettingName,
  SHAPE_NAMES,
  type ShapeName,
  SIGN_WORDS,
  SIZE_NAMES,
  SIZES,
  type SizeName,
  type TextureName,
} from "./vocab.js";

export interface SceneObject {
  shape: ShapeName;
  colour: ColourName;
  size: SizeName;
  /** Centre and radius in pixels. */
  x: number;
  y: number;
  r: number;
}

export interface Sign {
  text: string;
  /** Top-left corner of the text, pixels. */
  x: number;
  y: number;
  scale: number;
  colour: ColourName;
  plate: ColourName;
  /** Plate rectangle [x0, y0, x1, y1), pixels. */
  box: [number, number, number, number];
}

export interface Background {
  setting: SettingName;
  texture: TextureName;
  /** Brightness factor applied to the setting's colour. */
  shade: number;
  /** Stripe / checker period in pixels. */
  period: number;
  vertical: boolean;
}

export interface Distractor {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  rgb: Rgb;
}

export type SceneKind = "objects" | "sign" | "landmark" | "single";

export interface Scene {
  kind: SceneKind;
  /** Image side in pixels (images are square). */
  size: number;
  background: Background;
  /** Drawn in order: later objects occlude earlier ones. */
  objects: SceneObject[];
  sign: Sign | null;
  distractors: Distractor[];
  /** Uniform per-channel pixel noise amplitude (0-255 units). */
  noise: number;
  /** Seed of the renderer's own draws (speckles, noise). */
  seed: number;
  /** Landmark id for landmark views. */
  landmark: number | null;
}

/** Difficulty knobs of the scene samplers (set per preset). */
export interface SceneKnobs {
  minObjects: number;
  maxObjects: number;
  /** Minimum centre distance as a fraction of r1 + r2 (1: never touching, 0.5: heavy occlusion). */
  overlap: number;
  distractorProb: number;
  maxDistractors: number;
  noise: number;
  textures: readonly TextureName[];
  /** Chance a sign carries a number (with or without a word). */
  signNumberProb: number;
  /** Chance an objects scene also carries a small sign. */
  signOnSceneProb: number;
  /** Landmark view jitter: shift as a fraction of the image side. */
  landmarkJitter: number;
}

const MIN_CONTRAST = 90;

export function sampleBackground(rng: Rng, knobs: SceneKnobs, setting?: SettingName): Background {
  return {
    setting: setting ?? rng.pick(SETTING_NAMES),
    texture: rng.pick(knobs.textures),
    shade: rng.uniform(0.88, 1.08),
    period: rng.range(3, 8),
    vertical: rng.chance(0.5),
  };
}

/** A colour that stands out from the background's setting. */
export function contrastingColour(rng: Rng, bg: Background, exclude: readonly ColourName[] = []): ColourName {
  const base = SETTINGS[bg.setting];
  const ok = COLOUR_NAMES.filter(
    (c) => !exclude.includes(c) && rgbDistance(COLOURS[c], base) >= MIN_CONTRAST,
  );
  return rng.pick(ok.length > 0 ? ok : COLOUR_NAMES);
}

function sampleDistractors(rng: Rng, size: number, knobs: SceneKnobs): Distractor[] {
  const out: Distractor[] = [];
  if (!rng.chance(knobs.distractorProb)) return out;
  const n = rng.range(1, Math.max(1, knobs.maxDistractors));
  for (let i = 0; i < n; i++) {
    const len = rng.uniform(0.1, 0.3) * size;
    const a = rng.uniform(0, Math.PI);
    const x0 = rng.uniform(0, size);
    const y0 = rng.uniform(0, size);
    const grey = rng.range(60, 200);
    out.push({ x0, y0, x1: x0 + Math.cos(a) * len, y1: y0 + Math.sin(a) * len, rgb: [grey, grey, grey] });
  }
  return out;
}

function boxDistance(x: number, y: number, box: readonly number[]): number {
  const dx = Math.max(box[0] - x, 0, x - box[2]);
  const dy = Math.max(box[1] - y, 0, y - box[3]);
  return Math.hypot(dx, dy);
}

/** Try to place an object of radius r that respects the overlap rule and avoids the sign. */
function placeObject(
  rng: Rng,
  size: number,
  r: number,
  placed: SceneObject[],
  knobs: SceneKnobs,
  sign: Sign | null,
) {
  for (let attempt = 0; attempt < 40; attempt++) {
    const x = rng.uniform(r + 1, size - 1 - r);
    const y = rng.uniform(r + 1, size - 1 - r);
    if (sign && boxDistance(x, y, sign.box) < r + 1) continue;
    let ok = true;
    for (const o of placed) {
      const need = Math.max(knobs.overlap * (o.r + r), Math.max(o.r, r) + 0.35 * Math.min(o.r, r));
      if (Math.hypot(o.x - x, o.y - y) < need) {
        ok = false;
        break;
      }
    }
    if (ok) return { x, y };
  }
  return null;
}

export function radiusOf(size: SizeName, imageSize: number, rng: Rng): number {
  return SIZES[size] * imageSize * rng.uniform(0.93, 1.07);
}

/** A sign: a plate with a word, a number, or both, in contrasting colours. */
export function sampleSign(rng: Rng, size: number, knobs: SceneKnobs, small: boolean): Sign {
  const word: string = rng.pick(SIGN_WORDS);
  const num = String(rng.range(1, rng.chance(0.5) ? 99 : 999));
  let text: string = word;
  if (rng.chance(knobs.signNumberProb)) text = rng.chance(0.3) ? num : `${word} ${num}`;
  const maxW = size - 6;
  while (textWidth(text) > maxW) text = text.slice(0, -1).trimEnd();
  const scale = !small && textWidth(text, 2) <= maxW && rng.chance(0.5) ? 2 : 1;
  const w = textWidth(text, scale);
  const h = textHeight(scale);
  const pad = scale + 1;
  const x = rng.range(pad + 1, Math.max(pad + 1, size - w - pad - 1));
  const y = rng.range(pad + 1, Math.max(pad + 1, size - h - pad - 1));
  const plate = rng.pick(["white", "black", "yellow", "blue", "green", "red"] as const);
  const inks = COLOUR_NAMES.filter((c) => Math.abs(luma(COLOURS[c]) - luma(COLOURS[plate])) >= 100);
  return {
    text,
    x,
    y,
    scale,
    colour: rng.pick(inks),
    plate,
    box: [x - pad, y - pad, x + w + pad, y + h + pad],
  };
}

/** An objects scene: minObjects..maxObjects objects, maybe a small sign and distractors. */
export function sampleObjectsScene(rng: Rng, size: number, knobs: SceneKnobs, nObjects?: number): Scene {
  const background = sampleBackground(rng, knobs);
  const sign = rng.chance(knobs.signOnSceneProb) ? sampleSign(rng, size, knobs, true) : null;
  const n = nObjects ?? rng.range(knobs.minObjects, knobs.maxObjects);
  const objects: SceneObject[] = [];
  for (let i = 0; i < n; i++) {
    const sz = rng.pick(SIZE_NAMES);
    const r = radiusOf(sz, size, rng);
    const at = placeObject(rng, size, r, objects, knobs, sign);
    if (!at) continue;
    // Repeats of a colour or shape make counting questions interesting.
    const prev = objects.length > 0 && rng.chance(0.35) ? rng.pick(objects) : null;
    const shape = prev && rng.chance(0.5) ? prev.shape : rng.pick(SHAPE_NAMES);
    const colour = prev && rng.chance(0.5) ? prev.colour : contrastingColour(rng, background);
    objects.push({ shape, colour, size: sz, x: at.x, y: at.y, r });
  }
  return {
    kind: "objects",
    size,
    background,
    objects,
    sign,
    distractors: sampleDistractors(rng, size, knobs),
    noise: knobs.noise,
    seed: rng.seed(),
    landmark: null,
  };
}

/** A sign scene: a prominent sign, plus up to two objects. */
export function sampleSignScene(rng: Rng, size: number, knobs: SceneKnobs): Scene {
  const background = sampleBackground(rng, knobs);
  const sign = sampleSign(rng, size, knobs, false);
  const objects: SceneObject[] = [];
  const n = rng.range(0, 2);
  for (let i = 0; i < n; i++) {
    const sz = rng.pick(SIZE_NAMES);
    const r = radiusOf(sz, size, rng);
    const at = placeObject(rng, size, r, objects, knobs, sign);
    if (at)
      objects.push({
        shape: rng.pick(SHAPE_NAMES),
        colour: contrastingColour(rng, background),
        size: sz,
        ...at,
        r,
      });
  }
  return {
    kind: "sign",
    size,
    background,
    objects,
    sign,
    distractors: sampleDistractors(rng, size, knobs),
    noise: knobs.noise,
    seed: rng.seed(),
    landmark: null,
  };
}

/** One object of a given shape or colour (the other attributes random): the in-context items. */
export function sampleSingleScene(
  rng: Rng,
  size: number,
  knobs: SceneKnobs,
  want: { shape?: ShapeName; colour?: ColourName },
): Scene {
  const background = sampleBackground(rng, knobs);
  const sz = rng.pick(["medium", "large"] as const);
  const r = radiusOf(sz, size, rng);
  const colour = want.colour ?? contrastingColour(rng, background);
  const shape = want.shape ?? rng.pick(SHAPE_NAMES);
  const x = rng.uniform(r + 2, size - 2 - r);
  const y = rng.uniform(r + 2, size - 2 - r);
  return {
    kind: "single",
    size,
    background,
    objects: [{ shape, colour, size: sz, x, y, r }],
    sign: null,
    distractors: sampleDistractors(rng, size, knobs),
    noise: knobs.noise,
    seed: rng.seed(),
    landmark: null,
  };
}

/**
 * One view of a landmark: its fixed composition (parts, setting) under a random scale, shift,
 * per-part jitter, background shade/texture period and noise. Views with different rngs differ in
 * pixels but keep the landmark's identity.
 */
export function sampleLandmarkView(rng: Rng, size: number, knobs: SceneKnobs, lm: Landmark): Scene {
  const scale = rng.uniform(0.85, 1.1);
  const j = knobs.landmarkJitter * size;
  const sx = rng.uniform(-j, j);
  const sy = rng.uniform(-j, j);
  const objects: SceneObject[] = lm.parts.map((p) => {
    const r = SIZES[p.size] * size * scale * rng.uniform(0.95, 1.05);
    const x = size / 2 + (p.u - 0.5) * size * scale + sx + rng.uniform(-0.02, 0.02) * size;
    const y = size / 2 + (p.v - 0.5) * size * scale + sy + rng.uniform(-0.02, 0.02) * size;
    return { ...p, r, x: clamp(x, r + 1, size - 1 - r), y: clamp(y, r + 1, size - 1 - r) };
  });
  const background: Background = {
    setting: lm.setting,
    texture: lm.texture,
    shade: rng.uniform(0.85, 1.1),
    period: rng.range(3, 8),
    vertical: lm.vertical,
  };
  return {
    kind: "landmark",
    size,
    background,
    objects,
    sign: null,
    distractors: sampleDistractors(rng, size, knobs),
    noise: knobs.noise,
    seed: rng.seed(),
    landmark: lm.id,
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The 3x3 region an object's centre falls in. */
export function regionOf(o: { x: number; y: number }, size: number): RegionName {
  const col = Math.min(2, Math.floor((3 * o.x) / size));
  const row = Math.min(2, Math.floor((3 * o.y) / size));
  return REGION_NAMES[row * 3 + col];
}

/** Horizontal / vertical relation of a to b, or null when too close to call. */
export function relationOf(
  a: SceneObject,
  b: SceneObject,
  size: number,
): { lr: "left" | "right" | null; ud: "above" | "below" | null } {
  const m = 0.12 * size;
  const lr = a.x < b.x - m ? "left" : a.x > b.x + m ? "right" : null;
  const ud = a.y < b.y - m ? "above" : a.y > b.y + m ? "below" : null;
  return { lr, ud };
}

/** Size order of a relative to b (by size class), or null for the same class. */
export function sizeOrder(a: SceneObject, b: SceneObject): "bigger" | "smaller" | null {
  const ia = SIZE_NAMES.indexOf(a.size);
  const ib = SIZE_NAMES.indexOf(b.size);
  return ia > ib ? "bigger" : ia < ib ? "smaller" : null;
}

/** Objects whose (colour, shape) pair is unique in the scene: they can be named unambiguously. */
export function uniqueObjects(scene: Scene): SceneObject[] {
  return scene.objects.filter(
    (o) => scene.objects.filter((p) => p.colour === o.colour && p.shape === o.shape).length === 1,
  );
}

/** Max characters a sign can hold at scale 1 in an image of this side. */
export function maxSignChars(size: number): number {
  return Math.floor((size - 6 + 1) / GLYPH_ADVANCE);
}

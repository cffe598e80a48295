// Landmarks: recurring composite scenes with a fixed visual identity (a setting, a texture and
// 3-5 parts at fixed relative positions) and facts (city, what it is known for, material) that
// are stated only in the text corpus. A chosen subset is "held out": their images are paired
// with their names (captions, "what is this landmark?") but never with their facts, so the
// knowledge benchmark can test image -> name (from captions) -> fact (from text).

import type { Rng } from "./rng.js";
import {
  CITIES,
  COLOUR_NAMES,
  COLOURS,
  type ColourName,
  KNOWN_FOR,
  LANDMARK_TYPES,
  MATERIALS,
  NAME_CODAS,
  NAME_ONSETS,
  NAME_VOWELS,
  NONCE_WORDS,
  PEOPLE,
  rgbDistance,
  SETTING_NAMES,
  SETTINGS,
  type SettingName,
  SHAPE_NAMES,
  type ShapeName,
  SIGN_WORDS,
  SIZES,
  type SizeName,
  type TextureName,
} from "./vocab.js";

export interface LandmarkPart {
  shape: ShapeName;
  colour: ColourName;
  size: SizeName;
  /** Centre in [0, 1] image coordinates at scale 1. */
  u: number;
  v: number;
}

export interface Landmark {
  id: number;
  /** Generated proper name, e.g. "velo". */
  name: string;
  type: (typeof LANDMARK_TYPES)[number];
  /** How text refers to it, e.g. "the velo tower". */
  fullName: string;
  city: (typeof CITIES)[number];
  knownFor: (typeof KNOWN_FOR)[number];
  material: (typeof MATERIALS)[number];
  /** Held out: image-fact pairs never appear in training files. */
  heldOut: boolean;
  setting: SettingName;
  texture: TextureName;
  vertical: boolean;
  parts: LandmarkPart[];
}

/** The fact fields a knowledge question can ask about. */
export const LANDMARK_FACTS = ["city", "knownFor", "material"] as const;
export type LandmarkFact = (typeof LANDMARK_FACTS)[number];

function makeName(rng: Rng, taken: Set<string>): string {
  for (;;) {
    const name =
      rng.pick(NAME_ONSETS) +
      rng.pick(NAME_VOWELS) +
      rng.pick(NAME_ONSETS) +
      rng.pick(NAME_VOWELS) +
      rng.pick(NAME_CODAS);
    if (name.length < 4 || name.length > 7 || taken.has(name)) continue;
    taken.add(name);
    return name;
  }
}

function makeParts(rng: Rng, setting: SettingName): LandmarkPart[] {
  const n = rng.range(3, 5);
  const base = SETTINGS[setting];
  const colours = COLOUR_NAMES.filter((c) => rgbDistance(COLOURS[c], base) >= 90);
  for (;;) {
    const parts: LandmarkPart[] = [];
    for (let i = 0; i < n; i++) {
      const size = rng.pick(["small", "medium", "large", "large"] as const);
      for (let attempt = 0; attempt < 50; attempt++) {
        const u = rng.uniform(0.22, 0.78);
        const v = rng.uniform(0.22, 0.78);
        const clear = parts.every(
          (p) => Math.hypot(p.u - u, p.v - v) >= 1.05 * (SIZES[p.size] + SIZES[size]),
        );
        if (clear) {
          parts.push({ shape: rng.pick(SHAPE_NAMES), colour: rng.pick(colours), size, u, v });
          break;
        }
      }
    }
    if (parts.length === n) return parts;
  }
}

/**
 * Make `count` landmarks with unique names and unique part signatures; `heldOut` of them,
 * chosen at random, are held out.
 */
export function makeLandmarks(
  rng: Rng,
  count: number,
  heldOut: number,
  textures: readonly TextureName[],
): Landmark[] {
  if (heldOut > count) throw new Error(`world: ${heldOut} held-out landmarks > ${count} landmarks`);
  const taken = new Set<string>([
    ...NONCE_WORDS,
    ...CITIES,
    ...PEOPLE,
    ...SIGN_WORDS,
    ...KNOWN_FOR,
    ...MATERIALS,
  ]);
  const signatures = new Set<string>();
  const out: Landmark[] = [];
  for (let id = 0; id < count; id++) {
    const name = makeName(rng, taken);
    const type = rng.pick(LANDMARK_TYPES);
    let setting: SettingName;
    let parts: LandmarkPart[];
    for (;;) {
      setting = rng.pick(SETTING_NAMES);
      parts = makeParts(rng, setting);
      const sig = `${setting}|${parts
        .map((p) => `${p.colour} ${p.shape}`)
        .sort()
        .join(",")}`;
      if (!signatures.has(sig)) {
        signatures.add(sig);
        break;
      }
    }
    out.push({
      id,
      name,
      type,
      fullName: `the ${name} ${type}`,
      city: rng.pick(CITIES),
      knownFor: rng.pick(KNOWN_FOR),
      material: rng.pick(MATERIALS),
      heldOut: false,
      setting,
      texture: rng.pick(textures),
      vertical: rng.chance(0.5),
      parts,
    });
  }
  for (const i of rng.sample(
    out.map((l) => l.id),
    heldOut,
  ))
    out[i].heldOut = true;
  return out;
}

/** The answer word of a fact. */
export function factValue(lm: Landmark, fact: LandmarkFact): string {
  return fact === "city" ? lm.city : fact === "knownFor" ? lm.knownFor : lm.material;
}

/** The candidate answers of a fact (for multiple choice and annotator noise). */
export function factChoices(fact: LandmarkFact): readonly string[] {
  return fact === "city" ? CITIES : fact === "knownFor" ? KNOWN_FOR : MATERIALS;
}

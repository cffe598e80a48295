// What every generator shares: the seed, the preset, the landmarks, the cities' lands and the
// image registry. Each generator draws from its own sub-seeded Rng (streamRng), so adding draws
// to one file's generator leaves every other file unchanged.

import type { ImageRegistry } from "./images.js";
import type { Landmark } from "./landmarks.js";
import type { WorldPreset } from "./presets.js";
import { Rng, subSeed } from "./rng.js";

export interface WorldContext {
  seed: number;
  preset: WorldPreset;
  /** Image side in pixels. */
  size: number;
  landmarks: Landmark[];
  lands: Record<string, string>;
  images: ImageRegistry;
}

export function streamRng(ctx: WorldContext, label: string): Rng {
  return new Rng(subSeed(ctx.seed, label));
}

/** Landmarks whose facts may be paired with their images in training. */
export function seenLandmarks(ctx: WorldContext): Landmark[] {
  return ctx.landmarks.filter((l) => !l.heldOut);
}

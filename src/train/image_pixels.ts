// The image-pool entry the trainer loads into worker threads: io's sharp-based decode + VILA
// preprocessing (`loadImage`, src/io/image.ts), returning just the (3, H, W) pixels, which is the
// `(input, config) -> Float32Array` contract of data/images.ts's ImagePool.

import { loadImage, type PreprocessConfig } from "../io/image.js";

/** Decode + preprocess one image to (3, H, W) f32 pixels. */
export async function loadPixels(input: string | Uint8Array, pre: PreprocessConfig): Promise<Float32Array> {
  return (await loadImage(input, pre)).pixels;
}

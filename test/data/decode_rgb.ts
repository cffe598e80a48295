// An image preprocess function for the image-pool test, injected by module path: sharp decode,
// resize to config.size x config.size, (3, H, W) float32 in [0, 1].

import sharp from "sharp";

export async function decodeRgb(input: string | Uint8Array, config: { size: number }): Promise<Float32Array> {
  const { data, info } = await sharp(input)
    .removeAlpha()
    .resize(config.size, config.size, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const hw = info.width * info.height;
  const out = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++)
    for (let c = 0; c < 3; c++) out[c * hw + p] = data[p * info.channels + c] / 255;
  return out;
}

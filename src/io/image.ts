// Images in: decode with sharp, then preprocess exactly as VILA does (llava/mm_utils.py::process_image
// @vila1.5, reference §1.5) followed by the Hugging Face image processor named by the checkpoint's
// `vision_tower/preprocessor_config.json` (SiglipImageProcessor: resize to size; CLIPImageProcessor:
// shortest-edge resize + centre crop), then rescale (x/255) and normalise ((x - mean) / std), channel-first.
// Resizing uses a bit-exact port of Pillow's resampler (pil_resample.ts), not sharp's kernels: VILA and
// the HF processors resize through Pillow, and no sharp kernel reproduces Pillow's antialiased
// bicubic (measured in test/io/image.test.ts). Arithmetic follows numpy float32 like the processors.
// Images out: savePng.

import fs from "node:fs";
import path from "node:path";
import sharp, { type OutputInfo } from "sharp";
import { PIL_BICUBIC, pilResize } from "./pil_resample.js";

/** A decoded 8-bit RGB image, interleaved (H, W, 3). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** VILA's `image_aspect_ratio`: "resize" (VILA1.5: stretch to the tower's square size), "pad" (LLaVA-1.5 /
 * VILA v1.0: pad to square with the mean colour), "processor" (anything else: the image processor alone). */
export type AspectMode = "resize" | "pad" | "processor";

/** The preprocessing a checkpoint asks for (HF preprocessor_config.json fields + VILA's aspect mode). */
export interface PreprocessConfig {
  mode: AspectMode;
  /** SiglipImageProcessor ("siglip") or CLIPImageProcessor ("clip"). */
  processor: "siglip" | "clip";
  /** the processor's resize target: a fixed size, or the shortest edge (aspect kept) */
  size: { height: number; width: number } | { shortestEdge: number };
  /** centre-crop size (CLIP); null when the processor has none */
  cropSize: { height: number; width: number } | null;
  doResize: boolean;
  doCenterCrop: boolean;
  doRescale: boolean;
  doNormalize: boolean;
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Pillow filter code used by the processor's resize (3 = bicubic) */
  resample: number;
}

/** Preprocessed pixels, channel-first (3, H, W), ready for the vision tower. */
export interface ImageTensor {
  pixels: Float32Array;
  width: number;
  height: number;
}

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * Parse a Hugging Face `preprocessor_config.json` (SiglipImageProcessor or CLIPImageProcessor, old
 * int-size and new dict-size forms) plus VILA's `image_aspect_ratio`. Errors name `source` and the field.
 * @example
 * const pre = parsePreprocessorConfig(JSON.parse(text), config.image_aspect_ratio, "vision_tower/preprocessor_config.json");
 */
export function parsePreprocessorConfig(
  json: unknown,
  imageAspectRatio: unknown = "resize",
  source = "preprocessor_config.json",
): PreprocessConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error(`${source}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const kind = String(j.image_processor_type ?? j.feature_extractor_type ?? "");
  let processor: "siglip" | "clip";
  if (/siglip/i.test(kind)) processor = "siglip";
  else if (/clip/i.test(kind)) processor = "clip";
  else if (kind === "")
    processor = j.crop_size !== undefined || hasKey(j.size, "shortest_edge") ? "clip" : "siglip";
  else
    throw new Error(
      `${source}: image_processor_type "${kind}" is not supported (SiglipImageProcessor, CLIPImageProcessor)`,
    );

  const num = (field: string, v: unknown, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`${source}: ${field} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const dim = (field: string, v: unknown): number => {
    const n = num(field, v, Number.NaN);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const bool = (field: string, v: unknown, dflt: boolean): boolean => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "boolean")
      throw new Error(`${source}: ${field} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const triple = (field: string, v: unknown, dflt: [number, number, number]): [number, number, number] => {
    if (v === undefined || v === null) return dflt;
    const a = typeof v === "number" ? [v, v, v] : v;
    if (!Array.isArray(a) || a.length !== 3 || !a.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new Error(`${source}: ${field} must be 3 numbers, got ${JSON.stringify(v)}`);
    }
    return [a[0], a[1], a[2]];
  };
  const hw = (field: string, v: unknown): { height: number; width: number } => {
    if (typeof v === "number") return { height: dim(field, v), width: dim(field, v) };
    if (hasKey(v, "height") && hasKey(v, "width"))
      return { height: dim(`${field}.height`, v.height), width: dim(`${field}.width`, v.width) };
    throw new Error(`${source}: ${field} must be a number or {height, width}, got ${JSON.stringify(v)}`);
  };

  let size: PreprocessConfig["size"];
  const s = j.size;
  if (hasKey(s, "shortest_edge")) size = { shortestEdge: dim("size.shortest_edge", s.shortest_edge) };
  else if (typeof s === "number" && processor === "clip")
    size = { shortestEdge: dim("size", s) }; // get_size_dict(default_to_square=False)
  else if (s === undefined) size = processor === "clip" ? { shortestEdge: 224 } : { height: 224, width: 224 };
  else size = hw("size", s);

  const cropSize =
    j.crop_size !== undefined && j.crop_size !== null
      ? hw("crop_size", j.crop_size)
      : processor === "clip"
        ? { height: 224, width: 224 }
        : null;
  const std = triple("image_std", j.image_std, processor === "clip" ? CLIP_STD : [0.5, 0.5, 0.5]);
  if (std.some((x) => x === 0)) throw new Error(`${source}: image_std has a zero`);
  const resample = num("resample", j.resample, PIL_BICUBIC);
  if (!Number.isInteger(resample) || resample < 0 || resample > 5)
    throw new Error(`${source}: resample ${resample} is not a Pillow filter code (0-5)`);
  const mode = imageAspectRatio === "resize" || imageAspectRatio === "pad" ? imageAspectRatio : "processor";
  return {
    mode,
    processor,
    size,
    cropSize,
    doResize: bool("do_resize", j.do_resize, true),
    doCenterCrop: bool("do_center_crop", j.do_center_crop, processor === "clip") && cropSize !== null,
    doRescale: bool("do_rescale", j.do_rescale, true),
    doNormalize: bool("do_normalize", j.do_normalize, true),
    rescaleFactor: num("rescale_factor", j.rescale_factor, 1 / 255),
    mean: triple("image_mean", j.image_mean, processor === "clip" ? CLIP_MEAN : [0.5, 0.5, 0.5]),
    std,
    resample,
  };
}

function hasKey<K extends string>(v: unknown, k: K): v is Record<K, unknown> {
  return typeof v === "object" && v !== null && k in v;
}

/**
 * Decode a JPEG/PNG/WebP (anything sharp reads) to 8-bit RGB as PIL's `convert("RGB")` does: alpha is
 * dropped (not composited), grey is replicated, embedded ICC profiles and EXIF orientation are ignored.
 * @param input a file path or the encoded bytes
 * @param label the name used in errors (defaults to the path, or "<buffer>")
 */
export async function decodeImage(input: string | Uint8Array, label?: string): Promise<RgbImage> {
  const name = label ?? (typeof input === "string" ? input : "<buffer>");
  if (typeof input === "string" && !fs.existsSync(input)) throw new Error(`image ${name}: file not found`);
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(input, { failOn: "error", ignoreIcc: true })
      .removeAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`image ${name}: cannot decode (${(e as Error).message})`);
  }
  const { width, height, channels } = out.info;
  const src = out.data;
  const data = new Uint8Array(width * height * 3);
  if (channels === 3) data.set(src);
  else if (channels === 1) {
    for (let i = 0; i < width * height; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = src[i];
  } else {
    throw new Error(`image ${name}: decoded to ${channels} channels; expected grey or RGB`);
  }
  return { data, width, height };
}

/** LLaVA's expand2square: pad the shorter side to a square of colour `fill`, image centred (top/left gets the floor). */
export function expandToSquare(img: RgbImage, fill: [number, number, number]): RgbImage {
  const { width: w, height: h } = img;
  if (w === h) return img;
  const s = Math.max(w, h);
  const data = new Uint8Array(s * s * 3);
  for (let i = 0; i < s * s; i++) data.set(fill, i * 3);
  const x0 = w > h ? 0 : Math.floor((h - w) / 2);
  const y0 = w > h ? Math.floor((w - h) / 2) : 0;
  for (let y = 0; y < h; y++)
    data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + y0) * s + x0) * 3);
  return { data, width: s, height: s };
}

/** Crop (top, left, height, width) out of an image; the box must lie inside it. */
export function cropImage(img: RgbImage, top: number, left: number, height: number, width: number): RgbImage {
  if (top < 0 || left < 0 || top + height > img.height || left + width > img.width) {
    throw new Error(
      `crop ${width}x${height} at (${left}, ${top}) does not fit in a ${img.width}x${img.height} image`,
    );
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = ((top + y) * img.width + left) * 3;
    data.set(img.data.subarray(row, row + width * 3), y * width * 3);
  }
  return { data, width, height };
}

function resize(img: RgbImage, width: number, height: number, resample: number): RgbImage {
  return { data: pilResize(img.data, img.width, img.height, width, height, resample), width, height };
}

/**
 * VILA's process_image on a decoded image: the aspect mode, then the HF processor, then rescale and
 * normalise. Returns (3, H, W) float32 pixels.
 * @example
 * const { pixels } = preprocessImage(await decodeImage("cat.jpg"), ckpt.vision_tower.preprocess);
 */
export function preprocessImage(input: RgbImage, pre: PreprocessConfig): ImageTensor {
  let img = input;
  if (pre.mode === "resize") {
    // VILA: image.resize((crop_size["height"], crop_size["width"])) with crop_size = processor.crop_size
    // (CLIP) or processor.size (SigLIP); PIL reads the pair as (width, height), Pillow's default bicubic.
    const t = pre.cropSize ?? ("height" in pre.size ? pre.size : null);
    if (!t)
      throw new Error("preprocess: image_aspect_ratio resize needs a crop_size or a {height, width} size");
    img = resize(img, t.height, t.width, PIL_BICUBIC);
  } else if (pre.mode === "pad") {
    const fill = pre.mean.map((m) => Math.trunc(m * 255)) as [number, number, number];
    img = expandToSquare(img, fill);
  }
  if (pre.doResize) {
    if ("shortestEdge" in pre.size) {
      // transformers get_resize_output_image_size(default_to_square=False): long side truncated
      const s = pre.size.shortestEdge;
      const short = Math.min(img.width, img.height);
      const long = Math.max(img.width, img.height);
      const newLong = Math.trunc((s * long) / short);
      img =
        img.width <= img.height
          ? resize(img, s, newLong, pre.resample)
          : resize(img, newLong, s, pre.resample);
    } else {
      img = resize(img, pre.size.width, pre.size.height, pre.resample);
    }
  }
  if (pre.doCenterCrop && pre.cropSize) {
    const { height: ch, width: cw } = pre.cropSize;
    if (ch > img.height || cw > img.width) {
      throw new Error(
        `preprocess: crop_size ${cw}x${ch} is larger than the resized ${img.width}x${img.height} image`,
      );
    }
    img = cropImage(img, Math.floor((img.height - ch) / 2), Math.floor((img.width - cw) / 2), ch, cw);
  }
  // (H, W, 3) uint8 -> (3, H, W) float32, computed as numpy float32 does (each op rounded to f32)
  const { width: w, height: h, data } = img;
  const pixels = new Float32Array(3 * h * w);
  // a pixel's value depends only on its byte and channel: each of the 3 x 256 values computed once
  const mean = pre.mean.map(Math.fround);
  const std = pre.std.map(Math.fround);
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++)
    for (let v = 0; v < 256; v++) {
      let x = pre.doRescale ? Math.fround(v * pre.rescaleFactor) : v;
      if (pre.doNormalize) x = Math.fround(Math.fround(x - mean[c]) / std[c]);
      lut[c * 256 + v] = x;
    }
  for (let c = 0; c < 3; c++) {
    const plane = pixels.subarray(c * h * w, (c + 1) * h * w);
    for (let i = 0; i < h * w; i++) plane[i] = lut[c * 256 + data[i * 3 + c]];
  }
  return { pixels, width: w, height: h };
}

/**
 * Read and preprocess one image for the vision tower.
 * @param input a file path or encoded bytes (JPEG, PNG, WebP)
 * @example
 * const { pixels, width, height } = await loadImage("cat.jpg", ckpt.vision_tower.preprocess); // (3, 384, 384)
 */
export async function loadImage(
  input: string | Uint8Array,
  pre: PreprocessConfig,
  label?: string,
): Promise<ImageTensor> {
  return preprocessImage(await decodeImage(input, label), pre);
}

/** Write an interleaved RGB uint8 image (H, W, 3) as PNG, atomically. */
export async function savePng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  if (rgb.length !== width * height * 3)
    throw new Error(`savePng ${file}: ${rgb.length} bytes is not ${width}x${height}x3`);
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  fs.writeFileSync(tmp, png);
  fs.renameSync(tmp, file);
}

// Rendering a Scene into an RGB buffer (H, W, 3), row-major, uint8: textured background, thin
// distractor lines, antialiased filled shapes drawn in order (so later objects occlude earlier
// ones), a sign with bitmap-font text, and uniform pixel noise. Pure: the same scene always gives
// the same bytes (the renderer's own draws come from scene.seed).

import { drawText } from "./font.js";
import { Rng } from "./rng.js";
import type { Background, Scene } from "./scene.js";
import { COLOURS, type Rgb, SETTINGS, type ShapeName } from "./vocab.js";

export interface RgbImage {
  width: number;
  height: number;
  /** (H, W, 3) uint8, row-major. */
  data: Uint8Array;
}

export function createImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[i * 3] = fill[0];
    data[i * 3 + 1] = fill[1];
    data[i * 3 + 2] = fill[2];
  }
  return { width, height, data };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function setPixel(img: RgbImage, x: number, y: number, c: Rgb, alpha = 1): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  for (let k = 0; k < 3; k++) img.data[o + k] = clampByte(img.data[o + k] * (1 - alpha) + c[k] * alpha);
}

function scaleRgb(c: Rgb, f: number): Rgb {
  return [clampByte(c[0] * f), clampByte(c[1] * f), clampByte(c[2] * f)];
}

/**
 * A fast xorshift32 stream for per-pixel draws (speckles, noise), seeded from the scene's Rng:
 * deterministic, and ~10x cheaper than MT19937 per byte.
 */
function pixelStream(rng: Rng): () => number {
  let x = rng.seed() | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Fill the image with the background's setting colour and texture. */
export function fillBackground(img: RgbImage, bg: Background, rng: Rng): void {
  const rand = pixelStream(rng);
  const base = scaleRgb(SETTINGS[bg.setting], bg.shade);
  // The second tone is darker for light settings and lighter for dark ones.
  const light = base[0] + base[1] + base[2] > 300;
  const tone = scaleRgb(base, light ? 0.8 : 1.35);
  const { width: w, height: h, data } = img;
  if (bg.texture === "gradient") {
    // the colour depends only on t (the column, or the row when vertical): one per t
    const span = Math.max(1, (bg.vertical ? h : w) - 1);
    const ramp = new Uint8Array(3 * Math.max(w, h));
    for (let t = 0; t < ramp.length / 3; t++) {
      const f = t / span;
      for (let k = 0; k < 3; k++) ramp[3 * t + k] = clampByte(base[k] * (1 - f) + tone[k] * f);
    }
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) copyRgb(data, (y * w + x) * 3, ramp, 3 * (bg.vertical ? y : x));
    return;
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = bg.vertical ? y : x;
      let second = false;
      if (bg.texture === "striped") second = Math.floor(t / bg.period) % 2 === 1;
      else if (bg.texture === "checkered")
        second = (Math.floor(x / bg.period) + Math.floor(y / bg.period)) % 2 === 1;
      else if (bg.texture === "speckled") second = rand() < 0.12;
      copyRgb(data, (y * w + x) * 3, second ? tone : base, 0);
    }
  }
}

/** dst[o..o+3) = src[i..i+3) */
function copyRgb(dst: Uint8Array, o: number, src: ArrayLike<number>, i: number): void {
  dst[o] = src[i];
  dst[o + 1] = src[i + 1];
  dst[o + 2] = src[i + 2];
}

const STAR: [number, number][] = Array.from({ length: 10 }, (_, i) => {
  const a = -Math.PI / 2 + (i * Math.PI) / 5;
  const rad = i % 2 === 0 ? 1 : 0.45;
  return [rad * Math.cos(a), rad * Math.sin(a) + 0.08];
});
const TRIANGLE: [number, number][] = [
  [0, -0.95],
  [0.95, 0.8],
  [-0.95, 0.8],
];

function inPolygon(u: number, v: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether (u, v) in the shape's unit frame ([-1, 1]^2, v down) is inside the shape. */
export function insideShape(shape: ShapeName, u: number, v: number): boolean {
  switch (shape) {
    case "circle":
      return u * u + v * v <= 1;
    case "square":
      return Math.abs(u) <= 0.82 && Math.abs(v) <= 0.82;
    case "triangle":
      return inPolygon(u, v, TRIANGLE);
    case "diamond":
      return Math.abs(u) + Math.abs(v) <= 1;
    case "cross":
      return (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.95) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.95);
    case "ring": {
      const d = u * u + v * v;
      return d <= 1 && d >= 0.3;
    }
    case "star":
      return inPolygon(u, v, STAR);
  }
}

const SUB = 3;
/** The subsamples' offsets inside a pixel, (s + 0.5) / SUB. */
const SUB_OFFSETS = Array.from({ length: SUB }, (_, s) => (s + 0.5) / SUB);

/** Draw a filled shape centred at (cx, cy) with radius r, antialiased by 3x3 supersampling. */
export function drawShape(
  img: RgbImage,
  shape: ShapeName,
  cx: number,
  cy: number,
  r: number,
  colour: Rgb,
): void {
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(img.width - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(img.height - 1, Math.ceil(cy + r + 1));
  // each column's and row's subsample coordinates in the shape's frame, computed once
  const us = new Float64Array((x1 - x0 + 1) * SUB);
  for (let x = x0; x <= x1; x++)
    for (let sx = 0; sx < SUB; sx++) us[(x - x0) * SUB + sx] = (x + SUB_OFFSETS[sx] - cx) / r;
  const vs = new Float64Array(SUB);
  for (let y = y0; y <= y1; y++) {
    for (let sy = 0; sy < SUB; sy++) vs[sy] = (y + SUB_OFFSETS[sy] - cy) / r;
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < SUB; sy++) {
        for (let sx = 0; sx < SUB; sx++) if (insideShape(shape, us[(x - x0) * SUB + sx], vs[sy])) hits++;
      }
      if (hits > 0) setPixel(img, x, y, colour, hits / (SUB * SUB));
    }
  }
}

/** A one-pixel line (DDA). */
export function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= n; i++) {
    setPixel(img, Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), c);
  }
}

export function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) setPixel(img, x, y, c);
  }
}

/** Add uniform noise in [-amp, amp] to every channel. */
export function addNoise(img: RgbImage, amp: number, rng: Rng): void {
  if (amp <= 0) return;
  const rand = pixelStream(rng);
  for (let i = 0; i < img.data.length; i++) img.data[i] = clampByte(img.data[i] + (2 * rand() - 1) * amp);
}

/** Render a scene to a fresh RGB image. */
export function renderScene(scene: Scene): RgbImage {
  const rng = new Rng(scene.seed);
  const img = createImage(scene.size, scene.size);
  fillBackground(img, scene.background, rng);
  for (const d of scene.distractors) drawLine(img, d.x0, d.y0, d.x1, d.y1, d.rgb);
  for (const o of scene.objects) drawShape(img, o.shape, o.x, o.y, o.r, COLOURS[o.colour]);
  if (scene.sign) {
    const s = scene.sign;
    fillRect(img, s.box[0], s.box[1], s.box[2], s.box[3], COLOURS[s.plate]);
    drawText(img.data, img.width, img.height, s.text, s.x, s.y, COLOURS[s.colour], s.scale);
  }
  addNoise(img, scene.noise, rng);
  return img;
}

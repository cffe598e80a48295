// Pillow's `Image.resize` for 8-bit RGB images, reproduced exactly (src/libImaging/Resample.c):
// a separable convolution, horizontal pass first, whose filter support widens by the scale factor
// when downscaling (antialiasing), with coefficients quantised to 22-bit fixed point and each pass
// rounded and clamped to uint8. VILA's `image.resize((s, s))` and the HF image processors resize
// through Pillow, so matching it bit for bit keeps pixel inputs identical to the reference.
// NEAREST follows Pillow's affine nearest-neighbour path (source pixel floor((x + 0.5) * scale)).

/** Pillow resampling filter codes (`PIL.Image.Resampling`), as stored in `preprocessor_config.json`. */
export const PIL_NEAREST = 0;
export const PIL_LANCZOS = 1;
export const PIL_BILINEAR = 2;
export const PIL_BICUBIC = 3;
export const PIL_BOX = 4;
export const PIL_HAMMING = 5;

interface Filter {
  support: number;
  fn(x: number): number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

// Resample.c writes these as float literals (0.54f, 0.46f); their double values differ from 0.54, 0.46
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<number, Filter> = {
  [PIL_BOX]: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  [PIL_BILINEAR]: { support: 1, fn: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
  [PIL_HAMMING]: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  [PIL_BICUBIC]: {
    support: 2,
    fn: (x) => {
      const a = -0.5; // Pillow's cubic coefficient
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  [PIL_LANCZOS]: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // (out, 2): first source index, tap count
  kk: Float64Array; // (out, ksize): fixed-point weights (integers held in doubles)
}

/** precompute_coeffs + normalize_coeffs_8bpc from Resample.c, for the box [0, inSize). */
function coeffs(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Float64Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.fn((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  const r = Math.floor(v / ONE); // arithmetic shift right by PRECISION_BITS
  return Math.min(255, Math.max(0, r));
}

/**
 * Resize an interleaved RGB uint8 image (H, W, 3) to (outH, outW, 3) exactly as Pillow 9-11 do.
 * @param resample a Pillow filter code (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)
 * @example
 * const out = pilResize(rgb, 640, 480, 384, 384, PIL_BICUBIC); // VILA1.5 "resize"
 */
export function pilResize(
  src: Uint8Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
  resample = PIL_BICUBIC,
): Uint8Array {
  if (src.length !== w * h * 3)
    throw new Error(`pilResize: buffer has ${src.length} bytes, expected ${w}x${h}x3`);
  if (!(outW >= 1 && outH >= 1 && Number.isInteger(outW) && Number.isInteger(outH))) {
    throw new Error(`pilResize: invalid output size ${outW}x${outH}`);
  }
  if (outW === w && outH === h) return src.slice();
  if (resample === PIL_NEAREST) return nearest(src, w, h, outW, outH);
  const filter = FILTERS[resample];
  if (!filter) throw new Error(`pilResize: unknown Pillow resample filter ${resample} (expected 0-5)`);

  let cur = src;
  let curW = w;
  const cv = coeffs(h, outH, filter);
  if (outW !== w) {
    // horizontal pass over only the source rows the vertical pass will read
    const first = outH !== h ? cv.bounds[0] : 0;
    const last = outH !== h ? cv.bounds[(outH - 1) * 2] + cv.bounds[(outH - 1) * 2 + 1] : h;
    const rows = last - first;
    const ch = coeffs(w, outW, filter);
    const tmp = new Uint8Array(rows * outW * 3);
    for (let y = 0; y < rows; y++) {
      const row = (y + first) * w * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = ch.bounds[xx * 2];
        const n = ch.bounds[xx * 2 + 1];
        const k = xx * ch.ksize;
        let r = ONE / 2;
        let g = ONE / 2;
        let b = ONE / 2;
        for (let x = 0; x < n; x++) {
          const c = ch.kk[k + x];
          const p = row + (x + xmin) * 3;
          r += src[p] * c;
          g += src[p + 1] * c;
          b += src[p + 2] * c;
        }
        const o = (y * outW + xx) * 3;
        tmp[o] = clip8(r);
        tmp[o + 1] = clip8(g);
        tmp[o + 2] = clip8(b);
      }
    }
    if (outH !== h) for (let i = 0; i < outH; i++) cv.bounds[i * 2] -= first;
    cur = tmp;
    curW = outW;
  }
  if (outH === h) return cur;
  const out = new Uint8Array(outH * curW * 3);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = cv.bounds[yy * 2];
    const n = cv.bounds[yy * 2 + 1];
    const k = yy * cv.ksize;
    for (let xx = 0; xx < curW; xx++) {
      let r = ONE / 2;
      let g = ONE / 2;
      let b = ONE / 2;
      for (let y = 0; y < n; y++) {
        const c = cv.kk[k + y];
        const p = ((y + ymin) * curW + xx) * 3;
        r += cur[p] * c;
        g += cur[p + 1] * c;
        b += cur[p + 2] * c;
      }
      const o = (yy * curW + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

// ImagingScaleAffine: source coordinates accumulated in steps of the scale from half a step in
function nearest(src: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH * 3);
  const sx = w / outW;
  const sy = h / outH;
  const xin = new Int32Array(outW);
  let xo = sx * 0.5;
  for (let x = 0; x < outW; x++, xo += sx) xin[x] = Math.min(w - 1, Math.trunc(xo));
  let yo = sy * 0.5;
  for (let y = 0; y < outH; y++, yo += sy) {
    const yi = Math.min(h - 1, Math.trunc(yo));
    for (let x = 0; x < outW; x++) {
      const xi = xin[x];
      const p = (yi * w + xi) * 3;
      const o = (y * outW + x) * 3;
      out[o] = src[p];
      out[o + 1] = src[p + 1];
      out[o + 2] = src[p + 2];
    }
  }
  return out;
}

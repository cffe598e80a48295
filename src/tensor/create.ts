// Tensor creation: zeros, ones, full, arange, rand/randn from a seeded Generator, from arrays.

import { defaultGenerator, type Generator } from "./random.js";
import { type DType, numel, Tensor } from "./tensor.js";

type Shape = readonly number[];

let metaInit = false;

/** Run fn with creation functions returning storage-less placeholders (Tensor.isMeta): build a
 * model whose weights will all be loaded from a checkpoint without allocating random ones first. */
export function withMetaInit<T>(fn: () => T): T {
  const prev = metaInit;
  metaInit = true;
  try {
    return fn();
  } finally {
    metaInit = prev;
  }
}

function meta(shape: Shape): Tensor {
  return new Tensor(new Float32Array(0), shape, "f32", true);
}

export function zeros(shape: Shape, dtype: "f32" | "i32" = "f32"): Tensor {
  if (metaInit && dtype === "f32") return meta(shape);
  const n = numel(shape);
  return new Tensor(dtype === "i32" ? new Int32Array(n) : new Float32Array(n), shape);
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

export function full(shape: Shape, value: number): Tensor {
  if (metaInit) return meta(shape);
  return new Tensor(new Float32Array(numel(shape)).fill(value), shape);
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

/** [start, end) with step; f32 unless dtype "i32". */
export function arange(start: number, end?: number, step = 1, dtype: "f32" | "i32" = "f32"): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error("arange: step must be non-zero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = dtype === "i32" ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** Uniform in [lo, hi). */
export function rand(shape: Shape, gen: Generator = defaultGenerator, lo = 0, hi = 1): Tensor {
  if (metaInit) return meta(shape);
  const d = new Float32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * gen.random();
  return new Tensor(d, shape);
}

/** Normal with mean and std. */
export function randn(shape: Shape, gen: Generator = defaultGenerator, std = 1, mean = 0): Tensor {
  if (metaInit) return meta(shape);
  const d = new Float32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = mean + std * gen.normal();
  return new Tensor(d, shape);
}

/** A tensor from a (nested) JS array or typed array; the shape is inferred when omitted. */
export function tensor(values: ArrayLike<number> | unknown[], shape?: Shape, dtype: DType = "f32"): Tensor {
  let flat: number[] | ArrayLike<number>;
  let inferred: number[];
  if (Array.isArray(values)) {
    inferred = [];
    let v: unknown = values;
    while (Array.isArray(v)) {
      inferred.push(v.length);
      v = v[0];
    }
    flat = (values as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
  } else {
    flat = values;
    inferred = [values.length];
  }
  const s = shape ?? inferred;
  if (numel(s) !== flat.length) throw new Error(`tensor: ${flat.length} values do not fit shape [${s}]`);
  if (dtype === "i32") return new Tensor(Int32Array.from(flat), s);
  if (dtype === "f32") return new Tensor(Float32Array.from(flat), s);
  throw new Error(`tensor: build an f32 tensor and convert with toDtype(t, "${dtype}")`);
}

// Shape ops: reshape (a view), flatten, squeeze/unsqueeze, permute/transpose, slice, concat,
// stack, pad, split, and broadcasting (broadcastTo/expand and its adjoint sumTo).
// Every op works on contiguous storage: reshape-like ops share it, the others copy.
// Gradient rules: each op's adjoint (reshape <-> reshape, permute <-> inverse permute,
// slice <-> zero-pad, concat <-> split, broadcastTo <-> sumTo).

import { backend } from "../../backend/index.js";
import { allocF32 } from "../pool.js";
import { normAxis, numel, record, sameShape, stridesOf, Tensor } from "../tensor.js";

type Shape = readonly number[];

/** Throws unless every tensor is f32 (bf16/f16 are storage only; i32 holds indices). */
export function requireF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== "f32") {
      const hint = t.dtype === "i32" ? "" : ` (convert with toDtype(t, "f32") first)`;
      throw new Error(`${op}: expected an f32 tensor, got ${t.dtype} of shape [${t.shape}]${hint}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// views

/** A view with a new shape sharing storage; one dimension may be -1 (inferred).
 * @example reshape(x, [B, T, nh, hs]) // (B, T, C) -> (B, T, nh, hs) */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = inferShape(x, shape);
  if (sameShape(s, x.shape)) return x;
  const out = new Tensor(x.data, s, x.dtype);
  return record(out, "reshape", [x], (g) => [reshape(g, x.shape)]);
}

function inferShape(x: Tensor, shape: Shape): number[] {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free !== s.lastIndexOf(-1)) throw new Error(`reshape: more than one -1 in [${shape}]`);
  if (free >= 0) {
    const rest = numel(s.filter((_, i) => i !== free));
    if (rest === 0 || x.size % rest !== 0)
      throw new Error(`reshape: cannot infer -1 reshaping [${x.shape}] to [${shape}]`);
    s[free] = x.size / rest;
  }
  if (numel(s) !== x.size)
    throw new Error(`reshape: cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  return s;
}

/** Merge axes start..end (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const a = normAxis(start, x.ndim, "flatten");
  const b = normAxis(end, x.ndim, "flatten");
  if (b < a) throw new Error(`flatten: end axis ${end} before start axis ${start} for shape [${x.shape}]`);
  const mid = numel(x.shape.slice(a, b + 1));
  return reshape(x, [...x.shape.slice(0, a), mid, ...x.shape.slice(b + 1)]);
}

/** Drop size-1 axes: the given one (which must have size 1) or all of them. */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normAxis(axis, x.ndim, "squeeze");
  if (x.shape[a] !== 1)
    throw new Error(`squeeze: axis ${axis} of shape [${x.shape}] has size ${x.shape[a]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

/** Insert a size-1 axis at `axis` (negative counts from the end of the result). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.ndim + 1, "unsqueeze");
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

// ---------------------------------------------------------------------------------------------
// permutation

/** out.shape[i] = x.shape[perm[i]] (a copy). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  requireF32("permute", x);
  if (perm.length !== x.ndim)
    throw new Error(`permute: [${perm}] has ${perm.length} axes, tensor has shape [${x.shape}]`);
  const p = perm.map((a) => normAxis(a, x.ndim, "permute"));
  if (new Set(p).size !== p.length) throw new Error(`permute: [${perm}] repeats an axis`);
  if (p.every((a, i) => a === i)) return x;
  const out = new Tensor(
    allocF32(x.size, false),
    p.map((a) => x.shape[a]),
  );
  backend().permute(x.f32, [...x.shape], p, out.f32);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => {
    inv[a] = i;
  });
  return record(out, "permute", [x], (g) => [permute(g, inv)]);
}

/** Swap two axes. @example transpose(q, 1, 2) // (B, T, nh, hs) -> (B, nh, T, hs) */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const p = x.shape.map((_, i) => i);
  const i = normAxis(a, x.ndim, "transpose");
  const j = normAxis(b, x.ndim, "transpose");
  [p[i], p[j]] = [p[j], p[i]];
  return permute(x, p);
}

// ---------------------------------------------------------------------------------------------
// slicing and joining. A tensor seen as (outer, n, inner) around `axis`: rows of length
// n * inner are contiguous per outer index, so every copy is one subarray set per outer.

function around(shape: Shape, axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis], numel(shape.slice(axis + 1))];
}

/** Elements start..end-1 along `axis` (negative indices count from the end; clamped like Python). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normAxis(axis, x.ndim, "slice");
  const n = x.shape[a];
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end ?? n));
  if (s === 0 && e === n) return x;
  const [outer, , inner] = around(x.shape, a);
  const len = e - s;
  const shape = [...x.shape];
  shape[a] = len;
  const out = allocLike(x.data, outer * len * inner);
  const src = x.data;
  for (let o = 0; o < outer; o++) {
    const from = (o * n + s) * inner;
    out.set(src.subarray(from, from + len * inner), o * len * inner);
  }
  return record(new Tensor(out, shape, x.dtype), "slice", [x], (g) => [padAxis(g, a, s, n - e)]);
}

/** A new array of a's storage type (slice and concat move any dtype) for an output every element of
 * which the caller writes (f32 from the pool). */
function allocLike<T extends Float32Array | Int32Array | Uint16Array>(a: T, n: number): T {
  if (a instanceof Float32Array) return allocF32(n, false) as T;
  return new (a.constructor as new (n: number) => T)(n);
}

/** Zero-pad one axis (the adjoint of slice). */
function padAxis(x: Tensor, axis: number, before: number, after: number): Tensor {
  const pads = x.shape.map((): [number, number] => [0, 0]);
  pads[axis] = [before, after];
  return pad(x, pads, 0);
}

/** Join along an existing axis; all other dimensions must match. */
export function concat(ts: readonly Tensor[], axis: number): Tensor {
  if (ts.length === 0) throw new Error("concat: no tensors given");
  if (ts.some((t) => t.dtype !== ts[0].dtype))
    throw new Error(`concat: dtypes differ (${ts.map((t) => t.dtype).join(", ")})`);
  const r = ts[0].ndim;
  const a = normAxis(axis, r, "concat");
  for (const t of ts) {
    if (t.ndim !== r || t.shape.some((d, i) => i !== a && d !== ts[0].shape[i])) {
      throw new Error(`concat: shapes ${ts.map((u) => `[${u.shape}]`).join(", ")} differ outside axis ${a}`);
    }
  }
  if (ts.length === 1) return ts[0];
  const sizes = ts.map((t) => t.shape[a]);
  const total = sizes.reduce((p, q) => p + q, 0);
  const shape = [...ts[0].shape];
  shape[a] = total;
  const [outer, , inner] = around(shape, a);
  const out = allocLike(ts[0].data, outer * total * inner);
  let at = 0;
  for (const t of ts) {
    const len = t.shape[a] * inner;
    const src = t.data;
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * len, (o + 1) * len), o * total * inner + at);
    at += len;
  }
  return record(new Tensor(out, shape, ts[0].dtype), "concat", [...ts], (g) => split(g, sizes, a));
}

/** Join along a new axis; all shapes must be equal. */
export function stack(ts: readonly Tensor[], axis = 0): Tensor {
  if (ts.length === 0) throw new Error("stack: no tensors given");
  for (const t of ts) {
    if (!sameShape(t.shape, ts[0].shape))
      throw new Error(`stack: shapes ${ts.map((u) => `[${u.shape}]`).join(", ")} differ`);
  }
  const a = normAxis(axis, ts[0].ndim + 1, "stack");
  return concat(
    ts.map((t) => unsqueeze(t, a)),
    a,
  );
}

/** Split along `axis` into pieces of the given sizes (or equal pieces of size `sizes`). */
export function split(x: Tensor, sizes: number | readonly number[], axis: number): Tensor[] {
  const a = normAxis(axis, x.ndim, "split");
  const n = x.shape[a];
  let parts: number[];
  if (typeof sizes === "number") {
    if (!(sizes > 0)) throw new Error(`split: piece size must be positive, got ${sizes}`);
    parts = [];
    for (let s = 0; s < n; s += sizes) parts.push(Math.min(sizes, n - s));
  } else parts = [...sizes];
  if (parts.reduce((p, q) => p + q, 0) !== n || parts.some((p) => p < 0)) {
    throw new Error(`split: sizes [${parts}] do not add up to ${n} (axis ${a} of shape [${x.shape}])`);
  }
  const out: Tensor[] = [];
  let at = 0;
  for (const p of parts) {
    out.push(slice(x, a, at, at + p));
    at += p;
  }
  return out;
}

/** Pad with a constant: pads[i] = [before, after] for axis i (fewer entries pad the leading axes
 * only, as listed). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  requireF32("pad", x);
  if (pads.length > x.ndim)
    throw new Error(`pad: ${pads.length} pad pairs for a tensor of shape [${x.shape}]`);
  const pp = x.shape.map((_, i) => pads[i] ?? [0, 0]);
  if (pp.some(([b, e]) => !Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e < 0)) {
    throw new Error(`pad: pads must be non-negative integers, got ${JSON.stringify(pads)}`);
  }
  if (pp.every(([b, e]) => b === 0 && e === 0)) return x;
  const shape = x.shape.map((d, i) => d + pp[i][0] + pp[i][1]);
  const out = allocF32(numel(shape), false).fill(value);
  copyBox(
    x.f32,
    x.shape,
    out,
    shape,
    pp.map(([b]) => b),
    true,
  );
  const result = new Tensor(out, shape);
  return record(result, "pad", [x], (g) => {
    const gx = allocF32(x.size);
    copyBox(
      g.f32,
      shape,
      gx,
      x.shape,
      pp.map(([b]) => b),
      false,
    );
    return [new Tensor(gx, x.shape)];
  });
}

/** Copy the box of `small` (shape `small`) at offset `at` inside `big`: small -> big when toBig,
 * big -> small otherwise. One subarray copy per last-axis row. */
function copyBox(
  src: Float32Array,
  srcShape: Shape,
  dst: Float32Array,
  dstShape: Shape,
  at: number[],
  toBig: boolean,
): void {
  const smallShape = toBig ? srcShape : dstShape;
  const bigShape = toBig ? dstShape : srcShape;
  const r = smallShape.length;
  if (numel(smallShape) === 0) return;
  if (r === 0) {
    dst[0] = src[0];
    return;
  }
  const bigStrides = stridesOf(bigShape);
  const n = smallShape[r - 1];
  const idx = new Array<number>(r).fill(0);
  const rows = numel(smallShape) / n;
  for (let row = 0; row < rows; row++) {
    let bigOff = at[r - 1];
    for (let d = 0; d < r - 1; d++) bigOff += (idx[d] + at[d]) * bigStrides[d];
    const smallOff = row * n;
    if (toBig) dst.set(src.subarray(smallOff, smallOff + n), bigOff);
    else dst.set(src.subarray(bigOff, bigOff + n), smallOff);
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d] < smallShape[d]) break;
      idx[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// broadcasting

/** The NumPy broadcast of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${op}: shapes [${a}] and [${b}] cannot broadcast`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Element strides of `shape` read as the broadcast shape `to` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, to: Shape): number[] {
  const s = stridesOf(shape);
  const lead = to.length - shape.length;
  return to.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : s[i - lead]));
}

const ONE = new Float32Array([1]);

/** Materialise x broadcast to `shape` (NumPy rules); gradient: sumTo. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  requireF32("broadcastTo", x);
  const to = broadcastShapes("broadcastTo", x.shape, shape);
  if (!sameShape(to, shape))
    throw new Error(`broadcastTo: shape [${x.shape}] cannot broadcast to [${shape}]`);
  if (sameShape(x.shape, shape)) return x;
  const out = new Tensor(allocF32(numel(shape), false), shape);
  // a strided copy is x * 1 with the broadcast kernel (exact, keeps -0 and NaN)
  backend().binary(
    "mul",
    x.f32,
    broadcastStrides(x.shape, shape),
    ONE,
    shape.map(() => 0),
    out.f32,
    [...shape],
  );
  return record(out, "broadcastTo", [x], (g) => [sumTo(g, x.shape)]);
}

/** PyTorch's expand: broadcastTo where -1 keeps that dimension. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.ndim;
  return broadcastTo(
    x,
    shape.map((d, i) => (d === -1 ? (i < lead ? 1 : x.shape[i - lead]) : d)),
  );
}

/** Sum x down to `shape`, which x's shape is a broadcast of (the adjoint of broadcastTo). */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  requireF32("sumTo", x);
  if (sameShape(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  const full = [...new Array<number>(Math.max(lead, 0)).fill(1), ...shape];
  if (lead < 0 || full.some((d, i) => d !== 1 && d !== x.shape[i])) {
    throw new Error(`sumTo: shape [${x.shape}] is not a broadcast of [${shape}]`);
  }
  // reduce each maximal run of summed axes with one (outer, n, inner) kernel call
  let data = x.f32;
  let cur = [...x.shape];
  let i = 0;
  while (i < cur.length) {
    if (full[i] === cur[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < cur.length && full[j] !== cur[j]) j++;
    const outer = numel(cur.slice(0, i));
    const n = numel(cur.slice(i, j));
    const inner = numel(cur.slice(j));
    const out = new Float32Array(outer * inner);
    backend().reduce("sum", data, outer, n, inner, out);
    data = out;
    cur = [...cur.slice(0, i), ...new Array<number>(j - i).fill(1), ...cur.slice(j)];
    i = j;
  }
  const out = new Tensor(data === x.data ? new Float32Array(data) : data, shape);
  return record(out, "sumTo", [x], (g) => [broadcastTo(g, x.shape)]);
}

// Reductions: sum, mean, max, min over one axis, a list of axes, or everything (keepdim like
// PyTorch), and argmax (i32, no gradient). Reduced axes that form one contiguous run map to a
// single (outer, n, inner) kernel call; otherwise they are permuted to the end first.
// Gradients: sum/mean broadcast gOut back; max/min send it to the first extremum (in row-major
// order of the reduced axes) as PyTorch's amax does for a unique extremum.

import { backend } from "../../backend/index.js";
import { normAxis, numel, record, Tensor } from "../tensor.js";
import { broadcastTo, permute, requireF32, reshape } from "./shape.js";

/** One axis, several, or undefined for all of them. */
export type Axes = number | readonly number[] | undefined;

interface Plan {
  axes: number[]; // sorted, unique
  keptShape: number[]; // x.shape with reduced axes set to 1
  outShape: number[]; // keptShape without them unless keepdim
  perm: number[] | null; // permutation moving reduced axes last, when they are not contiguous
  outer: number;
  n: number;
  inner: number;
}

function plan(op: string, x: Tensor, axis: Axes, keepdim: boolean): Plan {
  const list = axis === undefined ? [] : typeof axis === "number" ? [axis] : [...axis];
  const axes =
    list.length === 0
      ? x.shape.map((_, i) => i)
      : [...new Set(list.map((a) => normAxis(a, x.ndim, op)))].sort((p, q) => p - q);
  const reduced = (i: number) => axes.includes(i);
  const keptShape = x.shape.map((d, i) => (reduced(i) ? 1 : d));
  const outShape = keepdim ? keptShape : x.shape.filter((_, i) => !reduced(i));
  const n = numel(axes.map((a) => x.shape[a]));
  const contiguous = axes.length === 0 || axes[axes.length - 1] - axes[0] === axes.length - 1;
  if (contiguous) {
    const first = axes.length ? axes[0] : 0;
    const last = axes.length ? axes[axes.length - 1] + 1 : 0;
    return {
      axes,
      keptShape,
      outShape,
      perm: null,
      outer: numel(x.shape.slice(0, first)),
      n,
      inner: numel(x.shape.slice(last)),
    };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced(i));
  return {
    axes,
    keptShape,
    outShape,
    perm: [...kept, ...axes],
    outer: numel(kept.map((i) => x.shape[i])),
    n,
    inner: 1,
  };
}

/** x's data laid out as (outer, n, inner) for the plan. */
function laidOut(x: Tensor, p: Plan): Float32Array {
  return p.perm ? permute(x.detach(), p.perm).f32 : x.f32;
}

/** Sum over the given axes (all when omitted). @example sum(x, -1, true) // (B, T, C) -> (B, T, 1) */
export function sum(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  requireF32("sum", x);
  const p = plan("sum", x, axis, keepdim);
  const out = new Tensor(new Float32Array(p.outer * p.inner), p.outShape);
  backend().reduce("sum", laidOut(x, p), p.outer, p.n, p.inner, out.f32);
  return record(out, "sum", [x], (g) => [broadcastTo(reshape(g, p.keptShape), x.shape)]);
}

/** Mean over the given axes (all when omitted). */
export function mean(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  requireF32("mean", x);
  const p = plan("mean", x, axis, keepdim);
  const out = new Tensor(new Float32Array(p.outer * p.inner), p.outShape);
  backend().reduce("sum", laidOut(x, p), p.outer, p.n, p.inner, out.f32);
  backend().affine(out.f32, 1 / p.n, 0, out.f32);
  return record(out, "mean", [x], (g) => {
    const gs = new Tensor(new Float32Array(g.size), g.shape);
    backend().affine(g.f32, 1 / p.n, 0, gs.f32);
    return [broadcastTo(reshape(gs, p.keptShape), x.shape)];
  });
}

/** Max over the given axes (all when omitted); the gradient goes to the first maximum. */
export function max(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  return extremum("max", x, axis, keepdim);
}

/** Min over the given axes (all when omitted); the gradient goes to the first minimum. */
export function min(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  return extremum("min", x, axis, keepdim);
}

function extremum(op: "max" | "min", x: Tensor, axis: Axes, keepdim: boolean): Tensor {
  requireF32(op, x);
  const p = plan(op, x, axis, keepdim);
  if (p.n === 0) throw new Error(`${op}: cannot reduce an empty axis of shape [${x.shape}]`);
  const data = laidOut(x, p);
  const out = new Tensor(new Float32Array(p.outer * p.inner), p.outShape);
  backend().reduce(op, data, p.outer, p.n, p.inner, out.f32);
  return record(out, op, [x], (g) => {
    // index of the first extremum of each (outer, inner) column; min is argmax of -x
    let src = data;
    if (op === "min") {
      src = new Float32Array(data.length);
      backend().affine(data, -1, 0, src);
    }
    const idx = new Int32Array(p.outer * p.inner);
    backend().argmax(src, p.outer, p.n, p.inner, idx);
    const gl = new Float32Array(data.length); // (outer, n, inner)
    const gd = g.f32;
    for (let o = 0; o < p.outer; o++) {
      for (let i = 0; i < p.inner; i++)
        gl[(o * p.n + idx[o * p.inner + i]) * p.inner + i] = gd[o * p.inner + i];
    }
    if (!p.perm) return [new Tensor(gl, x.shape)];
    const permuted = new Tensor(
      gl,
      p.perm.map((a) => x.shape[a]),
    );
    const inv = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => {
      inv[a] = i;
    });
    return [permute(permuted, inv)];
  });
}

/** Index (i32) of the first maximum along `axis`, or of the flattened tensor when omitted. */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  requireF32("argmax", x);
  if (axis === undefined) {
    if (x.size === 0) throw new Error(`argmax: empty tensor of shape [${x.shape}]`);
    const out = new Int32Array(1);
    backend().argmax(x.f32, 1, x.size, 1, out);
    return new Tensor(out, keepdim ? x.shape.map(() => 1) : []);
  }
  const a = normAxis(axis, x.ndim, "argmax");
  if (x.shape[a] === 0) throw new Error(`argmax: axis ${axis} of shape [${x.shape}] is empty`);
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  const out = new Int32Array(outer * inner);
  backend().argmax(x.f32, outer, x.shape[a], inner, out);
  const shape = keepdim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return new Tensor(out, shape);
}

// Elementwise ops with NumPy broadcasting and their gradient rules (one line each).
// Binary ops accept a number for either operand. Gradients of broadcast inputs are summed back to
// the input's shape (sumTo). Comparisons (eq, lt, gt) return f32 0/1 and carry no gradient.
// Kernels: backend().binary / unary / unaryBackward / affine / clamp / where.

import type { BinaryOp, UnaryOp } from "../../backend/backend.js";
import { backend } from "../../backend/index.js";
import { allocF32 } from "../pool.js";
import { numel, record, Tensor } from "../tensor.js";
import { broadcastShapes, broadcastStrides, broadcastTo, requireF32, sumTo } from "./shape.js";

/** A tensor or a plain number (treated as a 0-d constant). */
export type Operand = Tensor | number;

function asTensor(x: Operand): Tensor {
  return typeof x === "number" ? new Tensor(new Float32Array([x]), []) : x;
}

/** Run the broadcasting kernel: (a, b) -> out of the broadcast shape. */
function binaryRaw(op: BinaryOp, name: string, a: Tensor, b: Tensor): Tensor {
  requireF32(name, a, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = new Tensor(allocF32(numel(shape), false), shape);
  backend().binary(
    op,
    a.f32,
    broadcastStrides(a.shape, shape),
    b.f32,
    broadcastStrides(b.shape, shape),
    out.f32,
    shape,
  );
  return out;
}

type Grad = () => Tensor;
/** Gradient rules: (gOut, a, b, out) -> [ga, gb] as thunks (only the needed side is computed),
 * before summing back to the input shapes. */
const BINARY_GRADS: Partial<
  Record<BinaryOp, (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Grad, Grad]>
> = {
  add: (g) => [() => g, () => g],
  sub: (g) => [() => g, () => neg(g)],
  mul: (g, a, b) => [() => mul(g, b), () => mul(g, a)],
  div: (g, _a, b, out) => [() => div(g, b), () => neg(div(mul(g, out), b))],
  // d/da a^b = b a^(b-1); d/db a^b = a^b log a (taken as 0 where a == 0, as PyTorch)
  pow: (g, a, b, out) => [
    () => mul(g, mul(b, pow(a, sub(b, 1)))),
    () => mul(g, mul(out, where(eq(a, 0), 0, log(a)))),
  ],
  // ties split the gradient equally (PyTorch)
  max: (g, a, b) => [() => mul(g, tieMask(a, b, "gt")), () => mul(g, tieMask(b, a, "gt"))],
  min: (g, a, b) => [() => mul(g, tieMask(a, b, "lt")), () => mul(g, tieMask(b, a, "lt"))],
};

/** 1 where a wins (a op b), 0.5 on ties, 0 where b wins. */
function tieMask(a: Tensor, b: Tensor, op: "gt" | "lt"): Tensor {
  return add(binaryRaw(op, "tieMask", a, b), mul(binaryRaw("eq", "tieMask", a, b), 0.5));
}

function binaryOp(op: BinaryOp, name: string, x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = binaryRaw(op, name, a, b);
  const rule = BINARY_GRADS[op];
  if (!rule) return out;
  return record(out, name, [a, b], (g) => {
    const [ga, gb] = rule(g, a, b, out);
    return [a.requiresGrad ? sumTo(ga(), a.shape) : null, b.requiresGrad ? sumTo(gb(), b.shape) : null];
  });
}

/** a + b (broadcasting). @example add(x, bias) // (B, T, C) + (C) -> (B, T, C) */
export const add = (a: Operand, b: Operand): Tensor => binaryOp("add", "add", a, b);
/** a - b (broadcasting). */
export const sub = (a: Operand, b: Operand): Tensor => binaryOp("sub", "sub", a, b);
/** a * b (broadcasting). */
export const mul = (a: Operand, b: Operand): Tensor => binaryOp("mul", "mul", a, b);
/** a / b (broadcasting). */
export const div = (a: Operand, b: Operand): Tensor => binaryOp("div", "div", a, b);
/** a ** b (broadcasting). */
export const pow = (a: Operand, b: Operand): Tensor => binaryOp("pow", "pow", a, b);
/** Elementwise max (broadcasting); ties share the gradient. */
export const maximum = (a: Operand, b: Operand): Tensor => binaryOp("max", "maximum", a, b);
/** Elementwise min (broadcasting); ties share the gradient. */
export const minimum = (a: Operand, b: Operand): Tensor => binaryOp("min", "minimum", a, b);
/** 1 where a == b else 0 (no gradient). */
export const eq = (a: Operand, b: Operand): Tensor => binaryRaw("eq", "eq", asTensor(a), asTensor(b));
/** 1 where a < b else 0 (no gradient). */
export const lt = (a: Operand, b: Operand): Tensor => binaryRaw("lt", "lt", asTensor(a), asTensor(b));
/** 1 where a > b else 0 (no gradient). */
export const gt = (a: Operand, b: Operand): Tensor => binaryRaw("gt", "gt", asTensor(a), asTensor(b));

// ---------------------------------------------------------------------------------------------
// unary

/** y = f(x) for any backend unary op; gradient via the backend's unaryBackward. nn ops use this
 * for gelu, gelu_tanh, quick_gelu and silu. */
export function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  requireF32(op, x);
  const out = new Tensor(allocF32(x.size, false), x.shape);
  backend().unary(op, x.f32, out.f32);
  return record(out, op, [x], (g) => {
    const gx = new Tensor(allocF32(x.size, false), x.shape);
    backend().unaryBackward(op, x.f32, out.f32, g.f32, gx.f32);
    return [gx];
  });
}

export const neg = (x: Tensor): Tensor => unaryOp("neg", x);
export const exp = (x: Tensor): Tensor => unaryOp("exp", x);
export const log = (x: Tensor): Tensor => unaryOp("log", x);
export const sqrt = (x: Tensor): Tensor => unaryOp("sqrt", x);
export const rsqrt = (x: Tensor): Tensor => unaryOp("rsqrt", x);
export const tanh = (x: Tensor): Tensor => unaryOp("tanh", x);
export const sigmoid = (x: Tensor): Tensor => unaryOp("sigmoid", x);
export const relu = (x: Tensor): Tensor => unaryOp("relu", x);
export const abs = (x: Tensor): Tensor => unaryOp("abs", x);
export const square = (x: Tensor): Tensor => unaryOp("square", x);
export const sin = (x: Tensor): Tensor => unaryOp("sin", x);
export const cos = (x: Tensor): Tensor => unaryOp("cos", x);

/** x * s + t with scalars s, t (one kernel pass). */
export function affine(x: Tensor, s: number, t = 0): Tensor {
  requireF32("affine", x);
  const out = new Tensor(allocF32(x.size, false), x.shape);
  backend().affine(x.f32, s, t, out.f32);
  return record(out, "affine", [x], (g) => [affine(g, s)]);
}

/** x * s with a scalar s. */
export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}

/** min(max(x, lo), hi); the gradient passes where lo <= x <= hi (PyTorch). */
export function clamp(x: Tensor, lo = Number.NEGATIVE_INFINITY, hi = Number.POSITIVE_INFINITY): Tensor {
  requireF32("clamp", x);
  if (lo > hi) throw new Error(`clamp: lo ${lo} > hi ${hi}`);
  const out = new Tensor(allocF32(x.size, false), x.shape);
  backend().clamp(x.f32, lo, hi, out.f32);
  return record(out, "clamp", [x], (g) => {
    const d = x.f32;
    const mask = new Float32Array(x.size);
    for (let i = 0; i < d.length; i++) mask[i] = d[i] >= lo && d[i] <= hi ? 1 : 0;
    return [mul(g, new Tensor(mask, x.shape))];
  });
}

/** cond != 0 ? a : b, all three broadcast together; cond is f32 or i32 and gets no gradient. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  requireF32("where", ta, tb);
  const c = cond.dtype === "i32" ? new Tensor(Float32Array.from(cond.i32), cond.shape) : cond;
  requireF32("where (condition)", c);
  const shape = broadcastShapes("where", broadcastShapes("where", c.shape, ta.shape), tb.shape);
  const [cc, aa, bb] = [c, ta, tb].map((t) => expandRaw(t, shape));
  const out = new Tensor(allocF32(numel(shape), false), shape);
  backend().where(cc.f32, aa.f32, bb.f32, out.f32);
  return record(out, "where", [ta, tb], (g) => {
    const zero = new Tensor(allocF32(g.size), g.shape);
    const ga = ta.requiresGrad ? sumTo(where(cc, g, zero), ta.shape) : null;
    const gb = tb.requiresGrad ? sumTo(where(cc, zero, g), tb.shape) : null;
    return [ga, gb];
  });
}

/** broadcastTo without recording (operands are re-read by the gradient rule, not differentiated). */
function expandRaw(t: Tensor, shape: number[]): Tensor {
  return broadcastTo(t.detach(), shape);
}

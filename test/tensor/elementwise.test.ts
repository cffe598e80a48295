// Elementwise ops: forward and gradients against PyTorch (fixture), finite-difference gradchecks
// for every differentiable op including broadcasting and odd sizes, scalar operands, errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNARY_OPS } from "../../src/backend/backend.js";
import { rand, randn, tensor } from "../../src/tensor/create.js";
import {
  abs,
  add,
  affine,
  clamp,
  cos,
  div,
  eq,
  exp,
  gt,
  log,
  lt,
  maximum,
  minimum,
  mul,
  neg,
  pow,
  relu,
  rsqrt,
  scale,
  sigmoid,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  unaryOp,
  where,
} from "../../src/tensor/ops/elementwise.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { checkCase, opCases } from "./fixtures.js";

const cases = opCases();
const gen = new Generator(42);
const leaf = (shape: number[], std = 1) => randn(shape, gen, std).requireGrad();
const positive = (shape: number[]) => rand(shape, gen, 0.5, 2).requireGrad();

describe("binary ops against PyTorch, (2,1,3) with (4,1) -> (2,4,3)", () => {
  const fns: Record<string, (a: Tensor, b: Tensor) => Tensor> = { add, sub, mul, div, pow, maximum, minimum };
  for (const [name, fn] of Object.entries(fns)) test(name, () => checkCase(cases.get(name)!, fn));
  test("where", () => checkCase(cases.get("where")!, (c, a, b) => where(gt(c, 0), a, b)));
  test("clamp", () => checkCase(cases.get("clamp")!, (x) => clamp(x, -0.5, 0.7)));
});

describe("gradcheck: binary ops with broadcasting and odd sizes", () => {
  const shapes: [number[], number[]][] = [
    [
      [3, 5],
      [3, 5],
    ],
    [
      [2, 1, 3],
      [4, 1],
    ],
    [[7], [3, 1]],
    [[1, 5], []],
  ];
  for (const [sa, sb] of shapes) {
    test(`[${sa}] . [${sb}]`, () => {
      gradcheck(add, [leaf(sa), leaf(sb)], { label: "add" });
      gradcheck(sub, [leaf(sa), leaf(sb)], { label: "sub" });
      gradcheck(mul, [leaf(sa), leaf(sb)], { label: "mul" });
      gradcheck(div, [leaf(sa), positive(sb)], { label: "div" });
      gradcheck(pow, [positive(sa), leaf(sb)], { label: "pow", eps: 1e-3 });
      gradcheck(maximum, [leaf(sa), leaf(sb)], { label: "maximum", eps: 1e-3 });
      gradcheck(minimum, [leaf(sa), leaf(sb)], { label: "minimum", eps: 1e-3 });
      gradcheck((c, a, b) => where(gt(c, 0), a, b), [randn(sa, gen), leaf(sa), leaf(sb)], { label: "where" });
    });
  }

  test("numbers as either operand", () => {
    const x = leaf([2, 3]);
    gradcheck((a) => sub(2, a), [x], { label: "2 - x" });
    gradcheck((a) => div(1, add(mul(a, a), 1)), [x], { label: "1 / (x^2 + 1)" });
    gradcheck((a) => pow(a, 3), [x], { label: "x^3" });
    gradcheck((a) => pow(2, a), [x], { label: "2^x" });
    gradcheck((a) => maximum(a, 0.1), [x], { label: "max(x, 0.1)", eps: 1e-3 });
    const y = sub(2, x);
    checkTensor(
      y,
      Float32Array.from(x.f32, (v) => 2 - v),
      0,
      "2 - x",
    );
  });
});

describe("unary ops", () => {
  test("every backend unary op passes gradcheck through unaryOp", () => {
    for (const op of UNARY_OPS) {
      const x = ["log", "sqrt", "rsqrt"].includes(op) ? positive([3, 5]) : leaf([3, 5]);
      // keep away from the kinks of relu and abs, where finite differences are meaningless
      if (op === "relu" || op === "abs")
        for (let i = 0; i < x.size; i++) if (Math.abs(x.f32[i]) < 0.05) x.f32[i] = 0.3;
      gradcheck((a) => unaryOp(op, a), [x], { label: op, eps: 1e-3 });
    }
  });

  test("named wrappers compute the named function", () => {
    const x = tensor([0.25, 1, 2.5]);
    const fns: [(t: Tensor) => Tensor, (v: number) => number][] = [
      [neg, (v) => -v],
      [exp, Math.exp],
      [log, Math.log],
      [sqrt, Math.sqrt],
      [rsqrt, (v) => 1 / Math.sqrt(v)],
      [tanh, Math.tanh],
      [sigmoid, (v) => 1 / (1 + Math.exp(-v))],
      [relu, (v) => Math.max(v, 0)],
      [abs, Math.abs],
      [square, (v) => v * v],
      [sin, Math.sin],
      [cos, Math.cos],
    ];
    for (const [f, ref] of fns)
      checkTensor(f(x), Float32Array.from(x.f32, ref), { atol: 1e-7, rtol: 1e-6 }, f.name);
  });

  test("affine, scale, clamp", () => {
    gradcheck((a) => affine(a, -1.5, 0.25), [leaf([4, 3])], { label: "affine" });
    gradcheck((a) => scale(a, 3), [leaf([5])], { label: "scale" });
    const x = leaf([6, 5]);
    for (let i = 0; i < x.size; i++) if (Math.abs(Math.abs(x.f32[i]) - 0.5) < 0.02) x.f32[i] = 0;
    gradcheck((a) => clamp(a, -0.5, 0.5), [x], { label: "clamp", eps: 1e-3 });
    checkTensor(clamp(tensor([-3, 0.25, 9]), -1), [-1, 0.25, 9], 0, "clamp lo only");
  });
});

describe("comparisons, where, errors", () => {
  test("eq / lt / gt broadcast and carry no gradient", () => {
    const a = tensor([[1], [2]]).requireGrad();
    const b = tensor([0, 2, 3]);
    assert.deepEqual(eq(a, b).toArray(), [
      [0, 0, 0],
      [0, 1, 0],
    ]);
    assert.deepEqual(lt(a, b).toArray(), [
      [0, 1, 1],
      [0, 0, 1],
    ]);
    assert.deepEqual(gt(a, 1.5).toArray(), [[0], [1]]);
    assert.equal(gt(a, b).requiresGrad, false);
  });

  test("where accepts an i32 condition and scalar branches", () => {
    const c = new Tensor(Int32Array.from([1, 0, 5]), [3]);
    assert.deepEqual(where(c, tensor([1, 2, 3]), -1).toArray(), [1, -1, 3]);
  });

  test("shape and dtype errors name the op and the shapes", () => {
    assert.throws(() => add(randn([2, 3]), randn([4])), /add: shapes \[2,3\] and \[4\] cannot broadcast/);
    assert.throws(
      () => mul(new Tensor(Int32Array.from([1]), [1]), 2),
      /mul: expected an f32 tensor, got i32 of shape \[1\]/,
    );
    assert.throws(
      () => exp(new Tensor(new Uint16Array(2), [2], "bf16")),
      /exp: expected an f32 tensor, got bf16 .*toDtype/,
    );
  });
});

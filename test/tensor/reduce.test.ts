// Reductions against PyTorch (fixture: sum/mean/amax/amin over one, several and all axes, with
// gradients), finite-difference gradchecks, first-extremum gradient on ties, argmax.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randn, tensor } from "../../src/tensor/create.js";
import { mul } from "../../src/tensor/ops/elementwise.js";
import { argmax, max, mean, min, sum } from "../../src/tensor/ops/reduce.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { checkCase, opCases } from "./fixtures.js";

const cases = opCases();
const gen = new Generator(5);
const leaf = (shape: number[]) => randn(shape, gen).requireGrad();

describe("reductions against PyTorch on (3, 4, 5)", () => {
  const fns: Record<string, (x: Tensor) => Tensor> = {
    sum_all: (x) => sum(x),
    sum_0_2_keep: (x) => sum(x, [0, 2], true),
    sum_1: (x) => sum(x, 1),
    mean_m1: (x) => mean(x, -1),
    mean_0_2: (x) => mean(x, [2, 0]),
    max_m1: (x) => max(x, -1),
    max_0_2: (x) => max(x, [0, 2]),
    min_1_keep: (x) => min(x, 1, true),
    max_all: (x) => max(x),
  };
  for (const [name, fn] of Object.entries(fns)) test(name, () => checkCase(cases.get(name)!, fn));
});

describe("gradcheck", () => {
  const axesList: (number | number[] | undefined)[] = [
    undefined,
    0,
    -1,
    1,
    [0, 2],
    [1, 2],
    [0, 1, 2],
    [0, 1],
  ];
  for (const axes of axesList) {
    test(`axes ${JSON.stringify(axes)} on (3, 5, 7)`, () => {
      for (const keep of [false, true]) {
        gradcheck((x) => sum(x, axes, keep), [leaf([3, 5, 7])], { label: "sum" });
        gradcheck((x) => mean(x, axes, keep), [leaf([3, 5, 7])], { label: "mean" });
        gradcheck((x) => max(x, axes, keep), [leaf([3, 5, 7])], { label: "max", eps: 1e-3 });
        gradcheck((x) => min(x, axes, keep), [leaf([3, 5, 7])], { label: "min", eps: 1e-3 });
      }
    });
  }
});

describe("semantics", () => {
  test("shapes with and without keepdim; 0-d and 1-element inputs", () => {
    const x = randn([2, 3, 4], gen);
    assert.deepEqual(sum(x, [0, 2]).shape, [3]);
    assert.deepEqual(sum(x, [0, 2], true).shape, [1, 3, 1]);
    assert.deepEqual(mean(x).shape, []);
    assert.deepEqual(max(x, -1, true).shape, [2, 3, 1]);
    assert.equal(sum(tensor([[7]])).item(), 7);
    assert.equal(sum(new Tensor(Float32Array.from([4]), [])).item(), 4);
  });

  test("max/min send the gradient to the first extremum", () => {
    const x = tensor([
      [1, 3, 3],
      [2, 2, 0],
    ]).requireGrad();
    sum(mul(max(x, 1), tensor([10, 20]))).backward();
    assert.deepEqual(x.grad!.toArray(), [
      [0, 10, 0],
      [20, 0, 0],
    ]);
    x.grad = null;
    min(x, [0, 1]).backward();
    assert.deepEqual(x.grad!.toArray(), [
      [0, 0, 0],
      [0, 0, 1],
    ]);
    const y = tensor([5, 1, 5, 1]).requireGrad();
    max(y).backward();
    assert.deepEqual([...y.grad!.f32], [1, 0, 0, 0]);
  });

  test("argmax: first maximum, i32, flattened when no axis", () => {
    const x = tensor([
      [1, 9, 9],
      [4, 2, 4],
    ]);
    const a = argmax(x, 1);
    assert.equal(a.dtype, "i32");
    assert.deepEqual(a.toArray(), [1, 0]);
    assert.deepEqual(argmax(x, 0, true).toArray(), [[1, 0, 0]]);
    assert.deepEqual(argmax(x).toArray(), 1);
    checkTensor(mean(x, 1), [19 / 3, 10 / 3], 1e-6, "mean");
  });

  test("errors name the op", () => {
    assert.throws(() => sum(randn([2, 3]), 2), /sum: axis 2 out of range for a tensor of rank 2/);
    assert.throws(() => max(randn([0, 3]), 0), /max: cannot reduce an empty axis/);
    assert.throws(() => sum(new Tensor(Int32Array.from([1]), [1])), /sum: expected an f32 tensor, got i32/);
  });
});

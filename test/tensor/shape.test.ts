// Shape ops against PyTorch (fixture: permute, slice, concat, stack, pad, expand with gradients),
// finite-difference gradchecks, view semantics of reshape, and errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { arange, randn, tensor } from "../../src/tensor/create.js";
import { mul } from "../../src/tensor/ops/elementwise.js";
import {
  broadcastTo,
  concat,
  expand,
  flatten,
  pad,
  permute,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  sumTo,
  transpose,
  unsqueeze,
} from "../../src/tensor/ops/shape.js";
import { Generator } from "../../src/tensor/random.js";
import { gradcheck } from "../helpers.js";
import { checkCase, opCases } from "./fixtures.js";

const cases = opCases();
const gen = new Generator(3);
const leaf = (shape: number[]) => randn(shape, gen).requireGrad();

describe("against PyTorch", () => {
  test("permute", () => checkCase(cases.get("permute")!, (x) => permute(x, [2, 0, 1])));
  test("slice", () => checkCase(cases.get("slice")!, (x) => slice(x, 1, 1, 3)));
  test("concat", () => checkCase(cases.get("concat")!, (a, b) => concat([a, b], 1)));
  test("stack", () => checkCase(cases.get("stack")!, (a, b) => stack([a, b], 2)));
  // F.pad lists pairs from the last axis backwards: (2, 0, 1, 1, 0, 1)
  test("pad", () =>
    checkCase(cases.get("pad")!, (x) =>
      pad(
        x,
        [
          [0, 1],
          [1, 1],
          [2, 0],
        ],
        0.5,
      ),
    ));
  test("broadcastTo", () => checkCase(cases.get("broadcast_to")!, (x) => broadcastTo(x, [2, 3, 4])));
});

describe("gradcheck (odd sizes)", () => {
  test("views and permutations", () => {
    gradcheck((x) => mul(reshape(x, [5, -1]), 2), [leaf([3, 5])], { label: "reshape" });
    gradcheck((x) => flatten(x, 1), [leaf([2, 3, 5])], { label: "flatten" });
    gradcheck((x) => squeeze(unsqueeze(x, 1), 1), [leaf([3, 5])], { label: "squeeze/unsqueeze" });
    gradcheck((x) => permute(x, [1, 3, 0, 2]), [leaf([2, 3, 1, 5])], { label: "permute" });
    gradcheck((x) => transpose(x, 0, -1), [leaf([3, 2, 5])], { label: "transpose" });
  });
  test("slice, split, concat, stack, pad", () => {
    gradcheck((x) => slice(x, -1, -3), [leaf([3, 7])], { label: "slice" });
    gradcheck((x) => split(x, [1, 4, 2], 1)[1], [leaf([3, 7])], { label: "split" });
    gradcheck((a, b, c) => concat([a, b, c], 0), [leaf([1, 3]), leaf([4, 3]), leaf([2, 3])], {
      label: "concat",
    });
    gradcheck((a, b) => stack([a, b], -1), [leaf([3, 5]), leaf([3, 5])], { label: "stack" });
    gradcheck(
      (x) =>
        pad(
          x,
          [
            [1, 2],
            [0, 3],
          ],
          -1,
        ),
      [leaf([3, 5])],
      { label: "pad" },
    );
  });
  test("broadcastTo, expand, sumTo", () => {
    gradcheck((x) => broadcastTo(x, [2, 3, 5]), [leaf([3, 1])], { label: "broadcastTo" });
    gradcheck((x) => expand(x, [4, -1, 5]), [leaf([3, 1])], { label: "expand" });
    gradcheck((x) => sumTo(x, [3, 1]), [leaf([2, 3, 5])], { label: "sumTo" });
    gradcheck((x) => sumTo(x, [1, 5]), [leaf([3, 2, 5])], { label: "sumTo leading + middle" });
  });
});

describe("semantics and errors", () => {
  test("reshape is a view sharing storage; -1 is inferred", () => {
    const x = arange(0, 12);
    const y = reshape(x, [3, -1]);
    assert.deepEqual(y.shape, [3, 4]);
    assert.equal(y.data, x.data);
  });

  test("slice clamps like Python and accepts negative indices", () => {
    const x = tensor([0, 1, 2, 3, 4]);
    assert.deepEqual(slice(x, 0, -2).toArray(), [3, 4]);
    assert.deepEqual(slice(x, 0, 1, -1).toArray(), [1, 2, 3]);
    assert.deepEqual(slice(x, 0, 3, 99).toArray(), [3, 4]);
    assert.deepEqual(slice(x, 0, 4, 2).toArray(), []);
  });

  test("split into equal pieces with a remainder; concat of split is the identity", () => {
    const x = randn([2, 7], gen);
    const parts = split(x, 3, 1);
    assert.deepEqual(
      parts.map((p) => p.shape[1]),
      [3, 3, 1],
    );
    assert.deepEqual(concat(parts, 1).toArray(), x.toArray());
  });

  test("transpose and permute values", () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(transpose(x, 0, 1).toArray(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    assert.deepEqual(pad(tensor([1, 2]), [[1, 0]], 9).toArray(), [9, 1, 2]);
  });

  test("errors name the op and shapes", () => {
    assert.throws(
      () => reshape(randn([2, 3]), [4, 2]),
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/,
    );
    assert.throws(
      () => concat([randn([2, 3]), randn([2, 4])], 0),
      /concat: shapes \[2,3\], \[2,4\] differ outside axis 0/,
    );
    assert.throws(
      () => broadcastTo(randn([2, 3]), [3, 3]),
      /broadcastTo: shapes \[2,3\] and \[3,3\] cannot broadcast/,
    );
    assert.throws(() => split(randn([5]), [2, 2], 0), /split: sizes \[2,2\] do not add up to 5/);
    assert.throws(() => squeeze(randn([2, 3]), 0), /squeeze: axis 0 of shape \[2,3\] has size 2, not 1/);
    assert.throws(() => permute(randn([2, 3]), [0, 0]), /permute: \[0,0\] repeats an axis/);
  });
});

// Indexing ops against PyTorch (fixture: index_select, gather, embedding, scatter_add, index_put
// with gradients), finite-difference gradchecks, and bad-index errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randn, tensor } from "../../src/tensor/create.js";
import { embedding, gather, indexPut, indexSelect, scatterAdd } from "../../src/tensor/ops/index.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers.js";
import { checkCase, opCases } from "./fixtures.js";

const cases = opCases();
const gen = new Generator(17);
const leaf = (shape: number[]) => randn(shape, gen).requireGrad();
const ids = (values: number[], shape = [values.length]) => new Tensor(Int32Array.from(values), shape);

describe("against PyTorch", () => {
  test("indexSelect", () => checkCase(cases.get("index_select")!, (x, i) => indexSelect(x, 1, i)));
  test("gather", () => checkCase(cases.get("gather")!, (x, i) => gather(x, 1, i)));
  test("embedding", () => checkCase(cases.get("embedding")!, (i, w) => embedding(w, i)));
  test("scatterAdd", () => checkCase(cases.get("scatter_add")!, (x, i, s) => scatterAdd(x, 0, i, s)));
  test("indexPut", () => checkCase(cases.get("index_put")!, (x, i, v) => indexPut(x, i, v)));
});

describe("gradcheck (repeated indices, odd sizes)", () => {
  test("indexSelect on every axis", () => {
    gradcheck((x) => indexSelect(x, 0, ids([2, 0, 2])), [leaf([3, 5])], { label: "axis 0" });
    gradcheck((x) => indexSelect(x, 1, ids([4, 4, 1, 0])), [leaf([3, 5, 2])], { label: "axis 1" });
    gradcheck((x) => indexSelect(x, -1, ids([1])), [leaf([3, 5, 2])], { label: "axis -1" });
  });
  test("embedding with ids of rank 2", () => {
    gradcheck((w) => embedding(w, ids([1, 3, 1, 0, 6, 3], [2, 3])), [leaf([7, 5])], { label: "embedding" });
  });
  test("gather and scatterAdd", () => {
    gradcheck((x) => gather(x, 0, ids([2, 0, 1, 1, 2, 2], [2, 3])), [leaf([3, 3])], {
      label: "gather axis 0",
    });
    gradcheck((x) => gather(x, 1, ids([4, 0, 4, 3], [2, 2])), [leaf([3, 5])], {
      label: "gather axis 1, smaller index",
    });
    gradcheck((x, s) => scatterAdd(x, 1, ids([0, 2, 2, 1, 1, 1], [2, 3]), s), [leaf([2, 4]), leaf([2, 3])], {
      label: "scatterAdd",
    });
  });
  test("indexPut", () => {
    gradcheck((x, v) => indexPut(x, ids([3, 0]), v), [leaf([5, 2, 3]), leaf([2, 2, 3])], {
      label: "indexPut",
    });
  });
});

describe("semantics and errors", () => {
  test("indexPut replaces rows out of place; its gradient zeroes the replaced rows of x", () => {
    const x = tensor([
      [1, 1],
      [2, 2],
      [3, 3],
    ]).requireGrad();
    const v = tensor([[9, 8]]).requireGrad();
    const y = indexPut(x, ids([1]), v);
    assert.deepEqual(y.toArray(), [
      [1, 1],
      [9, 8],
      [3, 3],
    ]);
    assert.deepEqual([...x.f32], [1, 1, 2, 2, 3, 3]);
    y.backward(
      tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    );
    assert.deepEqual(x.grad!.toArray(), [
      [1, 2],
      [0, 0],
      [5, 6],
    ]);
    assert.deepEqual(v.grad!.toArray(), [[3, 4]]);
  });

  test("bad indices and dtypes give clear errors", () => {
    assert.throws(
      () => embedding(randn([4, 2]), ids([1, 4])),
      /embedding: index 4 at position 1 out of range \[0, 4\)/,
    );
    assert.throws(
      () => embedding(randn([4, 2]), tensor([1])),
      /embedding: indices must be an i32 tensor, got f32/,
    );
    assert.throws(() => indexSelect(randn([3, 2]), 0, ids([-1])), /indexSelect: index -1 .* out of range/);
    assert.throws(() => indexPut(randn([3, 2]), ids([1, 1]), randn([2, 2])), /indexPut: row 1 appears twice/);
    assert.throws(
      () => indexPut(randn([3, 2]), ids([1]), randn([1, 3])),
      /indexPut: values of shape \[1,3\] do not fit/,
    );
    assert.throws(
      () => gather(randn([3, 2]), 1, ids([0, 5], [1, 2])),
      /gather: index 5 at flat position 1 out of range \[0, 2\)/,
    );
  });
});

// matmul / bmm / linear against PyTorch (fixture: 2-D, folded batch, broadcast batch, every
// transpose combination; with gradients), finite-difference gradchecks, and errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randn } from "../../src/tensor/create.js";
import { bmm, linear, matmul } from "../../src/tensor/ops/matmul.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";
import { checkCase, opCases } from "./fixtures.js";

const cases = opCases();
const gen = new Generator(9);
const leaf = (shape: number[]) => randn(shape, gen).requireGrad();

describe("against PyTorch", () => {
  const fns: Record<string, (a: Tensor, b: Tensor, c?: Tensor) => Tensor> = {
    matmul_2d: (a, b) => matmul(a, b),
    matmul_fold: (a, b) => matmul(a, b),
    matmul_bcast: (a, b) => matmul(a, b),
    matmul_tA: (a, b) => matmul(a, b, { transA: true }),
    matmul_tB: (a, b) => matmul(a, b, { transB: true }),
    matmul_tAB: (a, b) => matmul(a, b, { transA: true, transB: true }),
    linear: (x, w, b) => linear(x, w, b),
    linear_nobias: (x, w) => linear(x, w),
  };
  for (const [name, fn] of Object.entries(fns)) test(name, () => checkCase(cases.get(name)!, fn));
});

describe("gradcheck", () => {
  const M = 3;
  const K = 5;
  const N = 4;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`transA=${transA} transB=${transB}: 2-D, folded, batched, broadcast`, () => {
        const A = (batch: number[]) => leaf([...batch, ...(transA ? [K, M] : [M, K])]);
        const B = (batch: number[]) => leaf([...batch, ...(transB ? [N, K] : [K, N])]);
        const f = (a: Tensor, b: Tensor) => matmul(a, b, { transA, transB });
        gradcheck(f, [A([]), B([])], { label: "2-D" });
        gradcheck(f, [A([2, 3]), B([])], { label: "batched @ 2-D" });
        gradcheck(f, [A([]), B([2])], { label: "2-D @ batched" });
        gradcheck(f, [A([2, 1]), B([3])], { label: "broadcast batch" });
        gradcheck(f, [A([2]), B([2])], { label: "bmm" });
      });
    }
  }

  test("linear with and without bias, on (B, T, in)", () => {
    gradcheck(linear, [leaf([2, 3, 5]), leaf([4, 5]), leaf([4])], { label: "linear" });
    gradcheck((x, w) => linear(x, w), [leaf([7, 5]), leaf([3, 5])], { label: "linear no bias" });
  });
});

describe("semantics and errors", () => {
  test("bmm equals per-batch 2-D products", () => {
    const a = randn([3, 2, 4], gen);
    const b = randn([3, 4, 5], gen);
    const c = bmm(a, b);
    for (let i = 0; i < 3; i++) {
      const ai = randn([2, 4], gen);
      ai.f32.set(a.f32.subarray(i * 8, (i + 1) * 8));
      const bi = randn([4, 5], gen);
      bi.f32.set(b.f32.subarray(i * 20, (i + 1) * 20));
      checkTensor(c.f32.subarray(i * 10, (i + 1) * 10), matmul(ai, bi).f32, 1e-6, `batch ${i}`);
    }
  });

  test("errors name the shapes", () => {
    assert.throws(
      () => matmul(randn([2, 3]), randn([4, 5])),
      /matmul: inner dimensions differ: \[2,3\] @ \[4,5\] \(3 vs 4\)/,
    );
    assert.throws(
      () => matmul(randn([2, 2, 3]), randn([3, 3, 4])),
      /matmul \(batch axes\): shapes \[2\] and \[3\] cannot broadcast/,
    );
    assert.throws(() => matmul(randn([3]), randn([3, 4])), /rank >= 2/);
    assert.throws(
      () => linear(randn([2, 3]), randn([4, 5])),
      /linear: input \[2,3\] does not match weight \[4,5\]/,
    );
    assert.throws(() => bmm(randn([2, 3, 4]), randn([3, 4, 5])), /bmm/);
  });
});

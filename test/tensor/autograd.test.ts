// The autograd engine through the core ops: accumulation across backward calls, noGrad, detach,
// requiresGrad propagation, shared subexpressions (diamond graph), non-scalar errors, and a
// finite-difference check of a small composite (a two-layer MLP feeding a batched product).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randn, tensor } from "../../src/tensor/create.js";
import { add, exp, mul, sigmoid, square, tanh } from "../../src/tensor/ops/elementwise.js";
import { linear, matmul } from "../../src/tensor/ops/matmul.js";
import { mean, sum } from "../../src/tensor/ops/reduce.js";
import { reshape, transpose } from "../../src/tensor/ops/shape.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad } from "../../src/tensor/tensor.js";
import { checkTensor, gradcheck } from "../helpers.js";

const gen = new Generator(23);

describe("autograd", () => {
  test("gradients accumulate across two backward calls", () => {
    const x = tensor([1, 2, 3]).requireGrad();
    sum(square(x)).backward();
    sum(mul(x, 3)).backward();
    assert.deepEqual([...x.grad!.f32], [2 + 3, 4 + 3, 6 + 3]);
  });

  test("diamond graph: a shared subexpression gets both contributions", () => {
    // y = exp(x); z = y * y + y  -> dz/dx = (2y + 1) * y
    const x = tensor([0.5, -1]).requireGrad();
    const y = exp(x);
    sum(add(mul(y, y), y)).backward();
    const want = [...x.f32].map((v) => (2 * Math.exp(v) + 1) * Math.exp(v));
    checkTensor(x.grad!, want, 1e-5, "diamond");
  });

  test("the same tensor used twice in one op", () => {
    const x = tensor([3, -2]).requireGrad();
    sum(mul(x, x)).backward();
    assert.deepEqual([...x.grad!.f32], [6, -4]);
  });

  test("requiresGrad propagates only from trainable inputs", () => {
    const w = randn([3], gen).requireGrad();
    const c = randn([3], gen);
    assert.equal(add(c, c).requiresGrad, false);
    assert.equal(add(c, w).requiresGrad, true);
    assert.equal(sum(mul(add(c, w), 2)).requiresGrad, true);
  });

  test("noGrad records nothing; detach cuts the graph but shares storage", () => {
    const w = randn([3], gen).requireGrad();
    const y = noGrad(() => mul(w, 2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    const d = w.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.data, w.data);
    const z = sum(mul(add(w, d), 1));
    z.backward();
    assert.deepEqual([...w.grad!.f32], [1, 1, 1]);
  });

  test("backward of a non-scalar needs a gradient; a wrong-shaped gradient is named", () => {
    const x = randn([2, 2], gen).requireGrad();
    const y = mul(x, 2);
    assert.throws(() => y.backward(), /output of shape \[2,2\] is not a scalar/);
    assert.throws(
      () => y.backward(tensor([1, 2])),
      /gradient shape \[2\] does not match output shape \[2,2\]/,
    );
    y.backward(
      tensor([
        [1, 0],
        [0, 1],
      ]),
    );
    assert.deepEqual([...x.grad!.f32], [2, 0, 0, 2]);
  });

  test("a two-layer MLP with attention-like products passes gradcheck", () => {
    const x = randn([2, 3, 4], gen).requireGrad();
    const w1 = randn([5, 4], gen, 0.5).requireGrad();
    const b1 = randn([5], gen).requireGrad();
    const w2 = randn([4, 5], gen, 0.5).requireGrad();
    const f = (xx: typeof x, a: typeof x, b: typeof x, c: typeof x) => {
      const h = tanh(linear(xx, a, b)); // (2, 3, 5)
      const o = linear(h, c); // (2, 3, 4)
      const s = matmul(o, transpose(xx, 1, 2)); // (2, 3, 3)
      return add(mean(sigmoid(s), -1), mean(square(reshape(o, [2, 3, 2, 2])), [2, 3])); // (2, 3)
    };
    gradcheck(f, [x, w1, b1, w2], { label: "mlp" });
  });
});

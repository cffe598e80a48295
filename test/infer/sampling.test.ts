// Logits processors against distributions computed by hand (HF semantics), and the seeded
// multinomial draw against its probabilities.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  argmaxOf,
  checkSamplingOptions,
  sampleFrom,
  selectToken,
  softmax,
} from "../../src/infer/sampling.js";
import { Generator } from "../../src/tensor/random.js";
import { checkTensor } from "../helpers.js";

const NEG = Number.NEGATIVE_INFINITY;
const logitsOf = (probs: number[]) => Float32Array.from(probs.map(Math.log));

test("repetition penalty divides positive and multiplies negative logits of seen tokens, once each", () => {
  const x = Float32Array.from([2, -1, 0.5, 3]);
  applyRepetitionPenalty(x, [0, 1, 1, 0], 2);
  assert.deepEqual([...x], [1, -2, 0.5, 3]);
  const y = Float32Array.from([2, -1]);
  applyRepetitionPenalty(y, [0, 1], 1);
  assert.deepEqual([...y], [2, -1]);
});

test("temperature scales logits: softmax(x / T)", () => {
  const x = Float32Array.from([1, 2, 3]);
  applyTemperature(x, 0.5);
  // softmax([2, 4, 6]) = e^{2,4,6} / (e^2 + e^4 + e^6)
  const z = Math.exp(2) + Math.exp(4) + Math.exp(6);
  checkTensor(softmax(x), [Math.exp(2) / z, Math.exp(4) / z, Math.exp(6) / z], 1e-7, "T=0.5");
});

test("top-k keeps the k largest and ties with the k-th (HF)", () => {
  const x = Float32Array.from([1, 5, 3, 3, 0]);
  applyTopK(x, 2);
  assert.deepEqual([...x], [NEG, 5, 3, 3, NEG]);
  const y = Float32Array.from([1, 5, 3, 2]);
  applyTopK(y, 1);
  assert.deepEqual([...y], [NEG, 5, NEG, NEG]);
  const z = Float32Array.from([1, 2]);
  applyTopK(z, 0);
  assert.deepEqual([...z], [1, 2]);
});

test("top-p keeps the smallest most-likely set with probability >= p, at least one", () => {
  // probs 0.5, 0.3, 0.15, 0.05
  const p = [0.15, 0.5, 0.05, 0.3];
  const keep = (topP: number) => {
    const x = logitsOf(p);
    applyTopP(x, topP);
    return [...x].map((v, i) => (v === NEG ? -1 : i)).filter((i) => i >= 0);
  };
  assert.deepEqual(keep(0.4), [1]); // 0.5 alone covers 0.4
  assert.deepEqual(keep(0.6), [1, 3]); // 0.5 + 0.3 = 0.8
  assert.deepEqual(keep(0.9), [0, 1, 3]); // 0.95
  assert.deepEqual(keep(0.99), [0, 1, 2, 3]);
  assert.deepEqual(keep(0.01), [1]); // never empty
  // renormalised distribution after top-p 0.6: 0.5/0.8, 0.3/0.8
  const x = logitsOf(p);
  applyTopP(x, 0.6);
  checkTensor(softmax(x), [0, 0.625, 0, 0.375], 1e-6, "renormalised");
});

test("temperature -> top-k -> top-p chain as HF orders the warpers", () => {
  // T = 0.5 squares the probabilities: 0.4,0.3,0.2,0.1 -> 16,9,4,1 / 30
  const x = logitsOf([0.4, 0.3, 0.2, 0.1]);
  applyTemperature(x, 0.5);
  applyTopK(x, 3); // drops 1/30
  applyTopP(x, 0.75); // 16/29 = 0.552 < 0.75, + 9/29 = 0.862 >= 0.75
  checkTensor(softmax(x), [16 / 25, 9 / 25, 0, 0], 1e-6, "chain");
});

test("multinomial draws follow the probabilities; a seed reproduces them", () => {
  const probs = [0.5, 0.3, 0.2, 0];
  const gen = new Generator(123);
  const counts = [0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleFrom(probs, gen)]++;
  for (let i = 0; i < 4; i++)
    assert.ok(Math.abs(counts[i] / n - probs[i]) < 0.015, `token ${i}: ${counts[i] / n} vs ${probs[i]}`);
  const draw = (seed: number) => {
    const g = new Generator(seed);
    return Array.from({ length: 50 }, () =>
      selectToken(logitsOf([0.25, 0.25, 0.25, 0.25]), [], { temperature: 1 }, g),
    );
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
});

test("greedy: argmax after the repetition penalty; top-k 1 equals greedy", () => {
  const gen = new Generator(0);
  assert.equal(selectToken(Float32Array.from([1, 3, 2]), [], {}, gen), 1);
  // 3 / 2 = 1.5 < 2: the penalty moves the choice
  assert.equal(selectToken(Float32Array.from([1, 3, 2]), [1], { repetitionPenalty: 2 }, gen), 2);
  for (let i = 0; i < 20; i++) {
    const x = Float32Array.from({ length: 9 }, () => gen.normal());
    assert.equal(selectToken(Float32Array.from(x), [], { temperature: 1.3, topK: 1 }, gen), argmaxOf(x));
  }
});

test("bad options are rejected with the option's name", () => {
  assert.throws(() => checkSamplingOptions({ temperature: -1 }), /temperature must be >= 0/);
  assert.throws(() => checkSamplingOptions({ topP: 0 }), /top-p must be in \(0, 1\]/);
  assert.throws(() => checkSamplingOptions({ topK: 1.5 }), /top-k must be a non-negative integer/);
  assert.throws(() => checkSamplingOptions({ repetitionPenalty: 0 }), /repetition penalty must be > 0/);
});

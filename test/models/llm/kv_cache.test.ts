// KVCache: batch-1 storage that doubles when full (the views it hands out equal the concatenation
// of everything appended, and stay so after later appends and growth), reserve / advance for a
// kernel that writes rows itself, and the concat path for batches and keys that carry a gradient.

import assert from "node:assert/strict";
import { test } from "node:test";
import { KVCache } from "../../../src/models/llm/kv_cache.js";
import { sum } from "../../../src/tensor/index.js";
import { Tensor } from "../../../src/tensor/tensor.js";

const NKV = 2;
const HS = 3;
const ROW = NKV * HS;

/** (B, T, NKV, HS) with distinct values seeded by `tag` */
function rows(B: number, T: number, tag: number): Tensor {
  return new Tensor(
    Float32Array.from({ length: B * T * ROW }, (_, i) => tag * 1000 + i),
    [B, T, NKV, HS],
  );
}

test("batch-1 storage grows by doubling across the capacity boundary; views stay valid", () => {
  const cache = new KVCache(2, { capacity: 4 });
  const want: number[] = []; // every key appended to layer 1, in order
  const handed: [Tensor, number[]][] = [];
  const steps = [3, 1, 1, 2, 1, 1, 5];
  const caps: number[] = [];
  steps.forEach((T, i) => {
    cache.update(0, rows(1, T, i), rows(1, T, i + 50));
    const k = rows(1, T, i + 100);
    want.push(...k.f32);
    const [ck, cv] = cache.update(1, k, rows(1, T, i + 200));
    const S = want.length / ROW;
    assert.deepEqual([...ck.shape], [1, S, NKV, HS]);
    assert.deepEqual([...cv.shape], [1, S, NKV, HS]);
    assert.deepEqual([...ck.f32], want, `step ${i}: keys are not the concatenation`);
    handed.push([ck, want.slice()]);
    caps.push(cache.capacity(1));
    assert.equal(cache.length, S);
  });
  // 3 fit 4; 4 fit 4; 5 -> 8; 7, 8 fit 8; 9 -> 16; 14 fit 16
  assert.deepEqual(caps, [4, 4, 8, 8, 8, 16, 16]);
  for (const [t, w] of handed) assert.deepEqual([...t.f32], w, "a view changed after later updates");
});

test("growth stops at maxPositions (the context length), and goes past it only when asked to", () => {
  const cache = new KVCache(1, { capacity: 4, maxPositions: 6 });
  const caps: number[] = [];
  for (const T of [3, 2, 1, 1]) {
    cache.update(0, rows(1, T, T), rows(1, T, T));
    caps.push(cache.capacity(0));
  }
  // 3 fit 4; 5 -> 6 (not 8); 6 fit 6; 7 -> exactly 7 (a caller past the context gets what it asks)
  assert.deepEqual(caps, [4, 6, 6, 7]);
  assert.equal(cache.length, 7);
  assert.throws(() => new KVCache(1, { maxPositions: 0 }), /maxPositions/);
});

test("reserve / advance: a kernel's rows join the cache; growth copies the filled rows", () => {
  const cache = new KVCache(1, { capacity: 2 });
  const before = cache.update(0, rows(1, 2, 1), rows(1, 2, 2))[0].f32.slice();
  const st = cache.reserve(0, 3, NKV, HS);
  assert.ok(st);
  assert.equal(st.capacity, 4);
  assert.deepEqual([...st.k.subarray(0, 2 * ROW)], [...before], "growth lost the filled rows");
  st.k.fill(7, 2 * ROW, 3 * ROW);
  st.v.fill(8, 2 * ROW, 3 * ROW);
  cache.advance(1);
  assert.equal(cache.length, 3);
  const [k, v] = cache.update(0, rows(1, 1, 3), rows(1, 1, 4));
  assert.deepEqual([...k.f32.subarray(0, 2 * ROW)], [...before]);
  assert.deepEqual([...k.f32.subarray(2 * ROW, 3 * ROW)], new Array(ROW).fill(7));
  assert.deepEqual([...v.f32.subarray(2 * ROW, 3 * ROW)], new Array(ROW).fill(8));
  assert.deepEqual([...k.f32.subarray(3 * ROW)], [...rows(1, 1, 3).f32]);
  assert.throws(() => cache.advance(1), /do not fit/);
  assert.throws(() => cache.reserve(0, 5, NKV + 1, HS), /do not match/);
});

test("batches and keys with a gradient grow by concat (and reserve declines them)", () => {
  const batched = new KVCache(1, { capacity: 2 });
  batched.update(0, rows(2, 2, 1), rows(2, 2, 2));
  const [k] = batched.update(0, rows(2, 3, 3), rows(2, 3, 4));
  assert.deepEqual([...k.shape], [2, 5, NKV, HS]);
  for (let b = 0; b < 2; b++) {
    const got = [...k.f32.subarray(b * 5 * ROW, (b + 1) * 5 * ROW)];
    const a = rows(2, 2, 1).f32.subarray(b * 2 * ROW, (b + 1) * 2 * ROW);
    const c = rows(2, 3, 3).f32.subarray(b * 3 * ROW, (b + 1) * 3 * ROW);
    assert.deepEqual(got, [...a, ...c], `row ${b}`);
  }
  assert.equal(batched.reserve(0, 6, NKV, HS), null);

  // batch 1 in storage, then a key that needs a gradient: concat, and the gradient reaches it
  const cache = new KVCache(1, { capacity: 2 });
  cache.update(0, rows(1, 3, 1), rows(1, 3, 2));
  const kg = rows(1, 1, 5).requireGrad();
  const [ck] = cache.update(0, kg, rows(1, 1, 6));
  assert.equal(ck.shape[1], 4);
  assert.deepEqual([...ck.f32], [...rows(1, 3, 1).f32, ...rows(1, 1, 5).f32]);
  sum(ck).backward();
  assert.deepEqual([...(kg.grad?.f32 ?? [])], new Array(ROW).fill(1));
  assert.equal(cache.reserve(0, 5, NKV, HS), null);
  assert.equal(cache.length, 4);
});

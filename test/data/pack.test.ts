// Packing: truncation in spliced positions drops images whose -200 was cut; packed rows keep
// per-sample segments, positions restarting at 0 (images counting imageTokens positions), and the
// original tokens; greedy first-fit on length-sorted samples.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { ImageRef } from "../../src/data/image_ref.js";
import { packSamples, splicedLength, truncateSample } from "../../src/data/pack.js";
import type { TokenizedSample } from "../../src/data/samples.js";

const I = -200;
const img = (n: string): ImageRef => ({ kind: "path", path: n });
function sample(ids: number[], images: string[], line: number): TokenizedSample {
  return {
    inputIds: Int32Array.from(ids),
    labels: Int32Array.from(ids, (x) => (x === I ? -100 : x)),
    images: images.map(img),
    file: "f",
    line,
  };
}

test("truncation drops images whose token was cut (spliced lengths)", () => {
  const s = sample([1, I, 5, 6, I, 7, 8], ["a", "b"], 1);
  assert.equal(splicedLength(s.inputIds, 4), 13);
  assert.equal(truncateSample(s, 13, 4), s);
  // 10 positions: the second image (positions 7..10) does not fit whole -> it and the rest go.
  const t10 = truncateSample(s, 10, 4);
  assert.deepEqual(Array.from(t10.inputIds), [1, I, 5, 6]);
  assert.deepEqual(Array.from(t10.labels), [1, -100, 5, 6]);
  assert.deepEqual(t10.images, [img("a")]);
  const t12 = truncateSample(s, 12, 4);
  assert.deepEqual(Array.from(t12.inputIds), [1, I, 5, 6, I, 7]);
  assert.deepEqual(t12.images, [img("a"), img("b")]);
  assert.deepEqual(Array.from(truncateSample(s, 4, 4).inputIds), [1]);
  assert.deepEqual(truncateSample(s, 4, 4).images, []);
});

test("packing: segments, restarting positions, padding, greedy first-fit", () => {
  const a = sample([1, I, 2, 3], ["a"], 1); // spliced 3 + 3 = 6 with imageTokens 3
  const b = sample([1, 4, 5], [], 2); // 3
  const c = sample([1, 6, 7, 8, 9, 10, 11], [], 3); // 7
  const rows = packSamples([a, b, c], { maxLength: 10, imageTokens: 3, padId: 0 });
  // Sorted: c (7), a (6), b (3). c -> row0; a does not fit row0 (13) -> row1; b fits row0 (10).
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0].sources, ["f:3", "f:2"]);
  assert.deepEqual(rows[1].sources, ["f:1"]);
  assert.deepEqual(rows[0].seqlens, [7, 3]);
  assert.deepEqual(rows[1].seqlens, [6]);
  const width = 10;
  assert.equal(rows[0].inputIds.length, width);
  assert.deepEqual(Array.from(rows[0].inputIds), [1, 6, 7, 8, 9, 10, 11, 1, 4, 5]);
  assert.deepEqual(Array.from(rows[0].segmentIds), [1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
  assert.deepEqual(Array.from(rows[0].positionIds), [0, 1, 2, 3, 4, 5, 6, 0, 1, 2]);
  assert.deepEqual(Array.from(rows[1].inputIds), [1, I, 2, 3, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(rows[1].labels), [1, -100, 2, 3, -100, -100, -100, -100, -100, -100]);
  assert.deepEqual(Array.from(rows[1].segmentIds), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  // The image occupies positions 1..3, so the next token is at 4.
  assert.deepEqual(Array.from(rows[1].positionIds.slice(0, 4)), [0, 1, 4, 5]);
  assert.deepEqual(rows[1].images, [img("a")]);
  // Every row fits.
  for (const r of rows) assert.ok(r.seqlens.reduce((x, y) => x + y, 0) <= 10);
  assert.throws(() => packSamples([a], { maxLength: 2, imageTokens: 3, padId: 0 }), /does not fit/);
});

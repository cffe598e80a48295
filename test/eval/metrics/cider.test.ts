// CIDEr against pycocoevalcap's Cider run on test/fixtures/metrics/cider.json (repeated n-grams,
// empty / one-word / long candidates, n-grams absent from every reference, a one-image corpus).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ciderScore } from "../../../src/eval/metrics/cider.js";

interface Corpus {
  images: { image_id: number; candidate: string; references: string[] }[];
  corpus: number;
  per_image: Record<string, number>;
}
const fx = JSON.parse(readFileSync("test/fixtures/metrics/cider.json", "utf8")) as {
  corpora: Record<string, Corpus>;
};

const close = (a: number, b: number, label: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${label}: ${a} vs official ${b}`);

for (const [name, c] of Object.entries(fx.corpora)) {
  test(`CIDEr matches pycocoevalcap on corpus "${name}"`, () => {
    const r = ciderScore(
      c.images.map((i) => ({
        imageId: String(i.image_id),
        candidate: i.candidate,
        references: i.references,
      })),
    );
    close(r.corpus, c.corpus, `${name} corpus`);
    for (const [id, v] of Object.entries(c.per_image)) close(r.per_image[id], v, `${name} image ${id}`);
  });
}

test("document frequencies come from the evaluated set: the same pair scores differently in another corpus", () => {
  const main = fx.corpora.main.images.map((i) => ({
    imageId: String(i.image_id),
    candidate: i.candidate,
    references: i.references,
  }));
  const alone = ciderScore([main[0], main[1]]).per_image["1"];
  assert.notEqual(alone, fx.corpora.main.per_image["1"]);
});

test("bad input is an error naming the image", () => {
  assert.throws(() => ciderScore([]), /no images/);
  assert.throws(
    () => ciderScore([{ imageId: "9", candidate: "a", references: [] }]),
    /image_id 9 has no reference/,
  );
  assert.throws(
    () =>
      ciderScore([
        { imageId: "3", candidate: "a", references: ["a"] },
        { imageId: "3", candidate: "b", references: ["b"] },
      ]),
    /image_id 3 appears twice/,
  );
});

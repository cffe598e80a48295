// Two-image questions: every answer is true of the two scenes it is asked about, and the yes/no
// question is not answerable by its prior (yes and no about equally often), on world-tiny's scenes,
// where two images of 1-3 objects share a colour only about a third of the time.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type MultiQa, sceneComparison, sceneLookups } from "../../src/world/multi.js";
import { PRESETS } from "../../src/world/presets.js";
import { Rng } from "../../src/world/rng.js";
import { type Scene, sampleObjectsScene } from "../../src/world/scene.js";

const knobs = PRESETS.tiny.scene;

const colours = (s: Scene) => new Set<string>(s.objects.map((o) => o.colour));

/** Asserts that a two-scene question's answer is true of the scenes. */
function checkAnswer(qa: MultiQa, a: Scene, b: Scene): void {
  const [na, nb] = [a.objects.length, b.objects.length];
  if (qa.category === "both") {
    const colour = /have an? (\w+) object/.exec(qa.question)?.[1] ?? "";
    const truth = colours(a).has(colour) && colours(b).has(colour);
    assert.equal(qa.answer, truth ? "yes" : "no", qa.question);
  } else if (qa.category === "more") {
    assert.notEqual(na, nb);
    assert.equal(qa.answer, na > nb ? "image 1" : "image 2");
  } else if (qa.category === "which") {
    const [, colour, shape] = /has an? (\w+) (\w+)\?/.exec(qa.question) ?? [];
    const has = (s: Scene) => s.objects.some((o) => o.colour === colour && o.shape === shape);
    assert.equal(
      qa.answer,
      has(a) && !has(b) ? "image 1" : !has(a) && has(b) ? "image 2" : "neither",
      qa.question,
    );
  } else {
    assert.equal(qa.category, "total");
    const plural = /how many (\w+)s are there/.exec(qa.question)?.[1];
    const n =
      plural && plural !== "object"
        ? [...a.objects, ...b.objects].filter((o) => o.shape === plural).length
        : na + nb;
    assert.equal(qa.answer, String(n), qa.question);
  }
}

test("multi: scene comparisons answer truly; 'do both images have ...' is yes about half the time", () => {
  const rng = new Rng(7);
  const yesNo = { yes: 0, no: 0 };
  const categories = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const a = sampleObjectsScene(rng, 64, knobs);
    const b = sampleObjectsScene(rng, 64, knobs);
    const qa = sceneComparison(a, b, rng);
    categories.set(qa.category, (categories.get(qa.category) ?? 0) + 1);
    checkAnswer(qa, a, b);
    if (qa.category === "both") yesNo[qa.answer as "yes" | "no"]++;
  }
  const asked = yesNo.yes + yesNo.no;
  assert.ok(asked >= 150, `only ${asked} yes/no questions`);
  const share = yesNo.yes / asked;
  assert.ok(share > 0.42 && share < 0.58, `yes share ${share.toFixed(3)} of ${asked}`);
  for (const c of ["more", "total", "both", "which"])
    assert.ok((categories.get(c) ?? 0) > 0, `no ${c} questions`);
});

test("multi: a pair's lookups answer truly, one of each kind the pair allows", () => {
  const rng = new Rng(11);
  const kinds = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const a = sampleObjectsScene(rng, 64, knobs);
    const b = sampleObjectsScene(rng, 64, knobs);
    const qas = sceneLookups(a, b, rng);
    const cats = qas.map((q) => q.category);
    assert.equal(new Set(cats).size, cats.length, "one question per kind");
    assert.equal(cats.includes("more"), a.objects.length !== b.objects.length);
    const shared = [...colours(a)].some((c) => colours(b).has(c));
    assert.equal(cats.includes("both"), shared);
    for (const qa of qas) {
      assert.ok(["which", "both", "more"].includes(qa.category), qa.category);
      checkAnswer(qa, a, b);
      kinds.set(qa.category, (kinds.get(qa.category) ?? 0) + 1);
    }
  }
  // which-questions need an object in one image only: nearly every pair of 1-3 random objects
  assert.ok((kinds.get("which") ?? 0) > 1900, `which: ${kinds.get("which")}`);
  assert.ok((kinds.get("both") ?? 0) > 200, `both: ${kinds.get("both")}`);
});

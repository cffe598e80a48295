// Two-image questions: every answer is true of the two scenes it is asked about, and the yes/no
// question is not answerable by its prior (yes and no about equally often), on world-tiny's scenes,
// where two images of 1-3 objects share a colour only about a third of the time.

import assert from "node:assert/strict";
import { test } from "node:test";
import { sceneComparison } from "../../src/world/multi.js";
import { PRESETS } from "../../src/world/presets.js";
import { Rng } from "../../src/world/rng.js";
import { type Scene, sampleObjectsScene } from "../../src/world/scene.js";

const knobs = PRESETS.tiny.scene;

const colours = (s: Scene) => new Set<string>(s.objects.map((o) => o.colour));

test("multi: scene comparisons answer truly; 'do both images have ...' is yes about half the time", () => {
  const rng = new Rng(7);
  const yesNo = { yes: 0, no: 0 };
  const categories = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const a = sampleObjectsScene(rng, 64, knobs);
    const b = sampleObjectsScene(rng, 64, knobs);
    const qa = sceneComparison(a, b, rng);
    categories.set(qa.category, (categories.get(qa.category) ?? 0) + 1);
    const [na, nb] = [a.objects.length, b.objects.length];
    if (qa.category === "both") {
      const colour = /have an? (\w+) object/.exec(qa.question)?.[1] ?? "";
      const truth = colours(a).has(colour) && colours(b).has(colour);
      assert.equal(qa.answer, truth ? "yes" : "no", qa.question);
      yesNo[truth ? "yes" : "no"]++;
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
  const asked = yesNo.yes + yesNo.no;
  assert.ok(asked >= 150, `only ${asked} yes/no questions`);
  const share = yesNo.yes / asked;
  assert.ok(share > 0.42 && share < 0.58, `yes share ${share.toFixed(3)} of ${asked}`);
  for (const c of ["more", "total", "both", "which"])
    assert.ok((categories.get(c) ?? 0) > 0, `no ${c} questions`);
});

// In-context episodes of the base LLM's corpus: the captioned and keyed naming episodes keep one
// binding from a colour, a shape or a sign's word to a nonce word, parsed back from the text, and
// corpora of worlds without them draw exactly what they drew before the kinds existed.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { captionedShots, type EpisodeWeights, iclEpisode, keyedShots } from "../../src/world/icl.js";
import { Rng } from "../../src/world/rng.js";
import { COLOUR_NAMES, NONCE_WORDS, SHAPE_NAMES, SIGN_WORDS } from "../../src/world/vocab.js";

const CAPTION =
  /^(?:(?:look at the next one|here is another picture|the children liked this game very much|we kept going|then a new picture came up on the wall of the room|it was late in the day|and one more)\. )?(?:a picture of |photo: |an image with |stock image of )?an? (?:(?:small|medium|large) )?(\w+) (\w+)(?: on a (?:(?:fading|striped|checkered|speckled) )?\w+ background)?\. this is a$/;

/** Whether `pairs` (attribute, word) map one to one. */
function oneToOne(pairs: readonly [string, string][]): boolean {
  const fwd = new Map<string, string>();
  const back = new Map<string, string>();
  for (const [a, w] of pairs) {
    if ((fwd.get(a) ?? w) !== w || (back.get(w) ?? a) !== a) return false;
    fwd.set(a, w);
    back.set(w, a);
  }
  return true;
}

test("icl: captioned naming episodes bind one colour or one shape to each word, 3-9 words before it", () => {
  const rng = new Rng(11);
  let byColour = 0;
  for (let e = 0; e < 300; e++) {
    const ways = rng.range(2, 3);
    const shots = captionedShots(rng, ways, rng.range(5, 10));
    const parsed = shots.map((s) => {
      const m = CAPTION.exec(s.text);
      assert.ok(m, `unexpected demonstration "${s.text}"`);
      assert.ok(COLOUR_NAMES.includes(m[1] as never), s.text);
      assert.ok(SHAPE_NAMES.includes(m[2] as never), s.text);
      assert.ok(NONCE_WORDS.includes(s.answer as never), s.answer);
      // the bound attribute sits inside the caption, not next to the answer
      const words = s.text.split(" ").map((w) => w.replace(/\.$/, ""));
      const between = words.length - 1 - words.lastIndexOf(m[2]);
      assert.ok(between >= 3 && between <= 8, `${between} words between the shape and the answer: ${s.text}`);
      assert.ok(words.length + 1 >= 7 && words.length + 1 <= 28, `${words.length + 1} words: ${s.text}`);
      return { colour: m[1], shape: m[2], word: s.answer };
    });
    assert.equal(new Set(parsed.map((p) => p.word)).size, ways, "every word is demonstrated");
    const colours = oneToOne(parsed.map((p) => [p.colour, p.word]));
    const shapes = oneToOne(parsed.map((p) => [p.shape, p.word]));
    assert.ok(colours || shapes, JSON.stringify(parsed));
    if (colours && !shapes) byColour++;
  }
  assert.ok(byColour > 100 && byColour < 200, `${byColour} of 300 episodes bind colours`);
});

test("icl: keyed naming episodes bind one value (colour, shape or sign word) to each word, 3-8 words before it", () => {
  const KEYED =
    /^(?:[a-z .]+\. )?(?:a picture of |photo: |an image with |stock image of )?(?:an? (\w+) (?:one|thing|shape)|an? (\w+)|a sign that says "(\w+)")(?: on a (?:(?:fading|striped|checkered|speckled) )?\w+ background)?\. this is a$/;
  const rng = new Rng(12);
  const families = new Set<string>();
  for (let e = 0; e < 300; e++) {
    const ways = rng.range(2, 3);
    const shots = keyedShots(rng, ways, rng.range(5, 10));
    const pairs = shots.map((s): [string, string] => {
      const m = KEYED.exec(s.text);
      assert.ok(m, `unexpected demonstration "${s.text}"`);
      const value = m[1] ?? m[2] ?? m[3];
      const family = m[1] ? COLOUR_NAMES : m[2] ? SHAPE_NAMES : SIGN_WORDS;
      assert.ok((family as readonly string[]).includes(value), s.text);
      families.add(m[1] ? "colour" : m[2] ? "shape" : "sign");
      assert.ok(NONCE_WORDS.includes(s.answer as never), s.answer);
      const words = s.text.split(" ").map((w) => w.replace(/^"|\.$|"\.?$/g, ""));
      const between = words.length - 1 - words.lastIndexOf(value);
      assert.ok(between >= 3 && between <= 9, `${between} words between the value and the answer: ${s.text}`);
      return [value, s.answer];
    });
    assert.equal(new Set(pairs.map((p) => p[1])).size, ways, "every word is demonstrated");
    assert.ok(oneToOne(pairs), JSON.stringify(pairs));
  }
  assert.deepEqual([...families].sort(), ["colour", "shape", "sign"]);
});

test("icl: a captioned or keyed episode is one line or a line per demonstration, each ending in its word", () => {
  const rng = new Rng(3);
  const forms = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const only: EpisodeWeights = {
      binding: 0,
      naming: 0,
      pattern: 0,
      rule: 0,
      captioned: i % 2,
      keyed: 1 - (i % 2),
    };
    const text = iclEpisode(rng, only);
    const demos = text.split(/(?<=this is a \w+\.)[ \n]/);
    assert.ok(demos.length >= 5 && demos.length <= 10, text);
    for (const d of demos) assert.match(d, /this is a \w+\.$/);
    forms.add(text.includes("\n") ? "lines" : "one line");
  }
  assert.deepEqual([...forms].sort(), ["lines", "one line"]);
});

test("icl: episode mixes without the captioned kind draw as before it existed", () => {
  // sha256 prefixes of 500 episodes from Rng(7), computed by the code of 155e39d (before the kind):
  // world-tiny's mix and world-small's old mix
  const before: [EpisodeWeights, string][] = [
    [{ binding: 4, naming: 2, pattern: 2, rule: 2 }, "f2f26f4fc1831176"],
    [{ binding: 6, naming: 3, pattern: 1, rule: 1 }, "681ac6055abc0f0d"],
  ];
  for (const [w, want] of before)
    for (const mix of [w, { ...w, captioned: 0, keyed: 0 }]) {
      const rng = new Rng(7);
      const h = createHash("sha256");
      for (let i = 0; i < 500; i++) h.update(`${iclEpisode(rng, mix)}\u0000`);
      assert.equal(h.digest("hex").slice(0, 16), want, JSON.stringify(mix));
    }
});

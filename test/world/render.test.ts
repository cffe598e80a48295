// Rendering: deterministic bytes for a scene, areas of antialiased shapes against their
// analytic areas, occlusion by draw order, and scenes that respect the sampler's knobs.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { PRESETS } from "../../src/world/presets.js";
import { createImage, drawShape, renderScene } from "../../src/world/render.js";
import { Rng } from "../../src/world/rng.js";
import { type Scene, sampleObjectsScene } from "../../src/world/scene.js";
import { COLOURS, SIZES } from "../../src/world/vocab.js";

const knobs = PRESETS.tiny.scene;
const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("render: the same scene renders to identical bytes; another seed differs", () => {
  const a = sampleObjectsScene(new Rng(7), 64, knobs);
  const b = sampleObjectsScene(new Rng(7), 64, knobs);
  assert.deepEqual(a, b);
  assert.equal(hash(renderScene(a).data), hash(renderScene(b).data));
  const c = sampleObjectsScene(new Rng(8), 64, knobs);
  assert.notEqual(hash(renderScene(a).data), hash(renderScene(c).data));
  const noisier: Scene = { ...a, seed: a.seed + 1 };
  assert.notEqual(hash(renderScene(a).data), hash(renderScene(noisier).data), "noise follows scene.seed");
});

/** Ink coverage: sum over pixels of (value / 255) on a black canvas with a white shape. */
function coverage(shape: Parameters<typeof drawShape>[1], r: number): number {
  const img = createImage(64, 64);
  drawShape(img, shape, 31.3, 32.6, r, [255, 255, 255]);
  let s = 0;
  for (let i = 0; i < img.data.length; i += 3) s += img.data[i] / 255;
  return s;
}

test("render: antialiased shape areas match their analytic areas", () => {
  const r = 12;
  const cases: [Parameters<typeof drawShape>[1], number][] = [
    ["circle", Math.PI * r * r],
    ["square", (2 * 0.82 * r) ** 2],
    ["diamond", 2 * r * r],
    ["ring", Math.PI * r * r * (1 - 0.3)],
    ["triangle", 0.5 * (1.9 * r) * (1.75 * r)],
    ["cross", (2 * 0.6 * 1.9 - 0.6 * 0.6) * r * r],
  ];
  for (const [shape, area] of cases) {
    const got = coverage(shape, r);
    assert.ok(
      Math.abs(got - area) / area < 0.03,
      `${shape}: coverage ${got.toFixed(1)} vs area ${area.toFixed(1)}`,
    );
  }
});

test("render: later objects occlude earlier ones", () => {
  const base = sampleObjectsScene(new Rng(3), 64, { ...knobs, noise: 0, distractorProb: 0 });
  const scene: Scene = {
    ...base,
    sign: null,
    objects: [
      { shape: "square", colour: "red", size: "large", x: 32, y: 32, r: 10 },
      { shape: "circle", colour: "blue", size: "small", x: 32, y: 32, r: 4 },
    ],
  };
  const img = renderScene(scene);
  const at = (x: number, y: number) => [...img.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
  assert.deepEqual(at(32, 32), [40, 80, 220], "the circle drawn last is on top");
  assert.deepEqual(at(32, 24), [220, 40, 40], "the square shows around it");
});

test("render: sampled scenes respect object counts, bounds and sizes", () => {
  const rng = new Rng(11);
  for (let i = 0; i < 200; i++) {
    const s = sampleObjectsScene(rng, 64, knobs);
    assert.ok(s.objects.length <= knobs.maxObjects);
    for (const o of s.objects) {
      assert.ok(
        o.x - o.r >= 0 && o.x + o.r <= 64 && o.y - o.r >= 0 && o.y + o.r <= 64,
        "object inside the image",
      );
      assert.ok(Math.abs(o.r / 64 - SIZES[o.size]) <= 0.08 * SIZES[o.size], "radius matches size class");
    }
  }
});

test("render: every object stays visible despite occlusion, signs and distractors", () => {
  const rng = new Rng(21);
  for (let i = 0; i < 150; i++) {
    const scene = sampleObjectsScene(rng, 64, { ...knobs, noise: 0, signOnSceneProb: 0.5 });
    const img = renderScene(scene);
    for (const o of scene.objects) {
      const c = COLOURS[o.colour];
      let seen = 0;
      for (let y = Math.floor(o.y - o.r); y <= Math.ceil(o.y + o.r); y++) {
        for (let x = Math.floor(o.x - o.r); x <= Math.ceil(o.x + o.r); x++) {
          if (x < 0 || y < 0 || x >= 64 || y >= 64) continue;
          const k = (y * 64 + x) * 3;
          if (
            Math.abs(img.data[k] - c[0]) +
              Math.abs(img.data[k + 1] - c[1]) +
              Math.abs(img.data[k + 2] - c[2]) <
            30
          )
            seen++;
        }
      }
      assert.ok(seen >= 3, `scene ${i}: the ${o.colour} ${o.shape} shows only ${seen} pixels`);
    }
  }
});

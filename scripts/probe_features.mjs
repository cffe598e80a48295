// Dump the image features of a VILA checkpoint for a probe (scripts/probe_features.py): the
// projector's output (what the LLM sees) or the vision tower's selected layer, for the scene images of
// a world's image-text pairs, with their captions (the probe's labels).
// Usage: node scripts/probe_features.mjs CHECKPOINT WORLD_DIR OUT [projector|tower] [N]
//   CHECKPOINT  a VILA checkpoint folder (e.g. runs/world-tiny/align-*/train/checkpoint-300; align
//               keeps the tower stage's weights, so its "tower" features are the SigLIP tower's)
//   OUT         writes OUT.bin (float32, N x tokens x dim) and OUT.json ({n, shape, captions, and the
//               world's colour and shape names})
// Needs `npm run build` (imports dist/).
import fs from "node:fs";
import path from "node:path";
import { readJsonl } from "../dist/src/data/jsonl.js";
import { stackImages } from "../dist/src/infer/session.js";
import { loadImage } from "../dist/src/io/image.js";
import { loadVila } from "../dist/src/io/model.js";
import { noGrad } from "../dist/src/tensor/index.js";
import { COLOUR_NAMES, SHAPE_NAMES } from "../dist/src/world/vocab.js";

const [ckpt, world, out, part = "projector", n = "1600"] = process.argv.slice(2);
if (!out || !["projector", "tower"].includes(part)) {
  console.error("usage: node scripts/probe_features.mjs CHECKPOINT WORLD_DIR OUT [projector|tower] [N]");
  process.exit(2);
}
const pairs = [];
for await (const { value } of readJsonl(path.join(world, "pairs", "pairs.jsonl"))) {
  if (pairs.length === Number(n)) break;
  if (value.caption.includes(" background")) pairs.push(value); // scenes, not landmark views or bare signs
}
const { model, checkpoint } = loadVila(ckpt);
const pre = checkpoint.vision_tower.preprocess;
const chunks = [];
let shape = [];
for (let i = 0; i < pairs.length; i += 50) {
  const images = [];
  for (const p of pairs.slice(i, i + 50))
    images.push(await loadImage(path.join(world, p.image), pre, p.image));
  const x = stackImages(images);
  const f = noGrad(() => (part === "tower" ? model.visionFeatures(x) : model.encodeImages(x)));
  shape = f.shape.slice(1);
  chunks.push(Float32Array.from(f.f32));
}
const all = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
let offset = 0;
for (const c of chunks) {
  all.set(c, offset);
  offset += c.length;
}
fs.writeFileSync(`${out}.bin`, all);
fs.writeFileSync(
  `${out}.json`,
  JSON.stringify({
    n: pairs.length,
    shape,
    captions: pairs.map((p) => p.caption),
    colours: COLOUR_NAMES,
    shapes: SHAPE_NAMES,
  }),
);
console.log(`${out}.bin: ${pairs.length} images x [${shape}] (${part})`);

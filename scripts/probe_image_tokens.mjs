// How the LLM's image tokens compare with its word embeddings, for the image in-context question
// (docs/ARCHITECTURE.md, "In-context learning over images"): the RMS of the projector's output
// tokens against the RMS of the token embeddings, and the cosine between two images' mean tokens
// when they share the class an in-context episode binds (a colour, or a shape) and when they do not.
// Images: the world's `icl` support pool (single objects, 4 images of every colour and every shape).
// Usage: node scripts/probe_image_tokens.mjs CHECKPOINT WORLD_DIR
// Needs `npm run build` (imports dist/).
import path from "node:path";
import { readJsonl } from "../dist/src/data/jsonl.js";
import { stackImages } from "../dist/src/infer/session.js";
import { loadImage } from "../dist/src/io/image.js";
import { loadVila } from "../dist/src/io/model.js";
import { noGrad } from "../dist/src/tensor/index.js";

const [ckpt, world] = process.argv.slice(2);
if (!world) {
  console.error("usage: node scripts/probe_image_tokens.mjs CHECKPOINT WORLD_DIR");
  process.exit(2);
}
const support = [];
for await (const { value } of readJsonl(path.join(world, "bench", "icl", "support.jsonl")))
  support.push(value);
const { model, checkpoint } = loadVila(ckpt);
const pre = checkpoint.vision_tower.preprocess;
const images = [];
for (const s of support) images.push(await loadImage(path.join(world, s.image), pre, s.image));
const f = noGrad(() => model.encodeImages(stackImages(images)));
const [n, tokens, dim] = f.shape;

const rms = (a, off, len) => {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[off + i] * a[off + i];
  return Math.sqrt(s / len);
};
const emb = model.llm.model.embedTokens.weight;
const [vocab] = emb.shape;
let wordRms = 0;
for (let v = 0; v < vocab; v++) wordRms += rms(emb.f32, v * dim, dim) / vocab;
let imageRms = 0;
for (let t = 0; t < n * tokens; t++) imageRms += rms(f.f32, t * dim, dim) / (n * tokens);

// each image's mean token, and the cosines of pairs by what they share
const mean = Array.from({ length: n }, (_, i) => {
  const m = new Float64Array(dim);
  for (let t = 0; t < tokens; t++)
    for (let d = 0; d < dim; d++) m[d] += f.f32[(i * tokens + t) * dim + d] / tokens;
  return m;
});
const cos = (a, b) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let d = 0; d < dim; d++) {
    ab += a[d] * b[d];
    aa += a[d] * a[d];
    bb += b[d] * b[d];
  }
  return ab / Math.sqrt(aa * bb);
};
const [colour, shape] = [0, 1].map((k) => support.map((s) => s.answer.split(" ")[k]));
const groups = { "same colour": [], "other colour": [], "same shape": [], "other shape": [] };
for (let i = 0; i < n; i++)
  for (let j = i + 1; j < n; j++) {
    const c = cos(mean[i], mean[j]);
    groups[colour[i] === colour[j] ? "same colour" : "other colour"].push(c);
    groups[shape[i] === shape[j] ? "same shape" : "other shape"].push(c);
  }
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`${n} support images, ${tokens} tokens of ${dim} each`);
console.log(
  `RMS: image tokens ${imageRms.toFixed(4)}, token embeddings ${wordRms.toFixed(4)} (ratio ${(imageRms / wordRms).toFixed(1)})`,
);
for (const [k, xs] of Object.entries(groups))
  console.log(`cosine of mean image tokens, ${k}: ${avg(xs).toFixed(3)} (${xs.length} pairs)`);

// How much a VILA checkpoint's captions depend on the image, per kind of word: the mean negative
// log-likelihood of each caption token of a world's scene pairs with the real image and with a
// grey one (every pixel at the normalisation mean), grouped into colour words, shape words,
// background words and the rest. A group whose two figures are equal is not read from the image.
// Usage: node scripts/probe_loss_gap.mjs CHECKPOINT WORLD_DIR [N]   (the first N scene pairs, 100)
// Needs `npm run build` (imports dist/).
import path from "node:path";
import { readJsonl } from "../dist/src/data/jsonl.js";
import { stackImages } from "../dist/src/infer/session.js";
import { loadImage } from "../dist/src/io/image.js";
import { loadVila } from "../dist/src/io/model.js";
import { noGrad, Tensor } from "../dist/src/tensor/index.js";
import { tokenizerImageToken } from "../dist/src/tokenizer/image_tokens.js";
import { loadTokenizer } from "../dist/src/tokenizer/tokenizer.js";
import { COLOUR_NAMES, SETTING_NAMES, SHAPE_NAMES, SHAPE_PLURALS } from "../dist/src/world/vocab.js";

const [ckpt, world, n = "100"] = process.argv.slice(2);
if (!world) {
  console.error("usage: node scripts/probe_loss_gap.mjs CHECKPOINT WORLD_DIR [N]");
  process.exit(2);
}
const pairs = [];
for await (const { value } of readJsonl(path.join(world, "pairs", "pairs.jsonl"))) {
  if (pairs.length === Number(n)) break;
  if (value.caption.includes(" background")) pairs.push(value); // scenes, not landmark views or bare signs
}
const { model, checkpoint } = loadVila(ckpt);
model.eval();
if (!checkpoint.tokenizerDir) throw new Error(`${ckpt}: the checkpoint has no tokenizer files`);
const tok = await loadTokenizer(checkpoint.tokenizerDir);
const groups = [
  ["colour", new Set(COLOUR_NAMES)],
  ["shape", new Set([...SHAPE_NAMES, ...Object.values(SHAPE_PLURALS)])],
  ["background", new Set([...SETTING_NAMES, "fading", "background"])],
];
const sums = new Map();
const nll = (logits, at, id, V) => {
  const row = logits.subarray(at * V, at * V + V);
  let m = Number.NEGATIVE_INFINITY;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s) - row[id];
};
for (const p of pairs) {
  const x = stackImages([
    await loadImage(path.join(world, p.image), checkpoint.vision_tower.preprocess, p.image),
  ]);
  const grey = new Tensor(new Float32Array(x.f32.length), x.shape);
  const ids = tokenizerImageToken(`<image>${p.caption}${tok.eosToken}`, tok);
  const inputIds = new Tensor(Int32Array.from(ids), [1, ids.length]);
  const [real, none] = [x, grey].map((images) => noGrad(() => model.forward({ inputIds, images }).logits));
  const V = real.shape[2];
  const shift = real.shape[1] - ids.length; // image tokens minus the one marker
  for (let j = ids.indexOf(-200) + 1; j < ids.length; j++) {
    const word = tok.decode([ids[j]]).trim();
    const g = groups.find(([, words]) => words.has(word))?.[0] ?? "other";
    const s = sums.get(g) ?? { n: 0, real: 0, grey: 0 };
    s.n++;
    s.real += nll(real.f32, j + shift - 1, ids[j], V);
    s.grey += nll(none.f32, j + shift - 1, ids[j], V);
    sums.set(g, s);
  }
}
console.log(`${ckpt}: ${pairs.length} scene captions; mean NLL per token (nats), real image vs grey image`);
for (const [g, s] of sums)
  console.log(
    `${g.padEnd(10)} ${String(s.n).padStart(5)} tokens  real ${(s.real / s.n).toFixed(3)}  grey ${(s.grey / s.n).toFixed(3)}`,
  );

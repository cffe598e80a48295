// Keyed in-context binding, the circuit image in-context learning needs, on synthetic tokens: can a
// d-128 Llama learn to bind a word to a key that sits behind a constant frame, and does depth help?
// Each row is one episode: 2-3 keys (of 16) bound to 2-3 words (of 32), then 8 demonstrations, each
// key shown once in the first ones, then at random. A demonstration in each form:
//   adjacent  K W .                                  (the corpus's `zorn: brisa`, which it learns)
//   frame     K . this is a W .                      (the image task: `<image>this is a dax.`)
//   varied    [0-3 filler] K [0-3 filler] . this is a W .   (captions of varying length)
//   varied4   as varied, with 4 filler tokens always after the key (a longer gap)
//   mixed     half the training episodes adjacent, half frame; evaluated on frame episodes: whether
//             the adjacent circuit, which forms first, carries over (the corpus's binding episodes
//             beside the image task)
// Trained on every next token (filler is random, so unpredictable) from step 1, constant lr after
// 100 warm-up steps. Every EVAL steps prints the accuracy of the greedy word at repeated
// demonstrations (the ones whose key was shown before) on 512 held-out episodes; a model that
// copies a demonstrated word at random scores about 42 (1/2 or 1/3 per episode), chance ~3.
// Results (stop 33): docs/ARCHITECTURE.md, "In-context learning over images".
// Usage: node scripts/keyed_probe.mjs FORM [LAYERS=4] [STEPS=3000] [LR=5e-4] [SEED=0]
// Needs `npm run build`. Prints one line per evaluation: step, loss, accuracy, seconds.
import { LlamaForCausalLM } from "../dist/src/models/llm/llama.js";
import { AdamW } from "../dist/src/optim/adamw.js";
import { LLM_D128 } from "../dist/src/recipes/presets.js";
import { noGrad, Tensor } from "../dist/src/tensor/index.js";
import { crossEntropy } from "../dist/src/tensor/ops/nn.js";
import { Generator } from "../dist/src/tensor/random.js";

const FORMS = ["adjacent", "frame", "varied", "varied4", "mixed"];
const form = process.argv[2];
if (!FORMS.includes(form)) {
  console.error(
    `usage: node scripts/keyed_probe.mjs FORM [LAYERS] [STEPS] [LR] [SEED]; FORM one of ${FORMS.join(", ")}`,
  );
  process.exit(2);
}
const layers = Number(process.argv[3] ?? 4),
  steps = Number(process.argv[4] ?? 3000),
  lr = Number(process.argv[5] ?? 5e-4),
  seed = Number(process.argv[6] ?? 0);

// vocabulary: 0 pad, 1 BOS, keys, words, the frame ". this is a", filler
const KEY0 = 2,
  KEYS = 16,
  WORD0 = KEY0 + KEYS,
  WORDS = 32,
  DOT = WORD0 + WORDS,
  FRAME = [DOT + 1, DOT + 2, DOT + 3], // this is a
  FILL0 = DOT + 4,
  FILLS = 40,
  V = FILL0 + FILLS;
const DEMOS = 8,
  B = 32,
  EVAL = 250,
  T = 1 + DEMOS * { adjacent: 3, frame: 7, varied: 13, varied4: 14, mixed: 7 }[form];

/** Draw `k` distinct integers in [0, n). */
function sample(g, n, k) {
  const out = [];
  while (out.length < k) {
    const x = g.randint(n);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** One episode as token ids, and the positions (predicting the word) of its repeated demonstrations. */
function episode(g, heldOut) {
  const f = form !== "mixed" ? form : heldOut || g.randint(2) ? "frame" : "adjacent";
  const ways = 2 + g.randint(2);
  const keys = sample(g, KEYS, ways).map((k) => KEY0 + k);
  const words = sample(g, WORDS, ways).map((w) => WORD0 + w);
  const order = sample(g, ways, ways);
  while (order.length < DEMOS) order.push(g.randint(ways));
  const filler = (n) => Array.from({ length: n }, () => FILL0 + g.randint(FILLS));
  const ids = [1],
    asks = [];
  for (let d = 0; d < DEMOS; d++) {
    const i = order[d];
    if (f === "adjacent") ids.push(keys[i]);
    else if (f === "frame") ids.push(keys[i], DOT, ...FRAME);
    else {
      const after = f === "varied4" ? 4 : g.randint(4);
      ids.push(...filler(g.randint(4)), keys[i], ...filler(after), DOT, ...FRAME);
    }
    if (d >= ways) asks.push(ids.length - 1);
    ids.push(words[i], DOT);
  }
  return { ids, asks };
}

/** A batch of `n` episodes, padded to T: ids, next-token labels (-100 on padding), asked positions. */
function batch(g, n, heldOut = false) {
  const ids = new Int32Array(n * T),
    lab = new Int32Array(n * T).fill(-100),
    asks = [];
  for (let b = 0; b < n; b++) {
    const e = episode(g, heldOut);
    ids.set(e.ids, b * T);
    for (let t = 0; t + 1 < e.ids.length; t++) lab[b * T + t] = e.ids[t + 1];
    for (const a of e.asks) asks.push(b * T + a);
  }
  return { ids, lab, asks, n };
}

const m = new LlamaForCausalLM(
  { ...LLM_D128, num_hidden_layers: layers, vocab_size: V, max_position_embeddings: 256 },
  new Generator(seed),
);
const opt = new AdamW([{ params: m.namedParameters(), lr }], { weightDecay: 0 });
const gen = new Generator(1000 + seed);
const held = Array.from({ length: 16 }, (_, i) => batch(new Generator(7 + i), B, true));

/** Greedy accuracy (%) at the asked positions of the held-out episodes. */
function accuracy() {
  m.eval();
  let hit = 0,
    n = 0;
  noGrad(() => {
    for (const h of held) {
      const L = m.forward({ inputsEmbeds: m.embed(new Tensor(h.ids, [h.n, T])) }).f32;
      for (const at of h.asks) {
        const row = L.subarray(at * V, (at + 1) * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        hit += best === h.lab[at] ? 1 : 0;
        n++;
      }
    }
  });
  m.train();
  return (100 * hit) / n;
}

const t0 = performance.now();
console.log(
  `form ${form}, ${layers} layers, lr ${lr}, seed ${seed}: step 0 accuracy ${accuracy().toFixed(1)}`,
);
for (let s = 1; s <= steps; s++) {
  const b = batch(gen, B);
  const logits = m.forward({ inputsEmbeds: m.embed(new Tensor(b.ids, [B, T])) });
  const loss = crossEntropy(logits, new Tensor(b.lab, [B, T]), -100);
  opt.setLrScale(Math.min(1, s / 100));
  opt.zeroGrad();
  loss.backward();
  opt.step();
  if (s % EVAL === 0)
    console.log(
      `step ${s} loss ${loss.f32[0].toFixed(3)} accuracy ${accuracy().toFixed(1)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
}

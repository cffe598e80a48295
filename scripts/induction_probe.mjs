// Content-based induction, the circuit in-context learning needs, learned by a 2-layer d-128 Llama:
// rows "BOS x1..x12, 0-24 random filler tokens, x1..x12" of random tokens (vocabulary 64), so the
// repeat's offset varies and only content finds it. Prints the loss on the repeated part every
// 100 steps (uniform: ln 62 = 4.13). scripts/induction_probe.py is the same in PyTorch.
// Usage: node scripts/induction_probe.mjs [LAYERS=2] [STEPS=600] [LR=2e-3]   Needs `npm run build`.
import { LlamaForCausalLM } from "../dist/src/models/llm/llama.js";
import { AdamW } from "../dist/src/optim/adamw.js";
import { LLM_D128 } from "../dist/src/recipes/presets.js";
import { Tensor } from "../dist/src/tensor/index.js";
import { crossEntropy } from "../dist/src/tensor/ops/nn.js";
import { Generator } from "../dist/src/tensor/random.js";

const layers = Number(process.argv[2] ?? 2),
  steps = Number(process.argv[3] ?? 600),
  lr = Number(process.argv[4] ?? 2e-3);
const V = 64,
  N = 12,
  F = 24,
  B = 32,
  T = 1 + 2 * N + F;
const m = new LlamaForCausalLM(
  { ...LLM_D128, num_hidden_layers: layers, vocab_size: V, max_position_embeddings: 128 },
  new Generator(0),
);
m.train();
const params = m.namedParameters();
const opt = new AdamW([{ params, lr }], { weightDecay: 0 });
const gen = new Generator(5);
for (let s = 1; s <= steps; s++) {
  const ids = new Int32Array(B * T),
    lab = new Int32Array(B * T).fill(-100),
    copyMask = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const o = b * T;
    ids[o] = 1;
    const f = gen.randint(F + 1);
    const xs = Array.from({ length: N }, () => 2 + gen.randint(V - 2));
    let t = 1;
    for (const x of xs) ids[o + t++] = x;
    for (let i = 0; i < f; i++) ids[o + t++] = 2 + gen.randint(V - 2);
    const start = t;
    for (const x of xs) ids[o + t++] = x;
    while (t < T) ids[o + t++] = 0; // pad (no loss)
    for (let u = 0; u < start + N - 1; u++) lab[o + u] = ids[o + u + 1];
    for (let u = start; u < start + N - 1; u++) copyMask[o + u] = 1;
  }
  const logits = m.forward({ inputsEmbeds: m.embed(new Tensor(ids, [B, T])) });
  const loss = crossEntropy(logits, new Tensor(lab, [B, T]), -100);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  if (s % 100 === 0) {
    const L = logits.f32;
    let sec = 0,
      n = 0;
    for (let at = 0; at < B * T; at++)
      if (copyMask[at]) {
        const row = L.subarray(at * V, (at + 1) * V);
        let mx = -Infinity;
        for (const x of row) mx = Math.max(mx, x);
        let z = 0;
        for (const x of row) z += Math.exp(x - mx);
        sec += -(row[lab[at]] - mx - Math.log(z));
        n++;
      }
    console.log(
      `step ${s} loss ${loss.f32[0].toFixed(3)} copy-part ${(sec / n).toFixed(3)} (uniform ${Math.log(V - 2).toFixed(2)})`,
    );
  }
}

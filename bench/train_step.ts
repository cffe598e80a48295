// Benchmark: one training step (forward, backward, AdamW) of a Llama-style model, ours vs the
// same model in PyTorch CPU, same shapes, fp32, same thread count. Each side runs in its own
// process so peak RSS is its own.
// Default shapes (the engine issue): vocab 8192, d 512, 8 layers, 8 heads, ffn 1376, seq 512,
// batch 8. VILA_BENCH_QUICK=1 shrinks them for a smoke run.

import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { LlamaForCausalLM } from "../src/models/llm/llama.js";
import { AdamW } from "../src/optim/adamw.js";
import { crossEntropy } from "../src/tensor/ops/nn.js";
import { Generator } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";
import { median, peerEnv, peerPython, runJson, table } from "./util.js";

interface Shape {
  V: number;
  D: number;
  L: number;
  H: number;
  F: number;
  T: number;
  B: number;
  steps: number;
}

export function shapes(quick: boolean): Shape {
  return quick
    ? { V: 1024, D: 128, L: 2, H: 4, F: 344, T: 128, B: 4, steps: 3 }
    : { V: 8192, D: 512, L: 8, H: 8, F: 1376, T: 512, B: 8, steps: 3 };
}

/** Child mode: run the steps and print one JSON line. */
function child(s: Shape): void {
  const gen = new Generator(0);
  const model = new LlamaForCausalLM(
    {
      vocab_size: s.V,
      hidden_size: s.D,
      intermediate_size: s.F,
      num_hidden_layers: s.L,
      num_attention_heads: s.H,
      rms_norm_eps: 1e-5,
      max_position_embeddings: s.T,
    },
    gen,
  );
  const opt = new AdamW([{ params: model.namedParameters(), lr: 1e-4 }]);
  const ids = new Int32Array(s.B * s.T).map(() => gen.randint(s.V));
  const tgt = new Int32Array(s.B * s.T).map(() => gen.randint(s.V));
  const idsT = new Tensor(ids, [s.B, s.T]);
  const tgtT = new Tensor(tgt, [s.B, s.T]);
  const rates: number[] = [];
  let loss = 0;
  for (let i = 0; i <= s.steps; i++) {
    const t0 = performance.now();
    const logits = model.forward({ inputsEmbeds: model.embed(idsT) });
    const l = crossEntropy(logits, tgtT);
    l.backward();
    opt.step();
    opt.zeroGrad();
    loss = l.item();
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) rates.push((s.B * s.T) / dt);
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ tokens_per_s: rates, max_rss_mb: rss, loss, backend: backend().name }));
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const s = shapes(quick);
  const threads = Number(process.env.VILA_NUM_THREADS ?? 2);
  console.log(
    `\n## Training step: Llama V=${s.V} d=${s.D} L=${s.L} heads=${s.H} ffn=${s.F} T=${s.T} B=${s.B}, fp32, ${threads} threads`,
  );
  const self = fileURLToPath(import.meta.url);
  const ours = runJson<{ tokens_per_s: number[]; max_rss_mb: number; backend: string }>(
    process.execPath,
    [self, "--child", JSON.stringify(s)],
    {
      ...process.env,
      VILA_NUM_THREADS: String(threads),
    },
  );
  const rows: (string | number)[][] = [
    [`vila-ts (${ours.backend})`, median(ours.tokens_per_s), ours.max_rss_mb, "", ""],
  ];
  const { python, why } = peerPython("torch");
  if (python) {
    const peer = runJson<{ tokens_per_s: number[]; max_rss_mb: number }>(
      python,
      ["scripts/bench_train_peer.py", ...[s.V, s.D, s.L, s.H, s.F, s.T, s.B, s.steps, threads].map(String)],
      peerEnv(threads),
    );
    const r = median(ours.tokens_per_s) / median(peer.tokens_per_s);
    rows.push(["PyTorch CPU", median(peer.tokens_per_s), peer.max_rss_mb, "", ""]);
    rows[0][3] = `${r.toFixed(2)}x`;
    rows[0][4] = `${(ours.max_rss_mb / peer.max_rss_mb).toFixed(2)}x`;
  } else console.log(`(peer skipped: ${why})`);
  console.log(table(["engine", "tokens/s (median)", "peak RSS MB", "speed vs torch", "RSS vs torch"], rows));
}

if (process.argv[2] === "--child") child(JSON.parse(process.argv[3]) as Shape);
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run();

// Benchmark: VILA stage-1 training throughput (projector + LLM trained, vision tower frozen) of the
// world-small recipe's model, ours vs the same model in PyTorch CPU (scripts/bench_stage1_peer.py),
// fp32, same thread count, each side in its own process so peak RSS is its own. A step is what the
// trainer does: forward with images spliced at -200, token-mean cross-entropy, backward, clip, AdamW.
// Tokens are spliced positions (text + image embeddings), as the trainer counts them.
// VILA_BENCH_QUICK=1 runs fewer steps.

import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { VilaForCausalLM } from "../src/models/vila.js";
import { AdamW, clipGradNorm } from "../src/optim/index.js";
import { RECIPES } from "../src/recipes/presets.js";
import { Generator } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";
import { median, peerEnv, peerPython, runJson, table } from "./util.js";

interface Shape {
  /** packed rows per step (per_device_train_batch_size rows after packing) */
  rows: number;
  /** text tokens per row, the image markers included */
  row_tokens: number;
  images_per_row: number;
  steps: number;
}

/** The world-small model with the world tokenizer's vocabulary size rounded as the recipe does. */
export function benchConfig(quick: boolean) {
  const p = RECIPES["world-small"];
  return {
    llm: { ...p.model.llm, vocab_size: 2048 },
    vision: p.model.vision,
    projector: p.model.projector,
    mm_vision_select_layer: p.model.mm_vision_select_layer,
    mm_vision_select_feature: p.model.mm_vision_select_feature,
    // a stage-1 row: 4 images (16 embeddings each) in 256 text tokens: 316 positions
    shape: { rows: 8, row_tokens: 256, images_per_row: 4, steps: quick ? 3 : 8 } as Shape,
  };
}

/** Child mode: run the steps and print one JSON line. */
function child(cfg: ReturnType<typeof benchConfig>): void {
  const gen = new Generator(0);
  const model = new VilaForCausalLM(
    {
      llm: cfg.llm as never,
      vision: cfg.vision,
      projector: cfg.projector,
      mm_vision_select_layer: cfg.mm_vision_select_layer,
      mm_vision_select_feature: cfg.mm_vision_select_feature,
    },
    gen,
  );
  model.visionTower.freeze();
  const trainable = [
    ...model.mmProjector.namedParameters("mm_projector."),
    ...model.llm.namedParameters("llm."),
  ];
  const opt = new AdamW([{ params: trainable, lr: 1e-4 }]);
  const { rows: B, row_tokens: T, images_per_row: K, steps } = cfg.shape;
  const V = cfg.llm.vocab_size;
  const S = cfg.vision.image_size;
  const ids = new Int32Array(B * T).map(() => 3 + gen.randint(V - 3));
  const step = Math.floor(T / K);
  for (let b = 0; b < B; b++) for (let i = 0; i < K; i++) ids[b * T + i * step] = -200;
  const labels = ids.map((x) => (x === -200 ? -100 : x));
  const images = new Tensor(
    new Float32Array(B * K * 3 * S * S).map(() => gen.normal()),
    [B * K, 3, S, S],
  );
  const rates: number[] = [];
  let loss = 0;
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    model.train();
    model.visionTower.eval();
    const out = model.forward({
      inputIds: new Tensor(ids, [B, T]),
      labels: new Tensor(labels, [B, T]),
      images,
    });
    const l = out.loss as Tensor;
    l.backward();
    clipGradNorm(
      trainable.map(([, t]) => t),
      1,
    );
    opt.step();
    opt.zeroGrad();
    loss = l.item();
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) rates.push(out.spliced.lengths.reduce((a, x) => a + x, 0) / dt);
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ tokens_per_s: rates, max_rss_mb: rss, loss, backend: backend().name }));
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const cfg = benchConfig(quick);
  const threads = Number(process.env.VILA_NUM_THREADS ?? 2);
  const s = cfg.shape;
  console.log(
    `\n## Recipe stage 1 (world-small model: LLM d=${cfg.llm.hidden_size} L=${cfg.llm.num_hidden_layers}, tower d=${cfg.vision.hidden_size} L=${cfg.vision.num_hidden_layers} ${cfg.vision.image_size}px/${cfg.vision.patch_size}, ${cfg.projector.mm_projector_type}), ${s.rows} rows x ${s.row_tokens} tokens with ${s.images_per_row} images, fp32, ${threads} threads`,
  );
  const self = fileURLToPath(import.meta.url);
  const ours = runJson<{ tokens_per_s: number[]; max_rss_mb: number; backend: string; loss: number }>(
    process.execPath,
    [self, "--child", JSON.stringify(cfg)],
    { ...process.env, VILA_NUM_THREADS: String(threads) },
  );
  const rows: (string | number)[][] = [
    [`vila-ts (${ours.backend})`, median(ours.tokens_per_s), ours.max_rss_mb, "", ""],
  ];
  const { python, why } = peerPython("torch");
  if (python) {
    const peer = runJson<{ tokens_per_s: number[]; max_rss_mb: number }>(
      python,
      ["scripts/bench_stage1_peer.py", JSON.stringify(cfg), String(threads)],
      peerEnv(threads),
    );
    rows.push(["PyTorch CPU", median(peer.tokens_per_s), peer.max_rss_mb, "", ""]);
    rows[0][3] = `${(median(ours.tokens_per_s) / median(peer.tokens_per_s)).toFixed(2)}x`;
    rows[0][4] = `${(ours.max_rss_mb / peer.max_rss_mb).toFixed(2)}x`;
  } else console.log(`(peer skipped: ${why})`);
  console.log(table(["engine", "tokens/s (median)", "peak RSS MB", "speed vs torch", "RSS vs torch"], rows));
}

if (process.argv[2] === "--child") child(JSON.parse(process.argv[3]) as ReturnType<typeof benchConfig>);
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run();

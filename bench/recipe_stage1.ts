// Benchmark: recipe training throughput, ours vs the same model in PyTorch CPU
// (scripts/bench_stage1_peer.py), fp32, same thread count, each side in its own process so peak RSS
// is its own. Three cases:
// - stage 1 of the world-small model (projector + LLM trained, vision tower frozen): what the
//   trainer does per step: forward with images spliced at -200, token-mean cross-entropy,
//   backward, clip, AdamW. Tokens are spliced positions (text + image embeddings).
// - the world-tiny LLM alone at T = 64, and the world-tiny vision tower trained alone (all
//   parameters, loss = mean square of the last hidden state; patch tokens/s).
// - the same two at the calibration prototype's own shapes (130-word vocabulary; 32-px images,
//   16 patches), against world-calibration.md's floors: ~10k tokens/s and ~34k patch tokens/s.
// VILA_BENCH_QUICK=1 runs fewer steps; VILA_BENCH_POOL=0 leaves every step's activations to the
// garbage collector (backward without { free: true }), the engine before its buffer pool.

import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { VilaForCausalLM } from "../src/models/vila.js";
import { AdamW, clipGradNorm } from "../src/optim/index.js";
import { RECIPES } from "../src/recipes/presets.js";
import { mul } from "../src/tensor/ops/elementwise.js";
import { mean } from "../src/tensor/ops/reduce.js";
import { Generator } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";
import { median, peerEnv, peerPython, runJson, table } from "./util.js";

const freeAfterBackward = process.env.VILA_BENCH_POOL !== "0";

interface Shape {
  /** "vila": projector + LLM with images spliced; "llm": text only; "vit": the vision tower alone */
  mode: "vila" | "llm" | "vit";
  /** packed rows per step (per_device_train_batch_size rows after packing); images per step in vit mode */
  rows: number;
  /** text tokens per row, the image markers included */
  row_tokens: number;
  images_per_row: number;
  steps: number;
}

type BenchConfig = ReturnType<typeof benchConfig>;

/** A recipe's model (the LLM's vocabulary about the size its world tokenizer reaches) and a shape;
 * imageSize overrides the tower's input side. */
function benchConfig(recipe: string, vocab: number, shape: Shape, imageSize?: number) {
  const p = RECIPES[recipe];
  return {
    llm: { ...p.model.llm, vocab_size: vocab },
    vision: imageSize ? { ...p.model.vision, image_size: imageSize } : p.model.vision,
    projector: p.model.projector,
    mm_vision_select_layer: p.model.mm_vision_select_layer,
    mm_vision_select_feature: p.model.mm_vision_select_feature,
    shape,
  };
}

/** The three cases: label, config, the calibration's floor (tokens/s) where it gives one. */
export function benchCases(quick: boolean): { label: string; cfg: BenchConfig; floor: number | null }[] {
  const steps = quick ? 3 : 8;
  return [
    {
      // a stage-1 row: 4 images (16 embeddings each) in 256 text tokens: 316 positions
      label: "stage 1, world-small model, 8 rows x 316 positions (4 images each)",
      cfg: benchConfig("world-small", 2048, {
        mode: "vila",
        rows: 8,
        row_tokens: 256,
        images_per_row: 4,
        steps,
      }),
      floor: null,
    },
    {
      label: "world-tiny LLM alone, 32 rows x 64 tokens",
      cfg: benchConfig("world-tiny", 1600, {
        mode: "llm",
        rows: 32,
        row_tokens: 64,
        images_per_row: 0,
        steps,
      }),
      floor: null,
    },
    {
      label: "world-tiny vision tower alone, 64 images of 64 px (patch tokens)",
      cfg: benchConfig("world-tiny", 1600, {
        mode: "vit",
        rows: 64,
        row_tokens: 0,
        images_per_row: 0,
        steps,
      }),
      floor: null,
    },
    // the calibration prototype's own shapes: a 130-word vocabulary, 32-px images (16 patches)
    {
      label: "calibration LLM: d 128, 4 layers, vocab 130, 32 rows x 64 tokens",
      cfg: benchConfig("world-tiny", 130, {
        mode: "llm",
        rows: 32,
        row_tokens: 64,
        images_per_row: 0,
        steps,
      }),
      floor: 10_000,
    },
    {
      label: "calibration tower: d 96, 3 layers, 256 images of 32 px (patch tokens)",
      cfg: benchConfig(
        "world-tiny",
        130,
        { mode: "vit", rows: 256, row_tokens: 0, images_per_row: 0, steps },
        32,
      ),
      floor: 34_000,
    },
  ];
}

/** The model of a case (random init, seed 0) and its generator. */
function makeModel(cfg: BenchConfig, vit: boolean): { model: VilaForCausalLM; gen: Generator } {
  const gen = new Generator(0);
  const model = new VilaForCausalLM(
    {
      llm: cfg.llm as never,
      vision: cfg.vision,
      projector: cfg.projector,
      mm_vision_select_layer: vit ? -1 : cfg.mm_vision_select_layer,
      mm_vision_select_feature: vit ? "patch" : cfg.mm_vision_select_feature,
    },
    gen,
  );
  return { model, gen };
}

/** Run 1 + `steps` training steps (the first is warm-up) of `forward` -> loss with clipping and
 * AdamW on `params`; prints one JSON line with tokens/s per timed step. */
function timeSteps(
  params: [string, Tensor][],
  steps: number,
  forward: () => { loss: Tensor; tokens: number },
): void {
  const opt = new AdamW([{ params, lr: 1e-4 }]);
  const rates: number[] = [];
  let loss = 0;
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const out = forward();
    loss = out.loss.item();
    out.loss.backward(undefined, { free: freeAfterBackward }); // as the trainer does
    clipGradNorm(
      params.map(([, t]) => t),
      1,
    );
    opt.step();
    opt.zeroGrad();
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) rates.push(out.tokens / dt);
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ tokens_per_s: rates, max_rss_mb: rss, loss, backend: backend().name }));
}

/** Child mode: run the steps of one case and print one JSON line. */
function child(cfg: BenchConfig): void {
  const { rows: B, row_tokens: T, images_per_row: K, steps, mode } = cfg.shape;
  const S = cfg.vision.image_size;
  const { model, gen } = makeModel(cfg, mode === "vit");
  if (mode === "vit") {
    // the vision tower alone: every parameter trained on mean(h^2) of its last hidden state
    const tower = model.visionTower;
    const patches = (S / cfg.vision.patch_size) ** 2;
    const images = new Tensor(
      new Float32Array(B * 3 * S * S).map(() => gen.normal()),
      [B, 3, S, S],
    );
    timeSteps(tower.namedParameters("vision_tower."), steps, () => {
      tower.train();
      const h = tower.hiddenState(images, tower.numLayers);
      return { loss: mean(mul(h, h)), tokens: B * patches };
    });
    return;
  }
  model.visionTower.freeze();
  const V = cfg.llm.vocab_size;
  const ids = new Int32Array(B * T).map(() => 3 + gen.randint(V - 3));
  const step = K ? Math.floor(T / K) : 0;
  for (let b = 0; b < B; b++) for (let i = 0; i < K; i++) ids[b * T + i * step] = -200;
  const labels = ids.map((x) => (x === -200 ? -100 : x));
  const images = K
    ? new Tensor(
        new Float32Array(B * K * 3 * S * S).map(() => gen.normal()),
        [B * K, 3, S, S],
      )
    : undefined;
  const trainable = [
    ...model.mmProjector.namedParameters("mm_projector."),
    ...model.llm.namedParameters("llm."),
  ];
  timeSteps(trainable, steps, () => {
    model.train();
    model.visionTower.eval();
    const out = model.forward({
      inputIds: new Tensor(ids, [B, T]),
      labels: new Tensor(labels, [B, T]),
      images,
    });
    return { loss: out.loss as Tensor, tokens: out.spliced.lengths.reduce((a, x) => a + x, 0) };
  });
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const threads = Number(process.env.VILA_NUM_THREADS ?? 2);
  console.log(
    `\n## Recipe training throughput, fp32, ${threads} threads (median step; peer in the same run)`,
  );
  const self = fileURLToPath(import.meta.url);
  const { python, why } = peerPython("torch");
  if (!python) console.log(`(peer skipped: ${why})`);
  const rows: (string | number)[][] = [];
  for (const { label, cfg, floor } of benchCases(quick)) {
    const ours = runJson<{ tokens_per_s: number[]; max_rss_mb: number; backend: string; loss: number }>(
      process.execPath,
      [self, "--child", JSON.stringify(cfg)],
      { ...process.env, VILA_NUM_THREADS: String(threads) },
    );
    const o = median(ours.tokens_per_s);
    const row: (string | number)[] = [label, `vila-ts (${ours.backend})`, o, ours.max_rss_mb, "", "", ""];
    if (python) {
      const peer = runJson<{ tokens_per_s: number[]; max_rss_mb: number }>(
        python,
        ["scripts/bench_stage1_peer.py", JSON.stringify(cfg), String(threads)],
        peerEnv(threads),
      );
      const p = median(peer.tokens_per_s);
      row[4] = p;
      row[5] = `${(o / p).toFixed(2)}x`;
    }
    row[6] = floor ? `${(o / floor).toFixed(2)}x of ${floor}` : "-";
    rows.push(row);
  }
  console.log(
    table(
      [
        "case",
        "engine",
        "tokens/s (median)",
        "peak RSS MB",
        "PyTorch tokens/s",
        "vs PyTorch",
        "vs calibration floor",
      ],
      rows,
    ),
  );
}

if (process.argv[2] === "--child") child(JSON.parse(process.argv[3]) as BenchConfig);
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run();

// Benchmark: forward of a VILA1.5-3B-shaped model (SigLIP-so400m-384 + Sheared-LLaMA-2.7B
// shapes, mlp_downsample projector, random weights stored bf16) — one image + 64 text tokens:
// seconds and peak RSS (target: under 10 GB). The checkpoint is written to a temporary folder in
// the VILA1.5 layout by a child process, then loaded lazily (meta init + bf16 matrices kept bf16)
// and run by another child, so each peak RSS is its own. VILA_BENCH_QUICK=1 uses small shapes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { loadVila, saveVila } from "../src/io/model.js";
import type { VilaConfig } from "../src/models/vila.js";
import { VilaForCausalLM } from "../src/models/vila.js";
import { withMetaInit } from "../src/tensor/create.js";
import { noGrad, Tensor } from "../src/tensor/tensor.js";
import { runJson, table } from "./util.js";

export function vila3bConfig(quick: boolean): VilaConfig {
  const s = quick ? 8 : 1;
  return {
    llm: {
      architectures: ["LlamaForCausalLM"],
      vocab_size: 32000,
      hidden_size: 2560 / s,
      intermediate_size: 6912 / s,
      num_hidden_layers: quick ? 4 : 32,
      num_attention_heads: 20,
      num_key_value_heads: 20,
      rms_norm_eps: 1e-5,
      max_position_embeddings: 4096,
    },
    vision: {
      architectures: ["SiglipVisionModel"],
      hidden_size: 1152 / s,
      intermediate_size: 4304 / (quick ? 4 : 1),
      num_hidden_layers: quick ? 4 : 27,
      num_attention_heads: 16,
      image_size: 384,
      patch_size: 14,
      hidden_act: "gelu_pytorch_tanh",
      layer_norm_eps: 1e-6,
    },
    projector: { mm_projector_type: "mlp_downsample" },
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "cls_patch",
  };
}

/** Random bf16 bits with a small spread (std ~0.02), xorshift-fast. */
function randomBf16(n: number, seed: number): Uint16Array {
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    f[0] = ((x >>> 0) / 4294967296 - 0.5) * 0.07;
    out[i] = u[0] >>> 16;
  }
  return out;
}

function writeChild(dir: string, quick: boolean): void {
  const model = withMetaInit(() => new VilaForCausalLM(vila3bConfig(quick)));
  let seed = 1;
  for (const [name, t] of model.namedParameters()) {
    const isNorm = t.ndim === 1;
    const data = isNorm ? new Uint16Array(t.size).fill(0x3f80) : randomBf16(t.size, seed++);
    const owner = name.split(".")[0];
    const part =
      owner === "llm" ? model.llm : owner === "vision_tower" ? model.visionTower : model.mmProjector;
    part.setParamByPath(name.slice(owner.length + 1), new Tensor(data, t.shape, "bf16"));
  }
  saveVila(dir, model, {
    preprocessor: {
      image_processor_type: "SiglipImageProcessor",
      size: { height: 384, width: 384 },
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      rescale_factor: 1 / 255,
      resample: 3,
    },
  });
  console.log(JSON.stringify({ max_rss_mb: process.resourceUsage().maxRSS / 1024 }));
}

function runChild(dir: string): void {
  const t0 = performance.now();
  const { model } = loadVila(dir, { keepDtype: true });
  const loadS = (performance.now() - t0) / 1000;
  const ids = new Int32Array(66);
  ids[0] = 1;
  ids[1] = -200;
  for (let i = 2; i < 66; i++) ids[i] = 100 + i;
  const pixels = new Tensor(
    new Float32Array(3 * 384 * 384).map((_, i) => Math.sin(i) * 0.5),
    [1, 3, 384, 384],
  );
  const t1 = performance.now();
  const out = noGrad(() =>
    model.forward({ inputIds: new Tensor(ids, [1, 66]), images: pixels }, { lastOnly: true }),
  );
  const fwdS = (performance.now() - t1) / 1000;
  console.log(
    JSON.stringify({
      load_s: loadS,
      forward_s: fwdS,
      seq: out.spliced.lengths[0],
      max_rss_mb: process.resourceUsage().maxRSS / 1024,
      backend: backend().name,
    }),
  );
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), "vila-3b-"));
  console.log(
    `\n## VILA1.5-3B-shaped forward (${quick ? "QUICK shapes" : "SigLIP-so400m-384 + Sheared-LLaMA-2.7B"}, bf16 storage): one image + 64 text tokens`,
  );
  try {
    const w = runJson<{ max_rss_mb: number }>(process.execPath, [self, "--write", dir, String(quick)]);
    const r = runJson<{
      load_s: number;
      forward_s: number;
      seq: number;
      max_rss_mb: number;
      backend: string;
    }>(process.execPath, [self, "--run", dir]);
    console.log(
      table(
        ["backend", "sequence", "load s", "forward s", "peak RSS MB", "target"],
        [
          [
            r.backend,
            r.seq,
            r.load_s,
            r.forward_s,
            r.max_rss_mb,
            r.max_rss_mb < 10240 ? "< 10 GB: met" : "< 10 GB: NOT met",
          ],
        ],
      ),
    );
    console.log(
      `(the writer process peaked at ${w.max_rss_mb.toFixed(0)} MB; no peer: PyTorch VILA cannot be installed here)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--write") writeChild(process.argv[3], process.argv[4] === "true");
else if (process.argv[2] === "--run") runChild(process.argv[3]);
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run();

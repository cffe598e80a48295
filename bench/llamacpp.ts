// Benchmark: LLM inference against llama.cpp (the npm package node-llama-cpp, its prebuilt
// llama.cpp) on the same random weights, plus our vision tower and VILA time to first token.
// 1. A writer process makes TinyLlama-1.1B-shaped random weights (vocab 32000, d 2048, 22 layers,
//    32 heads, 4 kv heads, ffn 5632; bf16 values, so the f32 and bf16 runs share the same numbers)
//    and saves them as our checkpoint (safetensors, bf16) and as GGUF F32 and BF16 (src/io/gguf_llama.ts).
// 2. Per weight type, each engine runs in its own process (its own peak RSS), 2 threads: ours loads
//    the checkpoint (f32: widened at load; bf16: kept as storage, gemmHalf), llama.cpp the GGUF.
//    Both first write the log-probabilities of the first 8 positions; the parent compares them
//    (llama.cpp with an F32 KV cache for this check) and stops if they differ, BEFORE any timing.
// 3. Then pp512 (one 512-token prompt, median of runs) and tg128 (128 single-token decode steps from
//    an empty cache, median step) for each engine (llama.cpp with its defaults: F16 KV cache), the
//    two engines taking turns (one pp run or 16 tg steps each) so that both see the same
//    background load on a shared machine.
//    Memory read bandwidth is measured in the same run (the native pool, 2 threads, streaming sum
//    of a 1 GB huge-page buffer, best of two access patterns), and decode is shown as a share of
//    the bandwidth bound (bandwidth / weight bytes read per token).
// 4. A child with VILA1.5-3B shapes (SigLIP-so400m-384 + Sheared-LLaMA-2.7B, bf16 in memory):
//    vision tower + projector images/s, and time to first token for 1 image + a 32-token question.
// VILA_BENCH_QUICK=1 shrinks every shape for a smoke run.

import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import {
  nativeAllocHuge,
  nativeIsas,
  nativeStreamRead,
  setNativeThreads,
} from "../src/backend/native/index.js";
import { syntheticVocab, writeLlamaGguf } from "../src/io/gguf_llama.js";
import { openSafetensors } from "../src/io/safetensors.js";
import { saveSafetensors } from "../src/io/safetensors_writer.js";
import { KVCache, type LlamaConfig, LlamaForCausalLM } from "../src/models/llm/llama.js";
import { VilaForCausalLM } from "../src/models/vila.js";
import { withMetaInit } from "../src/tensor/create.js";
import { logSoftmax } from "../src/tensor/ops/nn.js";
import { noGrad, Tensor } from "../src/tensor/tensor.js";
import { median, runJson, table } from "./util.js";
import { vila3bConfig } from "./vila_forward.js";

const THREADS = 2;
const CHECK_POSITIONS = 8;
/** max |log p ours - log p llama.cpp| / std(log p) allowed, and the top-1 token must agree at every
 * position: f32 matches to summation order; llama.cpp's BF16 matmul also rounds every activation
 * to bf16 (its vec_dot type, 8 significant bits) while we keep activations f32, which over 22
 * layers moves log-probs by a few % of their spread */
const TOLERANCE: Record<Dtype, number> = { f32: 1e-3, bf16: 1e-1 };

type Dtype = "f32" | "bf16";

interface Sizes {
  pp: number;
  tg: number;
  ppRuns: number;
  /** tg steps per engine turn */
  tgBlock: number;
}

function tinyLlamaConfig(quick: boolean): LlamaConfig {
  return {
    architectures: ["LlamaForCausalLM"],
    vocab_size: quick ? 4096 : 32000,
    hidden_size: quick ? 256 : 2048,
    intermediate_size: quick ? 704 : 5632,
    num_hidden_layers: quick ? 2 : 22,
    num_attention_heads: quick ? 8 : 32,
    num_key_value_heads: quick ? 2 : 4,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  };
}

function sizes(quick: boolean): Sizes {
  return quick ? { pp: 64, tg: 16, ppRuns: 2, tgBlock: 4 } : { pp: 512, tg: 128, ppRuns: 2, tgBlock: 16 };
}

/** Random bf16 bits, uniform in +-0.035 (std 0.02), xorshift. */
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
    out[i] = (u[0] + 0x8000) >>> 16;
  }
  return out;
}

/** Deterministic prompt ids in [3, V). */
function promptIds(V: number, n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + 13) % (V - 3)));
}

// ---------------------------------------------------------------------------------------------
// child: writer

function writeChild(dir: string, quick: boolean): void {
  const cfg = tinyLlamaConfig(quick);
  const model = withMetaInit(() => new LlamaForCausalLM(cfg));
  const tensors: Record<string, Tensor> = {};
  let seed = 1;
  for (const [name, t] of model.namedParameters()) {
    const data = t.ndim === 1 ? new Uint16Array(t.size).fill(0x3f80) : randomBf16(t.size, seed++);
    tensors[name] = new Tensor(data, t.shape, "bf16");
  }
  saveSafetensors(join(dir, "model.safetensors"), tensors);
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  for (const dtype of ["f32", "bf16"] as const) {
    writeLlamaGguf(join(dir, `${dtype}.gguf`), {
      config: cfg,
      names: Object.keys(tensors),
      shapeOf: (n) => tensors[n].shape,
      get: (n) => tensors[n],
      dtype,
      vocab: syntheticVocab(cfg.vocab_size),
    });
  }
  console.log(JSON.stringify({ max_rss_mb: process.resourceUsage().maxRSS / 1024 }));
}

// ---------------------------------------------------------------------------------------------
// children: the two engines. Protocol (IPC): child -> {ready}; then parent -> Command, child ->
// {s: seconds[]} for each pp run or block of tg steps, the parent alternating between the two
// engines block by block (so both see the same background load); parent -> done, child -> result.

interface EngineResult {
  load_s: number;
  max_rss_mb: number;
  name: string;
}

interface Timings {
  pp_s: number[];
  tg_step_s: number[];
}

/** Parent -> engine child, after its ready: one pp run, the next `steps` tg steps, or finish. */
type Command = { run: "pp" } | { run: "tg"; steps: number } | { run: "done" };

interface Engine {
  /** seconds of one full-prompt evaluation from an empty cache */
  pp(): Promise<number>;
  /** seconds of each of the next `steps` single-token steps (one cache over all calls) */
  tg(steps: number): Promise<number[]>;
}

/** Serve the parent's commands until "done"; answers each with its timings. */
async function serve(engine: Engine): Promise<void> {
  for (;;) {
    const cmd = await new Promise<Command>((resolve) =>
      process.once("message", (m) => resolve(m as Command)),
    );
    if (cmd.run === "done") return;
    process.send?.(cmd.run === "pp" ? { s: [await engine.pp()] } : { s: await engine.tg(cmd.steps) });
  }
}

function writeLogp(file: string, rows: Float32Array): void {
  writeFileSync(file, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
}

async function oursChild(dir: string, dtype: Dtype, quick: boolean): Promise<void> {
  const cfg = tinyLlamaConfig(quick);
  const s = sizes(quick);
  const t0 = performance.now();
  const reader = openSafetensors(dir);
  const model = withMetaInit(() => new LlamaForCausalLM(cfg));
  model.loadStateDict((n) => (reader.has(n) ? reader.get(n) : undefined), { keepDtype: dtype === "bf16" });
  const loadS = (performance.now() - t0) / 1000;
  const ids = promptIds(cfg.vocab_size, s.pp);
  const run = (tokens: Int32Array, cache: KVCache, lastOnly: boolean): Tensor =>
    noGrad(() =>
      model.forward(
        { inputsEmbeds: model.embed(new Tensor(tokens, [1, tokens.length])), cache },
        { lastOnly },
      ),
    );
  const check = run(ids.subarray(0, CHECK_POSITIONS), new KVCache(cfg.num_hidden_layers), false);
  writeLogp(join(dir, `ours-${dtype}.logp`), noGrad(() => logSoftmax(check, -1)).f32);
  process.send?.({ ready: true });
  const cache = new KVCache(cfg.num_hidden_layers);
  let pos = 0;
  await serve({
    pp: async () => {
      const a = performance.now();
      run(ids, new KVCache(cfg.num_hidden_layers), true);
      return (performance.now() - a) / 1000;
    },
    tg: async (steps) => {
      const out: number[] = [];
      for (let i = 0; i < steps; i++, pos++) {
        const a = performance.now();
        const logits = run(ids.subarray(pos, pos + 1), cache, true);
        const best = new Int32Array(1);
        backend().argmax(logits.f32, 1, cfg.vocab_size, 1, best);
        out.push((performance.now() - a) / 1000);
      }
      return out;
    },
  });
  const result: EngineResult = {
    name: `vila-ts (${backend().name})`,
    load_s: loadS,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(result);
}

async function llamaChild(dir: string, dtype: Dtype, quick: boolean): Promise<void> {
  const cfg = tinyLlamaConfig(quick);
  const s = sizes(quick);
  const L = await import("node-llama-cpp");
  type Token = import("node-llama-cpp").Token;
  const t0 = performance.now();
  const llama = await L.getLlama({
    gpu: false,
    build: "never",
    logLevel: L.LlamaLogLevel.error,
    maxThreads: THREADS,
  });
  const model = await llama.loadModel({ modelPath: join(dir, `${dtype}.gguf`) });
  const loadS = (performance.now() - t0) / 1000;
  const ids = [...promptIds(cfg.vocab_size, s.pp)] as Token[];
  const V = cfg.vocab_size;
  {
    const ctx = await model.createContext({
      contextSize: 64,
      batchSize: 64,
      threads: THREADS,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    const res = await ctx
      .getSequence()
      .controlledEvaluate(
        ids
          .slice(0, CHECK_POSITIONS)
          .map((id) => [
            id,
            { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } },
          ]),
      );
    const rows = new Float32Array(CHECK_POSITIONS * V).fill(Number.NaN);
    res.forEach((r, p) => {
      for (const [tok, prob] of r?.next?.probabilities ?? []) rows[p * V + tok] = Math.log(prob);
    });
    writeLogp(join(dir, `llama-${dtype}.logp`), rows);
    await ctx.dispose();
  }
  process.send?.({ ready: true });
  const ctx = await model.createContext({
    contextSize: 1024,
    batchSize: 512,
    threads: { ideal: THREADS, min: THREADS },
  });
  const seq = ctx.getSequence();
  let pos = 0;
  await serve({
    pp: async () => {
      await seq.clearHistory();
      const a = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(ids);
      const t = (performance.now() - a) / 1000;
      await seq.clearHistory();
      pos = 0;
      return t;
    },
    tg: async (steps) => {
      const out: number[] = [];
      for (let i = 0; i < steps; i++, pos++) {
        const a = performance.now();
        await seq.controlledEvaluate([
          [ids[pos], { generateNext: { token: true, options: { temperature: 0 } } }],
        ]);
        out.push((performance.now() - a) / 1000);
      }
      return out;
    },
  });
  const result: EngineResult = {
    name: `llama.cpp (node-llama-cpp ${await L.getModuleVersion()})`,
    load_s: loadS,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(result);
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

// ---------------------------------------------------------------------------------------------
// child: vision tower and time to first token at VILA1.5-3B shapes

function visionChild(quick: boolean): void {
  const model = withMetaInit(() => new VilaForCausalLM(vila3bConfig(quick)));
  let seed = 100;
  for (const [name, t] of model.namedParameters()) {
    const owner = name.split(".")[0];
    const part =
      owner === "llm" ? model.llm : owner === "vision_tower" ? model.visionTower : model.mmProjector;
    const value =
      t.ndim === 1
        ? new Tensor(new Float32Array(t.size).fill(1), t.shape)
        : new Tensor(randomBf16(t.size, seed++), t.shape, "bf16");
    part.setParamByPath(name.slice(owner.length + 1), value);
  }
  const size = model.config.vision.image_size;
  const pixels = new Tensor(
    new Float32Array(3 * size * size).map((_, i) => Math.sin(i) * 0.5),
    [1, 3, size, size],
  );
  const runs = 3;
  const enc: number[] = [];
  for (let r = 0; r < runs; r++) {
    const a = performance.now();
    noGrad(() => model.encodeImages(pixels));
    enc.push((performance.now() - a) / 1000);
  }
  const ids = new Int32Array(34);
  ids[0] = 1;
  ids[1] = -200;
  for (let i = 2; i < 34; i++) ids[i] = 100 + i;
  const ttft: number[] = [];
  let seq = 0;
  for (let r = 0; r < 2; r++) {
    const a = performance.now();
    const out = noGrad(() =>
      model.forward({ inputIds: new Tensor(ids, [1, 34]), images: pixels }, { lastOnly: true }),
    );
    const best = new Int32Array(1);
    const V = out.logits.shape[out.logits.ndim - 1];
    backend().argmax(out.logits.f32, 1, V, 1, best);
    ttft.push((performance.now() - a) / 1000);
    seq = out.spliced.lengths[0];
  }
  console.log(
    JSON.stringify({
      images_per_s: 1 / median(enc.slice(1)),
      ttft_s: median(ttft),
      seq,
      max_rss_mb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// memory bandwidth: the native pool at THREADS threads sums a buffer far larger than the caches
// (2 MB pages), once front to back per 4 MB block and once as four interleaved streams with
// software prefetch (the decode kernels' pattern); the best pattern's median over reps is the
// streaming-read rate, measured in the same run as the engines

interface Bandwidth {
  gbps: number;
  pattern: string;
  all: string;
}

function measureBandwidth(quick: boolean): Bandwidth | null {
  if (!nativeIsas().length) return null;
  const bytes = (quick ? 256 : 1024) * 2 ** 20;
  const reps = quick ? 3 : 7;
  setNativeThreads(THREADS);
  const x = new Float32Array(nativeAllocHuge(bytes).buffer);
  for (let i = 0; i < x.length; i += 1024) x[i] = 1; // touch every page
  const rates: Record<string, number> = {};
  for (const streams of [1, 4] as const) {
    nativeStreamRead(x, streams); // warm-up
    const gbps: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const sum = nativeStreamRead(x, streams);
      gbps.push(bytes / ((performance.now() - t0) / 1000) / 1e9);
      if (sum !== x.length / 1024)
        throw new Error(`bandwidth probe: sum ${sum}, expected ${x.length / 1024}`);
    }
    rates[streams === 1 ? "sequential" : "4 streams + prefetch"] = median(gbps);
  }
  const [pattern, gbps] = Object.entries(rates).sort((a, b) => b[1] - a[1])[0];
  const all = Object.entries(rates)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ");
  return { gbps, pattern, all };
}

// ---------------------------------------------------------------------------------------------
// parent

function nextMessage<T>(c: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}) before answering`));
    c.once("exit", onExit);
    c.once("message", (m) => {
      c.off("exit", onExit);
      resolve(m as T);
    });
  });
}

function start(self: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return fork(self, args, { env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

function compareLogp(dir: string, dtype: Dtype, V: number): { maxDiff: number; std: number; top1: number } {
  const read = (f: string) => {
    const b = readFileSync(join(dir, f));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const ours = read(`ours-${dtype}.logp`);
  const ref = read(`llama-${dtype}.logp`);
  let maxDiff = 0;
  let sum = 0;
  let sq = 0;
  let top1 = 0;
  for (let p = 0; p < CHECK_POSITIONS; p++) {
    let bo = 0;
    let br = 0;
    for (let v = 0; v < V; v++) {
      const i = p * V + v;
      if (Number.isNaN(ref[i]))
        throw new Error(`llama.cpp gave no probability for token ${v} at position ${p}`);
      maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
      sum += ref[i];
      sq += ref[i] * ref[i];
      if (ours[i] > ours[p * V + bo]) bo = v;
      if (ref[i] > ref[p * V + br]) br = v;
    }
    if (bo === br) top1++;
  }
  const n = CHECK_POSITIONS * V;
  return { maxDiff, std: Math.sqrt(Math.max(sq / n - (sum / n) ** 2, 0)), top1 };
}

/** Weight bytes one decode step reads: every matrix but the embedding (one row), plus norms. */
function bytesPerToken(cfg: LlamaConfig, dtype: Dtype): number {
  const d = cfg.hidden_size;
  const hd = d / cfg.num_attention_heads;
  const kv = (cfg.num_key_value_heads ?? cfg.num_attention_heads) * hd;
  const perLayer = d * d * 2 + 2 * d * kv + 3 * d * cfg.intermediate_size;
  const matrices = cfg.num_hidden_layers * perLayer + cfg.vocab_size * d;
  return matrices * (dtype === "f32" ? 4 : 2);
}

/** One command to an engine child and its timings. */
async function command(c: ChildProcess, cmd: Command): Promise<number[]> {
  const answer = nextMessage<{ s: number[] }>(c, "engine child");
  c.send(cmd);
  return (await answer).s;
}

/** pp runs, then tg steps in blocks, alternating between the engines (and which goes first). */
async function timeInterleaved(a: ChildProcess, b: ChildProcess, s: Sizes): Promise<[Timings, Timings]> {
  const ta: Timings = { pp_s: [], tg_step_s: [] };
  const tb: Timings = { pp_s: [], tg_step_s: [] };
  const pairs: [ChildProcess, Timings][] = [
    [a, ta],
    [b, tb],
  ];
  for (let r = 0; r < s.ppRuns; r++)
    for (const [c, t] of r % 2 ? [...pairs].reverse() : pairs)
      t.pp_s.push(...(await command(c, { run: "pp" })));
  for (let done = 0, k = 0; done < s.tg; done += s.tgBlock, k++) {
    const steps = Math.min(s.tgBlock, s.tg - done);
    for (const [c, t] of k % 2 ? [...pairs].reverse() : pairs)
      t.tg_step_s.push(...(await command(c, { run: "tg", steps })));
  }
  return [ta, tb];
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const self = fileURLToPath(import.meta.url);
  const cfg = tinyLlamaConfig(quick);
  const s = sizes(quick);
  const env = { ...process.env, VILA_NUM_THREADS: String(THREADS) };
  console.log(
    `\n## LLM inference vs llama.cpp (${quick ? "QUICK shapes" : "TinyLlama-1.1B shapes"}, random weights, ${THREADS} threads): pp${s.pp}, tg${s.tg}`,
  );
  try {
    await import("node-llama-cpp");
  } catch (e) {
    console.log(`(skipped: node-llama-cpp does not load: ${(e as Error).message})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "vila-llamacpp-"));
  try {
    const w = runJson<{ max_rss_mb: number }>(process.execPath, [self, "--lc-write", dir, String(quick)]);
    const bandwidths: Partial<Record<Dtype, Bandwidth | null>> = {};
    const rows: (string | number)[][] = [];
    for (const dtype of ["f32", "bf16"] as const) {
      const ours = start(self, ["--lc-ours", dir, dtype, String(quick)], env);
      const oursReady = nextMessage(ours, "vila-ts child");
      await oursReady;
      const llama = start(self, ["--lc-llama", dir, dtype, String(quick)], env);
      await nextMessage(llama, "llama.cpp child");
      const c = compareLogp(dir, dtype, cfg.vocab_size);
      const rel = c.maxDiff / c.std;
      const line = `${dtype}: first ${CHECK_POSITIONS} positions, max |log p ours - log p llama.cpp| = ${c.maxDiff.toExponential(2)} (${rel.toExponential(2)} of the log-prob std ${c.std.toExponential(2)}; tolerance ${TOLERANCE[dtype]}), same top-1 at ${c.top1}/${CHECK_POSITIONS}`;
      console.log(`logits check ${line}`);
      if (!(rel <= TOLERANCE[dtype]) || c.top1 !== CHECK_POSITIONS) {
        ours.kill();
        llama.kill();
        throw new Error(`logits differ from llama.cpp, no timing: ${line}`);
      }
      const bw = measureBandwidth(quick);
      bandwidths[dtype] = bw;
      const [to, tl] = await timeInterleaved(ours, llama, s);
      const results: EngineResult[] = [];
      for (const child of [ours, llama]) {
        const done = nextMessage<EngineResult>(child, "engine child");
        child.send({ run: "done" } satisfies Command);
        results.push(await done);
      }
      const [o, l] = results;
      const timings = new Map([
        [o, to],
        [l, tl],
      ]);
      const ppRate = (r: EngineResult) => s.pp / median(timings.get(r)?.pp_s ?? []);
      const tgRate = (r: EngineResult) => 1 / median(timings.get(r)?.tg_step_s ?? []);
      const bound = bw ? (bw.gbps * 1e9) / bytesPerToken(cfg, dtype) : Number.NaN;
      for (const r of results) {
        rows.push([
          dtype,
          r.name,
          ppRate(r),
          r === o ? `${(ppRate(o) / ppRate(l)).toFixed(2)}x` : "1",
          tgRate(r),
          r === o ? `${(tgRate(o) / tgRate(l)).toFixed(2)}x` : "1",
          bw ? `${((100 * tgRate(r)) / bound).toFixed(0)}%` : "-",
          r.load_s,
          r.max_rss_mb,
        ]);
      }
    }
    console.log("logits checks passed");
    console.log(
      table(
        [
          "weights",
          "engine",
          `pp${s.pp} tok/s`,
          "ours/llama.cpp",
          `tg${s.tg} tok/s`,
          "ours/llama.cpp",
          "of bandwidth bound",
          "load s",
          "peak RSS MB",
        ],
        rows,
      ),
    );
    const bwLine = Object.entries(bandwidths)
      .map(([dtype, bw]) =>
        bw
          ? `${bw.gbps.toFixed(1)} GB/s before the ${dtype} timing (${bw.all})`
          : `not measured before the ${dtype} timing (the probe needs the native addon)`,
      )
      .join("; ");
    console.log(
      `memory read bandwidth (${THREADS} threads, streaming sum of a ${quick ? 256 : 1024} MB buffer on 2 MB pages, median of runs, best pattern): ${bwLine}. Bandwidth bound = bandwidth / weight bytes per token (f32 ${(bytesPerToken(cfg, "f32") / 1e9).toFixed(2)} GB, bf16 ${(bytesPerToken(cfg, "bf16") / 1e9).toFixed(2)} GB); "of bandwidth bound" = tg tok/s / bound. The engines run alternately, one pp run or ${s.tgBlock} tg steps at a time, so both see the same background load. llama.cpp timing uses its defaults (F16 KV cache); writer peak RSS ${w.max_rss_mb.toFixed(0)} MB.`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\n## VILA1.5-3B shapes (${quick ? "QUICK" : "SigLIP-so400m-384 + Sheared-LLaMA-2.7B"}, bf16 weights in memory, ${THREADS} threads)`,
  );
  const v = runJson<{ images_per_s: number; ttft_s: number; seq: number; max_rss_mb: number }>(
    process.execPath,
    [self, "--lc-vision", String(quick)],
    env,
  );
  console.log(
    table(
      ["vision tower + projector images/s", "TTFT s (1 image + 32 tokens)", "LLM sequence", "peak RSS MB"],
      [[v.images_per_s, v.ttft_s, v.seq, v.max_rss_mb]],
    ),
  );
}

const mode = process.argv[2];
if (mode === "--lc-write") writeChild(process.argv[3], process.argv[4] === "true");
else if (mode === "--lc-ours")
  void oursChild(process.argv[3], process.argv[4] as Dtype, process.argv[5] === "true");
else if (mode === "--lc-llama")
  void llamaChild(process.argv[3], process.argv[4] as Dtype, process.argv[5] === "true");
else if (mode === "--lc-vision") visionChild(process.argv[3] === "true");
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run();

// Benchmark: native sgemm GFLOP/s against numpy (OpenBLAS) in the same run, at 1 and 2 threads.
// Shapes: square 256..2048 (A @ B) and transformer linear layers x (M, K) @ W^T with W (N, K),
// M = 4096 tokens. Each figure is the median of several runs after a warm-up.
// The peer is scripts/bench_gemm_peer.py under /usr/bin/python3 with the thread count set and
// OpenBLAS core-type overrides removed (bench/util.ts peerEnv). When OpenBLAS's own CPU detection
// falls back to an old kernel family on this CPU (it reports e.g. "Prescott" on a VM whose CPUID
// model is generic), a second peer column forces its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX)
// so the comparison is also made against the best OpenBLAS can do here.
// With one thread the table also gives GFLOP per CPU-second for ours and the best peer: on a shared
// machine wall-clock figures drop whenever another job takes the core, CPU-time figures much less.
// VILA_BENCH_QUICK=1: two small shapes, three runs.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { loadNativeBackend, setNativeThreads } from "../src/backend/native/index.js";
import { median, peerEnv, peerPython, table, timeRuns } from "./util.js";

type Shape = [M: number, N: number, K: number, transB: boolean];

const SQUARE: Shape[] = [256, 512, 1024, 2048].map((n) => [n, n, n, false]);
const TRANSFORMER: Shape[] = [
  [4096, 512, 512, true],
  [4096, 2048, 1024, true],
  [4096, 2048, 2048, true],
  [4096, 8192, 1024, true],
];

const AVX512_CORES = new Set(["SkylakeX", "Cooperlake", "SapphireRapids"]);

function runsFor([M, N, K]: Shape, quick: boolean): number {
  if (quick) return 3;
  const flops = 2 * M * N * K;
  // small shapes take well under a millisecond: more runs, so the median is not the thread pool's
  // first wake-up after a thread-count change (256^3 read 0.11x numpy at 2 threads with 7 runs)
  return flops > 3e10 ? 3 : flops > 3e9 ? 5 : flops > 1e8 ? 7 : 31;
}

/** Wall-clock GFLOP/s and GFLOP per CPU-second of this process (medians over the runs). */
function timeOurs(b: Backend, [M, N, K, transB]: Shape, runs: number): { wall: number; cpu: number } {
  const A = new Float32Array(M * K).map(() => Math.random() - 0.5);
  const B = new Float32Array(K * N).map(() => Math.random() - 0.5);
  const C = new Float32Array(M * N);
  const args = { transA: false, transB, M, N, K, alpha: 1, A, offA: 0, lda: K, strideA: 0 };
  const rest = {
    B,
    offB: 0,
    ldb: transB ? K : N,
    strideB: 0,
    beta: 0,
    C,
    offC: 0,
    ldc: N,
    strideC: 0,
    batch: 1,
  };
  const cpu: number[] = [];
  const t = median(
    timeRuns(
      () => {
        const c0 = process.cpuUsage();
        b.gemm({ ...args, ...rest });
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1e6);
      },
      runs,
      runs > 7 ? 5 : 1,
    ),
  );
  const flops = 2 * M * N * K;
  return { wall: flops / t / 1e9, cpu: flops / Math.max(median(cpu.slice(-runs)), 1e-9) / 1e9 };
}

interface PeerResult {
  info: { blas: string; corename: string | null; threads: number | null };
  gflops: Map<string, number>;
  cpuGflops: Map<string, number>;
}

/** scripts/bench_gemm_peer.py in the package root (searched upward: this file may run from dist/). */
function peerScript(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, "scripts", "bench_gemm_peer.py");
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) return null;
  }
}

const key = ([M, N, K, transB]: Shape): string => `${M}x${N}x${K}${transB ? "T" : ""}`;

function runPeer(
  python: string,
  shapes: Shape[],
  threads: number,
  quick: boolean,
  coretype?: string,
): PeerResult | string {
  const env = peerEnv(threads);
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  const arg = JSON.stringify(shapes.map((s) => [...s.slice(0, 3), s[3] ? 1 : 0, runsFor(s, quick)]));
  const script = peerScript();
  if (!script) return "scripts/bench_gemm_peer.py not found";
  const r = spawnSync(python, [script, arg], { encoding: "utf8", env, maxBuffer: 1 << 24 });
  if (r.status !== 0) return `peer failed (${r.status}): ${r.stderr.trim().split("\n").pop()}`;
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const gflops = new Map<string, number>();
  const cpuGflops = new Map<string, number>();
  for (const l of lines.slice(1)) {
    gflops.set(key([l.M, l.N, l.K, l.transB]), l.gflops);
    cpuGflops.set(key([l.M, l.N, l.K, l.transB]), l.cpuGflops);
  }
  return { info: lines[0], gflops, cpuGflops };
}

export async function run(): Promise<void> {
  const quick = process.env.VILA_BENCH_QUICK === "1";
  const { backend: nb, error } = loadNativeBackend();
  if (!nb) {
    console.log(`gemm bench skipped: native backend unavailable (${error})`);
    return;
  }
  const shapes = quick ? [SQUARE[0], TRANSFORMER[0]] : [...SQUARE, ...TRANSFORMER];
  const peer = peerPython("numpy");
  if (!peer.python) console.log(`gemm bench: numpy peer skipped: ${peer.why}`);
  const threadCounts = [1, 2].filter((t) => t <= Math.max(2, availableParallelism()));
  console.log(`\n## sgemm GFLOP/s: ${nb.name} vs numpy (median of runs; T = x @ W^T)\n`);
  for (const threads of threadCounts) {
    setNativeThreads(threads);
    const ours = shapes.map((s) => timeOurs(nb, s, runsFor(s, quick)));
    let p1: PeerResult | string = peer.why;
    let p2: PeerResult | string | null = null;
    if (peer.python) {
      p1 = runPeer(peer.python, shapes, threads, quick);
      if (typeof p1 !== "string" && p1.info.corename && !AVX512_CORES.has(p1.info.corename)) {
        p2 = runPeer(peer.python, shapes, threads, quick, "SkylakeX");
      }
    }
    const best = p2 && typeof p2 !== "string" ? p2 : typeof p1 !== "string" ? p1 : null;
    const headers = ["shape (MxNxK)", "ours", "numpy", "ours/numpy"];
    if (p2) headers.push("numpy SkylakeX", "ours/SkylakeX");
    // with one thread, GFLOP per CPU-second compares the kernels even when other jobs share the cores
    if (threads === 1) headers.push("ours cpu", "peer cpu", "cpu ratio");
    const rows = shapes.map((s, i) => {
      const row: (string | number)[] = [key(s), ours[i].wall];
      const g1 = typeof p1 === "string" ? Number.NaN : (p1.gflops.get(key(s)) ?? Number.NaN);
      row.push(g1, ours[i].wall / g1);
      if (p2 && typeof p2 !== "string") {
        const g2 = p2.gflops.get(key(s)) ?? Number.NaN;
        row.push(g2, ours[i].wall / g2);
      } else if (p2) row.push(Number.NaN, Number.NaN);
      if (threads === 1) {
        const c = best?.cpuGflops.get(key(s)) ?? Number.NaN;
        row.push(ours[i].cpu, c, ours[i].cpu / c);
      }
      return row;
    });
    console.log(`threads = ${threads}`);
    if (typeof p1 === "string") console.log(`numpy peer: ${p1}`);
    else console.log(`numpy peer: ${p1.info.blas} (OpenBLAS core ${p1.info.corename ?? "?"})`);
    if (typeof p2 === "string") console.log(`numpy SkylakeX peer: ${p2}`);
    console.log(`${table(headers, rows)}\n`);
  }
}

// Shared benchmark helpers: medians, child processes for clean peak-RSS figures, the peer
// Python (Debian's /usr/bin/python3 with numpy/torch) and table printing.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Time fn `runs` times after `warmup` calls; returns seconds per run. */
export function timeRuns(fn: () => void, runs: number, warmup = 1): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

/** GFLOP/s of one thread on a 384 x 384 matmul below which the peer's BLAS is Debian's reference
 * libblas (~6 GFLOP/s here; OpenBLAS does 40+): its figures would flatter vila-ts. */
const REFERENCE_BLAS_GFLOPS = 15;

/** A peer's single-thread matmul speed, to tell OpenBLAS from the reference BLAS. */
function peerGflops(py: string, module: "numpy" | "torch"): number | null {
  const code =
    module === "torch"
      ? "import torch,time\ntorch.set_num_threads(1)\na=torch.randn(384,384);b=torch.randn(384,384);a@b\nt=time.perf_counter()\nfor _ in range(20): a@b\nprint(20*2*384**3/(time.perf_counter()-t)/1e9)"
      : "import numpy as np,time\na=np.random.rand(384,384).astype(np.float32);b=a.copy();a@b\nt=time.perf_counter()\nfor _ in range(20): a@b\nprint(20*2*384**3/(time.perf_counter()-t)/1e9)";
  const r = spawnSync(py, ["-c", code], { encoding: "utf8", env: peerEnv(1) });
  const g = Number.parseFloat(r.stdout);
  return r.status === 0 && Number.isFinite(g) ? g : null;
}

/** The Python that has numpy and torch, or null with the reason. Warns when its BLAS is the slow
 * reference one (Debian without libopenblas0-pthread), since the peer figures are then not fair. */
export function peerPython(module: "numpy" | "torch"): { python: string | null; why: string } {
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (py.startsWith("/") && !existsSync(py)) continue;
    const r = spawnSync(py, ["-c", `import ${module}`], { encoding: "utf8" });
    if (r.status !== 0) continue;
    const g = peerGflops(py, module);
    if (g !== null && g < REFERENCE_BLAS_GFLOPS)
      console.warn(
        `warning: ${py}'s ${module} multiplies 384 x 384 matrices at ${g.toFixed(1)} GFLOP/s on one thread: the reference BLAS, not OpenBLAS (apt-get install libopenblas0-pthread). Its figures below are not a fair peer.`,
      );
    return { python: py, why: "" };
  }
  return {
    python: null,
    why: `no python3 with ${module} found (apt-get install python3-${module === "numpy" ? "numpy" : "torch"})`,
  };
}

/** Environment for the peer: thread count set, OpenBLAS core-type overrides removed (they force
 * slower kernels on this CPU; only the peer's command is changed, never tests or CI). */
export function peerEnv(threads: number): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const t = String(threads);
  Object.assign(env, {
    OMP_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    MKL_NUM_THREADS: t,
    OMP_WAIT_POLICY: "PASSIVE",
  });
  return env;
}

/** Run a command and parse the last JSON line of its stdout. */
export function runJson<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const w = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(" | ")} |`;
  return [line(cells[0]), `| ${w.map((x) => "-".repeat(x)).join(" | ")} |`, ...cells.slice(1).map(line)].join(
    "\n",
  );
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

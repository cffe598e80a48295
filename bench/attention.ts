// Benchmark: fused attention (online softmax forward, FlashAttention-2 backward) against the
// unfused composition softmax(q k^T * scale + mask) v built from matmul / mul / add / softmax ops,
// forward + backward, causal, B = 1, nh = 8, hs = 64, on the current backend.
// Reports the median wall time of several runs and the memory the graph keeps alive between
// forward and backward ("saved"), measured as the growth of ArrayBuffer memory after a forced GC:
// the unfused path keeps several (B, nh, T, S) score tensors, the fused one only out and lse.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { backend } from "../src/backend/index.js";
import { randn } from "../src/tensor/create.js";
import { add, mul } from "../src/tensor/ops/elementwise.js";
import { matmul } from "../src/tensor/ops/matmul.js";
import { attention, softmax } from "../src/tensor/ops/nn.js";
import { permute } from "../src/tensor/ops/shape.js";
import { Generator } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";

const [B, nh, hs] = [1, 8, 64];

/** A gc() function even without --expose-gc (memory numbers need a collection first). */
function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** softmax(q k^T * scale + causalMask) v with separate ops: (B, T, nh, hs) -> (B, T, nh, hs). */
function unfusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor {
  const qh = permute(q, [0, 2, 1, 3]); // (B, nh, T, hs)
  const kh = permute(k, [0, 2, 1, 3]);
  const vh = permute(v, [0, 2, 1, 3]);
  const scores = add(mul(matmul(qh, kh, { transB: true }), 1 / Math.sqrt(hs)), mask); // (B, nh, T, T)
  const y = matmul(softmax(scores), vh); // (B, nh, T, T) @ (B, nh, T, hs) -> (B, nh, T, hs)
  return permute(y, [0, 2, 1, 3]);
}

function causalMask(T: number): Tensor {
  const m = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) m[t * T + s] = Number.NEGATIVE_INFINITY;
  return new Tensor(m, [T, T]);
}

interface Row {
  variant: string;
  T: number;
  ms: number;
  savedMB: number;
}

function measure(
  variant: string,
  T: number,
  runs: number,
  f: (q: Tensor, k: Tensor, v: Tensor) => Tensor,
): Row {
  const gc = getGc();
  const g = new Generator(0);
  const q = randn([B, T, nh, hs], g).requireGrad();
  const k = randn([B, T, nh, hs], g).requireGrad();
  const v = randn([B, T, nh, hs], g).requireGrad();
  const gy = randn([B, T, nh, hs], g);
  const times: number[] = [];
  let saved = 0;
  for (let r = 0; r < runs; r++) {
    q.grad = k.grad = v.grad = null;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const y = f(q, k, v);
    const t1 = performance.now();
    gc();
    saved = Math.max(saved, process.memoryUsage().arrayBuffers - before);
    const t2 = performance.now();
    y.backward(gy);
    times.push(t1 - t0 + (performance.now() - t2));
  }
  times.sort((a, b) => a - b);
  return { variant, T, ms: times[Math.floor(times.length / 2)], savedMB: saved / 2 ** 20 };
}

/** Print the fused-vs-unfused table. */
export async function run(): Promise<void> {
  console.log(`attention fwd+bwd, causal, B=${B} nh=${nh} hs=${hs}, backend ${backend().name}`);
  const rows: Row[] = [];
  for (const [T, runs] of [
    [512, 5],
    [2048, 3],
  ] as const) {
    const mask = causalMask(T);
    rows.push(measure("fused", T, runs, (q, k, v) => attention(q, k, v, { causal: true })));
    rows.push(measure("unfused", T, runs, (q, k, v) => unfusedAttention(q, k, v, mask)));
  }
  console.log("variant  |    T | fwd+bwd ms (median) | saved for backward MB");
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(8)} | ${String(r.T).padStart(4)} | ${r.ms.toFixed(1).padStart(19)} | ${r.savedMB.toFixed(1).padStart(21)}`,
    );
  }
}

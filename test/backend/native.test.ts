// Native-addon specifics beyond kernel parity (test/backend/parity.test.ts): the loader's reports,
// the thread pool (1 and 2 threads give bit-identical gemm and attention, since every output
// element is summed in the same order whatever the split; decode-shaped gemm / gemmHalf too),
// that subarray views are honoured, the huge-page allocator (size, zeroed, usable, on 2 MB pages
// where THP allows it, unmapped once collected) and the bandwidth probe (its sum against a float64
// sum in JS), and that workers created by a resize join the very next job (a child process, so a
// hang is a failed test rather than a stuck suite).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { AttentionArgs, Backend } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import {
  loadNativeBackend,
  nativeAllocHuge,
  nativeIsas,
  nativeStreamRead,
  nativeThreads,
  setNativeThreads,
} from "../../src/backend/native/index.js";
import { checkTensor } from "../helpers.js";

const loaded = loadNativeBackend();
const skip = loaded.backend ? false : `native addon unavailable: ${loaded.error}`;

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  });
}

test("loader: names the ISA, lists the builds, refuses an unknown one without throwing", { skip }, () => {
  const isas = nativeIsas();
  assert.ok(isas.length >= 1 && isas[isas.length - 1] === "generic", `isas ${isas}`);
  assert.equal(loaded.backend!.name, `native-${isas[0]}`);
  const r = loadNativeBackend(undefined, "bogus" as never);
  assert.equal(r.backend, null);
  assert.match(r.error ?? "", /cannot run the bogus kernels/);
});

test("thread pool: 1 and 2 threads give bit-identical gemm and attention", { skip }, () => {
  const nb = loaded.backend as Backend;
  const [M, N, K] = [300, 260, 200];
  const A = rand(M * K, 1);
  const B = rand(N * K, 2);
  const gemmWith = (threads: number): Float32Array => {
    setNativeThreads(threads);
    const C = new Float32Array(M * N);
    nb.gemm({
      transA: false,
      transB: true,
      M,
      N,
      K,
      alpha: 1,
      A,
      offA: 0,
      lda: K,
      strideA: 0,
      B,
      offB: 0,
      ldb: K,
      strideB: 0,
      beta: 0,
      C,
      offC: 0,
      ldc: N,
      strideC: 0,
      batch: 1,
    });
    return C;
  };
  const [B_, T, nh, hs] = [2, 100, 4, 32];
  const a: AttentionArgs = {
    B: B_,
    T,
    S: T,
    nh,
    nkv: 2,
    hs,
    scale: 0.2,
    causal: true,
    q: rand(B_ * T * nh * hs, 3),
    k: rand(B_ * T * 2 * hs, 4),
    v: rand(B_ * T * 2 * hs, 5),
    keyPadding: null,
    segments: null,
  };
  const attnWith = (threads: number): Float32Array[] => {
    setNativeThreads(threads);
    const out = new Float32Array(a.q.length);
    const lse = new Float32Array(B_ * nh * T);
    nb.attention(a, out, lse);
    const gq = new Float32Array(a.q.length);
    const gk = new Float32Array(a.k.length);
    const gv = new Float32Array(a.v.length);
    nb.attentionBackward(a, out, lse, rand(out.length, 6), gq, gk, gv);
    return [out, lse, gq, gk, gv];
  };
  // decode shapes (one row of A; row blocks handed out dynamically over the pool), f32 and bf16
  const [dN, dK] = [1003, 600];
  const x = rand(dK, 8);
  const W = rand(dN * dK, 9);
  const Wh = new Uint16Array(dN * dK).map((_, i) => 0x3c00 + (i % 509));
  const decodeWith = (threads: number): Float32Array[] => {
    setNativeThreads(threads);
    const c32 = new Float32Array(dN);
    nb.gemm({
      transA: false,
      transB: true,
      M: 1,
      N: dN,
      K: dK,
      alpha: 1,
      A: x,
      offA: 0,
      lda: dK,
      strideA: 0,
      B: W,
      offB: 0,
      ldb: dK,
      strideB: 0,
      beta: 0,
      C: c32,
      offC: 0,
      ldc: dN,
      strideC: 0,
      batch: 1,
    });
    const c16 = new Float32Array(dN);
    nb.gemmHalf({
      M: 1,
      N: dN,
      K: dK,
      A: x,
      offA: 0,
      lda: dK,
      W: Wh,
      offW: 0,
      ldw: dK,
      C: c16,
      offC: 0,
      ldc: dN,
      beta: 0,
      dtype: "bf16",
    });
    return [c32, c16];
  };
  const before = nativeThreads();
  try {
    assert.deepEqual(gemmWith(1), gemmWith(2));
    assert.deepEqual(decodeWith(1), decodeWith(2));
    const one = attnWith(1);
    const two = attnWith(2);
    for (let i = 0; i < one.length; i++) assert.deepEqual(one[i], two[i], `attention output ${i}`);
  } finally {
    setNativeThreads(before);
  }
});

test("thread pool: a worker created by a resize takes part in the job published right after it", {
  skip,
}, () => {
  // A new worker once read the job counter only when it first ran, so a job published between
  // pthread_create and that moment was never picked up and the caller waited forever: growing the
  // pool one thread at a time with a parallel product after each resize hung on almost every run.
  const native = new URL("../../src/backend/native/index.js", import.meta.url).href;
  const matmul = new URL("../../src/tensor/ops/matmul.js", import.meta.url).href;
  const tensor = new URL("../../src/tensor/tensor.js", import.meta.url).href;
  const code = `
    import { setNativeThreads } from ${JSON.stringify(native)};
    import { matmul } from ${JSON.stringify(matmul)};
    import { Tensor } from ${JSON.stringify(tensor)};
    const a = new Tensor(new Float32Array(256 * 256).fill(1), [256, 256]);
    for (let k = 2; k <= 32; k++) {
      setNativeThreads(k);
      const c = matmul(a, a);
      if (c.f32[0] !== 256 || c.f32[256 * 256 - 1] !== 256) throw new Error("wrong product at " + k + " threads");
    }
    console.log("done");`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, VILA_BACKEND: "native" },
  });
  assert.equal(r.signal, null, `the child hung (killed by ${r.signal}): a new worker missed a job`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "done");
});

test("typed-array views: byte offsets are honoured and nothing outside the view is touched", { skip }, () => {
  const nb = loaded.backend as Backend;
  const buf = rand(1000, 7);
  const x = buf.subarray(3, 3 + 333);
  const outBuf = new Float32Array(1000).fill(42);
  const out = outBuf.subarray(17, 17 + 333);
  nb.softmax(x, 9, 37, out);
  const want = new Float32Array(333);
  jsBackend.softmax(x, 9, 37, want);
  checkTensor(out, want, 1e-6, "softmax on views");
  assert.ok(
    outBuf.subarray(0, 17).every((v) => v === 42) && outBuf.subarray(350).every((v) => v === 42),
    "wrote outside the view",
  );
});

/** kB of anonymous memory on transparent huge pages in this process */
function anonHugeKb(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"));
  return m ? Number(m[1]) : 0;
}

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

test("allocHuge: exact size, zero-filled, usable as a Float32Array, on 2 MB pages, freed", {
  skip,
}, async () => {
  // below 2 MB: an ordinary buffer
  const small = nativeAllocHuge(1000);
  assert.equal(small.huge, false);
  assert.equal(small.buffer.byteLength, 1000);
  assert.ok(new Uint8Array(small.buffer).every((v) => v === 0));

  const thp =
    process.platform === "linux" ? readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8") : "";
  const bytes = 64 * 2 ** 20 + 12; // not a multiple of the page size
  const hugeBefore = anonHugeKb();
  let a: { buffer: ArrayBuffer; huge: boolean } | null = nativeAllocHuge(bytes);
  assert.equal(a.buffer.byteLength, bytes);
  if (process.platform === "linux") assert.equal(a.huge, true);
  let f: Float32Array | null = new Float32Array(a.buffer);
  assert.equal(f.length, (bytes - 12) / 4 + 3);
  assert.ok(
    f.every((v) => v === 0),
    "not zero-filled",
  );
  for (let i = 0; i < f.length; i++) f[i] = (i % 251) - 125;
  let want = 0;
  for (let i = 0; i < f.length; i++) want += f[i];
  assert.equal(f[f.length - 1], ((f.length - 1) % 251) - 125);
  assert.equal(nativeStreamRead(f, 1), want); // small integers: every partial sum is exact
  // a 2 MB-aligned mapping advised before first touch: the kernel backs it with huge pages
  // (unless THP is off; at least one, as fragmented memory may leave some 4 KB pages)
  if (/\[(always|madvise)\]/.test(thp)) {
    const gained = anonHugeKb() - hugeBefore;
    assert.ok(gained >= 2048, `none of the 64 MB buffer is on huge pages (${gained} kB)`);
  }
  // freed: once unreachable and collected, the mapping is returned (RSS drops by its size)
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const held = rssMb();
  a = null;
  f = null;
  let dropped = 0;
  for (let i = 0; i < 20 && dropped < 48; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    dropped = held - rssMb();
  }
  assert.ok(dropped >= 48, `RSS fell by only ${dropped.toFixed(1)} MB after the 64 MB buffer was collected`);
});

test("streamRead: the sum of x for 1 and 4 streams, odd sizes, 1 and 2 threads; bad streams throw", {
  skip,
}, () => {
  const before = nativeThreads();
  try {
    for (const threads of [1, 2]) {
      setNativeThreads(threads);
      for (const n of [0, 5, 67, (1 << 20) * 2 + 37]) {
        const x = rand(n + 3, n).subarray(3); // a view with a byte offset
        let want = 0;
        for (let i = 0; i < n; i++) want += x[i];
        for (const streams of [1, 4] as const) {
          const got = nativeStreamRead(x, streams);
          // f32 lane sums of values in [-0.5, 0.5): error ~ sqrt(n) ulp of the partial sums
          assert.ok(
            Math.abs(got - want) <= 1e-3,
            `n ${n} streams ${streams} threads ${threads}: ${got} vs ${want}`,
          );
        }
      }
    }
  } finally {
    setNativeThreads(before);
  }
  assert.throws(() => nativeStreamRead(new Float32Array(4), 3 as 4), /streams must be 1 or 4/);
  assert.throws(
    () => nativeStreamRead(new Uint16Array(4) as unknown as Float32Array, 1),
    /x must be a Float32Array/,
  );
});

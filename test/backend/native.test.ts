// Native-addon specifics beyond kernel parity (test/backend/parity.test.ts): the loader's reports,
// the thread pool (1 and 2 threads give bit-identical gemm and attention, since every output
// element is summed in the same order whatever the split), and that subarray views are honoured.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttentionArgs, Backend } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js/index.js";
import {
  loadNativeBackend,
  nativeIsas,
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
  const before = nativeThreads();
  try {
    assert.deepEqual(gemmWith(1), gemmWith(2));
    const one = attnWith(1);
    const two = attnWith(2);
    for (let i = 0; i < one.length; i++) assert.deepEqual(one[i], two[i], `attention output ${i}`);
  } finally {
    setNativeThreads(before);
  }
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

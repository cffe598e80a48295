// Test helpers: tensor comparison with a readable max-difference message, a central
// finite-difference gradient check for any function of tensors, and temporary folders that are
// removed when the test file's process exits.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "../src/tensor/tensor.js";

const tempDirs: string[] = [];

/** A fresh folder under the OS temp folder (`prefix` + random suffix), removed with everything in
 * it when this process exits, pass or fail. */
export function tempDir(prefix: string): string {
  if (tempDirs.length === 0) {
    process.once("exit", () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Assert |a - b| <= atol + rtol * |b| elementwise; prints the worst element. */
export function checkTensor(
  a: Tensor | ArrayLike<number>,
  b: Tensor | ArrayLike<number>,
  tol: { atol?: number; rtol?: number } | number = 1e-5,
  label = "",
): void {
  const { atol, rtol } =
    typeof tol === "number" ? { atol: tol, rtol: 0 } : { atol: tol.atol ?? 1e-5, rtol: tol.rtol ?? 0 };
  const x = a instanceof Tensor ? a.data : a;
  const y = b instanceof Tensor ? b.data : b;
  if (a instanceof Tensor && b instanceof Tensor) {
    assert.deepEqual([...a.shape], [...b.shape], `${label}: shapes differ [${a.shape}] vs [${b.shape}]`);
  }
  assert.equal(x.length, y.length, `${label}: lengths differ ${x.length} vs ${y.length}`);
  let worst = -1;
  let worstExcess = 0;
  let maxDiff = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (Number.isNaN(x[i]) !== Number.isNaN(y[i]))
      assert.fail(`${label}: NaN mismatch at ${i}: ${x[i]} vs ${y[i]}`);
    if (Number.isNaN(x[i])) continue;
    if (x[i] === y[i]) continue; // covers matching infinities
    maxDiff = Math.max(maxDiff, d);
    const excess = d - (atol + rtol * Math.abs(y[i]));
    if (excess > worstExcess || (excess > 0 && worst < 0)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${label}: max |diff| ${maxDiff.toExponential(3)} exceeds tolerance at index ${worst}: ${x[worst]} vs ${y[worst]}`,
    );
  }
}

/** Central finite-difference gradient check. `f` maps the inputs to a tensor; the check uses the
 * scalar L = sum(f(inputs) * w) for a fixed random w, compares autograd's dL/dx for every input
 * that requiresGrad with (L(x + eps) - L(x - eps)) / 2eps, accumulated in float64. */
export function gradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; atol?: number; rtol?: number; label?: string; seed?: number } = {},
): void {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 2e-2;
  const label = opts.label ?? "gradcheck";
  for (const x of inputs) x.grad = null;
  const out = f(...inputs);
  let s = (opts.seed ?? 1) >>> 0;
  const w = new Float64Array(out.size);
  for (let i = 0; i < w.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = s / 4294967296 - 0.5;
  }
  const wT = new Tensor(Float32Array.from(w), out.shape);
  out.backward(wT);
  const lossAt = (): number => {
    const o = f(...inputs).f32;
    let acc = 0;
    for (let i = 0; i < o.length; i++) acc += o[i] * w[i];
    return acc;
  };
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    assert.ok(x.grad, `${label}: input ${k} got no gradient`);
    const d = x.f32;
    const num = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const old = d[i];
      d[i] = old + eps;
      const lp = lossAt();
      d[i] = old - eps;
      const lm = lossAt();
      d[i] = old;
      num[i] = (lp - lm) / (2 * eps);
    }
    checkTensor(x.grad!.f32, num, { atol, rtol }, `${label}: d/d input ${k}`);
  });
}

/** An AbortController aborted from a timer (a macrotask, as a SIGINT listener runs) once `at` is
 * called with `when`: `fired` is the value `at` saw when the timer ran (0 = it never ran). */
export function timerAbort(when: number): { signal: AbortSignal; at(n: number): void; fired(): number } {
  const controller = new AbortController();
  let fired = 0;
  return {
    signal: controller.signal,
    at: (n) => {
      if (n === when)
        setTimeout(() => {
          fired = n;
          controller.abort();
        }, 0);
    },
    fired: () => fired,
  };
}

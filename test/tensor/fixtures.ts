// Loads the PyTorch/NumPy reference fixtures of scripts/make_core_fixtures.py
// (test/fixtures/core/*.json) and turns their tensors into Tensors.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor } from "../../src/tensor/tensor.js";
import { checkTensor } from "../helpers.js";

export interface TensorJson {
  shape: number[];
  dtype: "f32" | "i32";
  data: number[];
}

export interface OpCase {
  name: string;
  inputs: TensorJson[];
  out: TensorJson;
  w: TensorJson;
  grads: (TensorJson | null)[];
}

/** The repository root: the first directory above this file holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("fixtures: cannot find the repository root (package.json)");
    dir = up;
  }
  return dir;
}

export function loadCoreFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(repoRoot(), "test", "fixtures", "core", `${name}.json`), "utf8")) as T;
}

/** A fixture tensor; f32 ones require grad when `grad` is set. */
export function fromJson(t: TensorJson, grad = false): Tensor {
  if (t.dtype === "i32") return new Tensor(Int32Array.from(t.data), t.shape);
  const x = new Tensor(Float32Array.from(t.data), t.shape);
  return grad ? x.requireGrad() : x;
}

/** The named cases of ops.json. */
export function opCases(): Map<string, OpCase> {
  return new Map(loadCoreFixture<OpCase[]>("ops").map((c) => [c.name, c]));
}

/** Run `fn` on a fixture case's inputs and compare the output, and the gradients of
 * L = sum(out * w), with PyTorch's. */
export function checkCase(
  c: OpCase,
  fn: (...xs: Tensor[]) => Tensor,
  tol = { atol: 1e-5, rtol: 1e-5 },
): void {
  const inputs = c.inputs.map((t) => fromJson(t, true));
  const out = fn(...inputs);
  checkTensor(out, fromJson(c.out), tol, `${c.name} forward`);
  out.backward(fromJson(c.w));
  inputs.forEach((x, i) => {
    const g = c.grads[i];
    if (!g) return;
    checkTensor(
      x.grad ?? new Tensor(new Float32Array(x.size), x.shape),
      fromJson(g),
      tol,
      `${c.name} grad of input ${i}`,
    );
  });
}

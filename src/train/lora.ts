// LoRA (Hu et al. 2021, arXiv 2106.09685) on chosen Linear layers, as PEFT's `lora.Linear` does it:
// y = x W^T + b + scale * dropout(x) A^T B^T, A (r, in) kaiming-uniform (bound 1/sqrt(in), PEFT's
// kaiming_uniform_(a=sqrt(5))), B (out, r) zeros, scale = alpha / r. The base weights are frozen;
// only A and B train. Saving merges W' = W + scale * B @ A so the checkpoint is a plain model that
// any VILA loader reads; resuming subtracts it again (unmerge). Adapter names follow PEFT:
// `<linear path>.lora_A.weight`, `<linear path>.lora_B.weight`. VILA args: lora_r 64, lora_alpha 16,
// lora_dropout 0.05 (reference §3.2).

import { Linear, type Module } from "../nn/index.js";
import { rand, zeros } from "../tensor/create.js";
import { add, scale as scaleBy } from "../tensor/ops/elementwise.js";
import { linear, matmul } from "../tensor/ops/matmul.js";
import { dropout } from "../tensor/ops/nn.js";
import type { Generator } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";

export interface LoraOptions {
  r: number;
  alpha: number;
  dropout: number;
  /** a Linear gets an adapter when the last part of its path is one of these (PEFT target_modules) */
  targets: string[];
  /** drawn from for A's init and for dropout masks */
  gen: Generator;
}

export interface LoraAdapter {
  /** the Linear's path from the root passed to applyLora (e.g. `llm.model.layers.0.self_attn.q_proj`) */
  name: string;
  layer: Linear;
  /** (r, in) */
  A: Tensor;
  /** (out, r) */
  B: Tensor;
  scale: number;
}

/** The adapters applied to a model. */
export class Lora {
  constructor(
    readonly adapters: LoraAdapter[],
    readonly options: LoraOptions,
  ) {}

  /** [PEFT name, tensor] of every A and B (the only trainable LoRA tensors). */
  namedParameters(): [string, Tensor][] {
    return this.adapters.flatMap((a): [string, Tensor][] => [
      [`${a.name}.lora_A.weight`, a.A],
      [`${a.name}.lora_B.weight`, a.B],
    ]);
  }

  /** Adapter tensors by PEFT name (for trainer state). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /** Restore adapter tensors saved by {@link stateDict}; every adapter must be present with its shape. */
  loadStateDict(sd: Record<string, Tensor>, source = "lora"): void {
    for (const [name, t] of this.namedParameters()) {
      const src = sd[name];
      if (!src) throw new Error(`${source}: missing LoRA tensor "${name}"`);
      if (src.size !== t.size)
        throw new Error(
          `${source}: LoRA tensor "${name}" has ${src.size} elements, expected ${t.size} [${t.shape}]`,
        );
      t.f32.set(src.dtype === "f32" ? src.f32 : new Float32Array(src.toArray() as number[]));
    }
    const extra = Object.keys(sd).filter((k) => !this.namedParameters().some(([n]) => n === k));
    if (extra.length)
      throw new Error(
        `${source}: LoRA tensors this model has no adapter for: ${extra.slice(0, 4).join(", ")}`,
      );
  }

  /** scale * B @ A, (out, in), for one adapter. */
  delta(a: LoraAdapter): Tensor {
    return noGrad(() => scaleBy(matmul(a.B, a.A), a.scale));
  }

  /** Run fn with every adapted weight replaced by W + scale * B @ A (and restored after): the
   * model then is a plain model with the adapters folded in (what a checkpoint holds). */
  withMerged<T>(fn: () => T): T {
    const saved = this.adapters.map((a) => a.layer.weight);
    try {
      for (const a of this.adapters) {
        const merged = noGrad(() => add(a.layer.weight, this.delta(a)));
        a.layer.setParam("weight", merged);
        merged.requiresGrad = false;
        a.layer.forward = Linear.prototype.forward; // the merged weight already holds the adapter
      }
      return fn();
    } finally {
      this.adapters.forEach((a, i) => {
        a.layer.setParam("weight", saved[i]);
        patchForward(a, this.options);
      });
    }
  }

  /** W -= scale * B @ A in place: turn weights loaded from a merged checkpoint back into the base. */
  unmergeInPlace(): void {
    for (const a of this.adapters) {
      const d = this.delta(a).f32;
      const w = a.layer.weight.f32;
      for (let i = 0; i < w.length; i++) w[i] -= d[i];
    }
  }
}

function patchForward(a: LoraAdapter, o: LoraOptions): void {
  const layer = a.layer;
  // Instance override: the model calls `layer.forward(x)`, so the adapter joins without changing
  // the model's module tree (its parameter names stay the checkpoint's).
  layer.forward = (x: Tensor): Tensor => {
    const base = linear(x, layer.weight, layer.bias ?? undefined); // (..., out)
    const h = linear(dropout(x, o.dropout, o.gen, layer.training), a.A); // (..., in) -> (..., r)
    return add(base, scaleBy(linear(h, a.B), a.scale)); // (..., r) -> (..., out)
  };
}

/**
 * Put LoRA adapters on every Linear under `root` whose last name part is in `opts.targets`;
 * their base weights and biases are frozen. `prefix` is prepended to adapter names.
 * @example
 * const lora = applyLora(model.llm, { r: 8, alpha: 16, dropout: 0.05, targets: ["q_proj", "v_proj"], gen }, "llm.");
 */
export function applyLora(root: Module, opts: LoraOptions, prefix = ""): Lora {
  const adapters: LoraAdapter[] = [];
  for (const [name, m] of root.namedModules()) {
    if (!(m instanceof Linear)) continue;
    const last = name.split(".").pop() ?? "";
    if (!opts.targets.includes(last)) continue;
    const bound = 1 / Math.sqrt(m.inFeatures);
    const a: LoraAdapter = {
      name: prefix + name,
      layer: m,
      A: rand([opts.r, m.inFeatures], opts.gen, -bound, bound).requireGrad(),
      B: zeros([m.outFeatures, opts.r]).requireGrad(),
      scale: opts.alpha / opts.r,
    };
    m.freeze();
    patchForward(a, opts);
    adapters.push(a);
  }
  return new Lora(adapters, opts);
}

/** The merged weight W + scale * B @ A of one adapter as a fresh tensor (for tests and tools). */
export function mergedWeight(a: LoraAdapter): Tensor {
  return noGrad(() => {
    const d = scaleBy(matmul(a.B, a.A), a.scale);
    return new Tensor(Float32Array.from(add(a.layer.weight, d).f32), a.layer.weight.shape);
  });
}

// AdamW (Loshchilov & Hutter): decoupled weight decay, bias correction, parameter groups with
// their own learning rate and weight decay (VILA's mm_projector_lr / per-part rates), and a state
// that can be saved and restored exactly (m, v per named parameter + the step count).
// Matches torch.optim.AdamW(amsgrad=False, maximize=False) step for step.

import { backend } from "../backend/index.js";
import { Tensor } from "../tensor/tensor.js";

export interface ParamGroup {
  /** [name, parameter]; names key the saved state. */
  params: [string, Tensor][];
  lr: number;
  weightDecay?: number;
  /** free-form tag (e.g. "mm_projector") for logs. */
  name?: string;
}

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface Slot {
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  readonly groups: Required<Omit<ParamGroup, "name">>[] & { name?: string }[];
  /** base learning rates; a schedule multiplies them (setLrScale). */
  readonly baseLrs: number[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  stepCount = 0;
  private readonly slots = new Map<string, Slot>();

  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    const names = new Set<string>();
    this.groups = groups.map((g) => {
      for (const [n, p] of g.params) {
        if (names.has(n)) throw new Error(`AdamW: parameter "${n}" appears twice`);
        if (p.dtype !== "f32")
          throw new Error(`AdamW: parameter "${n}" is ${p.dtype}; only f32 parameters can be trained`);
        names.add(n);
      }
      return {
        params: g.params,
        lr: g.lr,
        weightDecay: g.weightDecay ?? opts.weightDecay ?? 0,
        name: g.name,
      };
    }) as AdamW["groups"];
    this.baseLrs = this.groups.map((g) => g.lr);
    if (names.size === 0) throw new Error("AdamW: no parameters to optimise (is every part frozen?)");
  }

  /** Set every group's lr to base lr * scale (the schedule's factor). */
  setLrScale(scale: number): void {
    this.groups.forEach((g, i) => {
      g.lr = this.baseLrs[i] * scale;
    });
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    const t = this.stepCount;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const be = backend();
    for (const g of this.groups) {
      for (const [name, p] of g.params) {
        if (!p.grad) continue;
        let s = this.slots.get(name);
        if (!s) {
          s = { m: new Float32Array(p.size), v: new Float32Array(p.size) };
          this.slots.set(name, s);
        }
        be.adamw(
          p.f32,
          p.grad.f32,
          s.m,
          s.v,
          g.lr,
          this.beta1,
          this.beta2,
          this.eps,
          g.weightDecay,
          bc1,
          bc2,
        );
      }
    }
  }

  /** Drop every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.groups) for (const [, p] of g.params) p.grad = null;
  }

  /** Tensors `NAME.exp_avg` / `NAME.exp_avg_sq` plus JSON meta, for a checkpoint. */
  stateDict(): { tensors: Record<string, Tensor>; meta: { step: number; lrs: number[]; baseLrs: number[] } } {
    const tensors: Record<string, Tensor> = {};
    for (const [name, s] of this.slots) {
      tensors[`${name}.exp_avg`] = new Tensor(s.m, [s.m.length]);
      tensors[`${name}.exp_avg_sq`] = new Tensor(s.v, [s.v.length]);
    }
    return {
      tensors,
      meta: { step: this.stepCount, lrs: this.groups.map((g) => g.lr), baseLrs: [...this.baseLrs] },
    };
  }

  loadStateDict(sd: { tensors: Record<string, Tensor>; meta: { step: number; lrs: number[] } }): void {
    if (sd.meta.lrs.length !== this.groups.length) {
      throw new Error(
        `AdamW.loadStateDict: state has ${sd.meta.lrs.length} groups, optimizer has ${this.groups.length}`,
      );
    }
    const sizes = new Map<string, number>();
    for (const g of this.groups) for (const [n, p] of g.params) sizes.set(n, p.size);
    this.slots.clear();
    for (const [key, t] of Object.entries(sd.tensors)) {
      const m = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key);
      if (!m) throw new Error(`AdamW.loadStateDict: unexpected state tensor "${key}"`);
      const size = sizes.get(m[1]);
      if (size === undefined) throw new Error(`AdamW.loadStateDict: state for unknown parameter "${m[1]}"`);
      if (t.size !== size)
        throw new Error(`AdamW.loadStateDict: "${key}" has ${t.size} elements, parameter has ${size}`);
      const slot = this.slots.get(m[1]) ?? { m: new Float32Array(size), v: new Float32Array(size) };
      (m[2] === "exp_avg" ? slot.m : slot.v).set(t.f32);
      this.slots.set(m[1], slot);
    }
    this.stepCount = sd.meta.step;
    this.groups.forEach((g, i) => {
      g.lr = sd.meta.lrs[i];
    });
  }
}

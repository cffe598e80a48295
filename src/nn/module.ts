// Module: a tree of named parameters and sub-modules, PyTorch style. The dotted path of every
// parameter equals its Hugging Face checkpoint key (`model.layers.0.self_attn.q_proj.weight`), so
// loading a checkpoint is an identity walk (nanoGPT keeps GPT-2's names the same way).
// Properties are camelCase; the registered names are the checkpoint's snake_case names.

import { toDtype } from "../tensor/dtype.js";
import { sameShape, type Tensor } from "../tensor/tensor.js";

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Register a trainable parameter under its checkpoint name; returns it. */
  protected param(name: string, t: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate module entry "${name}"`);
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  /** Register a sub-module under its checkpoint name; returns it. */
  protected module<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate module entry "${name}"`);
    this.children.set(name, m);
    return m;
  }

  /** Replace a registered parameter's tensor (used by loaders and weight tying). */
  setParam(name: string, t: Tensor): void {
    if (!this.params.has(name)) throw new Error(`no parameter "${name}" in ${this.constructor.name}`);
    this.params.set(name, t);
    (this as unknown as Record<string, unknown>)[camel(name)] = t;
  }

  /** Replace the parameter at a dotted path (`model.layers.0.mlp.up_proj.weight`). */
  setParamByPath(path: string, t: Tensor): void {
    const parts = path.split(".");
    let m: Module = this;
    for (const p of parts.slice(0, -1)) {
      const c = m.children.get(p);
      if (!c) throw new Error(`no module "${p}" on the path "${path}"`);
      m = c;
    }
    m.setParam(parts[parts.length - 1], t);
  }

  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.children.entries();
  }

  /** [dotted name, tensor] for every parameter, depth first, registration order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, p: string) => {
      for (const [n, t] of m.params) {
        if (seen.has(t)) continue; // tied weights appear once, under their first name
        seen.add(t);
        out.push([p + n, t]);
      }
      for (const [n, c] of m.children) walk(c, `${p}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Named modules, this one included as "". */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ""), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** requiresGrad = false on every parameter (a frozen part gets no gradient, no optimizer state). */
  freeze(): this {
    for (const t of this.parameters()) t.requiresGrad = false;
    return this;
  }

  unfreeze(): this {
    for (const t of this.parameters()) t.requiresGrad = true;
    return this;
  }

  /** Training mode (dropout on) for this module and all below. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const t of this.parameters()) if (!opts.trainableOnly || t.requiresGrad) n += t.size;
    return n;
  }

  /** name -> tensor (the live tensors, not copies). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /** Load tensors by name. Shapes must match exactly; bf16/f16 sources are converted to f32
   * unless keepDtype (inference with bf16 matrices; vectors are always widened). strict: every parameter must be present and
   * every key used; otherwise the lists of missing and unexpected keys are returned. */
  loadStateDict(
    sd: Record<string, Tensor> | ((name: string) => Tensor | undefined),
    opts: { strict?: boolean; keepDtype?: boolean; source?: string } = {},
  ): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const get = typeof sd === "function" ? sd : (n: string) => sd[n];
    const missing: string[] = [];
    const used = new Set<string>();
    const where = opts.source ? ` (${opts.source})` : "";
    const assign = (m: Module, prefix: string) => {
      for (const [n, old] of m.params) {
        const key = prefix + n;
        const src = get(key);
        if (!src) {
          missing.push(key);
          continue;
        }
        used.add(key);
        if (!sameShape(src.shape, old.shape)) {
          throw new Error(
            `loadStateDict${where}: tensor "${key}" has shape [${src.shape}], the model expects [${old.shape}]`,
          );
        }
        let t = src;
        if (src.dtype === "i32")
          throw new Error(`loadStateDict${where}: tensor "${key}" is integer, expected floating point`);
        // bf16/f16 storage is kept only for matrices (linear/embedding/conv weights widen on use)
        if (src.dtype !== "f32" && (!opts.keepDtype || src.ndim < 2)) t = toDtype(src, "f32");
        t.requiresGrad = old.requiresGrad && t.dtype === "f32";
        m.setParam(n, t);
      }
      for (const [n, c] of m.children) assign(c, `${prefix}${n}.`);
    };
    assign(this, "");
    const unexpected = typeof sd === "function" ? [] : Object.keys(sd).filter((k) => !used.has(k));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length)
        parts.push(
          `missing ${missing.length}: ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", ..." : ""}`,
        );
      if (unexpected.length)
        parts.push(
          `unexpected ${unexpected.length}: ${unexpected.slice(0, 8).join(", ")}${unexpected.length > 8 ? ", ..." : ""}`,
        );
      throw new Error(`loadStateDict${where}: ${parts.join("; ")}`);
    }
    return { missing, unexpected };
  }
}

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A list of modules named "0", "1", ... (PyTorch nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): void {
    this.module(String(this.items.length), m);
    this.items.push(m);
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

// Tensor: a shape, a dtype and contiguous storage, plus the reverse-mode autograd tape.
// Compute is f32 (Float32Array). bf16/f16 are storage dtypes (Uint16Array) for weights, converted
// exactly (round-to-nearest-even) by toDtype(); i32 (Int32Array) holds token ids and indices.
// Autograd is define-by-run like PyTorch: every op that has an input with requiresGrad records a
// GradNode (its inputs and a backward closure); backward() topo-sorts the graph from the output
// and accumulates .grad on leaves (micrograd's engine). Backward closures run with grad disabled.

import { backend } from "../backend/index.js";
import { env } from "../env.js";
import { allocF32, releaseF32 } from "./pool.js";

export type DType = "f32" | "bf16" | "f16" | "i32";
export type Storage = Float32Array | Uint16Array | Int32Array;

export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** gradient of the output -> gradient of each input (null where the input needs none). */
  backward(gOut: Tensor): (Tensor | null)[];
}

/** The storage of a tensor whose buffer backward({ free: true }) handed back to the pool. */
const FREED = new Float32Array(0);

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  data: Storage;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** A temporary computed outside the graph (from inputs that need no gradient: the patches of a
   * batch's images) that only the graph's ops read: backward({ free: true }) hands its buffer back
   * once every op that read it has run its backward, as it does for the graph's own tensors, instead
   * of keeping it as an input from outside. Whoever sets it guarantees nothing else keeps it. */
  freeWithGraph = false;

  /** A placeholder with a shape and no storage (see withMetaInit in create.ts): parameters of a
   * model about to be loaded from a checkpoint, so a large model never holds two copies. */
  readonly isMeta: boolean = false;

  constructor(data: Storage, shape: readonly number[], dtype?: DType, meta = false) {
    const n = numel(shape);
    this.isMeta = meta;
    if (data.length !== n && !meta) {
      throw new Error(`Tensor: data has ${data.length} elements but shape [${shape}] needs ${n}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype ?? dtypeOf(data);
    const ok =
      data instanceof Uint16Array
        ? this.dtype === "bf16" || this.dtype === "f16"
        : dtypeOf(data) === this.dtype;
    if (!ok) throw new Error(`Tensor: dtype ${this.dtype} does not match storage ${data.constructor.name}`);
  }

  get size(): number {
    return this.isMeta ? numel(this.shape) : this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The f32 storage; throws for other dtypes (use toDtype(t, "f32") first). */
  get f32(): Float32Array {
    if (this.isMeta)
      throw new Error(
        `tensor of shape [${this.shape}] has no storage (created under withMetaInit and never loaded)`,
      );
    if (this.data === FREED) {
      throw new Error(
        `tensor of shape [${this.shape}] was freed by backward({ free: true }); read what you need before backward`,
      );
    }
    if (!(this.data instanceof Float32Array)) {
      throw new Error(`expected an f32 tensor, got ${this.dtype} of shape [${this.shape}]`);
    }
    return this.data;
  }
  /** The i32 storage; throws for other dtypes. */
  get i32(): Int32Array {
    if (!(this.data instanceof Int32Array)) {
      throw new Error(`expected an i32 tensor, got ${this.dtype} of shape [${this.shape}]`);
    }
    return this.data;
  }

  /** Mark as a trainable leaf (returns this). */
  requireGrad(on = true): this {
    if (on && this.dtype !== "f32") throw new Error(`requiresGrad needs an f32 tensor, got ${this.dtype}`);
    this.requiresGrad = on;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item() needs one element, tensor has shape [${this.shape}]`);
    return this.dtype === "f32" || this.dtype === "i32" ? this.data[0] : toF32Array(this)[0];
  }

  /** Nested JS arrays (for tests and debugging). */
  toArray(): unknown {
    const flat = Array.from(this.dtype === "bf16" || this.dtype === "f16" ? toF32Array(this) : this.data);
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return flat[off];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** A new tensor sharing storage, outside the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }

  /** Reverse-mode autodiff from this tensor. A non-scalar output needs an explicit gradient.
   * With `free`, every tensor the graph computed (this one included, leaves excepted) and every
   * gradient on the way hand their storage back to the pool (pool.ts) for the next step: a training
   * loop's option, for outputs nobody reads after backward; reading one afterwards throws. */
  backward(gradient?: Tensor, opts: { free?: boolean } = {}): void {
    runBackward(this, gradient, opts.free ?? false);
  }

  /** Whether backward({ free: true }) took this tensor's storage. */
  get isFreed(): boolean {
    return this.data === FREED;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}]${this.requiresGrad ? ", requiresGrad" : ""})`;
  }
}

// ---------------------------------------------------------------------------------------------
// shapes

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid dimension ${d} in shape [${shape}]`);
    n *= d;
  }
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Normalise a possibly negative axis for a tensor of rank `ndim`. */
export function normAxis(axis: number, ndim: number, op = "op"): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) {
    throw new Error(`${op}: axis ${axis} out of range for a tensor of rank ${ndim}`);
  }
  return a;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function dtypeOf(data: Storage): DType {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Int32Array) return "i32";
  return "bf16";
}

function toF32Array(t: Tensor): Float32Array {
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  const u = new Uint32Array(out.buffer);
  if (t.dtype === "bf16") for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
  else for (let i = 0; i < src.length; i++) out[i] = f16BitsToNumber(src[i]);
  return out;
}

/** Exact IEEE half -> number. */
export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---------------------------------------------------------------------------------------------
// autograd

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn with gradient recording off (inference, optimiser steps, backward closures). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Turn recording on or off; returns the previous state. */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/** Attach a GradNode to `out` if recording is on and some input needs a gradient. Every op
 * builds its output through here, which is also where VILA_DEBUG checks for NaN/Inf. */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  backward: (gOut: Tensor) => (Tensor | null)[],
): Tensor {
  if (env.debug) checkFinite(out, op);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Throws if t holds NaN or Inf (used by VILA_DEBUG=1 after every op). */
export function checkFinite(t: Tensor, op: string): void {
  if (t.dtype !== "f32") return;
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new Error(
        `VILA_DEBUG: ${op} produced ${d[i]} at flat index ${i} of an output of shape [${t.shape}]`,
      );
    }
  }
}

function runBackward(root: Tensor, gradient: Tensor | undefined, free: boolean): void {
  if (!root.requiresGrad)
    throw new Error("backward(): the tensor does not require grad (no trainable input reached it)");
  let g0 = gradient;
  if (!g0) {
    if (root.size !== 1) {
      throw new Error(
        `backward(): output of shape [${root.shape}] is not a scalar; pass a gradient of that shape`,
      );
    }
    g0 = new Tensor(new Float32Array([1]), root.shape);
  } else if (!sameShape(g0.shape, root.shape)) {
    throw new Error(`backward(): gradient shape [${g0.shape}] does not match output shape [${root.shape}]`);
  }

  // topological order (iterative DFS, graphs can be thousands of nodes deep)
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  // free: each buffer goes back to the pool as soon as nothing needs it any more (Ledger), so the
  // step's peak is the same as without the pool (the graph already lets go of its nodes as it goes)
  const ledger = free
    ? new Ledger(
        order.filter((t) => t.node !== null),
        gradient,
      )
    : null;

  const grads = new Map<Tensor, Tensor>();
  grads.set(root, g0);
  ledger?.hold(g0);
  const prev = setGradEnabled(false);
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateGrad(t, g);
        ledger?.drop(g);
        continue;
      }
      const gin = t.node.backward(g);
      const inputs = t.node.inputs;
      for (let j = 0; j < inputs.length; j++) {
        const x = inputs[j];
        const gx = gin[j];
        if (!gx || !x.requiresGrad) continue;
        if (!sameShape(gx.shape, x.shape)) {
          throw new Error(
            `autograd: ${t.node.op} returned a gradient of shape [${gx.shape}] for an input of shape [${x.shape}]`,
          );
        }
        const have = grads.get(x);
        if (have) {
          const sum = addGrads(have, gx);
          grads.set(x, sum);
          ledger?.hold(sum);
          ledger?.drop(have);
          ledger?.dropUnheld(gx);
        } else {
          grads.set(x, gx);
          ledger?.hold(gx);
        }
      }
      ledger?.drop(g);
      t.node = null; // free the graph as we go (PyTorch's retain_graph=False)
      ledger?.done(t);
    }
    ledger?.finish();
  } finally {
    setGradEnabled(prev);
  }
}

/** backward({ free: true })'s bookkeeping. Every buffer counts its holders: the computed tensors of
 * the graph not yet passed by backward (a tensor and its views share one buffer) and the gradients
 * waiting for their tensor. When the count reaches zero the buffer goes back to the pool, unless a
 * leaf, an input from outside the computed graph (a parameter, a batch, a cache: an op's output may
 * be a view of one) or the caller's gradient shares it. A computed tensor loses its storage once
 * backward has passed it (reading it throws): only the closures of its consumers, already run, and
 * its own read it. Leaf gradients are copies (accumulateGrad), so none shares a handed-back buffer. */
class Ledger {
  private readonly refs = new Map<ArrayBufferLike, number>();
  private readonly keep = new Set<ArrayBufferLike>();
  /** per computed tensor, its inputs marked freeWithGraph: each read holds them until backward passes */
  private readonly temporaries = new Map<Tensor, Tensor[]>();

  constructor(
    private readonly computed: Tensor[],
    gradient: Tensor | undefined,
  ) {
    const inGraph = new Set<Tensor>(computed);
    if (gradient) this.keep.add(gradient.data.buffer);
    for (const t of computed) {
      for (const x of t.node?.inputs ?? []) {
        if (inGraph.has(x)) continue;
        if (!x.freeWithGraph) {
          this.keep.add(x.data.buffer);
          continue;
        }
        this.hold(x);
        const list = this.temporaries.get(t);
        if (list) list.push(x);
        else this.temporaries.set(t, [x]);
      }
      this.hold(t);
    }
  }

  hold(t: Tensor): void {
    const b = t.data.buffer;
    this.refs.set(b, (this.refs.get(b) ?? 0) + 1);
  }

  drop(t: Tensor): void {
    const b = t.data.buffer;
    const n = (this.refs.get(b) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(b, n);
      return;
    }
    this.refs.delete(b);
    this.give(t.data);
  }

  /** A gradient that was never stored (added into another): handed back unless its buffer is held. */
  dropUnheld(t: Tensor): void {
    if (!this.refs.has(t.data.buffer)) this.give(t.data);
  }

  /** Backward has passed computed tensor t. */
  done(t: Tensor): void {
    if (t.data === FREED) return;
    this.drop(t);
    t.data = FREED;
    for (const x of this.temporaries.get(t) ?? []) {
      if (x.data === FREED) continue;
      this.drop(x);
      if (!this.refs.has(x.data.buffer) && !this.keep.has(x.data.buffer)) x.data = FREED;
    }
  }

  /** The computed tensors no gradient reached. */
  finish(): void {
    for (const t of this.computed) this.done(t);
  }

  /** To the pool, unless kept. A buffer handed back earlier in this backward may since have been
   * taken again for a new gradient, and that gradient handed back too: the pool knows which
   * buffers are free and ignores a second hand-back of one (a set of buffers given here did not, and
   * kept every re-taken buffer out of the pool: ~30 MB a world-tiny stage-1 step for the GC). */
  private give(d: Storage): void {
    if (!(d instanceof Float32Array) || d === FREED) return;
    if (this.keep.has(d.buffer)) return;
    releaseF32(d);
  }
}

function accumulateGrad(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const x = leaf.grad.f32; // owned by the leaf (copied below), so adding in place is safe
    const y = g.f32;
    for (let i = 0; i < x.length; i++) x[i] += y[i];
  } else {
    // own the buffer: g may be shared with another tensor (e.g. a reshape's storage)
    leaf.grad = new Tensor(new Float32Array(g.f32), leaf.shape);
  }
}

/** a + b as a new tensor (gradient tensors may share storage, so never add in place). */
function addGrads(a: Tensor, b: Tensor): Tensor {
  const x = a.f32;
  const y = b.f32;
  const out = allocF32(x.length, false);
  backend().binary("add", x, [1], y, [1], out, [x.length]);
  return new Tensor(out, a.shape);
}

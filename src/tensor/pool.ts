// A free list of f32 buffers: the activations and gradients of one training step are handed back
// after its backward pass (backward({ free: true })) and reused by the next step's ops, instead of
// being left to the garbage collector. Every step allocates a few hundred MB of same-sized buffers;
// left to V8, their growth as external memory starts a mark-compact every ~64 MB (4-5 per world-tiny
// SFT step) and every new buffer is zeroed pages the kernel faults in.
//
// Only buffers this pool made are ever taken back (a WeakMap of their ArrayBuffers), so storage that
// came from elsewhere (a checkpoint slab, a batch, a view into a bigger array) is never reused, and
// handing back a buffer that is already free does nothing. Capacities are rounded up to 8 steps per
// octave (at most 12.5% unused), so the varying lengths of packed batches still find a buffer; a
// length whose class has no free buffer takes one of a class up to FIT (2x) larger. trimPool(), once per
// training step, keeps the free buffers that would serve the step again (per requested class, as
// many as it held at once): without a trim the classes that packed batches of other lengths left
// behind piled up, and keeping all a step asked for kept the backward pass's buffers idle through
// the next forward. Measured (world-tiny SFT, 100 steps, medians of 3 runs, 2026-12-06): 194 ms a
// step and 405 MB peak RSS; 263 ms and 345 MB without the pool; 193 ms and 740 MB without the trim.
// In world-tiny's stage 1 (2026-12-07) ~2 MB of new buffers a step remain, once backward's ledger
// handed back the gradient buffers the pool had re-issued within the same backward (33 MB before).
// World-tiny's SFT packs 16 samples into 6-9 rows, so its steps' activations differ by up to 1.5x
// and more after class rounding: with a 1.5x fit and a trim that kept each class's smallest buffers,
// 22 MB a step were new (a mark-compact nearly every step); with FIT 2 and the largest kept, 3 MB,
// and peak RSS 400 MB instead of 460 (60 steps, 2026-12-07).

import { env } from "../env.js";

const MIN_POOLED = 1024; // smaller arrays are cheap for V8; pooling them is not worth a map lookup
/** a length takes a free buffer of a class up to this much larger (its own first) */
const FIT = 2;
const POOL_LIMIT_BYTES = 512 * 2 ** 20;

const free = new Map<number, Float32Array[]>();
/** per requested capacity (a length's own class, whichever buffer served it): buffers taken and not
 * yet handed back, and the most of them at once since the last trimPool() */
const live = new Map<number, number>();
const peakLive = new Map<number, number>();
/** the pool's buffers, each with the class it was last taken for */
const owned = new WeakMap<ArrayBuffer, number>();
/** the buffers now on the free list: handing one back again is a no-op, so a caller that cannot
 * tell whether a buffer was already handed back (backward's ledger) may hand it back twice */
let onFreeList = new WeakSet<ArrayBuffer>();
let freeBytes = 0;
let poison = env.debug;
/** the buffers taken inside the innermost withPoolScope(), null outside every scope */
let scope: Float32Array[] | null = null;

/** The capacity class of a length: n rounded up to m * 2^e with 8 <= m < 16. */
export function capacityOf(n: number): number {
  if (n <= 16) return n;
  const e = Math.floor(Math.log2(n)) - 3;
  const step = 2 ** e;
  return Math.ceil(n / step) * step;
}

/** A Float32Array of length n, zeroed unless `zero` is false (for outputs every element of which is
 * written). From the free list: a buffer of its capacity class, else of the smallest class up to
 * FIT larger that has one. */
export function allocF32(n: number, zero = true): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const want = capacityOf(n);
  const cap = free.get(want)?.length ? want : bestFit(want);
  const now = (live.get(want) ?? 0) + 1;
  live.set(want, now);
  if (now > (peakLive.get(want) ?? 0)) peakLive.set(want, now);
  const buf = free.get(cap)?.pop();
  if (buf) {
    freeBytes -= cap * 4;
    onFreeList.delete(buf.buffer as ArrayBuffer);
    owned.set(buf.buffer as ArrayBuffer, want);
    const out = buf.length === n ? buf : buf.subarray(0, n);
    if (zero) out.fill(0);
    scope?.push(out);
    return out;
  }
  const fresh = new Float32Array(cap);
  owned.set(fresh.buffer, want);
  scope?.push(fresh);
  return cap === n ? fresh : fresh.subarray(0, n);
}

/**
 * Run `fn` and hand back every buffer it took from the pool except those of what `keep(result)`
 * lists (tfjs's tidy, for inference, where no backward hands buffers back: without it a generation
 * step's activations are left to the garbage collector and the next step's buffers are fresh, zeroed
 * pages). The caller guarantees that nothing `fn` made outlives it unless it is listed: a forward
 * pass's result and whatever it stored (a KV cache's tensors). Kept buffers belong to the enclosing
 * scope, if any. When `fn` throws, its buffers are left to the garbage collector.
 */
export function withPoolScope<T>(fn: () => T, keep: (result: T) => Iterable<Float32Array>): T {
  const outer = scope;
  const taken: Float32Array[] = [];
  scope = taken;
  let result: T;
  try {
    result = fn();
  } finally {
    scope = outer;
  }
  const kept = new Set<ArrayBufferLike>();
  for (const a of keep(result)) kept.add(a.buffer);
  for (const a of taken) {
    if (kept.has(a.buffer)) outer?.push(a);
    else releaseF32(a);
  }
  return result;
}

/** The smallest capacity up to FIT times `want` with a free buffer, else `want` (a fresh buffer): packed
 * batches vary in length from step to step, and a slightly longer buffer of the last step serves. */
function bestFit(want: number): number {
  let best = want;
  for (const [cap, list] of free) {
    if (cap > want && cap <= want * FIT && list.length > 0 && (best === want || cap < best)) best = cap;
  }
  return best;
}

/** Hand a buffer back; false (and nothing done) unless the pool made it. The caller guarantees that
 * nothing reads or writes it afterwards. With poisoning on it is filled with NaN, so a use after the
 * hand-back shows. */
export function releaseF32(a: Float32Array): boolean {
  const buffer = a.buffer;
  const want = buffer instanceof ArrayBuffer ? owned.get(buffer) : undefined;
  if (want === undefined) return false;
  if (onFreeList.has(buffer as ArrayBuffer)) return true; // handed back already
  const cap = buffer.byteLength / 4;
  live.set(want, Math.max(0, (live.get(want) ?? 0) - 1));
  if (freeBytes + cap * 4 > POOL_LIMIT_BYTES) return true; // over the limit: left to the GC
  const whole = new Float32Array(buffer);
  if (poison) whole.fill(Number.NaN);
  let list = free.get(cap);
  if (!list) {
    list = [];
    free.set(cap, list);
  }
  list.push(whole);
  onFreeList.add(buffer as ArrayBuffer);
  freeBytes += cap * 4;
  return true;
}

/** Keep the free buffers that would serve the step since the last call again: for each requested
 * class, as many as were taken at once, from the largest classes up to FIT larger down to its own;
 * the rest are left to the garbage collector. A
 * training loop calls it once per step, when the step has handed everything back. */
export function trimPool(): void {
  const caps = [...free.keys()].sort((a, b) => a - b);
  const left = new Map(caps.map((c) => [c, (free.get(c) as Float32Array[]).length]));
  const keep = new Map<number, number>();
  // the largest buffers that serve each class first, the largest classes first: packed batches vary
  // in length, and a step longer than the last finds the longer buffers it needs only if a shorter
  // step kept them
  for (const [want, demand] of [...peakLive].sort((a, b) => b[0] - a[0])) {
    let need = demand;
    for (let i = caps.length - 1; i >= 0; i--) {
      const cap = caps[i];
      if (need === 0 || cap < want) break;
      if (cap > want * FIT) continue;
      const take = Math.min(need, left.get(cap) ?? 0);
      left.set(cap, (left.get(cap) ?? 0) - take);
      keep.set(cap, (keep.get(cap) ?? 0) + take);
      need -= take;
    }
  }
  for (const [cap, list] of free) {
    const k = keep.get(cap) ?? 0;
    if (list.length <= k) continue;
    freeBytes -= (list.length - k) * cap * 4;
    for (const dropped of list.slice(k)) onFreeList.delete(dropped.buffer as ArrayBuffer);
    list.length = k;
    if (k === 0) free.delete(cap);
  }
  live.clear();
  peakLive.clear();
}

/** Drop every free buffer (the end of a training run). */
export function clearPool(): void {
  free.clear();
  onFreeList = new WeakSet();
  live.clear();
  peakLive.clear();
  freeBytes = 0;
}

/** Buffers taken (for lengths of at least MIN_POOLED) and not handed back since the last
 * trimPool() or clearPool(). */
export function takenBuffers(): number {
  let n = 0;
  for (const k of live.values()) n += k;
  return n;
}

/** Bytes held in the free list. */
export function pooledBytes(): number {
  return freeBytes;
}

/** Fill handed-back buffers with NaN (tests; VILA_DEBUG=1). Returns the previous setting. */
export function setPoolPoison(on: boolean): boolean {
  const prev = poison;
  poison = on;
  return prev;
}

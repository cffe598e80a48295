// A free list of f32 buffers: the activations and gradients of one training step are handed back
// after its backward pass (backward({ free: true })) and reused by the next step's ops, instead of
// being left to the garbage collector. Every step allocates a few hundred MB of same-sized buffers;
// left to V8, their growth as external memory starts a mark-compact every ~64 MB (4-5 per world-tiny
// SFT step) and every new buffer is zeroed pages the kernel faults in.
//
// Only buffers this pool made are ever taken back (a WeakSet of their ArrayBuffers), so storage that
// came from elsewhere (a checkpoint slab, a batch, a view into a bigger array) is never reused, and
// handing back a buffer that is already free does nothing. Capacities are rounded up to 8 steps per
// octave (at most 12.5% unused); a length takes the largest free buffer of a class from its own up to
// FIT (2x) larger, and trimPool(), once per training step, keeps of each capacity as many free
// buffers as the step had out at once. So buffers settle at the lengths of the longest steps, and
// the varying lengths of packed batches keep finding them: world-tiny's SFT packs 16 samples into
// 6-9 rows, and with a 1.5x fit, own class first and a trim per requested class, 22 MB a step were
// new buffers (a mark-compact nearly every step); now ~3 MB, and peak RSS 400 MB instead of 460 (60
// steps, 2026-12-07). Without a trim the classes that packed batches of other lengths left behind
// piled up (740 MB peak RSS instead of 405 in world-tiny's SFT, 2026-12-06; 345 MB and 36% slower
// steps without the pool). In world-tiny's stage 1 (2026-12-07) ~2 MB of new buffers a step remain,
// once backward's ledger handed back the gradient buffers the pool had re-issued within the same
// backward (33 MB before).

import { env } from "../env.js";

const MIN_POOLED = 1024; // smaller arrays are cheap for V8; pooling them is not worth a map lookup
/** a length takes the largest free buffer of a class from its own up to this much larger */
const FIT = 2;
const POOL_LIMIT_BYTES = 512 * 2 ** 20;

const free = new Map<number, Float32Array[]>();
/** per capacity: buffers taken and not yet handed back, and the most of them at once since the last
 * trimPool() */
const live = new Map<number, number>();
const peakLive = new Map<number, number>();
/** the pool's buffers */
const owned = new WeakSet<ArrayBuffer>();
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
 * written). From the free list: the largest buffer of a class from its own up to FIT larger, else a
 * fresh one of its class. */
export function allocF32(n: number, zero = true): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const want = capacityOf(n);
  const cap = largestFree(want);
  const now = (live.get(cap) ?? 0) + 1;
  live.set(cap, now);
  if (now > (peakLive.get(cap) ?? 0)) peakLive.set(cap, now);
  const buf = free.get(cap)?.pop();
  if (buf) {
    freeBytes -= cap * 4;
    onFreeList.delete(buf.buffer as ArrayBuffer);
    const out = buf.length === n ? buf : buf.subarray(0, n);
    if (zero) out.fill(0);
    scope?.push(out);
    return out;
  }
  const fresh = new Float32Array(cap);
  owned.add(fresh.buffer);
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

/** The largest capacity from `want` up to FIT times it with a free buffer, else `want` (a fresh
 * buffer). Largest first, so that buffers settle at the largest length a step needs: packed batches
 * vary in length from step to step, and a shorter step then keeps using (and the trim keeps) the
 * buffers a longer one needs. */
function largestFree(want: number): number {
  let best = want;
  for (const [cap, list] of free) if (cap > best && cap <= want * FIT && list.length > 0) best = cap;
  return best;
}

/** Hand a buffer back; false (and nothing done) unless the pool made it. The caller guarantees that
 * nothing reads or writes it afterwards. With poisoning on it is filled with NaN, so a use after the
 * hand-back shows. */
export function releaseF32(a: Float32Array): boolean {
  const buffer = a.buffer;
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer)) return false;
  if (onFreeList.has(buffer)) return true; // handed back already
  const cap = buffer.byteLength / 4;
  live.set(cap, Math.max(0, (live.get(cap) ?? 0) - 1));
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

/** Keep the free buffers that would serve the step since the last call again: of each capacity, as
 * many as were out at once; the rest are left to the garbage collector. A training loop calls it once
 * per step, when the step has handed everything back. */
export function trimPool(): void {
  for (const [cap, list] of free) {
    const k = peakLive.get(cap) ?? 0;
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

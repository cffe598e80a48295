// A free list of f32 buffers: the activations and gradients of one training step are handed back
// after its backward pass (backward({ free: true })) and reused by the next step's ops, instead of
// being left to the garbage collector. Every step allocates a few hundred MB of same-sized buffers;
// left to V8, their growth as external memory starts a mark-compact every ~64 MB (4-5 per world-tiny
// SFT step) and every new buffer is zeroed pages the kernel faults in.
//
// Only buffers this pool made are ever taken back (a WeakSet of their ArrayBuffers), so storage that
// came from elsewhere (a checkpoint slab, a batch, a view into a bigger array) is never reused.
// Capacities are rounded up to 8 steps per octave (at most 12.5% unused), so the varying lengths of
// packed batches still find a buffer. trimPool(), once per training step, keeps of each capacity
// only as many free buffers as the step held at once: without it the classes that packed batches of
// other lengths left behind piled up, and keeping all a step asked for kept the backward pass's
// buffers idle through the next forward. A
// length whose class has no free buffer takes one of a class up to 1.5x larger, so the last step's
// buffers serve a slightly longer batch. Measured (world-tiny SFT, 100 steps, medians of 3 runs):
// 194 ms a step and 405 MB peak RSS; 263 ms and 345 MB without the pool; 193 ms and 740 MB
// without the trim.

import { env } from "../env.js";

const MIN_POOLED = 1024; // smaller arrays are cheap for V8; pooling them is not worth a map lookup
const POOL_LIMIT_BYTES = 512 * 2 ** 20;

const free = new Map<number, Float32Array[]>();
/** per capacity: buffers taken and not yet handed back, and the most of them at once since the
 * last trimPool() */
const live = new Map<number, number>();
const peakLive = new Map<number, number>();
const owned = new WeakSet<ArrayBuffer>();
let freeBytes = 0;
let poison = env.debug;

/** The capacity class of a length: n rounded up to m * 2^e with 8 <= m < 16. */
export function capacityOf(n: number): number {
  if (n <= 16) return n;
  const e = Math.floor(Math.log2(n)) - 3;
  const step = 2 ** e;
  return Math.ceil(n / step) * step;
}

/** A Float32Array of length n, zeroed unless `zero` is false (for outputs every element of which is
 * written). From the free list: a buffer of its capacity class, else of the smallest class up to
 * 1.5x larger that has one. */
export function allocF32(n: number, zero = true): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const want = capacityOf(n);
  const cap = free.get(want)?.length ? want : bestFit(want);
  const now = (live.get(cap) ?? 0) + 1;
  live.set(cap, now);
  if (now > (peakLive.get(cap) ?? 0)) peakLive.set(cap, now);
  const buf = free.get(cap)?.pop();
  if (buf) {
    freeBytes -= cap * 4;
    const out = buf.length === n ? buf : buf.subarray(0, n);
    if (zero) out.fill(0);
    return out;
  }
  const fresh = new Float32Array(cap);
  owned.add(fresh.buffer);
  return cap === n ? fresh : fresh.subarray(0, n);
}

/** The smallest capacity up to 1.5x `want` with a free buffer, else `want` (a fresh buffer): packed
 * batches vary in length from step to step, and a slightly longer buffer of the last step serves. */
function bestFit(want: number): number {
  let best = want;
  for (const [cap, list] of free) {
    if (cap > want && cap <= want * 1.5 && list.length > 0 && (best === want || cap < best)) best = cap;
  }
  return best;
}

/** Hand a buffer back; false (and nothing done) unless the pool made it. The caller guarantees that
 * nothing reads or writes it afterwards. With poisoning on it is filled with NaN, so a use after the
 * hand-back shows. */
export function releaseF32(a: Float32Array): boolean {
  const buffer = a.buffer;
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer)) return false;
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
  freeBytes += cap * 4;
  return true;
}

/** Keep of each capacity at most as many free buffers as were taken at once since the last call (a
 * training loop calls it once per step, when the step has handed everything back); the rest are
 * left to the garbage collector. */
export function trimPool(): void {
  for (const [cap, list] of free) {
    const keep = peakLive.get(cap) ?? 0;
    if (list.length <= keep) continue;
    freeBytes -= (list.length - keep) * cap * 4;
    list.length = keep;
    if (keep === 0) free.delete(cap);
  }
  live.clear();
  peakLive.clear();
}

/** Drop every free buffer (the end of a training run). */
export function clearPool(): void {
  free.clear();
  live.clear();
  peakLive.clear();
  freeBytes = 0;
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

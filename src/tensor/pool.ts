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
// only as many free buffers as the step asked for: without it the classes that packed batches of
// other lengths left behind piled up (world-tiny SFT's peak RSS 907 MiB instead of 346).

import { env } from "../env.js";

const MIN_POOLED = 1024; // smaller arrays are cheap for V8; pooling them is not worth a map lookup
const POOL_LIMIT_BYTES = 512 * 2 ** 20;

const free = new Map<number, Float32Array[]>();
/** buffers asked for per capacity since the last trimPool() */
const demand = new Map<number, number>();
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
 * written). From the free list when one of its capacity class is there. */
export function allocF32(n: number, zero = true): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const cap = capacityOf(n);
  demand.set(cap, (demand.get(cap) ?? 0) + 1);
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

/** Hand a buffer back; false (and nothing done) unless the pool made it. The caller guarantees that
 * nothing reads or writes it afterwards. With poisoning on it is filled with NaN, so a use after the
 * hand-back shows. */
export function releaseF32(a: Float32Array): boolean {
  const buffer = a.buffer;
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer)) return false;
  const cap = buffer.byteLength / 4;
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

/** Keep of each capacity at most as many free buffers as were asked for since the last call (a
 * training loop calls it once per step); the rest are left to the garbage collector. */
export function trimPool(): void {
  for (const [cap, list] of free) {
    const keep = demand.get(cap) ?? 0;
    if (list.length <= keep) continue;
    freeBytes -= (list.length - keep) * cap * 4;
    list.length = keep;
    if (keep === 0) free.delete(cap);
  }
  demand.clear();
}

/** Drop every free buffer (the end of a training run). */
export function clearPool(): void {
  free.clear();
  demand.clear();
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

// KV cache of a Llama-family decoder: the keys and values of every layer for incremental decoding,
// k and v per layer (B, S, nkv, hs).
// Batch 1 (single-sequence chat and generation) keeps each layer in preallocated storage of
// (capacity, nkv, hs) rows that doubles (by copying) when full, so a decode step appends in place
// instead of concatenating the whole cache, and the fused decode kernel writes its new row straight
// into it (reserve / advance). Tensors handed out view the filled rows of the storage; rows are only
// ever appended and a grown cache copies into a new buffer, so every view stays valid. Batched
// caches (B > 1, left-padded generation) and keys that carry a gradient grow by concat instead.

import { concat } from "../../tensor/ops/shape.js";
import { isGradEnabled, Tensor } from "../../tensor/tensor.js";

/** The default number of positions a layer's storage starts with. */
const INITIAL_CAPACITY = 256;

interface LayerCache {
  /** batch-1 storage, (capacity, nkv, hs) rows of which the first `len` are filled */
  k: Float32Array | null;
  v: Float32Array | null;
  /** the batched / gradient-carrying cache, (B, len, nkv, hs), grown by concat (storage is null) */
  kt: Tensor | null;
  vt: Tensor | null;
  /** nkv and hs of the rows */
  heads: number;
  hs: number;
  capacity: number;
  len: number;
}

/** Keys and values of every layer for incremental decoding. k/v per layer: (B, S, nkv, hs). */
export class KVCache {
  /** (B, S) i32 1 = real / 0 = padding of the cached keys (batched generation with left padding);
   * null while every cached key is real. Kept by the caller that adds padded rows (VilaForCausalLM). */
  keyPadding: Tensor | null = null;
  private readonly layers: LayerCache[];
  private readonly initialCapacity: number;
  private readonly maxPositions: number;

  /** `capacity`: positions each layer's batch-1 storage starts with (it doubles when full);
   * `maxPositions`: the model's context length, which growth does not go past (a doubling would
   * otherwise reserve up to twice the rows a full context needs). */
  constructor(
    readonly numLayers: number,
    opts: { capacity?: number; maxPositions?: number } = {},
  ) {
    const cap = opts.capacity ?? INITIAL_CAPACITY;
    if (!Number.isInteger(cap) || cap < 1)
      throw new Error(`KVCache: capacity must be a positive integer, got ${opts.capacity}`);
    const max = opts.maxPositions ?? Number.POSITIVE_INFINITY;
    if (!(max >= 1)) throw new Error(`KVCache: maxPositions must be >= 1, got ${opts.maxPositions}`);
    this.initialCapacity = cap;
    this.maxPositions = max;
    this.layers = Array.from({ length: numLayers }, () => ({
      k: null,
      v: null,
      kt: null,
      vt: null,
      heads: 0,
      hs: 0,
      capacity: 0,
      len: 0,
    }));
  }

  /** Number of cached positions. */
  get length(): number {
    return this.numLayers > 0 ? this.layers[0].len : 0;
  }

  /** The f32 arrays the cache holds (for withPoolScope: what a forward pass stored and must keep). */
  *storage(): Iterable<Float32Array> {
    for (const L of this.layers) {
      for (const a of [L.k, L.v]) if (a) yield a;
      for (const t of [L.kt, L.vt]) if (t?.dtype === "f32") yield t.f32;
    }
  }

  /** Positions layer `layer`'s batch-1 storage holds before it grows (0 when it has none). */
  capacity(layer: number): number {
    return this.layer(layer).capacity;
  }

  /** Append (B, T, nkv, hs) and return the full (B, S, nkv, hs). */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const L = this.layer(layer);
    const [B, T, heads, hs] = k.shape;
    const tracked = isGradEnabled() && (k.requiresGrad || v.requiresGrad);
    if (B === 1 && !tracked && L.kt === null && k.dtype === "f32" && v.dtype === "f32") {
      this.grow(L, L.len + T, heads, hs);
      const row = heads * hs;
      (L.k as Float32Array).set(k.f32, L.len * row);
      (L.v as Float32Array).set(v.f32, L.len * row);
      L.len += T;
      return [this.view(L, L.k as Float32Array), this.view(L, L.v as Float32Array)];
    }
    // concat from here on; the storage's views stay what earlier updates handed out
    const pk = L.kt ?? (L.k && L.len > 0 ? this.view(L, L.k) : null);
    const pv = L.vt ?? (L.v && L.len > 0 ? this.view(L, L.v) : null);
    L.kt = pk ? concat([pk, k], 1) : k;
    L.vt = pv ? concat([pv, v], 1) : v;
    L.k = null;
    L.v = null;
    L.capacity = 0;
    L.len = L.kt.shape[1];
    return [L.kt, L.vt];
  }

  /**
   * Batch-1 storage of `layer` with room for at least `rows` positions (grown by doubling), for a
   * kernel that writes rows itself (the fused decode layer); the caller then calls advance().
   * Null when the layer is cached by concat (B > 1, or keys that carry a gradient).
   */
  reserve(
    layer: number,
    rows: number,
    heads: number,
    hs: number,
  ): { k: Float32Array; v: Float32Array; capacity: number } | null {
    const L = this.layer(layer);
    if (L.kt !== null) return null;
    this.grow(L, rows, heads, hs);
    return { k: L.k as Float32Array, v: L.v as Float32Array, capacity: L.capacity };
  }

  /** Count n more positions as filled in every layer's storage (written by a kernel after reserve). */
  advance(n: number): void {
    for (const L of this.layers) {
      if (L.kt !== null || L.len + n > L.capacity)
        throw new Error(
          `KVCache.advance: ${n} more rows do not fit the reserved storage (${L.len} of ${L.capacity})`,
        );
    }
    for (const L of this.layers) L.len += n;
  }

  private layer(i: number): LayerCache {
    const L = this.layers[i];
    if (!L) throw new Error(`KVCache: layer ${i} is outside [0, ${this.numLayers})`);
    return L;
  }

  /** (1, len, nkv, hs) over the filled rows of a storage buffer */
  private view(L: LayerCache, buf: Float32Array): Tensor {
    return new Tensor(buf.subarray(0, L.len * L.heads * L.hs), [1, L.len, L.heads, L.hs]);
  }

  /** make room for `rows` positions: allocate, or double into a new buffer and copy the filled rows */
  private grow(L: LayerCache, rows: number, heads: number, hs: number): void {
    if (L.k && (heads !== L.heads || hs !== L.hs)) {
      throw new Error(
        `KVCache: rows of (${heads}, ${hs}) do not match the cached (nkv, hs) = (${L.heads}, ${L.hs})`,
      );
    }
    if (L.k && rows <= L.capacity) return;
    let cap = L.k ? L.capacity : this.initialCapacity;
    while (cap < rows) cap *= 2;
    cap = Math.max(rows, Math.min(cap, this.maxPositions));
    const row = heads * hs;
    const k = new Float32Array(cap * row);
    const v = new Float32Array(cap * row);
    if (L.k && L.v) {
      k.set(L.k.subarray(0, L.len * row));
      v.set(L.v.subarray(0, L.len * row));
    }
    L.k = k;
    L.v = v;
    L.heads = heads;
    L.hs = hs;
    L.capacity = cap;
  }
}

// Indexing ops with i32 indices: indexSelect, gather (torch.gather), embedding, indexPut
// (out-of-place row replacement, how image embeddings are spliced into a token sequence) and
// scatterAdd (torch.scatter_add). Row-wise ones use the gatherRows / scatterAddRows kernels;
// gradients are each op's adjoint (gather <-> scatter-add).

import { backend } from "../../backend/index.js";
import { toDtype } from "../dtype.js";
import { allocF32 } from "../pool.js";
import { normAxis, numel, record, stridesOf, Tensor } from "../tensor.js";
import { requireF32 } from "./shape.js";

function requireI32(op: string, idx: Tensor): Int32Array {
  if (idx.dtype !== "i32")
    throw new Error(`${op}: indices must be an i32 tensor, got ${idx.dtype} of shape [${idx.shape}]`);
  return idx.i32;
}

function checkRange(op: string, idx: Int32Array, n: number, what: string): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= n)
      throw new Error(`${op}: index ${idx[i]} at position ${i} out of range [0, ${n}) for ${what}`);
  }
}

/** Rows of x along `axis` picked by a 1-D i32 index: out.shape[axis] = idx.length.
 * @example indexSelect(x, 0, ids) // (V, C) -> (n, C) */
export function indexSelect(x: Tensor, axis: number, idx: Tensor): Tensor {
  requireF32("indexSelect", x);
  const ids = requireI32("indexSelect", idx);
  if (idx.ndim !== 1) throw new Error(`indexSelect: indices must be 1-D, got shape [${idx.shape}]`);
  const a = normAxis(axis, x.ndim, "indexSelect");
  const n = x.shape[a];
  checkRange("indexSelect", ids, n, `axis ${a} of shape [${x.shape}]`);
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  const m = ids.length;
  const shape = x.shape.map((d, i) => (i === a ? m : d));
  const out = allocF32(outer * m * inner, false);
  // x viewed as outer tables of (n, inner); one gatherRows per table
  for (let o = 0; o < outer; o++) {
    backend().gatherRows(
      x.f32.subarray(o * n * inner, (o + 1) * n * inner),
      inner,
      ids,
      out.subarray(o * m * inner, (o + 1) * m * inner),
    );
  }
  return record(new Tensor(out, shape), "indexSelect", [x], (g) => {
    const gx = allocF32(x.size);
    for (let o = 0; o < outer; o++) {
      backend().scatterAddRows(
        gx.subarray(o * n * inner, (o + 1) * n * inner),
        inner,
        ids,
        g.f32.subarray(o * m * inner, (o + 1) * m * inner),
      );
    }
    return [new Tensor(gx, x.shape)];
  });
}

/** Token embeddings: weight (V, C), ids (any shape, i32) -> (...ids.shape, C); backward
 * scatter-adds into the rows used. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  const id = requireI32("embedding", ids);
  if ((weight.dtype === "bf16" || weight.dtype === "f16") && weight.ndim === 2)
    return embeddingHalf(weight, ids, id);
  requireF32("embedding", weight);
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be (V, C), got shape [${weight.shape}]`);
  const [V, C] = weight.shape;
  checkRange("embedding", id, V, `a vocabulary of ${V}`);
  const out = allocF32(id.length * C, false);
  backend().gatherRows(weight.f32, C, id, out);
  return record(new Tensor(out, [...ids.shape, C]), "embedding", [weight], (g) => {
    const gw = allocF32(V * C);
    backend().scatterAddRows(gw, C, id, g.f32);
    return [new Tensor(gw, weight.shape)];
  });
}

/** Rows of a bf16/f16 table (inference storage): gather the 16-bit rows, widen only those. */
function embeddingHalf(weight: Tensor, ids: Tensor, id: Int32Array): Tensor {
  const [V, C] = weight.shape;
  checkRange("embedding", id, V, `a vocabulary of ${V}`);
  const src = weight.data as Uint16Array;
  const rows = new Uint16Array(id.length * C);
  for (let r = 0; r < id.length; r++) rows.set(src.subarray(id[r] * C, (id[r] + 1) * C), r * C);
  return toDtype(new Tensor(rows, [...ids.shape, C], weight.dtype), "f32");
}

/** out = x with rows idx[r] (along axis 0) replaced by values[r]; idx is 1-D i32 without repeats,
 * values has shape (idx.length, ...x.shape[1:]). Gradients: x gets gOut with those rows zeroed,
 * values get those rows of gOut.
 * @example indexPut(tokenEmbeds, imagePositions, imageEmbeds) // (T, C), (n), (n, C) -> (T, C) */
export function indexPut(x: Tensor, idx: Tensor, values: Tensor): Tensor {
  requireF32("indexPut", x, values);
  const ids = requireI32("indexPut", idx);
  if (x.ndim < 1 || idx.ndim !== 1)
    throw new Error(`indexPut: needs x of rank >= 1 and 1-D indices, got [${x.shape}] and [${idx.shape}]`);
  const rowShape = x.shape.slice(1);
  if (
    values.ndim !== x.ndim ||
    values.shape[0] !== ids.length ||
    values.shape.slice(1).some((d, i) => d !== rowShape[i])
  ) {
    throw new Error(
      `indexPut: values of shape [${values.shape}] do not fit ${ids.length} rows of x [${x.shape}]`,
    );
  }
  const n = x.shape[0];
  checkRange("indexPut", ids, n, `axis 0 of shape [${x.shape}]`);
  const seen = new Set<number>();
  for (const r of ids) {
    if (seen.has(r)) throw new Error(`indexPut: row ${r} appears twice in the indices`);
    seen.add(r);
  }
  const cols = numel(rowShape);
  const out = allocF32(x.size, false);
  out.set(x.f32);
  const v = values.f32;
  for (let r = 0; r < ids.length; r++) out.set(v.subarray(r * cols, (r + 1) * cols), ids[r] * cols);
  return record(new Tensor(out, x.shape), "indexPut", [x, values], (g) => {
    let gx: Tensor | null = null;
    let gv: Tensor | null = null;
    if (x.requiresGrad) {
      const d = allocF32(g.size, false);
      d.set(g.f32);
      for (const r of ids) d.fill(0, r * cols, (r + 1) * cols);
      gx = new Tensor(d, x.shape);
    }
    if (values.requiresGrad) {
      const d = allocF32(values.size, false);
      backend().gatherRows(g.f32, cols, ids, d);
      gv = new Tensor(d, values.shape);
    }
    return [gx, gv];
  });
}

/** Visit every element of an index tensor idx (same rank as x) for torch.gather/scatter_add along
 * `axis`: calls f(position in idx, offset in x). */
function forEachIndexed(
  op: string,
  x: Tensor,
  axis: number,
  idx: Tensor,
  f: (i: number, xOff: number) => void,
): void {
  const ids = requireI32(op, idx);
  if (idx.ndim !== x.ndim)
    throw new Error(`${op}: index of shape [${idx.shape}] must have the rank of x [${x.shape}]`);
  for (let d = 0; d < x.ndim; d++) {
    if (d !== axis && idx.shape[d] > x.shape[d]) {
      throw new Error(`${op}: index shape [${idx.shape}] exceeds x shape [${x.shape}] on axis ${d}`);
    }
  }
  const xs = stridesOf(x.shape);
  const pos = new Array<number>(idx.ndim).fill(0);
  const n = x.shape[axis];
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i];
    if (k < 0 || k >= n)
      throw new Error(
        `${op}: index ${k} at flat position ${i} out of range [0, ${n}) on axis ${axis} of [${x.shape}]`,
      );
    let off = 0;
    for (let d = 0; d < pos.length; d++) off += (d === axis ? k : pos[d]) * xs[d];
    f(i, off);
    for (let d = pos.length - 1; d >= 0; d--) {
      if (++pos[d] < idx.shape[d]) break;
      pos[d] = 0;
    }
  }
}

/** torch.gather: out[i][j][k] = x[i][idx[i][j][k]][k] for axis 1; out has idx's shape. */
export function gather(x: Tensor, axis: number, idx: Tensor): Tensor {
  requireF32("gather", x);
  const a = normAxis(axis, x.ndim, "gather");
  const out = new Float32Array(idx.size);
  const xd = x.f32;
  forEachIndexed("gather", x, a, idx, (i, off) => {
    out[i] = xd[off];
  });
  return record(new Tensor(out, idx.shape), "gather", [x], (g) => {
    const gx = new Float32Array(x.size);
    const gd = g.f32;
    forEachIndexed("gather", x, a, idx, (i, off) => {
      gx[off] += gd[i];
    });
    return [new Tensor(gx, x.shape)];
  });
}

/** torch.scatter_add (out of place): out = x; out[i][idx[i][j][k]][k] += src[i][j][k] for axis 1.
 * idx and src have the same shape. Gradients: x gets gOut, src gets gather(gOut, axis, idx). */
export function scatterAdd(x: Tensor, axis: number, idx: Tensor, src: Tensor): Tensor {
  requireF32("scatterAdd", x, src);
  const a = normAxis(axis, x.ndim, "scatterAdd");
  if (idx.ndim !== src.ndim || idx.shape.some((d, i) => d !== src.shape[i])) {
    throw new Error(`scatterAdd: index [${idx.shape}] and src [${src.shape}] must have the same shape`);
  }
  const out = new Float32Array(x.f32);
  const s = src.f32;
  forEachIndexed("scatterAdd", x, a, idx, (i, off) => {
    out[off] += s[i];
  });
  return record(new Tensor(out, x.shape), "scatterAdd", [x, src], (g) => [
    x.requiresGrad ? g : null,
    src.requiresGrad ? gather(g, a, idx) : null,
  ]);
}

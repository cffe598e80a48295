// Writing safetensors files as the Python library does, byte for byte: tensors ordered by dtype
// (widest first: the Rust `Dtype` enum order reversed) then by name, compact JSON header with
// `__metadata__` first, padded with spaces to a multiple of 8; every file written to a temporary
// name, fsynced and renamed into place. Also the transformers-style sharded set + index.

import fs from "node:fs";
import path from "node:path";
import { numel, Tensor } from "../tensor/tensor.js";
import { READ_CHUNK } from "./read_at.js";
import { assertLittleEndian, ITEM_SIZE, type RawTensor, type SafeDType, viewAs } from "./safetensors.js";

// Position in the Rust library's `Dtype` enum; the Python writer orders tensors by this, descending.
// biome-ignore format: a table
const DTYPE_RANK: Readonly<Record<SafeDType, number>> = {
  BOOL: 0, U8: 1, I8: 2, I16: 3, U16: 4, F16: 5, BF16: 6, I32: 7, U32: 8, F32: 9, F64: 10, I64: 11, U64: 12,
};

interface Entry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  bytes: Uint8Array;
}

const TENSOR_DTYPE: Record<string, SafeDType> = { f32: "F32", bf16: "BF16", f16: "F16", i32: "I32" };

function expectedArray(dtype: SafeDType): string {
  return viewAs(dtype, new ArrayBuffer(0)).constructor.name;
}

function toEntry(name: string, t: Tensor | RawTensor, file: string): Entry {
  if (name === "__metadata__" || name.length === 0)
    throw new Error(`safetensors ${file}: invalid tensor name ${JSON.stringify(name)}`);
  const dtype = t instanceof Tensor ? TENSOR_DTYPE[t.dtype] : t.dtype;
  if (!dtype || !(dtype in ITEM_SIZE))
    throw new Error(`safetensors ${file}: tensor "${name}": unknown dtype ${String(t.dtype)}`);
  const shape = [...t.shape];
  const data = t.data;
  if (!(t instanceof Tensor) && data.constructor.name !== expectedArray(dtype)) {
    throw new Error(
      `safetensors ${file}: tensor "${name}": ${dtype} data must be a ${expectedArray(dtype)}, got ${data.constructor.name}`,
    );
  }
  if (data.length !== numel(shape)) {
    throw new Error(
      `safetensors ${file}: tensor "${name}": shape [${shape}] needs ${numel(shape)} elements, data has ${data.length}`,
    );
  }
  return { name, dtype, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** The header bytes (padded) and the data order, as the Python library lays them out. */
function layout(
  entries: Entry[],
  metadata: Record<string, string> | undefined,
): { header: Buffer; order: Entry[] } {
  const order = [...entries].sort(
    (a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || byteCompare(a.name, b.name),
  );
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const m: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort(byteCompare)) m[k] = String(metadata[k]);
    header.__metadata__ = m;
  }
  let off = 0;
  for (const e of order) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  return { header: Buffer.concat([json, Buffer.alloc(pad, 0x20)]), order };
}

/** A temporary path beside `target` for an atomic write: `TARGET.tmp-PID-XXXXXX`. */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Whether a file or folder name is one of tempPathFor's (left behind by a process that died). */
export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-z]+$/.test(name);
}

/** Write `file` via a temporary file in the same folder, fsync, then rename (atomic on POSIX). */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(file);
  let fd = -1;
  try {
    fd = fs.openSync(tmp, "w");
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length)
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, READ_CHUNK));
}

/**
 * Save tensors to one safetensors file (atomically), in the Python library's exact layout.
 * Tensors keep their dtype (f32 -> F32, bf16 -> BF16, f16 -> F16, i32 -> I32; RawTensor as given).
 * `metadata` defaults to {format: "pt"}, which transformers requires to load the file.
 * @example
 * saveSafetensors("mm_projector/model.safetensors", { "layers.2.weight": w, "layers.2.bias": b });
 */
export function saveSafetensors(
  file: string,
  tensors: Record<string, Tensor | RawTensor>,
  metadata: Record<string, string> = { format: "pt" },
): void {
  assertLittleEndian();
  const entries = Object.entries(tensors).map(([n, t]) => toEntry(n, t, file));
  const { header, order } = layout(entries, metadata);
  writeFileAtomic(file, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeAll(fd, len);
    writeAll(fd, header);
    for (const e of order) writeAll(fd, e.bytes);
  });
}

/**
 * Save tensors as transformers' save_pretrained does: if they fit in `maxShardBytes`, one
 * `model.safetensors`; otherwise `model-0000k-of-0000n.safetensors` shards (tensors in the given
 * order, a new shard when the next tensor would overflow; a tensor larger than the limit gets its
 * own shard) plus `model.safetensors.index.json` {metadata: {total_size}, weight_map}. Weight files of
 * an earlier save in `dir` that the new set does not use are removed afterwards.
 * @returns the file names written
 */
export function saveShardedSafetensors(
  dir: string,
  tensors: Record<string, Tensor | RawTensor>,
  maxShardBytes = 5_000_000_000,
  metadata: Record<string, string> = { format: "pt" },
): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const shards: [string, Tensor | RawTensor][][] = [[]];
  let cur = 0;
  let total = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = toEntry(name, t, dir).bytes.length;
    total += bytes;
    const last = shards[shards.length - 1];
    if (last.length > 0 && cur + bytes > maxShardBytes) {
      shards.push([[name, t]]);
      cur = bytes;
    } else {
      last.push([name, t]);
      cur += bytes;
    }
  }
  const written: string[] = [];
  if (shards.length === 1) {
    saveSafetensors(path.join(dir, "model.safetensors"), tensors, metadata);
    written.push("model.safetensors");
  } else {
    const n = shards.length;
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
      saveSafetensors(path.join(dir, name), Object.fromEntries(s), metadata);
      for (const [t] of s) weightMap[t] = name;
      written.push(name);
    });
    const sortedMap = Object.fromEntries(
      Object.keys(weightMap)
        .sort()
        .map((k) => [k, weightMap[k]]),
    );
    const index = { metadata: { total_size: total }, weight_map: sortedMap };
    const text = `${JSON.stringify(index, null, 2)}\n`;
    writeFileAtomic(path.join(dir, "model.safetensors.index.json"), (fd) =>
      writeAll(fd, Buffer.from(text, "utf8")),
    );
    written.push("model.safetensors.index.json");
  }
  for (const f of fs.readdirSync(dir)) {
    const isWeights =
      f === "model.safetensors" ||
      f === "model.safetensors.index.json" ||
      /^model-\d{5}-of-\d{5}\.safetensors$/.test(f);
    if (isWeights && !written.includes(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return written;
}

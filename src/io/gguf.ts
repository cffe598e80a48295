// GGUF v3 files (the llama.cpp / ggml model format): a streaming writer and a reader.
// Follows ggml's docs/gguf.md and gguf-py/gguf/gguf_writer.py:
//   header   u32 magic "GGUF" | u32 version 3 | u64 tensor_count | u64 metadata_kv_count
//   metadata kv_count x (gguf string key | u32 value type | value)
//   tensors  tensor_count x (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset)
//   padding  to `general.alignment` (default 32), then the tensor data, each tensor's offset
//            (relative to the data start) a multiple of the alignment.
// A gguf string is u64 byte length + UTF-8 bytes; arrays are u32 item type + u64 count + items.
// Dimensions are ggml's ne order: ne[0] is the fastest-varying axis, so a row-major (out, in)
// matrix has ne = [in, out] (the shape reversed); the bytes are the same. Little-endian only.

import * as fs from "node:fs";
import { readAt } from "./read_at.js";
import { assertLittleEndian } from "./safetensors.js";
import { writeFileAtomic } from "./safetensors_writer.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf.md `gguf_metadata_value_type`). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The ggml tensor types this module writes and reads (ggml.h `ggml_type`). */
export const GGML_TYPES = { F32: 0, F16: 1, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;
const TYPE_SIZE: Record<GgmlTypeName, number> = { F32: 4, F16: 2, BF16: 2 };

/** One metadata value: a scalar, a string, or an array of one item type. */
export type GgufValue =
  | {
      type: Exclude<GgufValueType, GgufValueType.ARRAY | GgufValueType.STRING | GgufValueType.BOOL>;
      value: number;
    }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: string[] }
  | {
      type: GgufValueType.ARRAY;
      itemType: Exclude<GgufValueType, GgufValueType.ARRAY | GgufValueType.STRING>;
      value: ArrayLike<number> | boolean[];
    };

/** Shorthands for building metadata. */
export const gv = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strs: (value: string[]): GgufValue => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.STRING,
    value,
  }),
  f32s: (value: ArrayLike<number>): GgufValue => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.FLOAT32,
    value,
  }),
  i32s: (value: ArrayLike<number>): GgufValue => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.INT32,
    value,
  }),
};

/** A tensor to write: ggml name, type, ne dims (fastest axis first) and its bytes, produced on demand
 * (called once, in file order) so a multi-GB model is never held in memory whole. */
export interface GgufTensorSpec {
  name: string;
  type: GgmlTypeName;
  ne: number[];
  bytes: () => Uint8Array;
}

const SCALAR_SIZE: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Little-endian byte builder for the header. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = Buffer.alloc(size);
    this.buf.copy(b, 0, 0, this.length);
    this.buf = b;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  scalar(type: GgufValueType, v: number | boolean): void {
    const n = SCALAR_SIZE[type];
    if (n === undefined) throw new Error(`gguf: ${GgufValueType[type]} is not a scalar type`);
    this.ensure(n);
    const b = this.buf;
    const o = this.length;
    const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
    switch (type) {
      case GgufValueType.UINT8:
      case GgufValueType.BOOL:
        b.writeUInt8(x, o);
        break;
      case GgufValueType.INT8:
        b.writeInt8(x, o);
        break;
      case GgufValueType.UINT16:
        b.writeUInt16LE(x, o);
        break;
      case GgufValueType.INT16:
        b.writeInt16LE(x, o);
        break;
      case GgufValueType.UINT32:
        b.writeUInt32LE(x, o);
        break;
      case GgufValueType.INT32:
        b.writeInt32LE(x, o);
        break;
      case GgufValueType.FLOAT32:
        b.writeFloatLE(x, o);
        break;
      case GgufValueType.UINT64:
        b.writeBigUInt64LE(BigInt(x), o);
        break;
      case GgufValueType.INT64:
        b.writeBigInt64LE(BigInt(x), o);
        break;
      case GgufValueType.FLOAT64:
        b.writeDoubleLE(x, o);
        break;
    }
    this.length += n;
  }
  pad(align: number): void {
    const n = (align - (this.length % align)) % align;
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, key: string, v: GgufValue): void {
  w.u32(v.type);
  if (v.type === GgufValueType.STRING) w.str(v.value);
  else if (v.type === GgufValueType.ARRAY) {
    w.u32(v.itemType);
    w.u64(v.value.length);
    if (v.itemType === GgufValueType.STRING) for (const s of v.value as string[]) w.str(s);
    else for (let i = 0; i < v.value.length; i++) w.scalar(v.itemType, (v.value as ArrayLike<number>)[i]);
  } else {
    if (typeof v.value === "number" && !Number.isFinite(v.value))
      throw new Error(`gguf: metadata "${key}" is not a finite number`);
    w.scalar(v.type, v.value);
  }
}

/** Bytes of a tensor of this type and dims. */
export function ggmlBytes(type: GgmlTypeName, ne: readonly number[]): number {
  return ne.reduce((a, b) => a * b, 1) * TYPE_SIZE[type];
}

/**
 * Write a GGUF v3 file atomically (temp file + rename). `general.alignment` in the metadata, when
 * given, sets the data alignment (default 32).
 * @example writeGguf("m.gguf", { "general.architecture": gv.str("llama") }, [{ name: "x", type: "F32", ne: [4], bytes: () => b }])
 */
export function writeGguf(
  file: string,
  metadata: Record<string, GgufValue>,
  tensors: GgufTensorSpec[],
): void {
  assertLittleEndian();
  const alignMeta = metadata["general.alignment"];
  const align =
    alignMeta && alignMeta.type === GgufValueType.UINT32 ? alignMeta.value : GGUF_DEFAULT_ALIGNMENT;
  if (!(align > 0 && align % 8 === 0))
    throw new Error(`gguf: general.alignment must be a multiple of 8, got ${align}`);
  const names = new Set<string>();
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(Object.keys(metadata).length);
  for (const [k, v] of Object.entries(metadata)) {
    w.str(k);
    writeValue(w, k, v);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf ${file}: tensor "${t.name}" is given twice`);
    names.add(t.name);
    if (!(t.type in GGML_TYPES)) throw new Error(`gguf ${file}: tensor "${t.name}": unknown type ${t.type}`);
    if (t.ne.length < 1 || t.ne.length > 4 || t.ne.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`gguf ${file}: tensor "${t.name}": bad dims [${t.ne}] (1 to 4 positive integers)`);
    w.str(t.name);
    w.u32(t.ne.length);
    for (const d of t.ne) w.u64(d);
    w.u32(GGML_TYPES[t.type]);
    w.u64(offset);
    const size = ggmlBytes(t.type, t.ne);
    sizes.push(size);
    offset += size + ((align - (size % align)) % align);
  }
  w.pad(align);
  const header = w.bytes();
  const zeros = new Uint8Array(align);
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    tensors.forEach((t, i) => {
      const b = t.bytes();
      if (b.byteLength !== sizes[i])
        throw new Error(
          `gguf ${file}: tensor "${t.name}" produced ${b.byteLength} bytes, ${sizes[i]} expected`,
        );
      writeAll(fd, b);
      const pad = (align - (sizes[i] % align)) % align;
      if (pad) writeAll(fd, zeros.subarray(0, pad));
    });
  });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
}

// ---------------------------------------------------------------------------------------------
// reading

/** A tensor entry of a GGUF file; `offset` is absolute in the file. */
export interface GgufTensorInfo {
  name: string;
  type: GgmlTypeName;
  ne: number[];
  offset: number;
  bytes: number;
}

export interface GgufFile {
  file: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  /** The bytes of one tensor, as stored. */
  read(name: string): Uint8Array;
}

class ByteReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly file: string,
  ) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new ShortHeader(`${what} at byte ${this.pos}`);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`gguf ${this.file}: ${what} ${v} is too large`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type: GgufValueType, what: string): number | boolean {
    const n = SCALAR_SIZE[type];
    if (n === undefined) throw new Error(`gguf ${this.file}: ${what}: unknown value type ${type}`);
    this.need(n, what);
    const b = this.buf;
    const o = this.pos;
    this.pos += n;
    switch (type) {
      case GgufValueType.UINT8:
        return b.readUInt8(o);
      case GgufValueType.BOOL:
        return b.readUInt8(o) !== 0;
      case GgufValueType.INT8:
        return b.readInt8(o);
      case GgufValueType.UINT16:
        return b.readUInt16LE(o);
      case GgufValueType.INT16:
        return b.readInt16LE(o);
      case GgufValueType.UINT32:
        return b.readUInt32LE(o);
      case GgufValueType.INT32:
        return b.readInt32LE(o);
      case GgufValueType.FLOAT32:
        return b.readFloatLE(o);
      case GgufValueType.UINT64:
        return Number(b.readBigUInt64LE(o));
      case GgufValueType.INT64:
        return Number(b.readBigInt64LE(o));
      default:
        return b.readDoubleLE(o);
    }
  }
}

class ShortHeader extends Error {}

function readValue(r: ByteReader, key: string): GgufValue {
  const type = r.u32(`type of "${key}"`) as GgufValueType;
  if (type === GgufValueType.STRING) return { type, value: r.str(`"${key}"`) };
  if (type === GgufValueType.ARRAY) {
    const itemType = r.u32(`item type of "${key}"`) as GgufValueType;
    const n = r.u64(`length of "${key}"`);
    if (itemType === GgufValueType.STRING) {
      const value: string[] = [];
      for (let i = 0; i < n; i++) value.push(r.str(`"${key}"[${i}]`));
      return { type, itemType, value };
    }
    if (itemType === GgufValueType.ARRAY)
      throw new Error(`gguf ${r.file}: "${key}": nested arrays are not supported`);
    const value: (number | boolean)[] = [];
    for (let i = 0; i < n; i++) value.push(r.scalar(itemType, `"${key}"[${i}]`));
    return { type, itemType, value: value as number[] } as GgufValue;
  }
  return { type, value: r.scalar(type, `"${key}"`) } as GgufValue;
}

const TYPE_BY_ID = new Map<number, GgmlTypeName>(
  Object.entries(GGML_TYPES).map(([k, v]) => [v, k as GgmlTypeName]),
);

function parseHeader(buf: Buffer, file: string, fileSize: number): Omit<GgufFile, "read"> {
  const r = new ByteReader(buf, file);
  const magic = r.u32("magic");
  if (magic !== GGUF_MAGIC) throw new Error(`gguf ${file}: not a GGUF file (magic 0x${magic.toString(16)})`);
  const version = r.u32("version");
  if (version !== 2 && version !== 3) throw new Error(`gguf ${file}: unsupported GGUF version ${version}`);
  const nt = r.u64("tensor count");
  const nkv = r.u64("metadata count");
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nkv; i++) {
    const key = r.str(`metadata key ${i}`);
    metadata.set(key, readValue(r, key));
  }
  const am = metadata.get("general.alignment");
  const alignment = am && typeof am.value === "number" ? am.value : GGUF_DEFAULT_ALIGNMENT;
  const raw: { name: string; ne: number[]; type: GgmlTypeName; rel: number }[] = [];
  for (let i = 0; i < nt; i++) {
    const name = r.str(`tensor ${i} name`);
    const nd = r.u32(`tensor "${name}" n_dims`);
    if (nd < 1 || nd > 4) throw new Error(`gguf ${file}: tensor "${name}" has ${nd} dims`);
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(r.u64(`tensor "${name}" dim ${d}`));
    const tid = r.u32(`tensor "${name}" type`);
    const type = TYPE_BY_ID.get(tid);
    if (!type)
      throw new Error(`gguf ${file}: tensor "${name}" has ggml type ${tid} (only F32, F16, BF16 are read)`);
    const rel = r.u64(`tensor "${name}" offset`);
    if (rel % alignment)
      throw new Error(`gguf ${file}: tensor "${name}" offset ${rel} is not aligned to ${alignment}`);
    raw.push({ name, ne, type, rel });
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of raw) {
    const bytes = ggmlBytes(t.type, t.ne);
    const offset = dataStart + t.rel;
    if (offset + bytes > fileSize)
      throw new Error(`gguf ${file}: tensor "${t.name}" runs past the end of the file (truncated?)`);
    if (tensors.has(t.name)) throw new Error(`gguf ${file}: tensor "${t.name}" appears twice`);
    tensors.set(t.name, { name: t.name, type: t.type, ne: t.ne, offset, bytes });
  }
  return { file, version, alignment, metadata, tensors };
}

/** Open a GGUF file: header parsed, tensors read on demand. */
export function readGguf(file: string): GgufFile {
  assertLittleEndian();
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, "r");
  try {
    for (let want = Math.min(size, 1 << 22); ; want = Math.min(size, want * 4)) {
      const buf = Buffer.alloc(want);
      fs.readSync(fd, buf, 0, want, 0);
      try {
        const h = parseHeader(buf, file, size);
        return {
          ...h,
          read(name: string): Uint8Array {
            const t = h.tensors.get(name);
            if (!t) throw new Error(`gguf ${file}: no tensor "${name}"`);
            const out = new Uint8Array(t.bytes);
            const f = fs.openSync(file, "r");
            try {
              if (readAt(f, out, t.offset) < out.length)
                throw new Error(`gguf ${file}: tensor "${name}" runs past the end of the file (truncated)`);
            } finally {
              fs.closeSync(f);
            }
            return out;
          },
        };
      } catch (e) {
        if (!(e instanceof ShortHeader)) throw e;
        if (want >= size) throw new Error(`gguf ${file}: header truncated (${e.message})`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A metadata value as a plain JS value (number, boolean, string, array), or undefined. */
export function ggufMeta(f: GgufFile, key: string): unknown {
  return f.metadata.get(key)?.value;
}

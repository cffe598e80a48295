// safetensors files (huggingface/safetensors format), read lazily and written atomically.
// Format: an 8-byte little-endian header length n, n bytes of JSON
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}, then the
// raw little-endian tensor bytes (offsets relative to the end of the header).
// Opening a file reads and validates only its header; get(name) reads one tensor with a positioned
// read into a fresh (hence aligned) buffer, so a model larger than half the RAM still loads tensor by
// tensor. Sharded checkpoints (`model.safetensors.index.json` + `model-0000k-of-0000n.safetensors`,
// as written by transformers' save_pretrained) are opened transparently.
// Writing: safetensors_writer.ts.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { numel, Tensor } from "../tensor/tensor.js";
import { readAt } from "./read_at.js";

/** The dtypes of the safetensors format that vila-ts reads and writes. */
export type SafeDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/** Bytes per element of each dtype. */
// biome-ignore format: a table
export const ITEM_SIZE: Readonly<Record<SafeDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** A typed array of the JS type that holds each dtype (BOOL as 0/1 bytes, F16/BF16 as raw bits). */
// biome-ignore format: a list
export type RawArray =
  | Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array
  | BigUint64Array | Uint32Array | Uint8Array;

/** A tensor of any safetensors dtype, as stored (no conversion). */
export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  data: RawArray;
}

/** Where one tensor lives: the file, its dtype and shape, and its absolute byte range. */
export interface TensorInfo {
  file: string;
  dtype: SafeDType;
  shape: number[];
  /** absolute byte offsets in `file` */
  start: number;
  end: number;
}

/** Read access to the tensors of one checkpoint component (a file, a sharded set, or a renamed view). */
export interface TensorReader {
  /** A file or folder name for error messages. */
  readonly source: string;
  /** `__metadata__` of the (first) file. */
  readonly metadata: Readonly<Record<string, string>>;
  keys(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** Read one tensor as a Tensor (F32 -> f32, BF16/F16 -> bf16/f16 storage, I32 -> i32, I64 -> i32 if in
   * range, F64 -> f32 rounded). With `expectShape`, a different shape is an error naming the tensor. */
  get(name: string, expectShape?: readonly number[]): Tensor;
  /** Read one tensor exactly as stored. */
  getRaw(name: string): RawTensor;
}

/** The Python library refuses headers over 100 MB; so do we (a corrupt length would otherwise allocate GBs). */
const MAX_HEADER_BYTES = 100_000_000;

export function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw new Error("safetensors: big-endian hosts are not supported");
}

/** One `.safetensors` file: header parsed and validated at open, tensors read on demand. */
export class SafetensorsFile implements TensorReader {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** byte offset where tensor data starts (8 + header length) */
  readonly dataStart: number;
  private readonly entries: Map<string, TensorInfo>;

  private constructor(
    file: string,
    metadata: Record<string, string>,
    dataStart: number,
    entries: Map<string, TensorInfo>,
  ) {
    this.source = file;
    this.metadata = metadata;
    this.dataStart = dataStart;
    this.entries = entries;
  }

  /**
   * Open and validate a file's header (dtypes known, sizes match shapes, offsets inside the file and
   * non-overlapping). Every error names the file and, where there is one, the tensor.
   * @example
   * const f = SafetensorsFile.open("vision_tower/model.safetensors");
   * const w = f.get("vision_model.post_layernorm.weight", [1152]);
   */
  static open(file: string): SafetensorsFile {
    assertLittleEndian();
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      throw new Error(`safetensors: cannot open ${file}: ${(e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8)
        throw new Error(`safetensors ${file}: truncated: ${size} bytes, less than the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      readFully(fd, lenBuf, 0, file, "header length");
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES))
        throw new Error(
          `safetensors ${file}: header length ${n} is not sane (max ${MAX_HEADER_BYTES}); not a safetensors file?`,
        );
      const headerLen = Number(n);
      if (8 + headerLen > size) {
        throw new Error(
          `safetensors ${file}: truncated: header says ${headerLen} header bytes but the file has only ${size - 8} after the length`,
        );
      }
      const hbuf = Buffer.alloc(headerLen);
      readFully(fd, hbuf, 8, file, "header");
      return SafetensorsFile.fromHeader(file, hbuf, size);
    } finally {
      fs.closeSync(fd);
    }
  }

  private static fromHeader(file: string, hbuf: Buffer, fileSize: number): SafetensorsFile {
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(hbuf));
    } catch (e) {
      throw new Error(`safetensors ${file}: header is not valid UTF-8 JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(header)) throw new Error(`safetensors ${file}: header is not a JSON object`);
    const dataStart = 8 + hbuf.length;
    const dataLen = fileSize - dataStart;
    const metadata: Record<string, string> = {};
    const entries = new Map<string, TensorInfo>();
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (!isPlainObject(v)) throw new Error(`safetensors ${file}: __metadata__ is not an object`);
        for (const [k, s] of Object.entries(v)) {
          if (typeof s !== "string")
            throw new Error(`safetensors ${file}: __metadata__["${k}"] is not a string`);
          metadata[k] = s;
        }
        continue;
      }
      const where = `safetensors ${file}: tensor "${name}"`;
      if (!isPlainObject(v)) throw new Error(`${where}: entry is not an object`);
      const dtype = v.dtype;
      if (typeof dtype !== "string" || !(dtype in ITEM_SIZE))
        throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
      const shape = v.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new Error(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
      }
      const offs = v.data_offsets;
      if (
        !Array.isArray(offs) ||
        offs.length !== 2 ||
        !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offs[0] > offs[1]
      ) {
        throw new Error(
          `${where}: data_offsets ${JSON.stringify(offs)} is not [begin, end] with 0 <= begin <= end`,
        );
      }
      const need = numel(shape) * ITEM_SIZE[dtype as SafeDType];
      if (offs[1] - offs[0] !== need) {
        throw new Error(
          `${where}: shape [${shape}] of ${dtype} needs ${need} bytes but data_offsets [${offs}] span ${offs[1] - offs[0]}`,
        );
      }
      if (offs[1] > dataLen) {
        throw new Error(
          `${where}: data_offsets [${offs}] end past the data (${dataLen} bytes): file truncated or header wrong`,
        );
      }
      entries.set(name, {
        file,
        dtype: dtype as SafeDType,
        shape: [...shape],
        start: dataStart + offs[0],
        end: dataStart + offs[1],
      });
    }
    const sorted = [...entries.entries()]
      .filter(([, e]) => e.end > e.start)
      .sort((a, b) => a[1].start - b[1].start);
    for (let i = 1; i < sorted.length; i++) {
      const [pn, p] = sorted[i - 1];
      const [cn, c] = sorted[i];
      if (c.start < p.end) {
        throw new Error(
          `safetensors ${file}: tensors "${pn}" and "${cn}" overlap (bytes ${p.start - dataStart}..${p.end - dataStart} and ${c.start - dataStart}..${c.end - dataStart})`,
        );
      }
    }
    return new SafetensorsFile(file, metadata, dataStart, entries);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }
  has(name: string): boolean {
    return this.entries.has(name);
  }
  info(name: string): TensorInfo {
    const e = this.entries.get(name);
    if (!e) throw new Error(`safetensors ${this.source}: no tensor "${name}"`);
    return e;
  }
  getRaw(name: string): RawTensor {
    return readRaw(name, this.info(name));
  }
  get(name: string, expectShape?: readonly number[]): Tensor {
    return toTensor(name, this.info(name), expectShape);
  }
}

/** A sharded checkpoint: `model.safetensors.index.json` with a `weight_map` {tensor: shard file}. */
export class ShardedSafetensors implements TensorReader {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly map: Map<string, SafetensorsFile>;

  private constructor(
    indexFile: string,
    map: Map<string, SafetensorsFile>,
    metadata: Record<string, string>,
  ) {
    this.source = indexFile;
    this.map = map;
    this.metadata = metadata;
  }

  /** Open an index file and the headers of all its shards; every weight_map entry must exist in its shard. */
  static open(indexFile: string): ShardedSafetensors {
    let index: unknown;
    try {
      index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
    } catch (e) {
      throw new Error(`safetensors index ${indexFile}: cannot read: ${(e as Error).message}`);
    }
    const wm = isPlainObject(index) ? index.weight_map : undefined;
    if (!isPlainObject(wm)) throw new Error(`safetensors index ${indexFile}: no "weight_map" object`);
    const dir = path.dirname(indexFile);
    const shards = new Map<string, SafetensorsFile>();
    const map = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(wm)) {
      if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || shard.startsWith(".")) {
        throw new Error(
          `safetensors index ${indexFile}: tensor "${name}" maps to ${JSON.stringify(shard)}, not a shard file name`,
        );
      }
      let f = shards.get(shard);
      if (!f) {
        const p = path.join(dir, shard);
        if (!fs.existsSync(p))
          throw new Error(`safetensors index ${indexFile}: shard ${p} (holding tensor "${name}") is missing`);
        f = SafetensorsFile.open(p);
        shards.set(shard, f);
      }
      if (!f.has(name))
        throw new Error(`safetensors index ${indexFile}: tensor "${name}" is not in its shard ${f.source}`);
      map.set(name, f);
    }
    const first = shards.values().next().value;
    return new ShardedSafetensors(indexFile, map, first ? { ...first.metadata } : {});
  }

  keys(): string[] {
    return [...this.map.keys()];
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  info(name: string): TensorInfo {
    const f = this.map.get(name);
    if (!f) throw new Error(`safetensors index ${this.source}: no tensor "${name}"`);
    return f.info(name);
  }
  getRaw(name: string): RawTensor {
    return readRaw(name, this.info(name));
  }
  get(name: string, expectShape?: readonly number[]): Tensor {
    return toTensor(name, this.info(name), expectShape);
  }
}

/** A view of another reader with renamed keys: `from` prefix replaced by `to`; keys without it are hidden
 * (or, with `exclude`, the keys that start with none of the excluded prefixes are kept unchanged). */
export class RenamedReader implements TensorReader {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly map = new Map<string, string>();

  constructor(
    private readonly inner: TensorReader,
    rename: { from: string; to: string } | { exclude: string[] },
  ) {
    this.source = inner.source;
    this.metadata = inner.metadata;
    for (const k of inner.keys()) {
      if ("from" in rename) {
        if (k.startsWith(rename.from)) this.map.set(rename.to + k.slice(rename.from.length), k);
      } else if (!rename.exclude.some((p) => k.startsWith(p))) {
        this.map.set(k, k);
      }
    }
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  private inner_(name: string): string {
    const k = this.map.get(name);
    if (k === undefined) throw new Error(`safetensors ${this.source}: no tensor "${name}" in this component`);
    return k;
  }
  info(name: string): TensorInfo {
    return this.inner.info(this.inner_(name));
  }
  getRaw(name: string): RawTensor {
    return this.inner.getRaw(this.inner_(name));
  }
  get(name: string, expectShape?: readonly number[]): Tensor {
    const k = this.inner_(name);
    return toTensor(
      k,
      this.inner.info(k),
      expectShape,
      k === name ? undefined : `"${name}" (stored as "${k}")`,
    );
  }
}

/**
 * Open a file, an index file, or a folder holding `model.safetensors` or `model.safetensors.index.json`.
 * @example
 * const llm = openSafetensors("VILA1.5-3b/llm"); // sharded, opened transparently
 */
export function openSafetensors(p: string): TensorReader {
  if (!fs.existsSync(p)) throw new Error(`safetensors: ${p} does not exist`);
  if (fs.statSync(p).isDirectory()) {
    const single = path.join(p, "model.safetensors");
    const index = path.join(p, "model.safetensors.index.json");
    if (fs.existsSync(single)) return SafetensorsFile.open(single);
    if (fs.existsSync(index)) return ShardedSafetensors.open(index);
    throw new Error(
      `safetensors: folder ${p} has neither model.safetensors nor model.safetensors.index.json`,
    );
  }
  return p.endsWith(".json") ? ShardedSafetensors.open(p) : SafetensorsFile.open(p);
}

// ---------------------------------------------------------------------------------------------
// reading

function readFully(fd: number, buf: Uint8Array, position: number, file: string, what: string): void {
  const done = readAt(fd, buf, position);
  if (done < buf.length)
    throw new Error(
      `safetensors ${file}: ${what}: file ended after ${done} of ${buf.length} bytes (truncated)`,
    );
}

function readRaw(name: string, info: TensorInfo): RawTensor {
  const bytes = new Uint8Array(info.end - info.start);
  let fd: number;
  try {
    fd = fs.openSync(info.file, "r");
  } catch (e) {
    throw new Error(`safetensors ${info.file}: tensor "${name}": cannot open: ${(e as Error).message}`);
  }
  try {
    readFully(fd, bytes, info.start, info.file, `tensor "${name}"`);
  } finally {
    fs.closeSync(fd);
  }
  return { dtype: info.dtype, shape: [...info.shape], data: viewAs(info.dtype, bytes.buffer) };
}

/** A typed array over `buf` of the JS type that holds `dtype` (the RawTensor data type). */
export function viewAs(dtype: SafeDType, buf: ArrayBuffer): RawArray {
  switch (dtype) {
    case "F64":
      return new Float64Array(buf);
    case "F32":
      return new Float32Array(buf);
    case "F16":
    case "BF16":
    case "U16":
      return new Uint16Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "U64":
      return new BigUint64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "U32":
      return new Uint32Array(buf);
    case "I16":
      return new Int16Array(buf);
    case "I8":
      return new Int8Array(buf);
    case "U8":
    case "BOOL":
      return new Uint8Array(buf);
  }
}

function toTensor(
  name: string,
  info: TensorInfo,
  expectShape?: readonly number[],
  label = `"${name}"`,
): Tensor {
  const where = `safetensors ${info.file}: tensor ${label}`;
  if (
    expectShape &&
    (expectShape.length !== info.shape.length || expectShape.some((d, i) => d !== info.shape[i]))
  ) {
    throw new Error(`${where} has shape [${info.shape}], expected [${expectShape}]`);
  }
  const raw = readRaw(name, info);
  switch (raw.dtype) {
    case "F32":
      return new Tensor(raw.data as Float32Array, raw.shape, "f32");
    case "BF16":
      return new Tensor(raw.data as Uint16Array, raw.shape, "bf16");
    case "F16":
      return new Tensor(raw.data as Uint16Array, raw.shape, "f16");
    case "I32":
      return new Tensor(raw.data as Int32Array, raw.shape, "i32");
    case "F64":
      return new Tensor(Float32Array.from(raw.data as Float64Array), raw.shape, "f32");
    case "I64": {
      const src = raw.data as BigInt64Array;
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v < -2147483648n || v > 2147483647n)
          throw new Error(`${where}: I64 value ${v} at flat index ${i} does not fit in i32`);
        out[i] = Number(v);
      }
      return new Tensor(out, raw.shape, "i32");
    }
    default:
      throw new Error(`${where}: dtype ${raw.dtype} has no Tensor dtype; read it with getRaw()`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

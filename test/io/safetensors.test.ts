// safetensors against files written by the official Python library (scripts/make_io_fixtures.py):
// every dtype and a sharded set read back exactly; our writer reproduces the library's bytes exactly
// (so the library reads what we write); bad files give errors naming the file and the tensor.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  openSafetensors,
  type RawTensor,
  type SafeDType,
  SafetensorsFile,
  ShardedSafetensors,
} from "../../src/io/safetensors.js";
import { saveSafetensors, saveShardedSafetensors } from "../../src/io/safetensors_writer.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { fixturesDir } from "./fixtures.js";

const DIR = fixturesDir();
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "vila-io-st-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

interface Expect {
  dtype: string;
  shape: number[];
  b64: string;
}
const expected = JSON.parse(fs.readFileSync(path.join(DIR, "safetensors_expected.json"), "utf8")) as {
  tensors: Record<string, Expect>;
  writer: Record<string, Expect>;
};
const NP_DTYPE: Record<string, SafeDType> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const rawBytes = (r: RawTensor | Tensor) => Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
const expBytes = (e: Expect) => Buffer.from(e.b64, "base64");

function checkRaw(name: string, r: RawTensor, e: Expect): void {
  assert.equal(r.dtype, NP_DTYPE[e.dtype], `${name} dtype`);
  assert.deepEqual(r.shape, e.shape, `${name} shape`);
  assert.ok(rawBytes(r).equals(expBytes(e)), `${name} bytes differ`);
}

describe("reading files written by the Python library", () => {
  const f = SafetensorsFile.open(path.join(DIR, "dtypes_np.safetensors"));
  const names = Object.keys(expected.tensors).filter((n) => f.has(n));

  test("every dtype reads back exactly with getRaw", () => {
    assert.equal(names.length, 12);
    assert.deepEqual(f.keys().sort(), [...names].sort());
    assert.deepEqual({ ...f.metadata }, { format: "np" });
    for (const n of names) checkRaw(n, f.getRaw(n), expected.tensors[n]);
  });

  test("get() converts to Tensor dtypes", () => {
    const w = f.get("f32.weight", [3, 4]);
    assert.equal(w.dtype, "f32");
    assert.ok(rawBytes(w).equals(expBytes(expected.tensors["f32.weight"])));
    assert.equal(f.get("f32.scalar").item(), 3.25);
    assert.deepEqual(f.get("f32.empty").shape, [0, 3]);
    const h = f.get("f16");
    assert.equal(h.dtype, "f16");
    // the values numpy stored for the float16 literals in the fixture script
    assert.deepEqual(h.toArray(), [
      1,
      -2.5,
      65504,
      6.097555160522461e-5,
      2 ** -24,
      0,
      -0,
      Number.POSITIVE_INFINITY,
    ]);
    assert.deepEqual(f.get("i64").toArray(), [
      [0, -1],
      [2147483647, -2147483648],
    ]);
    assert.equal(f.get("i64").dtype, "i32");
    assert.deepEqual(f.get("i32").toArray(), [-7, 0, 123456789]);
    const d = f.getRaw("f64").data as Float64Array;
    assert.deepEqual([...f.get("f64").f32], [...Float32Array.from(d)]);
  });

  test("get() errors: I64 out of i32 range, dtypes without a Tensor dtype, wrong shape", () => {
    const file = path.join(DIR, "dtypes_np.safetensors");
    assert.throws(
      () => f.get("i64.big"),
      (e: Error) =>
        e.message.includes(file) &&
        e.message.includes('"i64.big"') &&
        /1099511627776 .* does not fit in i32/.test(e.message),
    );
    assert.throws(() => f.get("u8"), /tensor "u8": dtype U8 has no Tensor dtype; read it with getRaw/);
    assert.throws(
      () => f.get("f32.weight", [4, 3]),
      /tensor "f32.weight" has shape \[3,4\], expected \[4,3\]/,
    );
    assert.throws(() => f.get("nope"), /no tensor "nope"/);
  });

  test("bf16 from torch stays bf16 with the same bits", () => {
    const g = SafetensorsFile.open(path.join(DIR, "bf16_pt.safetensors"));
    const t = g.get("bf16");
    assert.equal(t.dtype, "bf16");
    assert.ok(rawBytes(t).equals(expBytes(expected.tensors.bf16)));
    // bf16 bits are the rounded f32 values
    const ref = g.get("f32.ref").f32;
    const got = t.toArray() as number[];
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[i]) <= Math.abs(ref[i]) * 2 ** -8);
  });

  test("a sharded checkpoint opens transparently from its folder", () => {
    const r = openSafetensors(path.join(DIR, "sharded"));
    assert.ok(r instanceof ShardedSafetensors);
    assert.deepEqual(r.keys().sort(), ["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"]);
    for (const n of r.keys()) checkRaw(n, r.getRaw(n), expected.tensors[n]);
    assert.equal(
      r.info("lm_head.weight").file,
      path.join(DIR, "sharded", "model-00002-of-00002.safetensors"),
    );
    assert.deepEqual({ ...r.metadata }, { format: "pt" });
  });
});

function rawFrom(e: Expect): RawTensor {
  const b = expBytes(e);
  const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  const dtype = NP_DTYPE[e.dtype];
  const data = {
    F64: () => new Float64Array(buf),
    F32: () => new Float32Array(buf),
    F16: () => new Uint16Array(buf),
    BF16: () => new Uint16Array(buf),
    I64: () => new BigInt64Array(buf),
    I32: () => new Int32Array(buf),
    I16: () => new Int16Array(buf),
    I8: () => new Int8Array(buf),
    U8: () => new Uint8Array(buf),
    BOOL: () => new Uint8Array(buf),
  }[dtype as "F32"]();
  return { dtype, shape: e.shape, data };
}

describe("writing", () => {
  test("our file is byte-identical to the Python library's for the same tensors", () => {
    const out = path.join(TMP, "writer.safetensors");
    const tensors = Object.fromEntries(Object.entries(expected.writer).map(([n, e]) => [n, rawFrom(e)]));
    saveSafetensors(out, tensors);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(DIR, "writer_ref.safetensors"))));
    assert.deepEqual(fs.readdirSync(TMP), ["writer.safetensors"]); // no temp file left
  });

  test("round trip of every dtype and of Tensors", () => {
    const src = SafetensorsFile.open(path.join(DIR, "dtypes_np.safetensors"));
    const all: Record<string, RawTensor | Tensor> = Object.fromEntries(
      src.keys().map((k) => [k, src.getRaw(k)]),
    );
    all.bf16 = new Tensor(new Uint16Array([0x3f80, 0xc000, 0x7f80]), [3], "bf16");
    all.t32 = new Tensor(new Float32Array([1.5, -2]), [2, 1]);
    all.ids = new Tensor(new Int32Array([5, 6, 7]), [3]);
    const out = path.join(TMP, "all.safetensors");
    saveSafetensors(out, all, { format: "pt", note: "x" });
    const back = SafetensorsFile.open(out);
    assert.deepEqual({ ...back.metadata }, { format: "pt", note: "x" });
    for (const k of src.keys()) checkRaw(k, back.getRaw(k), expected.tensors[k]);
    assert.deepEqual(back.get("bf16").data, all.bf16.data);
    assert.equal(back.get("bf16").dtype, "bf16");
    assert.deepEqual(back.get("t32").toArray(), [[1.5], [-2]]);
    assert.deepEqual(back.get("ids").toArray(), [5, 6, 7]);
  });

  test("sharded save reproduces the transformers layout and the library's shard bytes", () => {
    const ref = openSafetensors(path.join(DIR, "sharded"));
    const order = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"];
    const tensors = Object.fromEntries(order.map((k) => [k, ref.get(k)]));
    const dir = path.join(TMP, "sharded");
    assert.deepEqual(saveShardedSafetensors(dir, tensors, 96), [
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    for (const f of fs.readdirSync(path.join(DIR, "sharded"))) {
      assert.ok(
        fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(DIR, "sharded", f))),
        `${f} differs`,
      );
    }
    // saving again unsharded removes the stale shards
    assert.deepEqual(saveShardedSafetensors(dir, tensors), ["model.safetensors"]);
    assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
    assert.ok(openSafetensors(dir) instanceof SafetensorsFile);
  });

  test("writer errors name the file and tensor", () => {
    const out = path.join(TMP, "bad.safetensors");
    assert.throws(
      () => saveSafetensors(out, { w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } }),
      /bad\.safetensors: tensor "w": shape \[2,2\] needs 4 elements, data has 3/,
    );
    assert.throws(
      () => saveSafetensors(out, { w: { dtype: "F32", shape: [2], data: new Int32Array(2) } }),
      /tensor "w": F32 data must be a Float32Array/,
    );
    assert.equal(fs.existsSync(out), false);
  });
});

describe("bad input", () => {
  /** A file from a header object and a data length (bytes are zeros). */
  function craft(name: string, header: unknown, dataLen: number, rawHeader?: string): string {
    const json = Buffer.from(rawHeader ?? JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const p = path.join(TMP, name);
    fs.writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(dataLen)]));
    return p;
  }
  const good = () => fs.readFileSync(path.join(DIR, "writer_ref.safetensors"));

  test("missing file", () => {
    assert.throws(
      () => SafetensorsFile.open(path.join(TMP, "none.safetensors")),
      /cannot open .*none\.safetensors/,
    );
    assert.throws(() => openSafetensors(path.join(TMP, "none")), /none does not exist/);
  });

  test("truncated files", () => {
    const b = good();
    const p = path.join(TMP, "trunc.safetensors");
    fs.writeFileSync(p, b.subarray(0, 5));
    assert.throws(() => SafetensorsFile.open(p), /trunc\.safetensors: truncated: 5 bytes/);
    fs.writeFileSync(p, b.subarray(0, 100));
    assert.throws(
      () => SafetensorsFile.open(p),
      /trunc\.safetensors: truncated: header says \d+ header bytes/,
    );
    fs.writeFileSync(p, b.subarray(0, b.length - 1));
    // the last tensor in the data is the BOOL one, "flag"
    assert.throws(
      () => SafetensorsFile.open(p),
      /trunc\.safetensors: tensor "flag": data_offsets \[\d+,\d+\] end past the data/,
    );
  });

  test("header lying about offsets, sizes and dtypes", () => {
    let p = craft("lie.safetensors", { w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8);
    assert.throws(
      () => SafetensorsFile.open(p),
      (e: Error) =>
        e.message.includes(p) && e.message.includes('tensor "w"') && /end past the data/.test(e.message),
    );
    p = craft("size.safetensors", { w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8);
    assert.throws(
      () => SafetensorsFile.open(p),
      /size\.safetensors: tensor "w": shape \[3\] of F32 needs 12 bytes but data_offsets \[0,8\] span 8/,
    );
    p = craft(
      "overlap.safetensors",
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      },
      12,
    );
    assert.throws(() => SafetensorsFile.open(p), /overlap\.safetensors: tensors "a" and "b" overlap/);
    p = craft("dtype.safetensors", { a: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, 2);
    assert.throws(() => SafetensorsFile.open(p), /dtype\.safetensors: tensor "a": unknown dtype "F8_E4M3"/);
    p = craft("neg.safetensors", { a: { dtype: "U8", shape: [-1], data_offsets: [0, 2] } }, 2);
    assert.throws(
      () => SafetensorsFile.open(p),
      /tensor "a": shape \[-1\] is not a list of non-negative integers/,
    );
    p = craft("json.safetensors", null, 0, '{"a": {');
    assert.throws(() => SafetensorsFile.open(p), /json\.safetensors: header is not valid UTF-8 JSON/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n);
    p = path.join(TMP, "huge.safetensors");
    fs.writeFileSync(p, huge);
    assert.throws(
      () => SafetensorsFile.open(p),
      /huge\.safetensors: header length 1099511627776 is not sane/,
    );
  });

  test("a file truncated after opening fails the read, naming the tensor", () => {
    const p = path.join(TMP, "shrink.safetensors");
    fs.writeFileSync(p, good());
    const f = SafetensorsFile.open(p);
    fs.truncateSync(p, f.info("a.first").start + 4);
    assert.throws(
      () => f.getRaw("a.first"),
      /shrink\.safetensors: tensor "a\.first": file ended after 4 of 16 bytes/,
    );
  });

  test("missing shard and tensor absent from its shard", () => {
    const dir = path.join(TMP, "broken_shards");
    fs.cpSync(path.join(DIR, "sharded"), dir, { recursive: true });
    const index = path.join(dir, "model.safetensors.index.json");
    const j = JSON.parse(fs.readFileSync(index, "utf8"));
    j.weight_map["model.extra"] = "model-00001-of-00002.safetensors";
    fs.writeFileSync(index, JSON.stringify(j));
    assert.throws(
      () => openSafetensors(dir),
      /index .*index\.json: tensor "model\.extra" is not in its shard .*model-00001-of-00002/,
    );
    delete j.weight_map["model.extra"];
    fs.writeFileSync(index, JSON.stringify(j));
    fs.rmSync(path.join(dir, "model-00002-of-00002.safetensors"));
    assert.throws(
      () => openSafetensors(dir),
      /shard .*model-00002-of-00002\.safetensors \(holding tensor "lm_head\.weight"\) is missing/,
    );
  });
});

// Image pool: decoding in worker threads equals decoding in-thread, inline bytes and files both
// work, and a missing or corrupt image is a DataError naming the sample and the image.

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { DataError } from "../../src/data/bad_samples.js";
import { ImagePool } from "../../src/data/images.js";
import { tempDir } from "../helpers.js";

const MODULE = new URL("./decode_rgb.js", import.meta.url).href;
const IO_PRE = {
  mode: "processor",
  processor: "siglip",
  size: { height: 4, width: 6 },
  cropSize: null,
  doResize: false,
  doCenterCrop: false,
  doRescale: true,
  doNormalize: false,
  rescaleFactor: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  resample: 3,
};

/** A 6x4 RGB test image, its bytes (i * step) % 256, and its PNG encoding. */
async function testPng(step: number): Promise<{ raw: Buffer; png: Buffer }> {
  const raw = Buffer.alloc(6 * 4 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * step) % 256;
  const png = await sharp(raw, { raw: { width: 6, height: 4, channels: 3 } })
    .png()
    .toBuffer();
  return { raw, png };
}

test("worker pool decodes files and inline bytes like the in-thread path", async () => {
  const dir = tempDir("vila-img-");
  const { raw, png } = await testPng(37);
  const file = join(dir, "a.png");
  writeFileSync(file, png);
  const cfg = { size: 4 };
  const pool = new ImagePool({ module: MODULE, exportName: "decodeRgb", config: cfg, threads: 2 });
  const local = new ImagePool({ module: MODULE, exportName: "decodeRgb", config: cfg, threads: 0 });
  try {
    const [x, y] = await pool.loadAll([
      { kind: "path", path: file },
      { kind: "bytes", data: new Uint8Array(png), name: "inline" },
    ]);
    const z = await local.load({ kind: "path", path: file });
    assert.equal(x.length, 3 * 4 * 4);
    assert.deepEqual(x, z);
    assert.deepEqual(y, z);
    const where = { file: "sft.json", line: 3 };
    await assert.rejects(
      pool.load({ kind: "path", path: join(dir, "missing.png") }, where),
      (e: unknown) =>
        e instanceof DataError &&
        e.kind === "image" &&
        e.message.startsWith("sft.json:3: image ") &&
        e.message.includes("missing.png"),
    );
    await assert.rejects(
      pool.load({ kind: "bytes", data: new Uint8Array([1, 2, 3]), name: "corrupt" }, where),
      /sft\.json:3: image corrupt/,
    );
    // The default preprocess module is io's loadImage; rescale only, no resize: pixels / 255.
    const io = new ImagePool({ threads: 1, config: IO_PRE });
    try {
      const px = await io.load({ kind: "path", path: file });
      assert.equal(px.length, 3 * 4 * 6);
      assert.ok(Math.abs(px[0] - raw[0] / 255) < 1e-6 && Math.abs(px[24] - raw[1] / 255) < 1e-6);
    } finally {
      await io.close();
    }
  } finally {
    await pool.close();
    await local.close();
  }
});

test("in-thread cache: a file is decoded once while the budget has room, with the same pixels", async () => {
  const dir = tempDir("vila-img-cache-");
  const { png } = await testPng(53);
  const a = join(dir, "a.png");
  const b = join(dir, "b.png");
  writeFileSync(a, png);
  writeFileSync(b, png);
  const plain = new ImagePool({ threads: 0, config: IO_PRE });
  // room for one decoded image (72 bytes) but not two
  const cached = new ImagePool({ threads: 0, config: IO_PRE, cacheBytes: 100 });
  try {
    const want = await plain.load({ kind: "path", path: a });
    assert.deepEqual(await cached.load({ kind: "path", path: a }), want);
    assert.deepEqual(await cached.load({ kind: "path", path: b }), want);
    assert.equal(cached.cachedBytes, 6 * 4 * 3);
    // the files go away: the cached one still loads (not decoded again), the other does not
    rmSync(a);
    rmSync(b);
    assert.deepEqual(await cached.load({ kind: "path", path: a }), want);
    await assert.rejects(cached.load({ kind: "path", path: b }), /file not found/);
    await assert.rejects(plain.load({ kind: "path", path: a }), /file not found/);
  } finally {
    await plain.close();
    await cached.close();
  }
});

// Readers on small fixtures written here: JSONL (streaming and indexed) with file:line errors and
// --skip-bad-samples accounting, WebDataset tar round trip through tar-stream (streaming and
// indexed) including a truncated shard, and the MMC4 / LLaVA / pairs / text record parsers.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import tar from "tar-stream";
import { BadSamples, DataError } from "../../src/data/bad_samples.js";
import { openDataset } from "../../src/data/dataset.js";
import { JsonlIndex, readJsonl } from "../../src/data/jsonl.js";
import { readTarShard, TarIndex } from "../../src/data/webdataset.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("vila-data-");

test("JSONL: malformed line names file:line; --skip-bad-samples counts it", async () => {
  const f = join(dir, "bad.jsonl");
  writeFileSync(f, '{"text": "a"}\n\n{"text": "b"\n{"text": "c"}\n');
  await assert.rejects(
    async () => {
      for await (const _ of readJsonl(f));
    },
    (e: unknown) => e instanceof DataError && e.message.startsWith(`${f}:3: invalid JSON`),
  );
  const bad = new BadSamples(true);
  const got: number[] = [];
  for await (const r of readJsonl(f, bad)) got.push(r.line);
  assert.deepEqual(got, [1, 4]);
  assert.equal(bad.total, 1);
  assert.deepEqual(bad.counts(), { json: 1 });
  assert.match(bad.report(), /skipped 1 bad sample\(s\) \(json 1\)/);
  // Indexed access: blank line skipped, line numbers kept, bad line fails only when read.
  const idx = await JsonlIndex.build(f);
  assert.equal(idx.length, 3);
  assert.deepEqual((await idx.get(2)).value, { text: "c" });
  assert.equal(idx.lineOf(2), 4);
  await assert.rejects(idx.get(1), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3`));
  // A file cut short after it was indexed: the read names the file, never returns a partial record.
  writeFileSync(f, readFileSync(f).subarray(0, 10));
  await assert.rejects(idx.get(2), (e: Error) => e.message.startsWith(`${f}: ended at byte`));
});

async function writeTar(file: string, entries: [string, Buffer | string][]): Promise<void> {
  const pack = tar.pack();
  for (const [name, data] of entries)
    pack.entry({ name }, typeof data === "string" ? Buffer.from(data) : data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  writeFileSync(file, Buffer.concat(chunks));
}

test("WebDataset: tar round trip groups members by key (streaming and indexed)", async () => {
  const f = join(dir, "pairs-000000.tar");
  const img = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  await writeTar(f, [
    ["000001.png", img],
    ["000001.txt", "a red cat"],
    ["000002.jpg", Buffer.from([0xff, 0xd8, 9])],
    ["000002.json", JSON.stringify({ caption: "two dogs" })],
    ["sub/000003.seg.png", img],
    ["sub/000003.txt", "third"],
  ]);
  const streamed = [];
  for await (const s of readTarShard(f)) streamed.push(s);
  assert.deepEqual(
    streamed.map((s) => s.key),
    ["000001", "000002", "sub/000003"],
  );
  assert.deepEqual([...streamed[2].members.keys()], ["seg.png", "txt"]);
  assert.equal(streamed[0].members.get("txt")?.toString(), "a red cat");
  const idx = await TarIndex.build(f);
  assert.equal(idx.length, 3);
  const s1 = await idx.get(1);
  assert.deepEqual(s1.members.get("jpg"), Buffer.from([0xff, 0xd8, 9]));
  // Through the pairs dataset (a folder of shards).
  const ds = await openDataset({ name: "wds", format: "pairs", paths: [f] });
  const rec = await ds.get(1);
  assert.equal(rec.kind === "pair" && rec.caption, "two dogs");
  assert.equal(rec.kind === "pair" && rec.image.kind === "bytes" && rec.image.data.length, 3);
});

test("WebDataset: a shard cut short is an error naming the shard", async () => {
  const f = join(dir, "cut.tar");
  const full = join(dir, "full.tar");
  await writeTar(full, [
    ["000001.txt", "x".repeat(2000)],
    ["000001.png", Buffer.alloc(3000, 7)],
  ]);
  writeFileSync(f, readFileSync(full).subarray(0, 3300));
  await assert.rejects(
    async () => {
      for await (const _ of readTarShard(f));
    },
    (e: unknown) => e instanceof DataError && e.file === f && /truncated/.test(e.message),
  );
  await assert.rejects(
    TarIndex.build(f),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.startsWith(f) &&
      /member "000001\.png" needs 3000 bytes/.test(e.message),
  );
  writeFileSync(f, readFileSync(full).subarray(0, 2600));
  await assert.rejects(
    TarIndex.build(f),
    /cut\.tar:1: tar shard is truncated: partial header after member "000001\.txt"/,
  );
});

test("record parsers: pairs, MMC4, LLaVA (image string/list/absent), text; bad fields name file:line", async () => {
  const pairs = join(dir, "pairs.jsonl");
  writeFileSync(
    pairs,
    `${JSON.stringify({ id: 1, image: "images/1.png", caption: "cap" })}\n${JSON.stringify({ image: "x.png" })}\n`,
  );
  const p = await openDataset({ name: "p", format: "pairs", paths: [pairs], mediaDir: "/world" });
  const r0 = await p.get(0);
  assert.deepEqual(r0.kind === "pair" && r0.image, { kind: "path", path: "/world/images/1.png" });
  await assert.rejects(p.get(1), /pairs\.jsonl:2: missing string field "caption"/);

  const mmc4 = join(dir, "docs.jsonl");
  const b64 = Buffer.from([1, 2, 3]).toString("base64");
  writeFileSync(
    mmc4,
    [
      {
        text_list: ["s0", "s1"],
        image_info: [
          { image_name: "a.png", matched_text_index: 1 },
          { image_base64: b64, matched_text_index: 0 },
        ],
      },
      { text_list: ["s0"], image_info: [{ image_name: "a.png", matched_text_index: 3 }] },
    ]
      .map((x) => JSON.stringify(x))
      .join("\n"),
  );
  const m = await openDataset({ name: "m", format: "mmc4", paths: [mmc4] });
  const d0 = await m.get(0);
  assert.ok(d0.kind === "mmc4" && d0.images[1].ref.kind === "bytes" && d0.images[0].matchedTextIndex === 1);
  await assert.rejects(
    m.get(1),
    /docs\.jsonl:2: image_info\[0\]\.matched_text_index 3 is not a sentence index/,
  );

  const llava = join(dir, "sft.json");
  const conv = [
    { from: "human", value: "<image>\nq" },
    { from: "gpt", value: "a" },
  ];
  writeFileSync(
    llava,
    JSON.stringify([
      { id: "1", image: "i.png", conversations: conv },
      { id: "2", image: ["i.png", "j.png"], conversations: conv },
      { id: "3", conversations: conv },
      { id: "4", image: 5, conversations: conv },
    ]),
  );
  const l = await openDataset({ name: "l", format: "llava", paths: [llava], mediaDir: "/m" });
  const lens = [];
  for (let i = 0; i < 3; i++) {
    const r = await l.get(i);
    lens.push(r.kind === "sft" ? r.images.length : -1);
  }
  assert.deepEqual(lens, [1, 2, 0]);
  await assert.rejects(l.get(3), /sft\.json:4: "image" must be a string or a list/);

  const text = join(dir, "corpus.jsonl");
  writeFileSync(text, '{"text": "hello"}\n{"body": 1}\n');
  const t = await openDataset({ name: "t", format: "text", paths: [text] });
  assert.equal(((await t.get(0)) as { text: string }).text, "hello");
  await assert.rejects(t.get(1), /corpus\.jsonl:2: expected \{"text": string\}/);
  await assert.rejects(
    openDataset({ name: "x", format: "text", paths: [join(dir, "nope.jsonl")] }),
    /nope\.jsonl: data file or folder not found/,
  );
});

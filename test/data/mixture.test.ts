// Mixture: same seed -> same stream, different seed -> different stream, every record once per
// epoch, weights respected, and a state saved mid-epoch resumes the exact same stream; bad records
// are skipped and counted only when asked.

import assert from "node:assert/strict";
import { test } from "node:test";
import { BadSamples, DataError } from "../../src/data/bad_samples.js";
import type { SourceDataset } from "../../src/data/dataset.js";
import { hashUniform, Mixture } from "../../src/data/mixture.js";
import type { DataRecord } from "../../src/data/records.js";

function fake(name: string, n: number, badAt = -1): SourceDataset {
  return {
    name,
    length: n,
    async get(i: number): Promise<DataRecord> {
      if (i === badAt) throw new DataError(`${name}.jsonl`, i + 1, "json", "invalid JSON");
      return { kind: "text", text: `${name}:${i}`, file: `${name}.jsonl`, line: i + 1 };
    },
  };
}

async function draw(m: Mixture, n: number, bad?: BadSamples): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(((await m.next(bad)).record as { text: string }).text);
  return out;
}

test("deterministic from the seed; each record once per epoch", async () => {
  const mk = (seed: number) => new Mixture([{ dataset: fake("a", 50) }, { dataset: fake("b", 30) }], seed);
  const x = await draw(mk(7), 200);
  assert.deepEqual(await draw(mk(7), 200), x);
  assert.notDeepEqual(await draw(mk(8), 200), x);
  // Per source, the first `length` draws are a permutation (one epoch), and it is shuffled.
  const a = x.filter((s) => s.startsWith("a:")).slice(0, 50);
  assert.equal(new Set(a).size, 50);
  assert.notDeepEqual(
    a,
    Array.from({ length: 50 }, (_, i) => `a:${i}`),
  );
});

test("weights set the source frequencies", async () => {
  const m = new Mixture(
    [
      { dataset: fake("a", 10), weight: 3 },
      { dataset: fake("b", 10), weight: 1 },
      { dataset: fake("c", 10), weight: 0 },
    ],
    1,
  );
  const x = await draw(m, 4000);
  const frac = x.filter((s) => s.startsWith("a:")).length / x.length;
  assert.ok(Math.abs(frac - 0.75) < 0.03, `fraction of a = ${frac}`);
  assert.equal(x.filter((s) => s.startsWith("c:")).length, 0);
  // hashUniform is uniform enough: mean of many draws near 0.5.
  let sum = 0;
  for (let i = 0; i < 10000; i++) sum += hashUniform(123, i);
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.01);
});

test("a saved state resumes the exact stream mid-epoch (through JSON)", async () => {
  const sources = () => [{ dataset: fake("a", 13) }, { dataset: fake("b", 29) }];
  const full = await draw(new Mixture(sources(), 99), 120);
  const m1 = new Mixture(sources(), 99);
  const head = await draw(m1, 47);
  const saved = JSON.parse(JSON.stringify(m1.state()));
  const m2 = new Mixture(sources(), 0);
  m2.restore(saved);
  assert.deepEqual([...head, ...(await draw(m2, 73))], full);
  assert.throws(
    () => new Mixture([{ dataset: fake("z", 3) }], 1).restore(saved),
    /saved state is for datasets \[a, b\]/,
  );
});

test("bad records throw by default, are skipped and counted with skip", async () => {
  const m = new Mixture([{ dataset: fake("a", 5, 2) }], 3);
  await assert.rejects(draw(m, 5), /a\.jsonl:3: invalid JSON/);
  const bad = new BadSamples(true);
  const got = await draw(new Mixture([{ dataset: fake("a", 5, 2) }], 3), 8, bad);
  assert.equal(got.length, 8);
  assert.ok(!got.includes("a:2"));
  assert.equal(bad.total, 2, "one bad record per epoch, two epochs touched");
});

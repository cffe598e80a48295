// generate() on the tiny VILA1.5 fixture (test/fixtures/models/vila15): the cached loop against
// full recomputation, left-padded batches against single prompts, sampling reproducibility, stop
// ids/strings, limits, usage and abort.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type GenerateEvent, generate, generateAll } from "../../src/infer/generate.js";
import { loadVila } from "../../src/io/model.js";
import { argmax } from "../../src/tensor/ops/reduce.js";
import { slice } from "../../src/tensor/ops/shape.js";
import { clearPool, pooledBytes, setPoolPoison } from "../../src/tensor/pool.js";
import { noGrad, Tensor } from "../../src/tensor/tensor.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";

const FX = "test/fixtures/models";
const v15 = JSON.parse(readFileSync(`${FX}/vila15_expected.json`, "utf8"));
const { model } = loadVila(`${FX}/vila15`);
const IMG = 3 * 20 * 20;
const pixels = (k: number) => new Tensor(Float32Array.from(v15.pixels.slice(0, k * IMG)), [k, 3, 20, 20]);
const image = (i: number) => Float32Array.from(v15.pixels.slice(i * IMG, (i + 1) * IMG));

/** Greedy by recomputing the whole sequence every step (no cache). */
function greedyFull(prompt: number[], images: Tensor | null, n: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  noGrad(() => {
    for (let i = 0; i < n; i++) {
      const o = model.forward({ inputIds: new Tensor(Int32Array.from(seq), [1, seq.length]), images });
      const T = o.logits.shape[1];
      const next = argmax(slice(o.logits, 1, T - 1, T), -1).i32[0];
      out.push(next);
      seq.push(next);
    }
  });
  return out;
}

test("greedy generation with the KV cache equals greedy recomputation", async () => {
  const prompt = [1, 5, -200, 7, 9];
  const [r] = await generateAll(model, { prompts: [prompt], images: pixels(1) }, { maxNewTokens: 8 });
  assert.deepEqual(r.tokens, greedyFull(prompt, pixels(1), 8));
  assert.equal(r.finishReason, "length");
  assert.deepEqual(r.usage, {
    promptTokens: 4 + model.imageTokens,
    completionTokens: 8,
    totalTokens: 12 + model.imageTokens,
  });
  assert.ok(r.timings.prefillMs > 0 && r.timings.decodeMs > 0 && r.timings.tokensPerSecond > 0);
});

test("a left-padded batch gives each row the tokens it gets alone (images in row order)", async () => {
  const prompts = [
    [1, 5, -200, 7, 9],
    [1, 3, 4, -200, 6, 8, 10, 12, -200, 2],
    [1, 9, 8, 7, 6],
  ];
  const imgs = [[image(0)], [image(1), image(2)], []];
  const all = new Tensor(Float32Array.from(imgs.flat().flatMap((p) => [...p])), [3, 3, 20, 20]);
  const batch = await generateAll(model, { prompts, images: all }, { maxNewTokens: 6 });
  for (let b = 0; b < 3; b++) {
    const own = imgs[b].length
      ? new Tensor(Float32Array.from(imgs[b].flatMap((p) => [...p])), [imgs[b].length, 3, 20, 20])
      : null;
    const [alone] = await generateAll(model, { prompts: [prompts[b]], images: own }, { maxNewTokens: 6 });
    assert.deepEqual(batch[b].tokens, alone.tokens, `row ${b}`);
    assert.deepEqual(batch[b].tokens, greedyFull(prompts[b], own, 6), `row ${b} vs recomputation`);
    assert.equal(batch[b].usage.promptTokens, alone.usage.promptTokens);
  }
});

test("each generation step hands its buffers back to the pool; the cache and logits it keeps stay intact (poisoned)", async () => {
  const prompts = [
    [1, 5, -200, 7, 9, 11, 13, 15, 17, 19],
    [1, 3, 4, -200, 6, 8, 10, 12, -200, 2],
  ];
  const imgs = pixels(3);
  const plain = await generateAll(model, { prompts, images: imgs }, { maxNewTokens: 12 });
  clearPool();
  const prev = setPoolPoison(true);
  try {
    const poisoned = await generateAll(model, { prompts, images: imgs }, { maxNewTokens: 12 });
    assert.deepEqual(
      poisoned.map((r) => r.tokens),
      plain.map((r) => r.tokens),
    );
    assert.ok(pooledBytes() > 0, "the steps' activations came back to the pool");
  } finally {
    setPoolPoison(prev);
    clearPool();
  }
  for (let b = 0; b < 2; b++) {
    const own = b === 0 ? slice(imgs, 0, 0, 1) : slice(imgs, 0, 1, 3);
    assert.deepEqual(plain[b].tokens, greedyFull(prompts[b], own, 12), `row ${b} vs recomputation`);
  }
});

test("top-k 1 sampling equals greedy; a seed reproduces sampling and other seeds differ", async () => {
  const input = { prompts: [[1, 9, 8, 7, 6]] };
  const [greedy] = await generateAll(model, input, { maxNewTokens: 10 });
  const [k1] = await generateAll(model, input, { maxNewTokens: 10, temperature: 1.5, topK: 1, seed: 3 });
  assert.deepEqual(k1.tokens, greedy.tokens);
  const sample = async (seed: number) =>
    (await generateAll(model, input, { maxNewTokens: 24, temperature: 1.5, topP: 0.95, seed }))[0].tokens;
  assert.deepEqual(await sample(11), await sample(11));
  const others = [await sample(12), await sample(13), await sample(14)];
  assert.ok(
    others.some((t) => t.join() !== greedy.tokens.join()),
    "sampling at T=1.5 should leave the greedy path",
  );
  assert.ok(
    new Set([await sample(11), ...others].map((t) => t.join())).size > 1,
    "different seeds give different samples",
  );
});

test("stop token ids end a row (kept in tokens, not in text); stop strings are cut from the text", async () => {
  const tok = await loadTokenizer(`${FX}/vila15/llm`);
  const prompt = [1, 9, 8, 7, 6];
  const greedy = greedyFull(prompt, null, 8);
  const stopAt = greedy.findIndex((t, i) => greedy.indexOf(t) === i && i >= 2); // first new token id from index 2 on
  const [byId] = await generateAll(
    model,
    { prompts: [prompt] },
    { maxNewTokens: 8, stopTokenIds: [greedy[stopAt]], tokenizer: tok },
  );
  assert.deepEqual(byId.tokens, greedy.slice(0, stopAt + 1));
  assert.equal(byId.finishReason, "stop");
  assert.equal(byId.stoppedBy, greedy[stopAt]);
  assert.equal(byId.text, tok.decode(greedy.slice(0, stopAt)));
  // stop string: the text of that token; VILA cuts it (and what follows) from the answer
  const stop = tok.decode([greedy[stopAt]]);
  const events: GenerateEvent[] = [];
  for await (const ev of generate(
    model,
    { prompts: [prompt] },
    { maxNewTokens: 8, stopStrings: [stop], tokenizer: tok },
  ))
    events.push(ev);
  const done = events.at(-1)!;
  assert.equal(done.type, "done");
  if (done.type !== "done") return;
  assert.equal(done.result.finishReason, "stop");
  assert.equal(done.result.stoppedBy, stop);
  assert.deepEqual(done.result.tokens, greedy.slice(0, stopAt + 1));
  const full = tok.decode(greedy.slice(0, stopAt + 1));
  assert.equal(done.result.text, full.slice(0, full.indexOf(stop)));
  assert.equal(events.map((e) => e.text).join(""), done.result.text, "streamed pieces add up to the text");
  assert.ok(!events.some((e) => e.text.includes(stop)), "the stop string is never streamed");
});

test("the context bounds the prompt (error) and the completion (finishReason length)", async () => {
  const prompt = [1, 5, -200, 7, 9]; // 4 + imageTokens positions
  const P = 4 + model.imageTokens;
  await assert.rejects(
    generateAll(model, { prompts: [prompt], images: pixels(1) }, { maxContext: P }),
    /prompt 0 is 13 positions long .* context of 13/,
  );
  const [r] = await generateAll(
    model,
    { prompts: [prompt], images: pixels(1) },
    { maxContext: P + 3, maxNewTokens: 50 },
  );
  assert.equal(r.tokens.length, 3);
  assert.equal(r.finishReason, "length");
  await assert.rejects(
    generateAll(model, { prompts: [[1, -200]] }),
    /1 image token\(s\) \(-200\) but 0 image\(s\)/,
  );
  await assert.rejects(generateAll(model, { prompts: [[1, 64]] }), /prompt 0 has id 64/);
});

test("an AbortSignal stops every row promptly with finishReason abort", async () => {
  const ac = new AbortController();
  const events: GenerateEvent[] = [];
  for await (const ev of generate(
    model,
    {
      prompts: [
        [1, 9, 8],
        [1, 5, 6, 7],
      ],
    },
    { maxNewTokens: 100, signal: ac.signal },
  )) {
    events.push(ev);
    if (events.length === 3) ac.abort(); // mid-step: row 0 of step 2 done, row 1 not
  }
  const done = events.filter((e) => e.type === "done");
  assert.equal(done.length, 2);
  for (const d of done) if (d.type === "done") assert.equal(d.result.finishReason, "abort");
  assert.ok(events.filter((e) => e.type === "token").length <= 4);
  // from a timer while generating: the loop yields to the event loop between steps
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 5);
  const [r] = await generateAll(model, { prompts: [[1, 2, 3]] }, { maxNewTokens: 240, signal: ac2.signal });
  assert.equal(r.finishReason, "abort");
  assert.ok(r.tokens.length < 240, `${r.tokens.length} tokens`);
});

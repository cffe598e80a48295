// k-shot prompts: demonstrations chosen deterministically by seed (never the query's own image),
// fixed demonstrations sliced, and the prompt strings exactly as docs/EVAL.md writes them.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Demo, EvalItem } from "../../src/eval/benchmarks.js";
import { buildMessages, selectDemos, unescapeTemplate, withImages } from "../../src/eval/prompts.js";
import { renderPrompt } from "../../src/infer/prompt.js";
import { getConvTemplate } from "../../src/tokenizer/templates.js";
import type { Tokenizer } from "../../src/tokenizer/tokenizer.js";

const support: Demo[] = Array.from({ length: 12 }, (_, i) => ({
  images: [`/img/s${i}.png`],
  text: `q${i}?`,
  answer: `a${i}`,
}));
const item = (id: string, images: string[] = ["/img/query.png"]): EvalItem => ({
  id,
  rawId: id,
  text: "what is it?",
  images,
  where: "line 1",
});

test("selectDemos: same seed and id give the same demonstrations, whatever else is evaluated", () => {
  const a = selectDemos(item("7"), support, 4, 3);
  const b = selectDemos(item("7"), support, 4, 3);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((d) => d.answer)).size, 4, "drawn without replacement");
  // different seeds / ids draw differently for at least one of several items
  const ids = ["1", "2", "3", "4", "5"];
  const bySeed = (seed: number) =>
    ids.map((id) =>
      selectDemos(item(id), support, 4, seed)
        .map((d) => d.answer)
        .join(),
    );
  assert.notDeepEqual(bySeed(0), bySeed(1));
  assert.ok(new Set(bySeed(0)).size > 1, "items get different demonstrations");
  // uniform-ish: over many ids every support item is drawn at some point
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++)
    for (const d of selectDemos(item(String(i)), support, 4, 0)) seen.add(d.answer);
  assert.equal(seen.size, support.length);
});

test("selectDemos: never shows the query's own image; too few demonstrations is a clear error", () => {
  for (let i = 0; i < 100; i++) {
    const q = item(String(i), ["/img/s3.png", "/img/s5.png"]);
    const d = selectDemos(q, support, 10, i);
    assert.equal(d.length, 10);
    assert.ok(d.every((x) => !x.images.includes("/img/s3.png") && !x.images.includes("/img/s5.png")));
  }
  assert.throws(
    () => selectDemos(item("9", ["/img/s3.png"]), support, 12, 0, "vqa"),
    /vqa: 12-shot prompts for question_id 9 need 12 demonstrations but only 11 support items/,
  );
  assert.throws(() => selectDemos(item("9"), [], 1, 0, "mmlu"), /mmlu: .*it has no support split/);
  assert.deepEqual(selectDemos(item("9"), [], 0, 0), []);
});

test("selectDemos: an item's fixed demos give demos[0:k]", () => {
  const demos: Demo[] = [0, 1, 2, 3].map((i) => ({ images: [], text: `k${i}:`, answer: `v${i}` }));
  const q = { ...item("1", []), demos };
  assert.deepEqual(selectDemos(q, support, 2, 5), demos.slice(0, 2));
  assert.throws(() => selectDemos(q, support, 8, 0), /question_id 1 has 4 demonstrations, 8 shots asked/);
});

test("interleaved prompt: one user turn, demonstrations as '{question} {answer}\\n', then the query", () => {
  const demos: Demo[] = [
    { images: ["/d1.png"], text: "what colour?", answer: "red" },
    { images: ["/d2.png"], text: "what colour?", answer: "blue" },
  ];
  const { messages, images } = buildMessages({ text: "what colour?", images: ["/q.png"] }, demos);
  assert.deepEqual(messages, [
    { role: "user", text: "<image>\nwhat colour? red\n<image>\nwhat colour? blue\n<image>\nwhat colour?" },
  ]);
  assert.deepEqual(images, ["/d1.png", "/d2.png", "/q.png"]);
  // inside vicuna_v1 exactly as VILA's get_prompt
  const prompt = renderPrompt(
    { kind: "builtin", template: getConvTemplate("vicuna_v1") },
    messages,
    {} as Tokenizer,
  );
  assert.equal(
    prompt,
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: <image>\nwhat colour? red\n<image>\nwhat colour? blue\n<image>\nwhat colour? ASSISTANT:",
  );
  // zero-shot is LLaVA-1.5's `<image>\n{question}`
  assert.deepEqual(buildMessages({ text: "q?", images: ["/q.png"] }, []).messages, [
    { role: "user", text: "<image>\nq?" },
  ]);
  // a custom template
  const custom = buildMessages({ text: "q?", images: [] }, [{ images: [], text: "x?", answer: "y" }], {
    format: "interleaved",
    demoTemplate: unescapeTemplate("Q: {question}\\nA: {answer}\\n\\n"),
  });
  assert.equal(custom.messages[0].text, "Q: x?\nA: y\n\nq?");
});

test("multiturn prompt: demonstrations as finished exchanges", () => {
  const demos: Demo[] = [{ images: ["/d1.png"], text: "what colour?", answer: "red" }];
  const { messages, images } = buildMessages({ text: "what colour?", images: ["/q.png"] }, demos, {
    format: "multiturn",
    demoTemplate: "",
  });
  assert.deepEqual(messages, [
    { role: "user", text: "<image>\nwhat colour?" },
    { role: "assistant", text: "red" },
    { role: "user", text: "<image>\nwhat colour?" },
  ]);
  assert.deepEqual(images, ["/d1.png", "/q.png"]);
  const prompt = renderPrompt(
    { kind: "builtin", template: getConvTemplate("vicuna_v1") },
    messages,
    {} as Tokenizer,
    { system: "S" },
  );
  assert.equal(
    prompt,
    "S USER: <image>\nwhat colour? ASSISTANT: red</s>USER: <image>\nwhat colour? ASSISTANT:",
  );
});

test("multi-image questions keep their own placeholders; a count mismatch is an error", () => {
  assert.equal(
    withImages("Image 1: <image>\nImage 2: <image>\nsame?", ["/a", "/b"]),
    "Image 1: <image>\nImage 2: <image>\nsame?",
  );
  assert.equal(withImages("compare", ["/a", "/b"]), "<image>\n<image>\ncompare");
  assert.throws(
    () => withImages("Image 1: <image>\nsame?", ["/a", "/b"]),
    /1 <image> placeholder\(s\) but 2 image\(s\)/,
  );
});

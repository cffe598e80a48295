// Prompt building and chat sessions: VILA's CLI image-prefix rule, the exact prompt strings of
// VILA's templates over several turns (from llava/conversation.py get_prompt), a Jinja
// chat_template picked by --conv-mode auto, images of the whole history in order, and the errors
// (image count, context length, unknown template) that leave the session unchanged.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { generateAll } from "../../src/infer/generate.js";
import { loadPipeline, newSession, promptFormatOf } from "../../src/infer/pipeline.js";
import {
  addImagePlaceholders,
  checkImageCount,
  renderPrompt,
  stopConditions,
  tokenizePrompt,
} from "../../src/infer/prompt.js";
import { ChatSession, type SessionImage } from "../../src/infer/session.js";
import { loadVila } from "../../src/io/model.js";
import { IMAGE_TOKEN_INDEX } from "../../src/tokenizer/constants.js";
import { getConvTemplate, promptFormatName, resolvePromptFormat } from "../../src/tokenizer/templates.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";

const FX = "test/fixtures/models";
const img = (v: number): SessionImage => ({
  pixels: new Float32Array(3 * 20 * 20).fill(v),
  width: 20,
  height: 20,
});

test("VILA's CLI rule: one <image>\\n per image in front when the text has none", () => {
  assert.equal(addImagePlaceholders("Compare.", 2), "<image>\n<image>\nCompare.");
  assert.equal(addImagePlaceholders("A <image> then <image>", 2), "A <image> then <image>");
  assert.equal(addImagePlaceholders("text only", 0), "text only");
  assert.throws(() => checkImageCount("<image> <image>", 1), /2 <image> placeholder\(s\) but 1 image\(s\)/);
  assert.throws(() => checkImageCount("<image>", 0), /1 <image> placeholder\(s\) but 0 image\(s\)/);
});

/** A two-turn conversation with an image, rendered by every prompt format below. */
const MSGS = [
  { role: "user" as const, text: "<image>\nWhat is it?" },
  { role: "assistant" as const, text: "A cat." },
  { role: "user" as const, text: "Color?" },
];

test("built-in templates render VILA's exact multi-turn prompts", async () => {
  const tok = await loadTokenizer(`${FX}/vila15/llm`);
  const vicuna = renderPrompt({ kind: "builtin", template: getConvTemplate("vicuna_v1") }, MSGS, tok);
  assert.equal(
    vicuna,
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: <image>\nWhat is it? ASSISTANT: A cat.</s>USER: Color? ASSISTANT:",
  );
  const hermes = renderPrompt({ kind: "builtin", template: getConvTemplate("hermes-2") }, MSGS, tok);
  assert.equal(
    hermes,
    "<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\nWhat is it?<|im_end|><|im_start|>assistant\nA cat.<|im_end|><|im_start|>user\nColor?<|im_end|><|im_start|>assistant\n",
  );
  const llama3 = renderPrompt(
    { kind: "builtin", template: getConvTemplate("llama_3") },
    MSGS.slice(0, 1),
    tok,
  );
  assert.equal(
    llama3,
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<image>\nWhat is it?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  );
  assert.deepEqual(
    stopConditions({ kind: "builtin", template: getConvTemplate("vicuna_v1") }, tok).stopStrings,
    ["</s>"],
  );
  assert.deepEqual(
    stopConditions({ kind: "builtin", template: getConvTemplate("llama_3") }, tok).stopStrings,
    ["<|eot_id|>"],
  );
  assert.deepEqual(
    stopConditions({ kind: "builtin", template: getConvTemplate("hermes-2") }, tok).stopTokenIds,
    [2],
  ); // EOS t2
});

test("raw prompts: the text as pre-trained on, no template; generation stops at the end of the line", async () => {
  const tok = await loadTokenizer(`${FX}/vila15/llm`);
  const raw = resolvePromptFormat("raw");
  assert.deepEqual(raw, { kind: "raw" });
  assert.equal(promptFormatName(raw), "raw");
  // "<image>" straight before its text (VILA's pair and MMC4 samples); a finished answer is " {answer}\n"
  assert.equal(renderPrompt(raw, MSGS, tok), "<image>What is it? A cat.\nColor?");
  assert.equal(renderPrompt(raw, MSGS.slice(0, 1), tok, { system: "S" }), "S\n<image>What is it?");
  const stops = stopConditions(raw, tok);
  assert.deepEqual(stops.stopStrings, ["\n"]);
  assert.ok(stops.stopTokenIds.includes(2), "EOS stops too");
  // tokenized like the built-in templates (tokenizer_image_token): -200 for the image
  const text = renderPrompt(raw, MSGS.slice(0, 1), tok);
  const ids = tokenizePrompt(text, tok, raw);
  assert.deepEqual(ids, tokenizePrompt(text, tok, { kind: "builtin", template: getConvTemplate("plain") }));
  assert.equal(ids.filter((i) => i === IMAGE_TOKEN_INDEX).length, 1);
});

test("a session keeps turns and images, re-sends all images in order, and fails without changing", async () => {
  const tok = await loadTokenizer(`${FX}/vila15/llm`);
  const s = new ChatSession({
    tokenizer: tok,
    format: { kind: "builtin", template: getConvTemplate("plain") },
    imageTokens: 9,
    maxContext: 40,
  });
  const t1 = s.prepare("t5 t7", [img(1)]);
  assert.equal(t1.prompt, "<image>\nt5 t7\n");
  assert.deepEqual(t1.ids, [-200, 5, 7]);
  assert.equal(t1.promptTokens, 11);
  assert.equal(t1.room, 29);
  s.commit(t1, "t9");
  assert.throws(() => s.prepare("<image> t3", []), /1 <image> placeholder\(s\) but 0 image\(s\)/);
  assert.equal(s.length, 2);
  const t2 = s.prepare("t3 <image> t4", [img(2)]);
  assert.equal(t2.prompt, "<image>\nt5 t7\nt9\nt3 <image> t4\n");
  assert.deepEqual(t2.ids, [-200, 5, 7, 9, 3, -200, 4]);
  const input = s.inputOf(t2);
  assert.deepEqual([...input.images!.shape], [2, 3, 20, 20]);
  assert.equal(input.images!.f32[0], 1);
  assert.equal(input.images!.f32[3 * 400], 2);
  s.commit(t2, "t10");
  // 4 images x 9 > 40: too long, history unchanged
  assert.throws(
    () => s.prepare("t1", [img(3), img(4)]),
    /the conversation is 4[0-9] positions long .* context is 40; \/reset/,
  );
  assert.equal(s.length, 4);
  s.reset();
  assert.equal(s.length, 0);
  assert.equal(s.prepare("t1").prompt, "t1\n");
});

test("with the model, a session encodes each image once; its embeddings give the answers the pixels give", async () => {
  const { model } = loadVila(`${FX}/vila15`);
  const tok = await loadTokenizer(`${FX}/vila15/llm`);
  const s = new ChatSession({
    tokenizer: tok,
    format: { kind: "builtin", template: getConvTemplate("plain") },
    imageTokens: model.imageTokens,
    maxContext: model.llm.config.max_position_embeddings,
  });
  const encode = model.encodeImages;
  let encoded = 0;
  model.encodeImages = (images) => {
    encoded += images.shape[0];
    return encode.call(model, images);
  };
  const pixels = [0.3, -0.4].map((v) => ({
    pixels: new Float32Array(3 * 20 * 20).fill(v),
    width: 20,
    height: 20,
  }));
  const opts = { maxNewTokens: 4, temperature: 0 };
  for (const [k, turnImages] of [[pixels[0]], [], [pixels[1]]].entries()) {
    const turn = s.prepare(`t5 t${6 + k}`, turnImages);
    const before = encoded;
    const [r] = await generateAll(model, s.inputOf(turn, model), opts);
    assert.equal(encoded - before, turnImages.length, `turn ${k}: only its new images are encoded`);
    const [ref] = await generateAll(model, s.inputOf(turn), opts);
    assert.deepEqual(r.tokens, ref.tokens, `turn ${k}`);
    s.commit(turn, tok.decode(r.tokens));
  }
  model.encodeImages = encode;
});

test("--conv-mode auto: by model name, else the checkpoint's Jinja chat_template; unknown names fail", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vila-infer-"));
  try {
    const plainCkpt = join(dir, "VILA1.5-3b");
    cpSync(`${FX}/vila15`, plainCkpt, { recursive: true });
    const p = await loadPipeline(plainCkpt);
    const f = promptFormatOf(p, "auto");
    assert.equal(f.kind === "builtin" && f.template.name, "vicuna_v1");
    assert.throws(() => promptFormatOf(p, "vicuna_v9"), /unknown conversation template "vicuna_v9"/);
    const unnamed = await loadPipeline(`${FX}/vila15`);
    assert.throws(() => promptFormatOf(unnamed, "auto"), /conversation template "auto"/);

    const jinjaCkpt = join(dir, "my-model");
    cpSync(`${FX}/vila15`, jinjaCkpt, { recursive: true });
    const template =
      "{{ bos_token }} {% for m in messages %}t3 {{ m['content'] }} t4 {% endfor %}{% if add_generation_prompt %}t5{% endif %}";
    writeFileSync(
      join(jinjaCkpt, "llm", "tokenizer_config.json"),
      JSON.stringify({
        bos_token: "t1",
        eos_token: "t2",
        pad_token: "t0",
        model_max_length: 64,
        chat_template: template,
      }),
    );
    const q = await loadPipeline(jinjaCkpt);
    const s = newSession(q, "auto");
    assert.equal(s.opts.format.kind, "jinja");
    const turn = s.prepare("t8", [img(0)]);
    assert.equal(turn.prompt, "t1 t3 <image>\nt8 t4 t5");
    assert.deepEqual(turn.ids, [1, 3, -200, 8, 4, 5]);
    // "t4" follows an assistant message in this template: it is the inferred stop token
    assert.deepEqual(turn.stopStrings, ["t4"]);
    assert.deepEqual(new Set(turn.stopTokenIds), new Set([2, 4]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Conversation templates against the exact strings of VILA's llava/conversation.py as recorded in
// the reference notes (vila.md section 1.7), stop strings, "auto" resolution, and Jinja templates.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  getConvTemplate,
  getPrompt,
  renderChatTemplate,
  resolvePromptFormat,
  stopStrings,
} from "../../src/tokenizer/templates.js";

const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const LLAMA3_SYSTEM =
  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.";

test("vicuna_v1: generation prompt and multi-turn", () => {
  const t = getConvTemplate("vicuna_v1");
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "<image>\nWhat is this?" },
      { role: 1, text: null },
    ]),
    `${VICUNA_SYSTEM} USER: <image>\nWhat is this? ASSISTANT:`,
  );
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "Q1" },
      { role: 1, text: "A1" },
      { role: 0, text: "Q2" },
      { role: 1, text: "A2" },
    ]),
    `${VICUNA_SYSTEM} USER: Q1 ASSISTANT: A1</s>USER: Q2 ASSISTANT: A2</s>`,
  );
  assert.deepEqual(stopStrings(t), ["</s>"]);
  assert.equal(getConvTemplate("v1"), t);
});

test("llama_3 (fixed): system + sep + (role + msg + sep)* + assistant role", () => {
  const t = getConvTemplate("llama_3");
  const u = "<|start_header_id|>user<|end_header_id|>\n\n";
  const a = "<|start_header_id|>assistant<|end_header_id|>\n\n";
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "<image>\nHi" },
      { role: 1, text: null },
    ]),
    `${LLAMA3_SYSTEM}<|eot_id|>${u}<image>\nHi<|eot_id|>${a}`,
  );
  // A finished conversation ends with sep2 (<|end_of_text|>) after the last message.
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "Q" },
      { role: 1, text: "A" },
    ]),
    `${LLAMA3_SYSTEM}<|eot_id|>${u}Q<|eot_id|>${a}A<|end_of_text|>`,
  );
  assert.deepEqual(stopStrings(t), ["<|eot_id|>"]);
});

test("hermes-2: MPT style, no newline after <|im_end|>", () => {
  const t = getConvTemplate("hermes-2");
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "Q" },
      { role: 1, text: "A" },
      { role: 0, text: "Q2" },
      { role: 1, text: null },
    ]),
    "<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\nQ<|im_end|><|im_start|>assistant\nA<|im_end|><|im_start|>user\nQ2<|im_end|><|im_start|>assistant\n",
  );
  assert.deepEqual(stopStrings(t), ["<|im_end|>"]);
});

test("plain: message + '\\n'", () => {
  const t = getConvTemplate("plain");
  assert.equal(
    getPrompt(t, [
      { role: 0, text: "<image>" },
      { role: 1, text: "a cat" },
    ]),
    "<image>\na cat\n",
  );
  assert.deepEqual(stopStrings(t), ["\n"]);
});

test("auto: model-name mapping, then the checkpoint's chat_template; unknown names are errors", () => {
  const f = resolvePromptFormat("auto", { modelName: "Efficient-Large-Model/Llama-3-VILA1.5-8B-Fix" });
  assert.equal(f.kind === "builtin" && f.template.name, "llama_3");
  const g = resolvePromptFormat("auto", { modelName: "Efficient-Large-Model/VILA1.5-3b" });
  assert.equal(g.kind === "builtin" && g.template.name, "vicuna_v1");
  const h = resolvePromptFormat("auto", { modelName: "my-model", chatTemplate: "{{ x }}" });
  assert.equal(h.kind, "jinja");
  assert.throws(() => resolvePromptFormat("auto", { modelName: "my-model" }), /matches none/);
  assert.throws(() => resolvePromptFormat("vicuna"), /unknown conversation template "vicuna"/);
});

test("Jinja chat_template renders like apply_chat_template (Qwen2-style from vila.md)", () => {
  const tpl =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}" +
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const out = renderChatTemplate(tpl, [{ role: "user", content: "<image>\nWhat is it?" }], {
    addGenerationPrompt: true,
  });
  assert.equal(
    out,
    "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n<image>\nWhat is it?<|im_end|>\n<|im_start|>assistant\n",
  );
  assert.throws(() => renderChatTemplate("{% for %}", []), /chat_template: cannot parse/);
});

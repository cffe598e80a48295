// Conversation templates exactly as VILA1.5 defines them (`llava/conversation.py`, vila1.5 branch
// with the Llama-3 fix of commit 54c9706 / main 3ba0290): vicuna_v1, llama_3, hermes-2, plain, with
// `Conversation.get_prompt` semantics and stop strings; plus a model's own Jinja `chat_template`
// (tokenizer_config.json) rendered through @huggingface/jinja.
//
// get_prompt by separator style (messages alternate user/assistant; a null message is the
// generation slot):
//   TWO      system + sep + Σ (role + ": " + msg + [sep, sep2][i % 2])  | null -> role + ":"
//   LLAMA_3  system + sep + Σ (role + msg + (i < last ? sep : sep2))    | null -> role
//   MPT      system + sep + Σ (role + msg + sep)                        | null -> role
//   PLAIN    system + Σ (msg + [sep, sep2][i % 2])                      | null -> ""
// Stop string: sep2 for TWO, else sep (VILA's KeywordsStoppingCriteria).

import { Template } from "@huggingface/jinja";

export type SepStyle = "TWO" | "LLAMA_3" | "MPT" | "PLAIN";

export interface ConvTemplate {
  name: string;
  system: string;
  /** [user role, assistant role] as they appear in the prompt. */
  roles: [string, string];
  sepStyle: SepStyle;
  sep: string;
  sep2: string | null;
}

/** A turn: role index 0 = user ("human"), 1 = assistant ("gpt"); `null` text = generation slot. */
export type Turn = { role: 0 | 1; text: string | null };

const VICUNA_V1: ConvTemplate = {
  name: "vicuna_v1",
  system:
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
  roles: ["USER", "ASSISTANT"],
  sepStyle: "TWO",
  sep: " ",
  sep2: "</s>",
};

const LLAMA_3: ConvTemplate = {
  name: "llama_3",
  system:
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.",
  roles: [
    "<|start_header_id|>user<|end_header_id|>\n\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
  ],
  sepStyle: "LLAMA_3",
  sep: "<|eot_id|>",
  sep2: "<|end_of_text|>",
};

const HERMES_2: ConvTemplate = {
  name: "hermes-2",
  system: "<|im_start|>system\nAnswer the questions.",
  roles: ["<|im_start|>user\n", "<|im_start|>assistant\n"],
  sepStyle: "MPT",
  sep: "<|im_end|>",
  sep2: null,
};

const PLAIN: ConvTemplate = {
  name: "plain",
  system: "",
  roles: ["", ""],
  sepStyle: "PLAIN",
  sep: "\n",
  sep2: null,
};

/** The built-in templates by VILA's names (`v1` is an alias of `vicuna_v1`). */
export const CONV_TEMPLATES: Readonly<Record<string, ConvTemplate>> = {
  vicuna_v1: VICUNA_V1,
  v1: VICUNA_V1,
  llama_3: LLAMA_3,
  "hermes-2": HERMES_2,
  plain: PLAIN,
};

/** VILA's `CONVERSATION_MODE_MAPPING`: substring of the model name -> template. */
export const CONVERSATION_MODE_MAPPING: readonly [string, string][] = [
  ["vila1.5-3b", "vicuna_v1"],
  ["vila1.5-8b", "llama_3"],
  ["vila1.5-13b", "vicuna_v1"],
  ["vila1.5-40b", "hermes-2"],
  ["llama-3", "llama_3"],
  ["llama3", "llama_3"],
];

/** Looks a built-in template up by name; unknown names are an error listing the known ones. */
export function getConvTemplate(name: string): ConvTemplate {
  const t = CONV_TEMPLATES[name];
  if (!t)
    throw new Error(
      `unknown conversation template "${name}" (known: ${Object.keys(CONV_TEMPLATES).join(", ")}, raw, auto)`,
    );
  return t;
}

/** Builds the prompt string for `turns` with `t` (VILA's `Conversation.get_prompt`). */
export function getPrompt(t: ConvTemplate, turns: Turn[], opts: { system?: string } = {}): string {
  const system = opts.system ?? t.system;
  const sep2 = t.sep2 ?? t.sep;
  const last = turns.length - 1;
  let ret = t.sepStyle === "PLAIN" ? system : system + t.sep;
  turns.forEach((turn, i) => {
    const role = t.roles[turn.role];
    const msg = turn.text;
    switch (t.sepStyle) {
      case "TWO":
        ret += msg ? `${role}: ${msg}${i % 2 === 0 ? t.sep : sep2}` : `${role}:`;
        break;
      case "LLAMA_3":
        ret += msg ? role + msg + (i < last ? t.sep : sep2) : role;
        break;
      case "MPT":
        ret += msg ? role + msg + t.sep : role;
        break;
      case "PLAIN":
        ret += msg ? msg + (i % 2 === 0 ? t.sep : sep2) : "";
        break;
    }
  });
  return ret;
}

/** Strings that end an assistant turn during generation. */
export function stopStrings(t: ConvTemplate): string[] {
  return [t.sepStyle === "TWO" ? (t.sep2 as string) : t.sep];
}

/** Picks a built-in template for a checkpoint by its name/path (VILA's auto_set_conversation_mode). */
export function templateNameForModel(modelNameOrPath: string): string | null {
  const lower = modelNameOrPath.toLowerCase();
  for (const [k, v] of CONVERSATION_MODE_MAPPING) if (lower.includes(k)) return v;
  return null;
}

/**
 * A chosen way to build prompts: a built-in template, the model's Jinja chat_template, or `raw`: no
 * template, for models before SFT. A raw prompt is the text as the model was pre-trained on it
 * ("<image>" straight before its text, as in VILA's pair and MMC4 samples; each finished assistant
 * message " {answer}\n", the paper's in-context form `<img>caption <img>caption <img>`), and
 * generation stops at the end of the line.
 */
export type PromptFormat =
  | { kind: "builtin"; template: ConvTemplate }
  | { kind: "jinja"; source: string }
  | { kind: "raw" };

/** The name of a prompt format as --conv-mode takes it ("chat_template" for a Jinja template). */
export function promptFormatName(f: PromptFormat): string {
  return f.kind === "builtin" ? f.template.name : f.kind === "raw" ? "raw" : "chat_template";
}

/**
 * Resolves `--conv-mode`: a built-in name, or "auto" = the model-name mapping first (VILA1.5), then
 * the checkpoint's Jinja chat_template (NVILA's "auto"). Errors say what was tried.
 */
export function resolvePromptFormat(
  mode: string,
  ckpt: { modelName?: string; chatTemplate?: string | null } = {},
): PromptFormat {
  if (mode === "raw") return { kind: "raw" };
  if (mode !== "auto") return { kind: "builtin", template: getConvTemplate(mode) };
  const byName = ckpt.modelName ? templateNameForModel(ckpt.modelName) : null;
  if (byName) return { kind: "builtin", template: getConvTemplate(byName) };
  if (ckpt.chatTemplate) return { kind: "jinja", source: ckpt.chatTemplate };
  throw new Error(
    `conversation template "auto": model name "${ckpt.modelName ?? ""}" matches none of ${CONVERSATION_MODE_MAPPING.map(([k]) => k).join(", ")} and tokenizer_config.json has no chat_template; pass one of ${Object.keys(CONV_TEMPLATES).join(", ")} or raw`,
  );
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Renders a Jinja chat template (HF `apply_chat_template(tokenize=False)`). */
export function renderChatTemplate(
  source: string,
  messages: ChatMessage[],
  opts: { addGenerationPrompt?: boolean; bosToken?: string | null; eosToken?: string | null } = {},
): string {
  let tpl: Template;
  try {
    tpl = new Template(source);
  } catch (e) {
    throw new Error(`chat_template: cannot parse (${(e as Error).message})`);
  }
  return tpl.render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: opts.bosToken ?? "",
    eos_token: opts.eosToken ?? "",
  });
}

// k-shot prompt building for evaluation (docs/EVAL.md, "Prompts"). Zero-shot is LLaVA-1.5's
// protocol: one user turn `<image>\n{question}` (one "<image>\n" per image in front, unless the
// question already places its "<image>"s) inside the model's conversation template. With k
// demonstrations, two formats:
//   interleaved (default): one user turn, each demonstration rendered by `demoTemplate`
//     (default "{question} {answer}\n", question with its "<image>\n" in front), then the query —
//     the paper's in-context form `<img>caption <img>caption <img>` (VILA Figs. 6-7, 13);
//   multiturn: each demonstration is a finished exchange (user `<image>\n{question}`, assistant
//     `{answer}`), then the query as the last user turn.
// Demonstrations: an item's own fixed `demos` (the world's in-context benches) give demos[0:k];
// otherwise k are drawn without replacement from the support pool by a generator seeded from
// (seed, question id) — so an item's demonstrations do not depend on batch, order or --limit — and
// never share an image with the query.

import { addImagePlaceholders, checkImageCount, type Message } from "../infer/prompt.js";
import type { Demo, EvalItem } from "./benchmarks.js";

export type FewShotFormat = "interleaved" | "multiturn";
export const FEW_SHOT_FORMATS: readonly FewShotFormat[] = ["interleaved", "multiturn"];

/** How demonstrations are laid out. */
export interface PromptStyle {
  format: FewShotFormat;
  /** interleaved only: one demonstration; `{question}` (with its image placeholders) and `{answer}`. */
  demoTemplate: string;
}

export const DEFAULT_DEMO_TEMPLATE = "{question} {answer}\n";
export const DEFAULT_PROMPT_STYLE: PromptStyle = {
  format: "interleaved",
  demoTemplate: DEFAULT_DEMO_TEMPLATE,
};

/** FNV-1a over a string: a 32-bit seed for one item. */
function hashSeed(seed: number, id: string): number {
  let h = 0x811c9dc5;
  const s = `${seed >>> 0}:${id}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast 32-bit generator; returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The k demonstrations of an item: its own `demos[0:k]` when it has them, else k support items drawn
 * by seed, none showing one of the query's images. Errors say how many were available.
 * @example selectDemos(item, bench.support, 4, 0).map((d) => d.answer)
 */
export function selectDemos(
  item: EvalItem,
  support: readonly Demo[],
  k: number,
  seed: number,
  benchName = "benchmark",
): Demo[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`shots must be a non-negative integer, got ${k}`);
  if (k === 0) return [];
  if (item.demos) {
    if (item.demos.length < k)
      throw new Error(
        `${benchName}: question_id ${item.id} has ${item.demos.length} demonstrations, ${k} shots asked`,
      );
    return item.demos.slice(0, k);
  }
  const own = new Set(item.images);
  const eligible: number[] = [];
  support.forEach((d, i) => {
    if (!d.images.some((im) => own.has(im))) eligible.push(i);
  });
  if (eligible.length < k) {
    const why =
      support.length === 0
        ? "it has no support split"
        : `only ${eligible.length} support items do not show the query's image`;
    throw new Error(
      `${benchName}: ${k}-shot prompts for question_id ${item.id} need ${k} demonstrations but ${why}`,
    );
  }
  const rand = mulberry32(hashSeed(seed, item.id));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j], eligible[i]];
  }
  return eligible.slice(0, k).map((i) => support[i]);
}

/** The question with its image placeholders, checked against the number of images. */
export function withImages(text: string, images: readonly string[]): string {
  const t = addImagePlaceholders(text, images.length);
  checkImageCount(t, images.length);
  return t;
}

function fill(template: string, question: string, answer: string): string {
  return template.replace(/\{(question|answer)\}/g, (_, k: string) => (k === "question" ? question : answer));
}

/**
 * The conversation messages for an item and its demonstrations, and the images in placeholder order
 * (demonstrations first).
 * @example
 * buildMessages({ text: "what colour?", images: ["q.png"] }, [{ images: ["d.png"], text: "what colour?", answer: "red" }])
 * // { messages: [{ role: "user", text: "<image>\nwhat colour? red\n<image>\nwhat colour?" }], images: ["d.png", "q.png"] }
 */
export function buildMessages(
  item: Pick<EvalItem, "text" | "images">,
  demos: readonly Demo[],
  style: PromptStyle = DEFAULT_PROMPT_STYLE,
): { messages: Message[]; images: string[] } {
  const query = withImages(item.text, item.images);
  const images = [...demos.flatMap((d) => d.images), ...item.images];
  if (style.format === "multiturn") {
    const messages: Message[] = [];
    for (const d of demos) {
      messages.push({ role: "user", text: withImages(d.text, d.images) });
      messages.push({ role: "assistant", text: d.answer });
    }
    messages.push({ role: "user", text: query });
    return { messages, images };
  }
  const shown = demos.map((d) => fill(style.demoTemplate, withImages(d.text, d.images), d.answer)).join("");
  return { messages: [{ role: "user", text: shown + query }], images };
}

/** Parse a template given on a command line: the escapes \n and \t become a newline and a tab. */
export function unescapeTemplate(s: string): string {
  return s.replace(/\\([nt\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}

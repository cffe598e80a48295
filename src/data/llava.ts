// LLaVA conversation data (visual instruction tuning, and text-only FLAN-style instruction data):
// a JSON list or JSONL of `{"id", "image"?, "conversations": [{"from": "human"|"gpt", "value"}]}`.
// `image` may be a string, a list of strings (multi-image), or absent (text-only); paths are
// relative to the media folder. Video samples (`video`) are rejected with a clear error.

import { readFile } from "node:fs/promises";
import { DataError } from "./bad_samples.js";
import { type ImageRef, imageFromPath } from "./image_ref.js";
import type { SftRecord } from "./records.js";

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses one LLaVA record (`line` = JSONL line or 1-based position in a JSON list). */
export function parseLlavaJson(value: unknown, file: string, line: number, mediaDir: string): SftRecord {
  if (!isObj(value)) throw new DataError(file, line, "field", "expected a JSON object");
  if ("video" in value || "video_id" in value)
    throw new DataError(file, line, "field", "video samples are not supported");
  const conv = value.conversations;
  if (!Array.isArray(conv) || conv.length === 0)
    throw new DataError(file, line, "field", '"conversations" must be a non-empty list');
  const conversations = conv.map((t, i) => {
    if (!isObj(t) || typeof t.from !== "string" || typeof t.value !== "string") {
      throw new DataError(
        file,
        line,
        "field",
        `conversations[${i}] must be {"from": string, "value": string}`,
      );
    }
    return { from: t.from, value: t.value };
  });
  const img = value.image;
  let images: ImageRef[] = [];
  if (typeof img === "string") images = [imageFromPath(img, mediaDir)];
  else if (Array.isArray(img)) {
    images = img.map((p, i) => {
      if (typeof p !== "string")
        throw new DataError(file, line, "field", `image[${i}] must be a string path`);
      return imageFromPath(p, mediaDir);
    });
  } else if (img !== undefined && img !== null)
    throw new DataError(file, line, "field", '"image" must be a string or a list of strings');
  return { kind: "sft", conversations, images, file, line };
}

/** Loads a whole LLaVA `.json` list (the format is one JSON document, so it is read at once). */
export async function readLlavaJsonList(file: string): Promise<unknown[]> {
  const text = await readFile(file, "utf8");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, 0, "json", `invalid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw new DataError(file, 0, "field", "expected a JSON list of conversations");
  return v;
}

// Plain text JSONL (`{"text": "..."}` per line), for text-only pre-training of the base LLM.

import { DataError } from "./bad_samples.js";
import type { TextRecord } from "./records.js";

/** Parses one text-JSONL value. */
export function parseTextJson(value: unknown, file: string, line: number): TextRecord {
  if (typeof value !== "object" || value === null || typeof (value as { text?: unknown }).text !== "string") {
    throw new DataError(file, line, "field", 'expected {"text": string}');
  }
  return { kind: "text", text: (value as { text: string }).text, file, line };
}

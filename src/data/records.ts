// The sample records the readers produce, one kind per public format, before tokenization:
//   pair  image-text pair (COYO/LAION-style JSONL {"image", "caption"|"text"}, or WebDataset
//         `jpg`/`png` + `txt`/`json` members)
//   mmc4  interleaved document (allenai/mmc4 JSONL: `text_list`, `image_info[]` with
//         `matched_text_index` and `image_name` or inline `image_base64`)
//   sft   LLaVA conversation (`conversations` [{from, value}], `image` string | list | absent)
//   text  plain text JSONL {"text"}
// `file`/`line` locate the record for error messages.

import type { ImageRef } from "./image_ref.js";

export interface Where {
  file: string;
  /** 1-based line (JSONL), record number (JSON list) or sample number (tar shard). */
  line: number;
}

export interface PairRecord extends Where {
  kind: "pair";
  caption: string;
  image: ImageRef;
}

export interface Mmc4Record extends Where {
  kind: "mmc4";
  sentences: string[];
  images: { ref: ImageRef; matchedTextIndex: number }[];
}

export interface ConversationTurn {
  from: string;
  value: string;
}

export interface SftRecord extends Where {
  kind: "sft";
  conversations: ConversationTurn[];
  images: ImageRef[];
}

export interface TextRecord extends Where {
  kind: "text";
  text: string;
}

export type DataRecord = PairRecord | Mmc4Record | SftRecord | TextRecord;

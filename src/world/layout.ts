// The world folder's layout: every file name other helpers read, in one place. The layout is
// stable: readers (data/, eval/) import these constants instead of spelling paths. Every image
// reference inside every file is a path relative to the world root (e.g. "images/train/000012.png"),
// so the world root is the "image folder" of LLaVA-style readers.

/** Bumped when a file's shape changes; written to world.json as `format_version`. */
export const WORLD_FORMAT_VERSION = 1;

export const WORLD_JSON = "world.json";
export const README_MD = "README.md";
export const CONTACT_SHEET_PNG = "contact_sheet.png";

/** Image folders by split: training, benchmark queries, benchmark demonstrations (support). */
export const IMAGES_TRAIN_DIR = "images/train";
export const IMAGES_BENCH_DIR = "images/bench";
export const IMAGES_SUPPORT_DIR = "images/support";

/** Text corpus for pre-training the base LLM: JSONL of {"text": string}. */
export const CORPUS_JSONL = "text/corpus.jsonl";
/** Image-text pairs (COYO analogue): JSONL of {"id", "image", "caption"}. */
export const PAIRS_JSONL = "pairs/pairs.jsonl";
/** The same pairs as WebDataset shards: `<key>.png` + `<key>.txt` (+ `<key>.json`) members. */
export const PAIRS_WDS_DIR = "pairs/wds";
export function pairsShardName(index: number): string {
  return `${PAIRS_WDS_DIR}/pairs-${String(index).padStart(6, "0")}.tar`;
}
/** Interleaved documents (MMC4 analogue): MMC4 JSONL. */
export const MMC4_JSONL = "mmc4/docs.jsonl";
/** Visual instruction data (LLaVA SFT analogue): one JSON list of LLaVA conversations. */
export const SFT_JSON = "sft/llava_instruct.json";
/** Two-image lookup conversations (sft.ts makeLookups), in the same format; absent when the preset
 * asks for none. */
export const LOOKUPS_JSON = "sft/lookups.json";
/** Text-only instruction data (FLAN analogue): JSONL of {"id", "conversations"}. */
export const FLAN_JSONL = "flan/flan.jsonl";

/** Benchmarks, each a folder under bench/. */
export const BENCH_DIR = "bench";
export const BENCH_NAMES = [
  "vqa",
  "textvqa",
  "knowledge",
  "captions",
  "multi_image",
  "mmlu",
  "icl",
  "icl_text",
] as const;
export type BenchName = (typeof BENCH_NAMES)[number];
/** LLaVA-style question file of a benchmark. */
export function benchQuestions(name: BenchName): string {
  return `${BENCH_DIR}/${name}/questions.jsonl`;
}
/** Answer file: VQAv2-style (VQA benches), COCO-caption-style (captions), answer keys (mmlu). */
export function benchAnnotations(name: BenchName): string {
  return `${BENCH_DIR}/${name}/annotations.json`;
}
/** Demonstrations for k-shot evaluation (never in training files). */
export function benchSupport(name: BenchName): string {
  return `${BENCH_DIR}/${name}/support.jsonl`;
}

/** The training data's answers to the benchmark's question types (train_answers.json):
 * {"source", "categories": {type: {answer: count}}}, what the per-question-type prior is taken from. */
export function benchTrainAnswers(name: BenchName): string {
  return `${BENCH_DIR}/${name}/train_answers.json`;
}

/** The shots the in-context benchmarks are built for. */
export const ICL_SHOTS = [0, 2, 4, 8] as const;

/** The short-answer suffix of LLaVA-1.5 question files. */
export const SHORT_ANSWER_PROMPT = "Answer the question using a single word or phrase.";
/** The brief-caption instruction: the captions benchmark's prompt, also taught in SFT (as COCO-style
 * caption prompts are part of LLaVA-1.5's SFT mix) with the short captions of training images. */
export const CAPTION_PROMPT = "describe the image briefly.";
/** The multiple-choice suffix of LLaVA-1.5 question files. */
export const MC_PROMPT = "Answer with the option's letter from the given choices directly.";

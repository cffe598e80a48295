// Byte-level BPE trainer (GPT-2 / Hugging Face `tokenizers` BpeTrainer semantics) that writes a
// Hugging Face `tokenizer.json` + `tokenizer_config.json` for models trained from scratch.
//
// Contract:
// - Text is split by the GPT-2 pre-tokenizer regex (the one HF's ByteLevel pre-tokenizer uses with
//   `use_regex: true`, and the one @huggingface/tokenizers hard-codes), each piece is UTF-8 encoded
//   and mapped byte -> printable unicode char with GPT-2's `bytes_to_unicode` table.
// - The initial vocabulary is the special tokens (ids 0..k-1) then all 256 byte symbols (sorted by
//   char code, as HF sorts its alphabet), so every string is encodable (no unk needed).
// - Merges are learned greedily by pair frequency over word counts; ties go to the smallest
//   (left id, right id) pair, as HF's BpeTrainer orders its queue. Training stops at `vocabSize`
//   or when the best pair occurs fewer than `minFrequency` times.
// - `<image>` is NOT a token (VILA1.5 semantics: prompts are split on the literal `<image>` and
//   the chunks joined by IMAGE_TOKEN_INDEX, see image_tokens.ts). It is passed through training
//   text like any other characters.
// - Special tokens: `<unk>` 0, `<s>` 1 (BOS, added in front by the TemplateProcessing
//   post-processor, like Llama), `</s>` 2 (EOS), `<pad>` 3, then any extra (chat-template markers
//   such as `<|im_start|>`), all `special: true, normalized: false`.

/** GPT-2's pre-tokenizer pattern (HF ByteLevel with use_regex). */
export const GPT2_PRETOKENIZE_REGEX =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2 `bytes_to_unicode`: byte value -> printable single-char string. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) {
      table[b] = String.fromCharCode(256 + n);
      n++;
    }
  }
  return table;
}

export interface BpeTrainOptions {
  /** Target vocabulary size, special tokens included. */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Extra special tokens appended after `<unk> <s> </s> <pad>` (e.g. chat-template markers). */
  extraSpecialTokens?: string[];
  /** `model_max_length` written to tokenizer_config.json (default 2048). */
  modelMaxLength?: number;
  /** Optional Jinja chat template written to tokenizer_config.json. */
  chatTemplate?: string;
  /** Progress callback: (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

export interface BpeTrainResult {
  /** Token string -> id (byte-level symbols, merges, and special tokens). */
  vocab: Map<string, number>;
  /** Learned merges in order, as [left, right] symbol strings. */
  merges: [string, string][];
  specialTokens: string[];
}

export const BASE_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"] as const;

/**
 * Counts pre-tokenized byte-level words in a stream of texts. Call `add` per document, then pass
 * `counts` to {@link trainBpeFromCounts}. Keeps only distinct words, so memory is bounded by the
 * vocabulary of the corpus, not its size.
 */
export class WordCounter {
  readonly counts = new Map<string, number>();
  private readonly byteChars = bytesToUnicode();
  private readonly encoder = new TextEncoder();

  add(text: string): void {
    for (const m of text.matchAll(GPT2_PRETOKENIZE_REGEX)) {
      const bytes = this.encoder.encode(m[0]);
      let w = "";
      for (const b of bytes) w += this.byteChars[b];
      this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
    }
  }
}

// A binary max-heap of [count, left, right] ordered by count desc, then (left, right) asc.
class PairHeap {
  private readonly data: [number, number, number][] = [];
  get size(): number {
    return this.data.length;
  }
  private better(a: [number, number, number], b: [number, number, number]): boolean {
    if (a[0] !== b[0]) return a[0] > b[0];
    if (a[1] !== b[1]) return a[1] < b[1];
    return a[2] < b[2];
  }
  push(e: [number, number, number]): void {
    const d = this.data;
    d.push(e);
    let i = d.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(d[i], d[p])) break;
      [d[i], d[p]] = [d[p], d[i]];
      i = p;
    }
  }
  pop(): [number, number, number] | undefined {
    const d = this.data;
    if (d.length === 0) return undefined;
    const top = d[0];
    const last = d.pop() as [number, number, number];
    if (d.length > 0) {
      d[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < d.length && this.better(d[l], d[m])) m = l;
        if (r < d.length && this.better(d[r], d[m])) m = r;
        if (m === i) break;
        [d[i], d[m]] = [d[m], d[i]];
        i = m;
      }
    }
    return top;
  }
}

const PAIR_SHIFT = 2 ** 21;
const pairKey = (a: number, b: number): number => a * PAIR_SHIFT + b;

/**
 * Learns byte-level BPE merges from word counts.
 * @example
 * const wc = new WordCounter(); wc.add("low lower lowest");
 * const { vocab, merges } = trainBpeFromCounts(wc.counts, { vocabSize: 300 });
 */
export function trainBpeFromCounts(counts: Map<string, number>, opts: BpeTrainOptions): BpeTrainResult {
  const minFrequency = opts.minFrequency ?? 2;
  const specialTokens = [...BASE_SPECIAL_TOKENS, ...(opts.extraSpecialTokens ?? [])];
  const symbols: string[] = [...specialTokens];
  const idOf = new Map<string, number>();
  for (const [i, t] of specialTokens.entries()) idOf.set(t, i);
  const alphabet = [...bytesToUnicode()].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  for (const c of alphabet) {
    idOf.set(c, symbols.length);
    symbols.push(c);
  }
  if (opts.vocabSize < symbols.length) {
    throw new Error(
      `bpe train: --vocab-size ${opts.vocabSize} is smaller than the ${symbols.length} special + byte symbols`,
    );
  }

  // words[i]: symbol ids of distinct word i; freq[i]: its count.
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of counts) {
    words.push(Array.from(w, (ch) => idOf.get(ch) as number));
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi];
    for (let j = 0; j + 1 < w.length; j++) {
      const k = pairKey(w[j], w[j + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + freq[wi]);
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      s.add(wi);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push([c, Math.floor(k / PAIR_SHIFT), k % PAIR_SHIFT]);

  const merges: [string, string][] = [];
  const wanted = opts.vocabSize - symbols.length;
  while (symbols.length < opts.vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const [c, a, b] = top;
    const k = pairKey(a, b);
    const actual = pairCount.get(k) ?? 0;
    if (actual !== c) {
      if (actual > 0) heap.push([actual, a, b]);
      continue;
    }
    if (c < minFrequency || c <= 0) break;
    const merged = symbols[a] + symbols[b];
    let newId = idOf.get(merged);
    if (newId === undefined) {
      newId = symbols.length;
      symbols.push(merged);
      idOf.set(merged, newId);
    }
    merges.push([symbols[a], symbols[b]]);
    const touched = new Set<number>();
    for (const wi of where.get(k) ?? []) {
      const w = words[wi];
      const f = freq[wi];
      // Remove this word's pair contributions, merge, then add them back.
      for (let j = 0; j + 1 < w.length; j++) {
        const pk = pairKey(w[j], w[j + 1]);
        pairCount.set(pk, (pairCount.get(pk) as number) - f);
      }
      const out: number[] = [];
      for (let j = 0; j < w.length; j++) {
        if (j + 1 < w.length && w[j] === a && w[j + 1] === b) {
          out.push(newId);
          j++;
        } else out.push(w[j]);
      }
      words[wi] = out;
      for (let j = 0; j + 1 < out.length; j++) {
        const pk = pairKey(out[j], out[j + 1]);
        pairCount.set(pk, (pairCount.get(pk) ?? 0) + f);
        let s = where.get(pk);
        if (!s) where.set(pk, (s = new Set()));
        s.add(wi);
        if (out[j] === newId || out[j + 1] === newId) touched.add(pk);
      }
    }
    pairCount.delete(k);
    where.delete(k);
    for (const pk of touched) {
      const pc = pairCount.get(pk) ?? 0;
      if (pc > 0) heap.push([pc, Math.floor(pk / PAIR_SHIFT), pk % PAIR_SHIFT]);
    }
    opts.onProgress?.(merges.length, wanted);
  }
  return { vocab: idOf, merges, specialTokens };
}

/** Builds the Hugging Face `tokenizer.json` object for a trained byte-level BPE. */
export function buildTokenizerJson(result: BpeTrainResult): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const [t, i] of result.vocab) vocab[t] = i;
  const bosId = result.vocab.get("<s>") as number;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: result.specialTokens.map((t) => ({
      id: result.vocab.get(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [bosId], tokens: ["<s>"] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: result.merges,
    },
  };
}

/** Builds `tokenizer_config.json` (transformers' view: BOS/EOS/PAD, length, template). */
export function buildTokenizerConfig(result: BpeTrainResult, opts: BpeTrainOptions): Record<string, unknown> {
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const t of result.specialTokens) {
    addedTokensDecoder[String(result.vocab.get(t))] = {
      content: t,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  const cfg: Record<string, unknown> = {
    tokenizer_class: "PreTrainedTokenizerFast",
    add_bos_token: true,
    add_eos_token: false,
    bos_token: "<s>",
    eos_token: "</s>",
    pad_token: "<pad>",
    unk_token: "<unk>",
    model_max_length: opts.modelMaxLength ?? 2048,
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: addedTokensDecoder,
  };
  const extra = result.specialTokens.slice(BASE_SPECIAL_TOKENS.length);
  if (extra.length > 0) cfg.additional_special_tokens = extra;
  if (opts.chatTemplate) cfg.chat_template = opts.chatTemplate;
  return cfg;
}

// The tokenizer every other layer uses: one class over two back ends, a Hugging Face
// `tokenizer.json` (through @huggingface/tokenizers) or a SentencePiece `tokenizer.model` (Llama-2
// family, encoded as transformers' slow LlamaTokenizer with legacy=False does), plus the
// `tokenizer_config.json` facts transformers reads (BOS/EOS/PAD, add_bos_token, model_max_length,
// chat_template).
//
// legacy=False SentencePiece behaviour reproduced here (transformers 4.36 `LlamaTokenizer`):
// the text is split on special/added tokens; "▁" is prepended once to the whole text (so a chunk
// right after a special token gets no prefix space), each chunk is encoded with the dummy prefix
// off, and a lone leading "▁" before a special token is dropped.

import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { parseSentencePieceModel, SentencePieceBpe } from "./sentencepiece.js";

export interface EncodeOptions {
  /** Add BOS/EOS as the tokenizer is configured to (default true, as HF `tokenizer(text)`). */
  addSpecialTokens?: boolean;
}
export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

/** The parts of `tokenizer_config.json` that matter here (HF keys verbatim). */
export interface TokenizerConfig {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  model_max_length?: number;
  chat_template?: string | { name: string; template: string }[];
  added_tokens_decoder?: Record<string, { content: string; special?: boolean }>;
  additional_special_tokens?: (string | { content: string })[];
  clean_up_tokenization_spaces?: boolean;
  legacy?: boolean;
  [key: string]: unknown;
}

interface Backend {
  encode(text: string, addSpecialTokens: boolean): number[];
  decode(ids: number[], skipSpecialTokens: boolean): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly vocabSize: number;
  readonly specialTokens: string[];
}

const tokenText = (t: TokenizerConfig["bos_token"]): string | null =>
  t == null ? null : typeof t === "string" ? t : t.content;

/**
 * A text tokenizer with VILA's conventions.
 * @example
 * const tok = await loadTokenizer("checkpoints/vila-tiny/llm");
 * const ids = tok.encode("hello");            // [bos, ...]
 * tok.decode(ids, { skipSpecialTokens: true }); // "hello"
 */
export class Tokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  readonly unkToken: string | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly modelMaxLength: number;
  readonly chatTemplate: string | null;

  private constructor(
    private readonly backend: Backend,
    readonly config: TokenizerConfig,
    readonly kind: "tokenizer.json" | "sentencepiece",
  ) {
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.padToken = tokenText(config.pad_token);
    this.unkToken = tokenText(config.unk_token);
    const id = (t: string | null) => (t === null ? null : (backend.tokenToId(t) ?? null));
    this.bosId = id(this.bosToken);
    this.eosId = id(this.eosToken);
    this.padId = id(this.padToken);
    // HF's "no limit" sentinel is 1e30; keep it as Infinity.
    const mml = config.model_max_length;
    this.modelMaxLength = typeof mml === "number" && mml < 1e18 ? mml : Number.POSITIVE_INFINITY;
    const ct = config.chat_template;
    this.chatTemplate =
      typeof ct === "string"
        ? ct
        : Array.isArray(ct)
          ? (ct.find((c) => c.name === "default")?.template ?? null)
          : null;
  }

  /** From parsed `tokenizer.json` and `tokenizer_config.json` objects. */
  static fromJSON(tokenizerJson: Record<string, unknown>, config: TokenizerConfig = {}): Tokenizer {
    const hfConfig = {
      ...config,
      clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? false,
    };
    const hf = new HfTokenizer(tokenizerJson, hfConfig);
    const added =
      (tokenizerJson.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? [];
    const special = added.filter((t) => t.special).map((t) => t.content);
    const model = tokenizerJson.model as { vocab?: Record<string, number> | [string, number][] } | undefined;
    let size = 0;
    const vocab = model?.vocab;
    if (Array.isArray(vocab)) size = vocab.length;
    else if (vocab) for (const v of Object.values(vocab)) size = Math.max(size, v + 1);
    for (const t of added) size = Math.max(size, t.id + 1);
    const unkName = (model as { unk_token?: string } | undefined)?.unk_token ?? tokenText(config.unk_token);
    const backend: Backend = {
      encode: (text, add) => {
        const enc = hf.encode(text, { add_special_tokens: add });
        // @huggingface/tokenizers' WordLevel leaves out-of-vocabulary words undefined instead of
        // mapping them to the unk token as the Rust library does; map them here (or say which word)
        if (!enc.ids.includes(undefined as unknown as number)) return enc.ids;
        const unk = unkName === null ? undefined : hf.token_to_id(unkName);
        return enc.ids.map((id: number | undefined, i: number) => {
          if (id !== undefined) return id;
          if (unk === undefined)
            throw new Error(
              `tokenizer: "${enc.tokens[i]}" is not in the vocabulary and there is no unk token`,
            );
          return unk;
        });
      },
      decode: (ids, skip) =>
        ids.length === 0
          ? ""
          : hf.decode(ids, {
              skip_special_tokens: skip,
              clean_up_tokenization_spaces: hfConfig.clean_up_tokenization_spaces,
            }),
      tokenToId: (t) => hf.token_to_id(t),
      idToToken: (i) => hf.id_to_token(i),
      vocabSize: size,
      specialTokens: special,
    };
    const cfg: TokenizerConfig = { ...config };
    cfg.add_bos_token ??= true;
    return new Tokenizer(backend, cfg, "tokenizer.json");
  }

  /** From the bytes of a SentencePiece `tokenizer.model` (Llama-2 family) and its config. */
  static fromSentencePiece(
    modelBytes: Uint8Array,
    config: TokenizerConfig = {},
    what = "tokenizer.model",
  ): Tokenizer {
    const sp = new SentencePieceBpe(parseSentencePieceModel(modelBytes, what), what);
    const m = sp.model;
    const cfg: TokenizerConfig = { ...config };
    cfg.bos_token ??= m.bosId >= 0 ? sp.idToPiece(m.bosId) : null;
    cfg.eos_token ??= m.eosId >= 0 ? sp.idToPiece(m.eosId) : null;
    cfg.unk_token ??= m.unkId >= 0 ? sp.idToPiece(m.unkId) : null;
    cfg.pad_token ??= m.padId >= 0 ? sp.idToPiece(m.padId) : null;
    cfg.add_bos_token ??= true;
    cfg.add_eos_token ??= false;
    const legacy = cfg.legacy ?? false;
    // Texts split out whole: special tokens and added tokens of the config.
    const splitSet = new Set<string>();
    for (const t of [cfg.bos_token, cfg.eos_token, cfg.unk_token, cfg.pad_token]) {
      const s = tokenText(t);
      if (s) splitSet.add(s);
    }
    for (const t of Object.values(cfg.added_tokens_decoder ?? {})) splitSet.add(t.content);
    for (const t of cfg.additional_special_tokens ?? []) splitSet.add(typeof t === "string" ? t : t.content);
    const extraIds = new Map<string, number>();
    for (const [id, t] of Object.entries(cfg.added_tokens_decoder ?? {}))
      if (sp.pieceToId(t.content) === undefined) extraIds.set(t.content, Number(id));
    const splitList = [...splitSet].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
    const specialIds = new Set<number>();
    for (const s of splitSet) {
      const id = sp.pieceToId(s) ?? extraIds.get(s);
      if (id !== undefined) specialIds.add(id);
    }
    const idOf = (s: string) => sp.pieceToId(s) ?? extraIds.get(s);

    const encodeText = (text: string): number[] => {
      if (text.length === 0) return [];
      const full = legacy ? text : `\u2581${text.replaceAll("\u2581", " ")}`;
      const out: number[] = [];
      let pendingLoneSpace = false;
      let first = true;
      for (const part of splitOn(full, splitList)) {
        if (part.special) {
          if (pendingLoneSpace) out.pop();
          out.push(idOf(part.text) as number);
        } else if (part.text.length > 0) {
          // legacy=False chunks are encoded with the dummy prefix off; the leading "▁" we added
          // is an ordinary char of chunk 0. In legacy mode sentencepiece's own prefix applies.
          const ids = legacy
            ? sp.encode(part.text)
            : sp.encode(part.text.replaceAll("\u2581", " "), { addDummyPrefix: false, midText: true });
          out.push(...ids);
          pendingLoneSpace = !legacy && first && part.text === "\u2581" && ids.length === 1;
        }
        if (part.text.length > 0) first = false;
        if (part.special) pendingLoneSpace = false;
      }
      return out;
    };
    const backend: Backend = {
      encode: (text, add) => {
        const ids = encodeText(text);
        if (add && cfg.add_bos_token && m.bosId >= 0)
          ids.unshift(idOf(tokenText(cfg.bos_token) as string) ?? m.bosId);
        if (add && cfg.add_eos_token && m.eosId >= 0)
          ids.push(idOf(tokenText(cfg.eos_token) as string) ?? m.eosId);
        return ids;
      },
      decode: (ids, skip) => {
        let out = "";
        let run: number[] = [];
        let atStart = true;
        const flush = () => {
          if (run.length === 0) return;
          let s = sp.decodePieces(run);
          // The prefix space we add when encoding is removed from the first token.
          if (atStart && s.startsWith(" ") && sp.idToPiece(run[0])?.startsWith("\u2581")) s = s.slice(1);
          out += s;
          run = [];
          atStart = false;
        };
        for (const id of ids) {
          if (specialIds.has(id)) {
            flush();
            if (!skip) out += sp.idToPiece(id) ?? [...extraIds].find(([, v]) => v === id)?.[0] ?? "";
            continue;
          }
          run.push(id);
        }
        flush();
        return out;
      },
      tokenToId: idOf,
      idToToken: (i) => sp.idToPiece(i) ?? [...extraIds].find(([, v]) => v === i)?.[0],
      vocabSize: Math.max(sp.vocabSize, ...[...extraIds.values()].map((v) => v + 1)),
      specialTokens: [...splitSet],
    };
    return new Tokenizer(backend, cfg, "sentencepiece");
  }

  get vocabSize(): number {
    return this.backend.vocabSize;
  }
  /** Contents of the special tokens (BOS/EOS/PAD/UNK and added special tokens). */
  get specialTokens(): string[] {
    return this.backend.specialTokens;
  }
  /** Whether `encode(text)` puts BOS in front (tokenizer_config `add_bos_token`). */
  get addsBos(): boolean {
    return this.config.add_bos_token !== false && this.bosId !== null;
  }

  /** Text -> ids. With `addSpecialTokens` (default) BOS is added as the tokenizer is configured. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.backend.encode(text, opts.addSpecialTokens ?? true);
  }
  /** Ids -> text. Negative ids (image/ignore placeholders) are an error. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const arr = Array.from(ids);
    for (const id of arr) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new Error(`tokenizer decode: id ${id} is not a token id (vocab size ${this.vocabSize})`);
    }
    return this.backend.decode(arr, opts.skipSpecialTokens ?? false);
  }
  tokenToId(token: string): number | undefined {
    return this.backend.tokenToId(token);
  }
  idToToken(id: number): string | undefined {
    return this.backend.idToToken(id);
  }
}

/** Splits `text` on any of `tokens` (longest first), keeping the tokens as special parts. */
export function splitOn(text: string, tokens: string[]): { text: string; special: boolean }[] {
  const out: { text: string; special: boolean }[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    let hit = "";
    for (const t of tokens) {
      if (text.startsWith(t, i)) {
        hit = t;
        break;
      }
    }
    if (hit) {
      if (i > start) out.push({ text: text.slice(start, i), special: false });
      out.push({ text: hit, special: true });
      i += hit.length;
      start = i;
    } else i++;
  }
  if (start < text.length) out.push({ text: text.slice(start), special: false });
  return out;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads the tokenizer in `dir`: `tokenizer.json` when present, else a SentencePiece
 * `tokenizer.model`; `tokenizer_config.json` (and `special_tokens_map.json`) when present.
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const cfgPath = join(dir, "tokenizer_config.json");
  const config = ((await exists(cfgPath)) ? await readJson(cfgPath) : {}) as TokenizerConfig;
  const stmPath = join(dir, "special_tokens_map.json");
  if (await exists(stmPath)) {
    const stm = (await readJson(stmPath)) as TokenizerConfig;
    for (const k of ["bos_token", "eos_token", "pad_token", "unk_token"] as const) config[k] ??= stm[k];
  }
  const jsonPath = join(dir, "tokenizer.json");
  if (await exists(jsonPath)) {
    try {
      return Tokenizer.fromJSON(await readJson(jsonPath), config);
    } catch (e) {
      throw new Error(`${jsonPath}: cannot build tokenizer (${(e as Error).message})`);
    }
  }
  const spPath = join(dir, "tokenizer.model");
  if (await exists(spPath))
    return Tokenizer.fromSentencePiece(new Uint8Array(await readFile(spPath)), config, spPath);
  throw new Error(`${dir}: no tokenizer.json or tokenizer.model found`);
}

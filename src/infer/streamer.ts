// Incremental detokenization for streaming, as transformers.js `TextStreamer` does it: the tokens so
// far are decoded as a whole (so tokenizer-level spacing rules hold), and text is released only up
// to the last word boundary (space or newline; a trailing CJK character counts as one). Never
// released: a trailing U+FFFD (the bytes of a UTF-8 character split across tokens), any text from a
// stop string on, or a suffix that could be the start of a stop string. `end()` flushes the rest.

/** What the streamer needs from a tokenizer (src/tokenizer Tokenizer satisfies it). */
export interface TextDecoderLike {
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string;
}

export interface StreamerOptions {
  /** drop special tokens (BOS/EOS/...) from the text; default true, as VILA's batch_decode. */
  skipSpecialTokens?: boolean;
  /** strings generation stops at: never streamed, nor any partial prefix of them. */
  stopStrings?: string[];
}

const REPLACEMENT = "\uFFFD";

/** CJK ideographs and friends: transformers' `_is_chinese_char` ranges. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * Length of the prefix of `text` that may be shown now (not final): up to the last word boundary,
 * before a trailing partial UTF-8 character, before any stop string or partial stop string at the end.
 */
export function readyLength(text: string, stopStrings: readonly string[] = []): number {
  let bad = text.length;
  while (bad > 0 && text[bad - 1] === REPLACEMENT) bad--;
  const whole = text.slice(0, bad);
  let end = Math.max(whole.lastIndexOf(" "), whole.lastIndexOf("\n")) + 1;
  const lastChar = [...whole.slice(-2)].pop();
  if (lastChar !== undefined && isCjk(lastChar.codePointAt(0) as number)) end = bad;
  for (const s of stopStrings) {
    if (!s) continue;
    const at = text.indexOf(s);
    if (at >= 0) end = Math.min(end, at);
    for (let k = Math.min(s.length - 1, text.length); k > 0; k--) {
      if (text.endsWith(s.slice(0, k))) {
        end = Math.min(end, text.length - k);
        break;
      }
    }
  }
  return end;
}

/**
 * Turns a stream of token ids into text deltas at word boundaries.
 * @example
 * const st = new TextStreamer(tokenizer, { stopStrings: ["</s>"] });
 * for (const id of ids) process.stdout.write(st.put(id));
 * process.stdout.write(st.end());
 */
export class TextStreamer {
  private readonly ids: number[] = [];
  private emitted = 0;
  private current = "";

  constructor(
    private readonly tokenizer: TextDecoderLike,
    private readonly opts: StreamerOptions = {},
  ) {}

  /** Everything decoded so far (including text not yet released). */
  get text(): string {
    return this.current;
  }

  /** Characters of `text` released so far. */
  get emittedLength(): number {
    return this.emitted;
  }

  /** Add one token; returns the newly releasable text ("" when none). */
  put(id: number): string {
    this.ids.push(id);
    this.current = this.tokenizer.decode(this.ids, {
      skipSpecialTokens: this.opts.skipSpecialTokens ?? true,
    });
    return this.release(readyLength(this.current, this.opts.stopStrings));
  }

  /** Release the rest of the text, up to `limit` characters (e.g. where a stop string starts). */
  end(limit = this.current.length): string {
    return this.release(limit);
  }

  private release(upTo: number): string {
    if (upTo <= this.emitted) return "";
    const out = this.current.slice(this.emitted, upTo);
    this.emitted = upTo;
    return out;
  }
}

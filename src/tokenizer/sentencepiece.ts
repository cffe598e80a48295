// SentencePiece `tokenizer.model` reader and BPE encoder for the Llama-2 family (Vicuna, VILA1.5-3B/13B
// without a tokenizer.json), following `sentencepiece/src/bpe_model.cc` and transformers'
// slow `LlamaTokenizer` with `legacy=False` (how VILA loads it).
//
// File format: a protobuf `ModelProto` (sentencepiece_model.proto):
//   1: repeated SentencePiece pieces { 1: string piece, 2: float score, 3: Type type }
//   2: TrainerSpec { 3: model_type (1 UNIGRAM, 2 BPE), 35: byte_fallback, 40: unk_id, 41: bos_id,
//      42: eos_id, 43: pad_id }
//   3: NormalizerSpec { 1: name, 2: precompiled_charsmap, 3: add_dummy_prefix,
//      4: remove_extra_whitespaces, 5: escape_whitespaces }
// Piece types: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE.
//
// Encoding (BPE): spaces become "▁"; the text is split into characters (user-defined pieces are
// matched whole first); the adjacent pair whose concatenation is a vocabulary piece with the highest
// score is merged repeatedly (ties: leftmost); symbols left that are not pieces become `<0xXX>` byte
// pieces (byte_fallback) or `<unk>`. Only the "identity" normalizer is supported (Llama-2's); others
// need the precompiled charsmap and raise a clear error.

export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePieceModel {
  pieces: { piece: string; score: number; type: PieceType }[];
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  normalizerName: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

// Minimal protobuf wire-format reader (varint, 64-bit, length-delimited, 32-bit).
class ProtoReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error(`${this.what}: truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error(`${this.what}: bad varint at byte ${this.pos}`);
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length)
      throw new Error(`${this.what}: field runs past the end (byte ${this.pos}, length ${n})`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  float(): number {
    if (this.pos + 4 > this.buf.length) throw new Error(`${this.what}: truncated float at byte ${this.pos}`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`${this.what}: unsupported wire type ${wire} at byte ${this.pos}`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a `tokenizer.model` (SentencePiece ModelProto) buffer. `what` names the file in errors. */
export function parseSentencePieceModel(buf: Uint8Array, what = "tokenizer.model"): SentencePieceModel {
  const m: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    normalizerName: "nmt_nfkc",
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const r = new ProtoReader(buf, what);
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const pr = new ProtoReader(r.bytes(), what);
      let piece = "";
      let score = 0;
      let type = PieceType.Normal;
      while (!pr.done) {
        const t = pr.varint();
        const f = Math.floor(t / 8);
        if (f === 1 && (t & 7) === 2) piece = utf8.decode(pr.bytes());
        else if (f === 2 && (t & 7) === 5) score = pr.float();
        else if (f === 3 && (t & 7) === 0) type = pr.varint() as PieceType;
        else pr.skip(t & 7);
      }
      m.pieces.push({ piece, score, type });
    } else if (field === 2 && wire === 2) {
      const tr = new ProtoReader(r.bytes(), what);
      while (!tr.done) {
        const t = tr.varint();
        const f = Math.floor(t / 8);
        if ((t & 7) !== 0) {
          tr.skip(t & 7);
          continue;
        }
        const v = tr.varint();
        // Negative int32 ids (pad_id -1) arrive as 10-byte varints of 2^64 - 1.
        const id = v >= 2 ** 31 ? -1 : v;
        if (f === 3) m.modelType = v;
        else if (f === 35) m.byteFallback = v !== 0;
        else if (f === 40) m.unkId = id;
        else if (f === 41) m.bosId = id;
        else if (f === 42) m.eosId = id;
        else if (f === 43) m.padId = id;
      }
    } else if (field === 3 && wire === 2) {
      const nr = new ProtoReader(r.bytes(), what);
      while (!nr.done) {
        const t = nr.varint();
        const f = Math.floor(t / 8);
        if (f === 1 && (t & 7) === 2) m.normalizerName = utf8.decode(nr.bytes());
        else if (f === 3 && (t & 7) === 0) m.addDummyPrefix = nr.varint() !== 0;
        else if (f === 4 && (t & 7) === 0) m.removeExtraWhitespaces = nr.varint() !== 0;
        else if (f === 5 && (t & 7) === 0) m.escapeWhitespaces = nr.varint() !== 0;
        else nr.skip(t & 7);
      }
    } else r.skip(wire);
  }
  if (m.pieces.length === 0) throw new Error(`${what}: no pieces found (not a SentencePiece model?)`);
  return m;
}

const SPACE = "\u2581";

/** A SentencePiece BPE encoder/decoder over a parsed model. */
export class SentencePieceBpe {
  private readonly ids = new Map<string, number>();
  private readonly userDefined: string[];
  private readonly byteIds = new Int32Array(256).fill(-1);
  // True when every piece with "▁" past its first char is all "▁" (Llama-2: "▁▁", "▁▁▁▁"), so no
  // merge can cross a boundary between a non-"▁" char and a "▁": the text can then be encoded
  // word by word with identical results (and in linear time).
  private readonly splitAtSpaces: boolean;

  constructor(
    readonly model: SentencePieceModel,
    readonly what = "tokenizer.model",
  ) {
    if (model.modelType !== 2)
      throw new Error(
        `${what}: model_type ${model.modelType} is not BPE (2); only BPE SentencePiece models are supported`,
      );
    if (model.normalizerName !== "identity" && model.normalizerName !== "") {
      throw new Error(
        `${what}: normalizer "${model.normalizerName}" is not supported (only "identity", as Llama-2 uses)`,
      );
    }
    model.pieces.forEach((p, i) => {
      if (!this.ids.has(p.piece)) this.ids.set(p.piece, i);
      if (p.type === PieceType.Byte) {
        const b = /^<0x([0-9A-Fa-f]{2})>$/.exec(p.piece);
        if (b) this.byteIds[Number.parseInt(b[1], 16)] = i;
      }
    });
    this.userDefined = model.pieces
      .filter((p) => p.type === PieceType.UserDefined)
      .map((p) => p.piece)
      .sort((a, b) => b.length - a.length);
    this.splitAtSpaces = model.pieces.every(
      (p) => p.piece.indexOf(SPACE, 1) < 0 || /^\u2581+$/u.test(p.piece),
    );
  }

  get vocabSize(): number {
    return this.model.pieces.length;
  }
  pieceToId(piece: string): number | undefined {
    return this.ids.get(piece);
  }
  idToPiece(id: number): string | undefined {
    return this.model.pieces[id]?.piece;
  }

  /**
   * Text -> normalized string as sentencepiece sees it (space escaping, optional dummy prefix).
   * `midText` normalizes as if the text followed other text (a leading space is kept), which is
   * what transformers' `unk_token + text` trick achieves for legacy=False chunks.
   */
  normalize(text: string, addDummyPrefix = this.model.addDummyPrefix, midText = false): string {
    let t = text;
    if (this.model.removeExtraWhitespaces) t = t.replace(/ +/g, " ").replace(midText ? / $/g : /^ | $/g, "");
    if (t.length === 0) return "";
    if (addDummyPrefix) t = ` ${t}`;
    return this.model.escapeWhitespaces ? t.replaceAll(" ", SPACE) : t;
  }

  /**
   * Encodes raw text as `sp.encode(text)` does (the model's own normalizer settings), or with the
   * dummy prefix forced off (`addDummyPrefix: false`, what transformers' legacy=False loader sets).
   */
  encode(text: string, opts: { addDummyPrefix?: boolean; midText?: boolean } = {}): number[] {
    const norm = this.normalize(
      text,
      opts.addDummyPrefix ?? this.model.addDummyPrefix,
      opts.midText ?? false,
    );
    if (!this.splitAtSpaces || this.userDefined.length > 0) return this.encodeNormalized(norm);
    const out: number[] = [];
    for (const word of norm.split(/(?<=[^\u2581])(?=\u2581)/u))
      if (word) out.push(...this.encodeNormalized(word));
    return out;
  }

  private encodeNormalized(norm: string): number[] {
    // Initial symbols: user-defined pieces whole, else single code points.
    const syms: string[] = [];
    const chars = Array.from(norm);
    for (let i = 0; i < chars.length; ) {
      let matched = "";
      if (this.userDefined.length > 0) {
        const rest = chars.slice(i).join("");
        for (const u of this.userDefined) {
          if (rest.startsWith(u)) {
            matched = u;
            break;
          }
        }
      }
      if (matched) {
        syms.push(matched);
        i += Array.from(matched).length;
      } else syms.push(chars[i++]);
    }
    // Greedy merge by score over a doubly linked list (bpe_model.cc's agenda, done by scanning).
    const n = syms.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const fixed = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
      if (this.userDefined.length > 0 && this.userDefined.includes(syms[i]) && syms[i].length > 1)
        fixed[i] = 1;
    }
    const pieces = this.model.pieces;
    const pairScore = (l: number, r: number): number => {
      if (fixed[l] || fixed[r]) return Number.NEGATIVE_INFINITY;
      const id = this.ids.get(syms[l] + syms[r]);
      if (id === undefined) return Number.NEGATIVE_INFINITY;
      const p = pieces[id];
      if (p.type === PieceType.Unused || p.type === PieceType.Control || p.type === PieceType.Unknown)
        return Number.NEGATIVE_INFINITY;
      return p.score;
    };
    // Pair scores cached per left index; recomputed for neighbours after each merge.
    const score = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < n; i++) if (next[i] >= 0) score[i] = pairScore(i, next[i]);
    for (;;) {
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i !== -1 && i < n; i = next[i]) {
        if (score[i] > bestScore) {
          bestScore = score[i];
          best = i;
        }
      }
      if (best < 0) break;
      const r = next[best];
      syms[best] = syms[best] + syms[r];
      next[best] = next[r];
      if (next[r] >= 0) prev[next[r]] = best;
      score[best] = next[best] >= 0 ? pairScore(best, next[best]) : Number.NEGATIVE_INFINITY;
      if (prev[best] >= 0) score[prev[best]] = pairScore(prev[best], best);
    }
    const out: number[] = [];
    const enc = new TextEncoder();
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]) {
      const id = this.ids.get(syms[i]);
      const t = id === undefined ? undefined : pieces[id].type;
      if (id !== undefined && t !== PieceType.Unused && t !== PieceType.Control) out.push(id);
      else if (this.model.byteFallback) {
        for (const b of enc.encode(syms[i])) {
          const bid = this.byteIds[b];
          if (bid < 0)
            throw new Error(
              `${this.what}: byte_fallback is on but piece <0x${b.toString(16).toUpperCase().padStart(2, "0")}> is missing`,
            );
          out.push(bid);
        }
      } else out.push(this.model.unkId);
    }
    return out;
  }

  /** Ids -> text: byte pieces re-assembled as UTF-8, "▁" -> " ". Control pieces are dropped. */
  decodePieces(ids: number[]): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    for (const id of ids) {
      const p = this.model.pieces[id];
      if (!p) throw new Error(`${this.what}: id ${id} is out of range (vocab ${this.model.pieces.length})`);
      if (p.type === PieceType.Control) continue;
      if (p.type === PieceType.Byte) {
        bytes.push(Number.parseInt(p.piece.slice(3, 5), 16));
        continue;
      }
      if (p.type === PieceType.Unknown) {
        for (const b of enc.encode(" \u2047 ")) bytes.push(b);
        continue;
      }
      for (const b of enc.encode(p.piece.replaceAll(SPACE, " "))) bytes.push(b);
    }
    return new TextDecoder("utf-8").decode(new Uint8Array(bytes));
  }
}

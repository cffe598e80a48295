// JSON Lines input: a streaming line reader (data larger than memory) and a random-access index
// (byte offset of every line, 8 bytes per sample) used by the shuffled mixture. Errors name the
// file and the 1-based line. Blank lines are allowed and skipped (they are not samples).

import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { readRanges } from "../io/read_at.js";
import { type BadSamples, DataError } from "./bad_samples.js";

export interface JsonlLine {
  value: unknown;
  file: string;
  line: number;
}

/** Parses one line; a malformed line is a DataError naming file:line. */
export function parseJsonLine(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataError(file, line, "json", `invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Streams the JSON values of a .jsonl file in order. Malformed lines throw, or are skipped and
 * counted when `bad.skip` is set.
 * @example
 * for await (const { value, line } of readJsonl("pairs.jsonl")) console.log(line, value);
 */
export async function* readJsonl(file: string, bad?: BadSamples): AsyncGenerator<JsonlLine> {
  const rl = createInterface({
    input: createReadStream(file, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === "") continue;
    try {
      yield { value: parseJsonLine(text, file, line), file, line };
    } catch (e) {
      if (!bad) throw e;
      bad.handle(e);
    }
  }
}

/** Byte offsets of the non-blank lines of a .jsonl file, for random access. */
export class JsonlIndex {
  private constructor(
    readonly file: string,
    /** start[i], end[i]: byte range of sample i (end excludes the newline). */
    private readonly start: Float64Array,
    private readonly end: Float64Array,
    /** lineNo[i]: 1-based line number of sample i. */
    private readonly lineNo: Float64Array,
  ) {}

  get length(): number {
    return this.start.length;
  }

  /** Scans `file` once (streaming, 1 MiB chunks) and records where each line starts and ends. */
  static async build(file: string): Promise<JsonlIndex> {
    const fh = await open(file, "r");
    const starts: number[] = [];
    const ends: number[] = [];
    const lines: number[] = [];
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let pos = 0;
      let lineStart = 0;
      let line = 1;
      let blank = true;
      const finish = (endPos: number) => {
        if (!blank) {
          starts.push(lineStart);
          ends.push(endPos);
          lines.push(line);
        }
      };
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        for (let i = 0; i < bytesRead; i++) {
          const c = buf[i];
          if (c === 10) {
            finish(pos + i);
            line++;
            lineStart = pos + i + 1;
            blank = true;
          } else if (c !== 32 && c !== 9 && c !== 13) blank = false;
        }
        pos += bytesRead;
      }
      finish(pos);
    } finally {
      await fh.close();
    }
    return new JsonlIndex(file, Float64Array.from(starts), Float64Array.from(ends), Float64Array.from(lines));
  }

  /** 1-based line number of sample `i`. */
  lineOf(i: number): number {
    return this.lineNo[i];
  }

  /** Reads and parses sample `i` (errors name file:line). */
  async get(i: number): Promise<JsonlLine> {
    if (i < 0 || i >= this.length)
      throw new RangeError(`${this.file}: sample ${i} out of range (${this.length})`);
    const [buf] = readRanges(this.file, [{ offset: this.start[i], size: this.end[i] - this.start[i] }]);
    const line = this.lineNo[i];
    return { value: parseJsonLine(buf.toString("utf8"), this.file, line), file: this.file, line };
  }
}

// WebDataset `.tar` shards: members `<key>.<ext>` grouped by key into samples (key = member path up
// to the first "." of its base name, as webdataset's `base_plus_ext` does), e.g. `000012.png` +
// `000012.txt` + `000012.json`. Two access paths:
// - readTarShard: sequential streaming through tar-stream (constant memory per sample);
// - TarIndex: one header scan records each member's byte range, then samples are read by index
//   (the shuffled mixture needs random access).
// A shard cut short is a DataError naming the shard and the member/sample where it ends.

import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { posix } from "node:path";
import tar from "tar-stream";
import { readRanges } from "../io/read_at.js";
import { DataError } from "./bad_samples.js";

/** One WebDataset sample: its key and members by extension ("png", "txt", "json", ...). */
export interface WdsSample {
  key: string;
  members: Map<string, Buffer>;
  /** The shard file and the 1-based sample number inside it (for error messages). */
  file: string;
  index: number;
}

/** Splits a member path into [key, extension] (`a/b/000012.seg.png` -> [`a/b/000012`, `seg.png`]). */
export function splitMemberName(name: string): [string, string] | null {
  const dir = posix.dirname(name);
  const base = posix.basename(name);
  const dot = base.indexOf(".");
  if (dot <= 0) return null;
  const key = (dir === "." ? "" : `${dir}/`) + base.slice(0, dot);
  return [key, base.slice(dot + 1).toLowerCase()];
}

/**
 * Streams the samples of one shard in order, grouping consecutive members by key.
 * @example
 * for await (const s of readTarShard("pairs-000000.tar")) s.members.get("txt")?.toString();
 */
export async function* readTarShard(file: string): AsyncGenerator<WdsSample> {
  const extract = tar.extract();
  const input = createReadStream(file);
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract);
  let cur: WdsSample | null = null;
  let index = 0;
  let lastMember = "(start)";
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const name = entry.header.name;
      lastMember = name;
      if (entry.header.type !== "file" && entry.header.type !== "contiguous-file") continue;
      const split = splitMemberName(name);
      if (!split) continue;
      const [key, ext] = split;
      if (!cur || cur.key !== key) {
        if (cur) yield cur;
        cur = { key, members: new Map(), file, index: ++index };
      }
      cur.members.set(ext, Buffer.concat(chunks));
    }
  } catch (e) {
    throw new DataError(
      file,
      index,
      "tar",
      `tar shard is truncated or corrupt after member "${lastMember}" (${(e as Error).message})`,
    );
  }
  if (cur) yield cur;
}

interface MemberRange {
  ext: string;
  offset: number;
  size: number;
}

function parseOctal(buf: Buffer, start: number, len: number): number {
  // GNU base-256 for large sizes: high bit of the first byte set.
  if (buf[start] & 0x80) {
    let v = buf[start] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i];
    return v;
  }
  const s = buf
    .toString("latin1", start, start + len)
    .replace(/\0.*$/s, "")
    .trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

function cString(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("utf8", start, end < 0 || end > start + len ? start + len : end);
}

/** Random access to the samples of one shard after a single header scan. */
export class TarIndex {
  private constructor(
    readonly file: string,
    private readonly samples: { key: string; members: MemberRange[] }[],
  ) {}

  get length(): number {
    return this.samples.length;
  }

  /** Scans the tar headers (ustar, pax `path=`, GNU long names); data blocks are not read. */
  static async build(file: string): Promise<TarIndex> {
    const fh = await open(file, "r");
    const samples: { key: string; members: MemberRange[] }[] = [];
    try {
      const { size: fileSize } = await fh.stat();
      const hdr = Buffer.alloc(512);
      let pos = 0;
      let longName: string | null = null;
      let lastMember = "(start)";
      while (pos + 512 <= fileSize) {
        await fh.read(hdr, 0, 512, pos);
        if (hdr.every((b) => b === 0)) return new TarIndex(file, samples);
        const size = parseOctal(hdr, 124, 12);
        const type = String.fromCharCode(hdr[156] || 48);
        const dataStart = pos + 512;
        if (dataStart + size > fileSize) {
          throw new DataError(
            file,
            samples.length + 1,
            "tar",
            `tar shard is truncated: member "${cString(hdr, 0, 100)}" needs ${size} bytes, the file ends first`,
          );
        }
        let name = cString(hdr, 0, 100);
        if (hdr.toString("latin1", 257, 262) === "ustar") {
          const prefix = cString(hdr, 345, 155);
          if (prefix) name = `${prefix}/${name}`;
        }
        if (type === "L" || type === "x") {
          const body = Buffer.alloc(size);
          await fh.read(body, 0, size, dataStart);
          if (type === "L") longName = cString(body, 0, size);
          else {
            const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
            if (m) longName = m[1];
          }
        } else if (type === "0" || type === "7") {
          const fullName = longName ?? name;
          longName = null;
          lastMember = fullName;
          const split = splitMemberName(fullName);
          if (split) {
            const [key, ext] = split;
            const last = samples[samples.length - 1];
            if (last && last.key === key) last.members.push({ ext, offset: dataStart, size });
            else samples.push({ key, members: [{ ext, offset: dataStart, size }] });
          }
        } else longName = null;
        pos = dataStart + Math.ceil(size / 512) * 512;
      }
      if (pos !== fileSize) {
        throw new DataError(
          file,
          samples.length,
          "tar",
          `tar shard is truncated: partial header after member "${lastMember}"`,
        );
      }
      return new TarIndex(file, samples);
    } finally {
      await fh.close();
    }
  }

  /** Reads sample `i` (0-based). */
  async get(i: number): Promise<WdsSample> {
    const s = this.samples[i];
    if (!s) throw new RangeError(`${this.file}: sample ${i} out of range (${this.length})`);
    const bufs = readRanges(this.file, s.members);
    const members = new Map<string, Buffer>(s.members.map((m, k) => [m.ext, bufs[k]]));
    return { key: s.key, members, file: this.file, index: i + 1 };
  }
}

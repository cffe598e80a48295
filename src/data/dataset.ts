// A dataset = random access to the records of one source (one or more files of one format).
// JSONL and tar shards are indexed once (byte offsets only), so data larger than memory works and
// a shuffled order can be resumed exactly; a LLaVA `.json` list is one document and is loaded whole.

import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DataError } from "./bad_samples.js";
import { JsonlIndex } from "./jsonl.js";
import { parseLlavaJson, readLlavaJsonList } from "./llava.js";
import { parseMmc4Json } from "./mmc4.js";
import { parsePairJson, parsePairWds } from "./pairs.js";
import type { DataRecord } from "./records.js";
import { parseTextJson } from "./text.js";
import { TarIndex } from "./webdataset.js";

export type DataFormat = "pairs" | "mmc4" | "llava" | "text";

/** Where a dataset lives: files (or folders of `.tar` shards) in one format. */
export interface DatasetSpec {
  name: string;
  format: DataFormat;
  /** `.jsonl`, `.json` (llava), `.tar` files, or folders holding `.tar` shards (pairs). */
  paths: string[];
  /** Folder that relative image paths are resolved against (default: the data file's folder). */
  mediaDir?: string;
}

/** Random access to records; `get` throws DataError for a bad record. */
export interface SourceDataset {
  readonly name: string;
  readonly length: number;
  get(i: number): Promise<DataRecord>;
}

type Part = { length: number; get(i: number): Promise<DataRecord> };

class ConcatDataset implements SourceDataset {
  readonly length: number;
  private readonly starts: number[] = [];
  constructor(
    readonly name: string,
    private readonly parts: Part[],
  ) {
    let n = 0;
    for (const p of parts) {
      this.starts.push(n);
      n += p.length;
    }
    this.length = n;
  }
  get(i: number): Promise<DataRecord> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new RangeError(`dataset ${this.name}: index ${i} out of range (${this.length})`);
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.parts[lo].get(i - this.starts[lo]);
  }
}

async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch {
      throw new DataError(p, 0, "field", "data file or folder not found");
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith(".tar")).sort();
      if (names.length === 0) throw new DataError(p, 0, "field", "folder holds no .tar shards");
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}

async function openPart(file: string, spec: DatasetSpec): Promise<Part> {
  const media = spec.mediaDir ?? dirname(file);
  if (file.endsWith(".tar")) {
    if (spec.format !== "pairs")
      throw new DataError(file, 0, "field", `.tar shards hold pairs, not format "${spec.format}"`);
    const idx = await TarIndex.build(file);
    return { length: idx.length, get: async (i) => parsePairWds(await idx.get(i)) };
  }
  if (file.endsWith(".json")) {
    if (spec.format !== "llava")
      throw new DataError(
        file,
        0,
        "field",
        `a .json list is read only for format "llava" (got "${spec.format}")`,
      );
    const list = await readLlavaJsonList(file);
    return { length: list.length, get: async (i) => parseLlavaJson(list[i], file, i + 1, media) };
  }
  const idx = await JsonlIndex.build(file);
  const parse = {
    pairs: parsePairJson,
    mmc4: parseMmc4Json,
    llava: parseLlavaJson,
    text: (v: unknown, f: string, l: number) => parseTextJson(v, f, l),
  }[spec.format];
  return {
    length: idx.length,
    get: async (i) => {
      const { value, line } = await idx.get(i);
      return parse(value, file, line, media);
    },
  };
}

/**
 * Opens a dataset for random access.
 * @example
 * const ds = await openDataset({ name: "coyo", format: "pairs", paths: ["world/pairs/wds"] });
 * const rec = await ds.get(0);
 */
export async function openDataset(spec: DatasetSpec): Promise<SourceDataset> {
  const files = await expandPaths(spec.paths);
  const parts = await Promise.all(files.map((f) => openPart(f, spec)));
  return new ConcatDataset(spec.name, parts);
}

// Bad-input accounting for the data pipeline. Every reader and builder reports a bad sample
// (malformed JSON line, missing/corrupt image, unmatched conversation role, truncated tar shard,
// ...) as a DataError that names the file and line (or tar member). By default the error is
// thrown; with `--skip-bad-samples` the sample is skipped and counted, and `report()` gives the
// totals at the end of a run. Nothing is dropped silently.

/** A problem with one input sample, located by file and line / member. */
export class DataError extends Error {
  constructor(
    /** File (or `shard.tar:member`) the sample came from. */
    readonly file: string,
    /** 1-based line (JSONL) or record index (JSON list / tar sample); 0 if not applicable. */
    readonly line: number,
    /** Short machine-friendly kind: "json", "image", "role", "tar", "field", "tokenize". */
    readonly kind: string,
    detail: string,
  ) {
    super(`${file}${line > 0 ? `:${line}` : ""}: ${detail}`);
    this.name = "DataError";
  }
}

/** Counts skipped samples by kind and keeps the first few messages for the final report. */
export class BadSamples {
  private readonly byKind = new Map<string, number>();
  private readonly examples: string[] = [];
  total = 0;

  constructor(
    /** Skip and count (true) or throw (false, the default). */
    readonly skip = false,
    private readonly keepExamples = 5,
  ) {}

  /** Throws `err` unless skipping; when skipping, counts it. */
  handle(err: unknown): void {
    if (!(err instanceof DataError) || !this.skip) throw err;
    this.total++;
    this.byKind.set(err.kind, (this.byKind.get(err.kind) ?? 0) + 1);
    if (this.examples.length < this.keepExamples) this.examples.push(err.message);
  }

  /** Plain-data counts, e.g. for metrics JSONL or a checkpoint. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.byKind);
  }

  /** One line per kind plus the first examples; "" when nothing was skipped. */
  report(): string {
    if (this.total === 0) return "";
    const kinds = [...this.byKind].map(([k, n]) => `${k} ${n}`).join(", ");
    return [
      `skipped ${this.total} bad sample(s) (${kinds}); first:`,
      ...this.examples.map((e) => `  ${e}`),
    ].join("\n");
  }
}

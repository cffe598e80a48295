// Training metrics as JSONL (one JSON object per line, appended as they happen): `{"type":"train",
// "step", "loss", "lr", "grad_norm", "tokens", "ms", ...}` per optimizer step and
// `{"type":"eval", "step", ...}` per evaluation. On resume the file is cut back to the
// checkpoint's step so the curves of a resumed run equal those of an uninterrupted one.

import fs from "node:fs";
import { writeFileAtomic } from "../io/safetensors_writer.js";

export interface TrainRecord {
  type: "train";
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  ms: number;
  epoch: number;
}

export interface EvalRecord {
  type: "eval";
  step: number;
  [metric: string]: number | string;
}

export type MetricRecord = TrainRecord | EvalRecord;

/** Appends records to a JSONL file. */
export class MetricsWriter {
  constructor(readonly file: string) {}

  /** Start the file: empty for a fresh run, or the records up to `keepUpToStep` for a resume. */
  open(keepUpToStep: number | null): MetricRecord[] {
    const kept = keepUpToStep === null ? [] : readMetrics(this.file).filter((r) => r.step <= keepUpToStep);
    const text = kept.map((r) => `${JSON.stringify(r)}\n`).join("");
    writeFileAtomic(this.file, (fd) => {
      if (text) fs.writeSync(fd, text);
    });
    return kept;
  }

  write(r: MetricRecord): void {
    fs.appendFileSync(this.file, `${JSON.stringify(r)}\n`);
  }
}

/** Every record of a metrics file (a torn last line from a crash is ignored). */
export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // only the line a killed process was writing can be torn
    }
  }
  return out;
}

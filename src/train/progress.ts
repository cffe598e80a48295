// What a person sees during training: on a TTY one status line redrawn in place
// (`step 120/1000 [#####.....] 12% | loss 2.3142 | lr 1.0e-4 | 1,530 tok/s | ETA 4m10s`);
// elsewhere nothing extra (the trainer's interval log lines are the plain-text record).
// The stream is passed in; this file never touches `process`.

/** A writable text stream (process.stderr in the CLI). */
export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressState {
  step: number;
  total: number;
  loss: number;
  lr: number;
  tokPerSec: number;
  /** seconds left, estimated */
  etaSec: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Integer with thousands separators (1,530). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** The status line (without colours), fitted to `width` columns. */
export function progressLine(p: ProgressState, width = 100): string {
  const frac = p.total ? Math.min(1, p.step / p.total) : 0;
  const tail = ` ${Math.floor(frac * 100)}% | loss ${p.loss.toFixed(4)} | lr ${p.lr.toExponential(1)} | ${formatCount(p.tokPerSec)} tok/s | ETA ${formatDuration(p.etaSec)}`;
  const head = `step ${p.step}/${p.total} `;
  const barWidth = Math.max(5, Math.min(30, width - head.length - tail.length - 3));
  const filled = Math.round(frac * barWidth);
  return `${head}[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]${tail}`;
}

/** Redraws one status line on a TTY; silent otherwise. */
export class ProgressBar {
  private shown = false;
  constructor(private readonly out: TextSink) {}

  get active(): boolean {
    return this.out.isTTY === true;
  }

  update(p: ProgressState): void {
    if (!this.active) return;
    this.out.write(`\r\x1b[2K${progressLine(p, this.out.columns ?? 100)}`);
    this.shown = true;
  }

  /** Erase the bar (before printing a log line); the next update draws it again. */
  clear(): void {
    if (this.shown) this.out.write("\r\x1b[2K");
    this.shown = false;
  }

  done(): void {
    if (this.shown) this.out.write("\n");
    this.shown = false;
  }
}

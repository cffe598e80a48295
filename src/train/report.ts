// The end-of-run report: one self-contained HTML file (no scripts, no external assets) with inline
// SVG line charts of the training loss and learning rate per step, eval metrics over steps when
// there are numeric ones, and the evaluation table given as rows.

import type { EvalRecord, TrainRecord } from "./metrics.js";

export interface ReportInput {
  title: string;
  train: TrainRecord[];
  evals: EvalRecord[];
  /** key facts shown at the top (config name, steps, final loss, checkpoint, ...) */
  summary: Record<string, string | number>;
}

export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function tick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

/** An SVG line chart of one or more series (x = step). Non-finite points are left out. */
export function lineChart(
  title: string,
  series: Series[],
  opts: { width?: number; height?: number; yLabel?: string } = {},
): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 260;
  const m = { l: 64, r: 16, t: 28, b: 36 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`;
  const titleEl = `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`;
  if (pts.length === 0)
    return `${head}${titleEl}<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts = [head, titleEl];
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#ccc"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    const xv = x0 + ((x1 - x0) * i) / 4;
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(yv).toFixed(1)}" y2="${sy(yv).toFixed(1)}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${m.l - 6}" y="${(sy(yv) + 4).toFixed(1)}" text-anchor="end" font-size="11">${tick(yv)}</text>`,
    );
    parts.push(
      `<text x="${sx(xv).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${Math.round(xv)}</text>`,
    );
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 4}" text-anchor="middle" font-size="11">step</text>`);
  if (opts.yLabel)
    parts.push(
      `<text x="14" y="${H / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${H / 2})">${esc(opts.yLabel)}</text>`,
    );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const d = ok.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    parts.push(
      `<path class="series" data-name="${esc(s.name)}" d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/>`,
    );
    if (ok.length <= 40)
      for (const [x, y] of ok)
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2" fill="${c}"/>`);
    if (series.length > 1)
      parts.push(
        `<text x="${W - m.r - 4}" y="${m.t + 14 + 14 * i}" text-anchor="end" font-size="11" fill="${c}">${esc(s.name)}</text>`,
      );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** A table of rows (columns = union of keys, in first-seen order). */
export function htmlTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return "<p>No evaluations were run.</p>";
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: unknown) =>
    typeof v === "number"
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(4)
      : v === undefined
        ? ""
        : esc(String(v));
  const head = `<tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n${head}\n${body}\n</table>`;
}

/** The report HTML (a complete document). */
export function renderReport(r: ReportInput): string {
  const loss = lineChart("training loss", [{ name: "loss", points: r.train.map((t) => [t.step, t.loss]) }], {
    yLabel: "loss",
  });
  const lr = lineChart("learning rate", [{ name: "lr", points: r.train.map((t) => [t.step, t.lr]) }], {
    yLabel: "lr",
  });
  const evalKeys = [
    ...new Set(
      r.evals.flatMap((e) =>
        Object.keys(e).filter((k) => k !== "type" && k !== "step" && typeof e[k] === "number"),
      ),
    ),
  ];
  const evalChart = evalKeys.length
    ? lineChart(
        "evaluation",
        evalKeys.map((k) => ({
          name: k,
          points: r.evals
            .filter((e) => typeof e[k] === "number")
            .map((e): [number, number] => [e.step, e[k] as number]),
        })),
      )
    : "";
  const summary = Object.entries(r.summary)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`)
    .join("\n");
  const rows = r.evals.map(({ type: _t, ...rest }) => rest);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th{background:#f5f5f5}svg.chart{display:block;margin:12px 0}</style>
</head><body>
<h1>${esc(r.title)}</h1>
<table>
${summary}
</table>
<h2>Curves</h2>
${loss}
${lr}
${evalChart}
<h2>Evaluation</h2>
${htmlTable(rows)}
</body></html>
`;
}

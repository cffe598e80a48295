// The recipe report: one Markdown and one self-contained HTML file in the recipe's output folder.
// Per stage: status (ran / cached), wall time, throughput, peak RSS and the stage's key number;
// loss curves of every training stage (train/report.ts's SVG charts); the evaluation table — each
// benchmark x shots x stage beside the trivial baselines (the most frequent answer, overall and per
// question type in the training data; the model with every image withheld) and two oracles (the best
// constant and each type's most frequent answer among the evaluated questions) — with a
// per-question-type table after the last stage, and a short statement, computed from those numbers,
// of which of the paper's effects this run shows and which it does not.

import fs from "node:fs";
import path from "node:path";
import { writeTextAtomic } from "../eval/index.js";
import { readMetrics, type TrainRecord } from "../train/metrics.js";
import { htmlTable, lineChart, type Series } from "../train/report.js";
import { outputPath } from "./cache.js";
import type { EvalReport, EvalRow } from "./executors.js";
import type { RecipePreset } from "./presets.js";
import type { StageRun } from "./run.js";

export interface RecipeReportInput {
  preset: RecipePreset;
  runs: StageRun[];
  seconds: number;
  stopped: boolean;
  finalCheckpoint: string | null;
  /** the process's peak RSS, MiB */
  peakRssMib: number;
}

export interface RecipeReportFiles {
  markdown: string;
  html: string;
}

/** The benchmarks that need an image (the ones the "image withheld" baseline is about). */
export const VISUAL_BENCHMARKS = ["vqa", "textvqa", "knowledge", "captions", "multi_image"];
/** A score counts as clearly above its baselines when it beats the best of them by this many points. */
export const CLEAR_MARGIN = 5;

const STAGE_LABEL: Record<string, string> = {
  base_llm: "base LLM",
  align: "stage 0 (align)",
  pretrain: "stage 1 (pre-train)",
  lookups: "stage 1.5 (lookups)",
  sft: "stage 2 (SFT)",
};

interface StageRow {
  stage: string;
  kind: string;
  status: string;
  seconds: string;
  throughput: string;
  peak_rss: string;
  result: string;
}

const n1 = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(1) : "-");
const n2 = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "-");
const count = (x: unknown) =>
  typeof x === "number" && Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-";

function stageRows(runs: StageRun[]): StageRow[] {
  return runs.map(({ stage, record, cached }) => {
    const m = (record?.metrics ?? {}) as Record<string, unknown>;
    let throughput = "-";
    let result = "";
    if (stage.kind === "vision_tower") {
      throughput = `${count(m.patch_tokens_per_second)} patch tok/s`;
      const r = m.retrieval as
        | { heldOut: { imageToText: number; textToImage: number; chance: number } }
        | undefined;
      if (r)
        result = `held-out retrieval top-1 ${n1(100 * r.heldOut.imageToText)}% / ${n1(100 * r.heldOut.textToImage)}% (chance ${n1(100 * r.heldOut.chance)}%)`;
    } else if (stage.kind === "eval") {
      throughput = `${count(m.tokens_per_second)} gen tok/s`;
      result = `${m.rows ?? 0} runs`;
    } else if (m.tokens_per_second !== undefined) {
      throughput = `${count(m.tokens_per_second)} tok/s`;
      result = `${m.steps} steps, ${count(m.tokens)} tokens, loss ${n2(m.first_loss)} -> ${n2(m.final_loss)}`;
    } else if (stage.kind === "tokenizer") result = `${m.vocab_size} tokens`;
    else if (stage.kind === "world" && m.counts)
      result = `${count((m.counts as Record<string, number>).images_train)} training images`;
    return {
      stage: stage.name,
      kind: stage.kind,
      status: record ? (cached ? "cached" : "ran") : "interrupted",
      seconds: record ? n1(record.seconds) : "-",
      throughput,
      peak_rss: record ? `${Math.round(record.peak_rss_mib)} MiB` : "-",
      result,
    };
  });
}

/** Evaluations by training stage name. */
function readEvals(runs: StageRun[]): Map<string, EvalReport> {
  const out = new Map<string, EvalReport>();
  for (const r of runs) {
    if (r.stage.kind !== "eval" || !r.record) continue;
    const rep = JSON.parse(fs.readFileSync(outputPath(r.dir, r.record, "eval"), "utf8")) as EvalReport;
    out.set(rep.stage, rep);
  }
  return out;
}

interface TableRow {
  benchmark: string;
  metric: string;
  shots: number;
  [col: string]: string | number;
}

function scoreOf(
  rep: EvalReport | undefined,
  bench: string,
  shots: number,
  withheld: boolean,
): number | null {
  const row = rep?.rows.find((r) => r.bench === bench && r.shots === shots && r.withhold_image === withheld);
  return row?.score ?? null;
}

/** The eval table: benchmark x shots rows; a column per evaluated stage, then the baselines. */
function evalTable(preset: RecipePreset, evals: Map<string, EvalReport>): TableRow[] {
  const stages = [...evals.keys()];
  const rows: TableRow[] = [];
  for (const bench of preset.eval.benchmarks) {
    // the baselines of the last stage that evaluated this benchmark: the verdict's (its question
    // sample may be larger than the earlier stages'; the questions column gives each stage's count)
    const lastRep = [...evals.values()].reverse().find((e) => e.rows.some((r) => r.bench === bench));
    if (!lastRep) continue;
    const shots = [
      ...new Set(lastRep.rows.filter((r) => r.bench === bench && !r.withhold_image).map((r) => r.shots)),
    ];
    const metric = lastRep.rows.find((r) => r.bench === bench)?.metric ?? "";
    const base = lastRep.baselines[bench];
    for (const k of shots.sort((a, b) => a - b)) {
      const row: TableRow = { benchmark: bench, metric, shots: k };
      const counts = stages.flatMap((s) => {
        const r = evals.get(s)?.rows.find((x) => x.bench === bench && x.shots === k && !x.withhold_image);
        return r ? [r.count] : [];
      });
      row.questions = new Set(counts).size === 1 ? counts[0] : counts.join(" / ");
      for (const s of stages) row[STAGE_LABEL[s] ?? s] = n1(scoreOf(evals.get(s), bench, k, false));
      row["most frequent answer"] = n1(base?.support_majority ?? base?.test_majority);
      row["best constant (oracle)"] = n1(base?.test_majority);
      if (typeof base?.train_category_majority === "number")
        row["most frequent per question type in training"] = n1(base.train_category_majority);
      if (typeof base?.category_majority === "number")
        row["most frequent per question type (oracle)"] = n1(base.category_majority);
      if (base?.chance !== null && base?.chance !== undefined) row.chance = n1(base.chance);
      const last = lastRep.rows.find((r) => r.bench === bench && r.shots === k && !r.withhold_image);
      if (typeof last?.demo_majority === "number")
        row["copying: most frequent / a random demonstrated answer"] =
          `${n1(last.demo_majority)} / ${n1(last.demo_random)}`;
      for (const s of stages) {
        const w = scoreOf(evals.get(s), bench, k, true);
        if (w !== null) row[`image withheld (${STAGE_LABEL[s] ?? s})`] = n1(w);
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * Each visual benchmark's question types after the last evaluated stage, 0-shot: the score with the
 * images, with them withheld, the type's most frequent answer in the training data, and its most
 * frequent answer among the evaluated questions (an oracle). Where a benchmark's
 * margin comes from is read here (world-tiny's VQA: colour and size, not shape or position).
 */
export function categoryTable(evals: Map<string, EvalReport>): Record<string, string | number>[] {
  const rep = [...evals.values()].pop();
  if (!rep) return [];
  const rows: Record<string, string | number>[] = [];
  for (const bench of VISUAL_BENCHMARKS) {
    const find = (withheld: boolean) =>
      rep.rows.find((r) => r.bench === bench && r.shots === 0 && r.withhold_image === withheld);
    const seen = find(false);
    if (!seen?.by_category) continue;
    const withheld = find(true)?.by_category ?? {};
    const prior = rep.baselines[bench]?.category_majority_by_category ?? {};
    const trainPrior = rep.baselines[bench]?.train_category_majority_by_category;
    for (const [category, v] of Object.entries(seen.by_category)) {
      rows.push({
        benchmark: bench,
        "question type": category,
        questions: v.count,
        image: n1(v.score),
        "image withheld": n1(withheld[category]?.score ?? null),
        "type's most frequent answer in training": trainPrior ? n1(trainPrior[category] ?? null) : "-",
        "type's most frequent answer (oracle)": n1(prior[category] ?? null),
      });
    }
  }
  return rows;
}

interface Verdict {
  bench: string;
  score: number | null;
  best: number | null;
  margin: number | null;
  clear: boolean;
}

/** A stage's (default: the last evaluated) 0-shot score on each visual benchmark against the best
 * of its trivial baselines: the most frequent answer, each question type's most frequent answer
 * (VQA's per-type prior, where the questions carry types), and the model with the image withheld.
 * The per-type prior keeps the verdict honest where the image-withheld model fails at the form of
 * an answer it could have guessed from the question. It is taken from the training data's answers
 * where the benchmark has them (Antol et al.'s per-Q-type prior: what a model that learned each
 * type's answer distribution says without looking); otherwise from the evaluated questions
 * themselves, an oracle that on a small, near-uniform type picks whichever answer the sample
 * happens to favour. */
export function visualVerdicts(evals: Map<string, EvalReport>, stage?: string): Verdict[] {
  const at = stage ?? [...evals.keys()].pop();
  const rep = at === undefined ? undefined : evals.get(at);
  if (!rep) return [];
  return VISUAL_BENCHMARKS.filter((b) => rep.rows.some((r) => r.bench === b)).map((bench) => {
    const score = scoreOf(rep, bench, 0, false);
    const base = rep.baselines[bench];
    const cands = [
      base?.support_majority ?? base?.test_majority,
      typeof base?.train_category_majority === "number"
        ? base.train_category_majority
        : base?.category_majority,
      scoreOf(rep, bench, 0, true),
    ].filter((x): x is number => typeof x === "number");
    const best = cands.length ? Math.max(...cands) : null;
    const margin = score !== null && best !== null ? score - best : null;
    return { bench, score, best, margin, clear: margin !== null && margin >= CLEAR_MARGIN };
  });
}

/** The better of a k-shot row's two copying baselines (most frequent / a random demonstrated
 * answer); null where it has neither. */
function keyAgnostic(r: EvalRow): number | null {
  const b = [r.demo_majority, r.demo_random].filter((x): x is number => typeof x === "number");
  return b.length ? Math.max(...b) : null;
}

/**
 * In-context learning on an in-context benchmark, stage by stage: the 0-shot score, each k-shot
 * score and its copying baseline (the better of answering with the demonstrations' most frequent
 * answer and the expected score of a random one of their answers). It is visible at a stage when
 * the most demonstrations lift the score by 10+ points and every k-shot score is CLEAR_MARGIN+
 * above copying at that k: a model that only repeats an answer the episode offers, whichever
 * demonstration matches the query, is at or below copying. null when the benchmark was not
 * evaluated with demonstrations.
 */
export function iclVerdict(
  evals: Map<string, EvalReport>,
  bench: string,
): { visible: boolean; copies: boolean; text: string } | null {
  const stages = [...evals.entries()].flatMap(([s, rep]) => {
    const z = scoreOf(rep, bench, 0, false);
    const shots = rep.rows
      .filter((r) => r.bench === bench && !r.withhold_image && r.shots > 0 && r.score !== null)
      .sort((a, b) => a.shots - b.shots)
      .map((r) => ({ k: r.shots, f: r.score as number, copy: keyAgnostic(r) }));
    return z !== null && shots.length ? [{ s, z, shots }] : [];
  });
  if (!stages.length) return null;
  const gain = (x: (typeof stages)[number]) => (x.shots.at(-1)?.f ?? 0) - x.z >= 10;
  const aboveCopying = (x: (typeof stages)[number]) =>
    x.shots.every((r) => r.copy === null || r.f - r.copy >= CLEAR_MARGIN);
  const visible = stages.some((x) => gain(x) && aboveCopying(x));
  const copies = !visible && stages.some(gain);
  const detail = stages
    .map(
      (x) =>
        `${STAGE_LABEL[x.s] ?? x.s} ${n1(x.z)} at 0 shots, ${x.shots
          .map((r) => `${n1(r.f)} at ${r.k}${r.copy !== null ? ` (copying ${n1(r.copy)})` : ""}`)
          .join(", ")}`,
    )
    .join("; ");
  const verdict = visible
    ? `Demonstrations help by 10+ points and every k-shot score is ${CLEAR_MARGIN}+ above copying (the better of the demonstrations' most frequent answer and a random one of their answers): in-context learning is visible.`
    : copies
      ? `Demonstrations help by 10+ points, but not ${CLEAR_MARGIN}+ above copying (their most frequent answer, or a random one of them) at every shot count: the model takes its answer from the demonstrations without reliably using which one matches the query (the calibration saw this stage before in-context learning appeared).`
      : "No gain of 10+ points from demonstrations: in-context learning does not appear at this scale (the calibration needed a base LLM trained on ~3M tokens with many in-context episodes).";
  return { visible, copies, text: `**In-context learning (${bench}).** ${detail}. ${verdict}` };
}

/** Statements about the paper's effects, each computed from this run's numbers. */
export function effects(evals: Map<string, EvalReport>): string[] {
  const out: string[] = [];
  const verdicts = visualVerdicts(evals);
  if (verdicts.length) {
    const clear = verdicts.filter((v) => v.clear).map((v) => v.bench);
    const not = verdicts.filter((v) => !v.clear).map((v) => `${v.bench} (${n1(v.score)} vs ${n1(v.best)})`);
    // where the training prior stood in for the oracle, say what the oracle is, so a reader can apply
    // the stricter bar
    const last = [...evals.values()].pop() as EvalReport;
    const oracles = verdicts.flatMap((v) => {
      const b = last.baselines[v.bench];
      return typeof b?.train_category_majority === "number" && typeof b.category_majority === "number"
        ? [`${v.bench} ${n1(v.score)} vs ${n1(b.category_majority)}`]
        : [];
    });
    out.push(
      `**The model uses the image.** After the last stage, ${clear.length} of ${verdicts.length} visual benchmarks score at least ${CLEAR_MARGIN} points above every trivial baseline (the most frequent answer, overall and per question type in the training data; the model with the image withheld)${clear.length ? `: ${clear.join(", ")}` : ""}.${not.length ? ` Not clearly above: ${not.join(", ")}.` : ""}${oracles.length ? ` Against each question type's most frequent answer among the evaluated questions (an oracle): ${oracles.join(", ")}.` : ""}`,
    );
  }
  // earlier stages evaluated with the image withheld too: where image use appeared and was lost
  const stages = [...evals.keys()];
  for (const s of stages.slice(0, -1)) {
    const rep = evals.get(s) as EvalReport;
    if (!rep.rows.some((r) => r.withhold_image)) continue;
    const clear = visualVerdicts(evals, s).filter((v) => v.clear);
    if (!clear.length) continue;
    out.push(
      `**Image use after ${STAGE_LABEL[s] ?? s}.** ${clear.map((v) => `${v.bench} ${n1(v.score)} vs ${n1(v.best)}`).join(", ")} (score vs the better trivial baseline, 0-shot).`,
    );
  }
  for (const bench of ["icl", "icl_text"]) {
    const v = iclVerdict(evals, bench);
    if (v) out.push(v.text);
  }
  const mmlu = [...evals.entries()]
    .map(([s, rep]) => ({ s, v: scoreOf(rep, "mmlu", 0, false) }))
    .filter((x): x is { s: string; v: number } => x.v !== null);
  if (mmlu.length >= 2) {
    out.push(
      `**Text-only ability across stages (mmlu, chance ${n1(evals.get(mmlu[0].s)?.baselines.mmlu?.chance)}).** ${mmlu.map((x) => `${STAGE_LABEL[x.s] ?? x.s} ${n1(x.v)}`).join(", ")}. The paper's findings 2-3 say pre-training on pairs alone erodes text ability and joint SFT with text-only data restores it; compare the columns (one seed, small samples: differences of a few points are noise).`,
    );
  }
  out.push(
    "**Not measured by one run.** Frozen vs. updated LLM in stage 1, linear vs. 2x2-merge projector, pairs vs. interleaved data, LoRA vs. full fine-tuning and resolution each need a variant run. The stage cache makes variants cheap: e.g. `vila recipe world-tiny --pretrain.tune_language_model=false --out runs/frozen-llm` re-runs only stage 1 and what follows it.",
  );
  return out;
}

function lossSeries(runs: StageRun[]): { title: string; series: Series[] }[] {
  const charts: { title: string; series: Series[] }[] = [];
  for (const r of runs) {
    if (!r.record) continue;
    if (r.stage.kind === "vision_tower") {
      const losses = (r.record.metrics.losses as number[] | undefined) ?? [];
      charts.push({
        title: `${r.stage.name}: sigmoid loss`,
        series: [{ name: "loss", points: losses.map((l, i): [number, number] => [i + 1, l]) }],
      });
    } else if (r.record.outputs.metrics !== undefined) {
      const recs = readMetrics(outputPath(r.dir, r.record, "metrics")).filter(
        (m): m is TrainRecord => m.type === "train",
      );
      charts.push({
        title: `${r.stage.name}: training loss`,
        series: [{ name: "loss", points: recs.map((m): [number, number] => [m.step, m.loss]) }],
      });
    }
  }
  return charts;
}

function markdownTable(rows: Record<string, unknown>[]): string {
  if (!rows.length) return "(none)\n";
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(cols),
    line(cols.map(() => "---")),
    ...rows.map((r) => line(cols.map((c) => String(r[c] ?? "")))),
  ].join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Markdown emphasis and code spans of the effect statements, as HTML. */
function inlineHtml(s: string): string {
  return esc(s)
    .replace(/\*\*(.+?)\*\*/g, "<b>$1</b>")
    .replace(/`(.+?)`/g, "<code>$1</code>");
}

/** Write report.md and report.html into `outDir`; returns their paths. */
export function writeRecipeReport(outDir: string, r: RecipeReportInput): RecipeReportFiles {
  const p = r.preset;
  const evals = readEvals(r.runs);
  const stages = stageRows(r.runs);
  const table = evalTable(p, evals);
  const byType = categoryTable(evals);
  const lastStage = [...evals.keys()].pop();
  const byTypeNote = `By question type after ${STAGE_LABEL[lastStage ?? ""] ?? lastStage}, 0-shot: with the images, with them withheld, each type's most frequent answer in the training data, and among the evaluated questions (an oracle).`;
  const statements = effects(evals);
  const demoTemplates = Object.entries(p.eval.demo_templates)
    .map(([b, t]) => `; ${b}'s demonstrations ${JSON.stringify(t)}`)
    .join("");
  const facts: [string, string][] = [
    ["recipe", `${p.name}: ${p.describe}`],
    ["status", r.stopped ? "interrupted (re-run the same command to resume)" : "finished"],
    ["wall time (this run)", `${n1(r.seconds)} s`],
    [
      "stage time (all stages, cached ones as first measured)",
      `${n1(r.runs.reduce((a, x) => a + (x.record?.seconds ?? 0), 0))} s`,
    ],
    ["peak RSS (this process)", `${Math.round(r.peakRssMib)} MiB`],
    ["final checkpoint", r.finalCheckpoint ?? "none"],
    [
      "chat",
      r.finalCheckpoint ? `vila chat --model ${r.finalCheckpoint} --conv-mode ${p.eval.conv_mode}` : "-",
    ],
    [
      "evaluation",
      `the first ${p.eval.limit} questions of each benchmark, the first ${p.eval.final_limit} after the last evaluated stage (a smaller benchmark whole); greedy, conv mode ${p.eval.conv_mode}${p.eval.raw_benchmarks.length ? ` (${p.eval.raw_benchmarks.join(", ")} raw: no template)` : ""}${demoTemplates}; scores in percent (CIDEr x 100)`,
    ],
  ];
  const md = [
    `# vila-ts recipe report: ${p.name}`,
    "",
    ...facts.map(([k, v]) => `- **${k}**: ${v}`),
    "",
    "## Stages",
    "",
    markdownTable(stages as unknown as Record<string, unknown>[]),
    "",
    "## Evaluation",
    "",
    "Each benchmark at 0 shots (and 4 where it has demonstrations) after each evaluated stage, beside trivial baselines: the most frequent answer of the demonstrations (or of the questions), the most frequent answer of each question type in the training data (where questions have types), the best constant answer (an oracle), the most frequent answer of each question type among the evaluated questions (an oracle), and the model with every image replaced by the mean image.",
    "",
    markdownTable(table),
    "",
    ...(byType.length ? [byTypeNote, "", markdownTable(byType), ""] : []),
    "## What this run shows",
    "",
    ...statements.map((s) => `- ${s}`),
    "",
  ].join("\n");
  const charts = lossSeries(r.runs)
    .map((c) => lineChart(c.title, c.series, { width: 480, height: 220, yLabel: "loss" }))
    .join("\n");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vila-ts recipe report: ${esc(p.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:8px 0 24px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th{background:#f5f5f5}svg.chart{display:inline-block;margin:8px}li{margin:6px 0}</style>
</head><body>
<h1>vila-ts recipe report: ${esc(p.name)}</h1>
<table>
${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td style="text-align:left">${esc(v)}</td></tr>`).join("\n")}
</table>
<h2>Stages</h2>
${htmlTable(stages as unknown as Record<string, unknown>[])}
<h2>Loss curves</h2>
${charts}
<h2>Evaluation</h2>
<p>Each benchmark at 0 shots (and 4 where it has demonstrations) after each evaluated stage, beside trivial baselines: the most frequent answer, each question type's most frequent answer in the training data, the best constant answer (an oracle), the most frequent answer of each question type among the evaluated questions (an oracle), and the model with every image replaced by the mean image. Scores in percent (CIDEr x 100).</p>
${htmlTable(table)}
${byType.length ? `<p>${esc(byTypeNote)}</p>\n${htmlTable(byType)}` : ""}
<h2>What this run shows</h2>
<ul>
${statements.map((s) => `<li>${inlineHtml(s)}</li>`).join("\n")}
</ul>
</body></html>
`;
  const files = { markdown: path.join(outDir, "report.md"), html: path.join(outDir, "report.html") };
  writeTextAtomic(files.markdown, md);
  writeTextAtomic(files.html, html);
  return files;
}

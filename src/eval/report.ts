// Evaluation outputs: the predictions file in the public answer format (LLaVA answer JSONL
// `{question_id, prompt, text, answer_id, model_id, metadata}`, or COCO caption results
// `[{image_id, caption}]`), reading such a file back for scoring, a JSON and a Markdown summary, and a
// self-contained HTML page with a sample of items (images embedded as base64 PNG thumbnails,
// question, prediction, references, score). Every file is written atomically (temp + rename).

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import sharp from "sharp";
import type { LoadedBenchmark } from "./benchmarks.js";
import { referenceAnswers } from "./benchmarks.js";
import { readCocoCaptionResults, readPredictions } from "./metrics/index.js";
import type { EvalResult } from "./runner.js";
import type { Baselines, BenchmarkScore } from "./score.js";

/** Write text atomically: a temp file in the same folder, then rename. */
export function writeTextAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** File name of the predictions: LLaVA answers are JSONL, COCO results a JSON list. */
export function predictionsFileName(bench: LoadedBenchmark): string {
  return bench.answerFormat === "coco" ? "predictions.json" : "predictions.jsonl";
}

/** The predictions file's text in the benchmark's public format. */
export function predictionsText(bench: LoadedBenchmark, result: EvalResult, modelId: string): string {
  if (bench.answerFormat === "coco") {
    return `${JSON.stringify(
      result.predictions.map((p) => ({ image_id: p.rawId, caption: p.text })),
      null,
      1,
    )}\n`;
  }
  return result.predictions
    .map((p) =>
      JSON.stringify({
        question_id: p.rawId,
        prompt: p.question,
        text: p.text,
        // deterministic in place of LLaVA's random shortuuid, so reruns give identical files
        answer_id: `${modelId}-${result.shots}shot-${p.id}`,
        model_id: modelId,
        metadata: { shots: result.shots, seed: result.seed },
      }),
    )
    .map((l) => `${l}\n`)
    .join("");
}

/**
 * Read a predictions file for a benchmark (LLaVA answers / VQA results / COCO caption results): id ->
 * text. An empty file, a duplicate or an unknown id is an error naming the file and the id.
 */
export function readBenchmarkPredictions(path: string, bench: LoadedBenchmark): Map<string, string> {
  const preds =
    bench.answerFormat === "coco"
      ? readCocoCaptionResults(path)
      : new Map([...readPredictions(path)].map(([id, p]) => [id, p.text]));
  const known = new Set(bench.items.map((it) => it.id));
  for (const id of preds.keys()) {
    if (!known.has(id))
      throw new Error(
        `${path}: ${bench.answerFormat === "coco" ? "image_id" : "question_id"} ${id} is not a question of ${bench.files.questions}`,
      );
  }
  return preds;
}

/** Everything summary.json holds for one benchmark. */
export interface BenchSummary {
  bench: string;
  model: string;
  metric: string;
  score: number | null;
  count: number;
  missing: string[];
  shots: number;
  seed: number;
  prompt_format: string;
  conv_mode: string;
  withhold_image: boolean;
  by_category: BenchmarkScore["byCategory"];
  details?: BenchmarkScore["details"];
  baselines: {
    support_majority: Baselines["supportMajority"];
    test_majority: Baselines["testMajority"];
    /** the per-question-type prior (oracle): each category's most frequent answer */
    category_majority: number | null;
    /** the per-question-type prior of the training data (null without train answers) */
    train_category_majority: number | null;
    chance: number | null;
    /** k-shot, own demonstrations: answering with their most frequent answer (copying) */
    demo_majority: number | null;
    /** the same, answering with a random one of their distinct answers (expected score) */
    demo_random: number | null;
  };
  files: LoadedBenchmark["files"];
  timings?: EvalResult["timings"];
}

export function benchSummary(
  bench: LoadedBenchmark,
  score: BenchmarkScore,
  baselines: Baselines,
  run: {
    model: string;
    shots: number;
    seed: number;
    promptFormat: string;
    convMode: string;
    withholdImage: boolean;
    timings?: EvalResult["timings"];
  },
): BenchSummary {
  return {
    bench: bench.name,
    model: run.model,
    metric: score.metric,
    score: score.score,
    count: score.count,
    missing: score.missing,
    shots: run.shots,
    seed: run.seed,
    prompt_format: run.promptFormat,
    conv_mode: run.convMode,
    withhold_image: run.withholdImage,
    by_category: score.byCategory,
    ...(score.details ? { details: score.details } : {}),
    baselines: {
      support_majority: baselines.supportMajority,
      test_majority: baselines.testMajority,
      category_majority: baselines.categoryMajority,
      train_category_majority: baselines.trainCategoryMajority,
      chance: baselines.chance,
      demo_majority: baselines.demoMajority,
      demo_random: baselines.demoRandom,
    },
    files: bench.files,
    ...(run.timings ? { timings: run.timings } : {}),
  };
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));

/** A Markdown table of one or more benchmark summaries, with baselines and categories. */
export function summaryMarkdown(summaries: readonly BenchSummary[]): string {
  const lines = [
    "# Evaluation",
    "",
    `model: \`${summaries[0]?.model ?? ""}\``,
    "",
    "| benchmark | metric | shots | n | score | missing | support majority | per question type (training data) | test majority (oracle) | per question type (oracle) | chance |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...summaries.map(
      (s) =>
        `| ${s.bench}${s.withhold_image ? " (image withheld)" : ""} | ${s.metric} | ${s.shots} | ${s.count} | ${fmt(s.score)} | ${s.missing.length} | ${fmt(s.baselines.support_majority?.score)} | ${fmt(s.baselines.train_category_majority)} | ${fmt(s.baselines.test_majority?.score)} | ${fmt(s.baselines.category_majority)} | ${fmt(s.baselines.chance)} |`,
    ),
  ];
  for (const s of summaries) {
    const cats = Object.entries(s.by_category);
    if (cats.length === 0 && s.missing.length === 0) continue;
    lines.push("", `## ${s.bench}`, "");
    if (s.missing.length > 0)
      lines.push(
        `**${s.missing.length} question(s) had no prediction and count as wrong:** ${s.missing.slice(0, 20).join(", ")}${s.missing.length > 20 ? ", ..." : ""}`,
        "",
      );
    if (cats.length > 0) {
      lines.push("| category | n | score |", "|---|---:|---:|");
      for (const [c, v] of cats) lines.push(`| ${c} | ${v.count} | ${fmt(v.score)} |`);
    }
    if (s.details)
      lines.push(
        "",
        Object.entries(s.details)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(", "),
      );
  }
  return `${lines.join("\n")}\n`;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

async function thumbnail(ref: string, side: number): Promise<string> {
  try {
    const input = ref.startsWith("data:") ? Buffer.from(ref.slice(ref.indexOf(",") + 1), "base64") : ref;
    const png = await sharp(input)
      .resize(side, side, { fit: "inside", kernel: "nearest", withoutEnlargement: true })
      .png()
      .toBuffer();
    return `<img src="data:image/png;base64,${png.toString("base64")}" alt="">`;
  } catch (e) {
    return `<span class="err">${escapeHtml(`${basename(ref.slice(0, 200))}: ${(e as Error).message}`)}</span>`;
  }
}

/**
 * A self-contained HTML page: the scores and a sample of items (every `n/sample`-th, so the sample
 * spans the file) with image thumbnails, question, prediction, references and per-item score.
 */
export async function reportHtml(
  bench: LoadedBenchmark,
  result: EvalResult,
  summary: BenchSummary,
  opts: { sample?: number; thumb?: number } = {},
): Promise<string> {
  const sample = Math.max(0, Math.min(opts.sample ?? 24, result.predictions.length));
  const step = sample > 0 ? result.predictions.length / sample : 1;
  const picked = Array.from({ length: sample }, (_, i) => result.predictions[Math.floor(i * step)]);
  const items = new Map(result.evaluated.items.map((it) => [it.id, it]));
  const rows: string[] = [];
  for (const p of picked) {
    const it = items.get(p.id);
    const thumbs = [];
    for (const im of it?.images ?? []) thumbs.push(await thumbnail(im, opts.thumb ?? 96));
    const refs = referenceAnswers(bench.truth, p.id);
    const score = result.perItem[p.id];
    rows.push(
      `<tr><td>${escapeHtml(p.id)}</td><td>${thumbs.join("")}</td><td><pre>${escapeHtml(p.question)}</pre>${it?.category ? `<div class="cat">${escapeHtml(it.category)}</div>` : ""}</td>` +
        `<td><b>${escapeHtml(p.text)}</b></td><td>${refs.map((r) => escapeHtml(r)).join("<br>")}</td><td class="num">${fmt(score)}</td></tr>`,
    );
  }
  const b = summary.baselines;
  const title = `${bench.name}: ${summary.metric} ${fmt(summary.score)} (${summary.shots}-shot${summary.withhold_image ? ", image withheld" : ""})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
pre{margin:0;white-space:pre-wrap;max-width:36em;font-family:inherit}img{margin:2px;image-rendering:pixelated;border:1px solid #999}
.num{text-align:right}.cat{color:#777;font-size:85%}.err{color:#b00}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>model <code>${escapeHtml(summary.model)}</code>; ${summary.count} questions, ${summary.missing.length} without prediction (counted wrong);
prompt format ${escapeHtml(summary.prompt_format)}, template ${escapeHtml(summary.conv_mode)}, seed ${summary.seed}.</p>
<p>baselines: support majority ${fmt(b.support_majority?.score)}${b.support_majority ? ` (&ldquo;${escapeHtml(b.support_majority.answer)}&rdquo;)` : ""},
${b.train_category_majority !== null ? `each question type&rsquo;s most frequent answer in the training data ${fmt(b.train_category_majority)}, ` : ""}test majority (oracle) ${fmt(b.test_majority?.score)}${b.test_majority ? ` (&ldquo;${escapeHtml(b.test_majority.answer)}&rdquo;)` : ""}${b.category_majority !== null ? `, each question type&rsquo;s most frequent answer (oracle) ${fmt(b.category_majority)}` : ""}${b.chance !== null ? `, chance ${fmt(b.chance)}` : ""}${b.demo_majority !== null ? `, copying the demonstrations&rsquo; most frequent answer ${fmt(b.demo_majority)}` : ""}${b.demo_random !== null ? `, a random one of their answers ${fmt(b.demo_random)}` : ""}.</p>
${
  Object.keys(summary.by_category).length
    ? `<table><tr><th>category</th><th>n</th><th>score</th></tr>${Object.entries(summary.by_category)
        .map(
          ([c, v]) =>
            `<tr><td>${escapeHtml(c)}</td><td class="num">${v.count}</td><td class="num">${fmt(v.score)}</td></tr>`,
        )
        .join("")}</table>`
    : ""
}
<h2>Sample of ${sample}</h2>
<table><tr><th>id</th><th>images</th><th>question</th><th>prediction</th><th>references</th><th>score</th></tr>
${rows.join("\n")}
</table></body></html>
`;
}

/** Write predictions, summary.json, summary.md and report.html for one benchmark into `dir`. */
export async function writeBenchOutputs(
  dir: string,
  bench: LoadedBenchmark,
  result: EvalResult,
  summary: BenchSummary,
  opts: { modelId: string; sample?: number },
): Promise<{ predictions: string; summaryJson: string; summaryMd: string; html: string }> {
  const files = {
    predictions: join(dir, predictionsFileName(bench)),
    summaryJson: join(dir, "summary.json"),
    summaryMd: join(dir, "summary.md"),
    html: join(dir, "report.html"),
  };
  writeTextAtomic(files.predictions, predictionsText(bench, result, opts.modelId));
  writeTextAtomic(files.summaryJson, `${JSON.stringify(summary, null, 1)}\n`);
  writeTextAtomic(files.summaryMd, summaryMarkdown([summary]));
  writeTextAtomic(files.html, await reportHtml(bench, result, summary, { sample: opts.sample }));
  return files;
}

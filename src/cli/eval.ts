// `vila eval`: evaluate a checkpoint on benchmarks — world benchmarks by name (or "all"), a
// benchmark folder in the world's layout, or public files — at k shots, and write per benchmark
// the predictions (public answer format), summary.json, summary.md and report.html. With
// --predictions, score an existing predictions file instead of generating. docs/EVAL.md.

import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import {
  type BenchmarkFiles,
  type BenchSummary,
  benchSummary,
  FEW_SHOT_FORMATS,
  type FewShotFormat,
  listWorldBenchmarks,
  loadBenchmark,
  METRIC_NAMES,
  type MetricName,
  readBenchmarkPredictions,
  resultFromPredictions,
  subsetBenchmark,
  summaryMarkdown,
  trivialBaselines,
  unescapeTemplate,
  writeBenchOutputs,
  writeTextAtomic,
} from "../eval/index.js";
import { evaluate } from "../eval/runner.js";
import { loadPipeline, promptFormatOf } from "../infer/pipeline.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";

const SPEC: Record<string, OptionSpec> = {
  model: { type: "string", describe: "checkpoint folder (not needed with --predictions)" },
  bench: {
    type: "string",
    describe:
      "world benchmark name or 'all' (with --world), a benchmark folder, or QUESTIONS[,ANSWERS...] files",
    required: true,
  },
  world: { type: "string", describe: "world folder (vila world --out DIR) that benchmark names refer to" },
  shots: { type: "number", describe: "in-context demonstrations per question", default: 0 },
  seed: { type: "number", describe: "seed of the demonstration choice", default: 0 },
  "batch-size": { type: "number", describe: "questions per generation batch", default: 8 },
  "max-new-tokens": { type: "number", describe: "tokens generated per answer at most", default: 128 },
  "conv-mode": {
    type: "string",
    describe:
      "conversation template (vicuna_v1, llama_3, hermes-2, plain), raw (no template: a model before SFT continues the text) or auto",
    default: "auto",
  },
  "prompt-format": {
    type: "string",
    describe: "k-shot layout: interleaved | multiturn",
    default: "interleaved",
  },
  "demo-template": {
    type: "string",
    describe: "interleaved demonstration template ({question}, {answer}; \\n = newline)",
  },
  system: { type: "string", describe: "replace the template's system prompt" },
  "withhold-image": {
    type: "boolean",
    describe: "image-withheld baseline: every image replaced by the mean image",
  },
  limit: { type: "number", describe: "evaluate the first N questions of each benchmark" },
  support: {
    type: "string",
    describe: "demonstrations for k-shot: JSONL {image?, text, answer} or a Karpathy JSON",
  },
  "train-answers": {
    type: "string",
    describe:
      "the training data's answers per question type, JSON {categories: {type: {answer: count}}}: the per-type prior",
  },
  "image-folder": {
    type: "string",
    describe: "folder relative image paths are resolved against (default: the question file's)",
  },
  metric: {
    type: "string",
    describe: `metric for file benchmarks (${METRIC_NAMES.join(", ")}); default detected`,
  },
  split: { type: "string", describe: "Karpathy split to evaluate", default: "test" },
  predictions: {
    type: "string",
    describe: "score this predictions file instead of generating (one benchmark)",
  },
  out: { type: "string", describe: "output folder (one subfolder per benchmark)", default: "eval_results" },
  sample: { type: "number", describe: "items shown in report.html", default: 24 },
  json: { type: "boolean", describe: "print the summaries as JSON" },
};

/** The benchmarks --bench names. */
function resolveBenches(
  spec: string,
  o: Record<string, unknown>,
): { files: BenchmarkFiles; shots?: number[] }[] {
  const world = o.world as string | undefined;
  if (world && !spec.includes(",") && !existsSync(spec)) {
    const all = listWorldBenchmarks(world);
    if (spec === "all") return all;
    const names = spec.split("+");
    return names.map((n) => {
      const b = all.find((x) => x.name === n);
      if (!b)
        throw new Error(
          `vila eval: the world ${world} has no benchmark "${n}" (it has ${all.map((x) => x.name).join(", ")}, or all)`,
        );
      return b;
    });
  }
  const common = {
    ...(o.support ? { support: o.support as string } : {}),
    ...(o["train-answers"] ? { trainAnswers: o["train-answers"] as string } : {}),
    ...(o.metric ? { metric: o.metric as MetricName } : {}),
    ...(o["image-folder"] ? { imageFolder: o["image-folder"] as string } : {}),
    split: o.split as string,
  };
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    // a benchmark folder in the world's layout; inside a world its images are relative to the root
    const dir = resolve(spec);
    const root = dirname(dirname(dir));
    const inWorld = existsSync(join(root, "world.json"));
    const name = basename(dir);
    if (inWorld && !o.metric) {
      const b = listWorldBenchmarks(root).find((x) => x.name === name);
      if (b) return [b];
    }
    const support = join(dir, "support.jsonl");
    const trainAnswers = join(dir, "train_answers.json");
    return [
      {
        files: {
          name,
          questions: join(dir, "questions.jsonl"),
          answers: existsSync(join(dir, "annotations.json")) ? [join(dir, "annotations.json")] : [],
          ...(existsSync(support) ? { support } : {}),
          ...(existsSync(trainAnswers) ? { trainAnswers } : {}),
          ...(inWorld ? { imageFolder: root } : {}),
          ...common,
        },
      },
    ];
  }
  if (!spec.includes(",") && !existsSync(spec))
    throw new Error(
      `vila eval: --bench ${spec} is not a file or folder${world ? "" : " (benchmark names need --world DIR)"}`,
    );
  const [questions, ...answers] = spec.split(",").filter((s) => s !== "");
  return [{ files: { questions, answers, ...common } }];
}

export async function run(argv: string[]): Promise<number> {
  const { opts: o, help } = parseArgs(argv, SPEC, "vila eval");
  if (help) {
    console.log(
      helpText(
        "vila eval",
        "Evaluate a checkpoint on benchmarks (0- or k-shot) and write predictions, summaries and an HTML report.",
        SPEC,
      ),
    );
    return 0;
  }
  const shots = o.shots as number;
  const promptFormat = o["prompt-format"] as FewShotFormat;
  if (!FEW_SHOT_FORMATS.includes(promptFormat))
    throw new Error(
      `vila eval: --prompt-format must be ${FEW_SHOT_FORMATS.join(" or ")}, got "${promptFormat}"`,
    );
  if (o.metric !== undefined && !METRIC_NAMES.includes(o.metric as MetricName))
    throw new Error(`vila eval: --metric must be one of ${METRIC_NAMES.join(", ")}, got "${o.metric}"`);
  const json = o.json === true;
  const out = o.out as string;
  const specs = resolveBenches(o.bench as string, o);
  const say = json ? () => {} : (m: string) => console.error(`eval: ${m}`);
  const summaries: BenchSummary[] = [];

  if (o.predictions !== undefined) {
    if (specs.length !== 1)
      throw new Error("vila eval: --predictions scores one benchmark; name one with --bench");
    const full = loadBenchmark(specs[0].files);
    const bench =
      o.limit !== undefined ? subsetBenchmark(full, full.items.slice(0, o.limit as number)) : full;
    const keep = new Set(bench.items.map((it) => it.id));
    const preds = new Map(
      [...readBenchmarkPredictions(o.predictions as string, full)].filter(([id]) => keep.has(id)),
    );
    const result = resultFromPredictions(bench, preds, {
      shots,
      seed: o.seed as number,
      promptFormat,
      source: o.predictions as string,
    });
    const modelId = o.model ? basename(resolve(o.model as string)) : basename(o.predictions as string);
    const summary = benchSummary(bench, result, trivialBaselines(bench, shots), {
      model: modelId,
      shots,
      seed: o.seed as number,
      promptFormat,
      convMode: "",
      withholdImage: false,
    });
    if (result.missing.length > 0)
      console.error(
        `eval: ${bench.name}: ${result.missing.length} of ${result.count} questions have no prediction in ${o.predictions} and count as wrong`,
      );
    await writeBenchOutputs(join(out, bench.name), bench, result, summary, {
      modelId,
      sample: o.sample as number,
    });
    summaries.push(summary);
  } else {
    if (o.model === undefined)
      throw new Error("vila eval: --model DIR is required (or --predictions FILE to score a file)");
    const modelDir = o.model as string;
    const modelId = basename(resolve(modelDir));
    const p = await loadPipeline(modelDir);
    const format = promptFormatOf(p, o["conv-mode"] as string);
    for (const spec of specs) {
      const bench = loadBenchmark(spec.files);
      if (shots > 0 && bench.support.length === 0 && !bench.items.some((it) => it.demos)) {
        if (specs.length > 1) {
          console.error(
            `eval: ${bench.name}: no demonstrations (no support split), skipped at ${shots} shots`,
          );
          continue;
        }
      }
      say(
        `${bench.name}: ${o.limit !== undefined ? Math.min(o.limit as number, bench.items.length) : bench.items.length} questions, ${shots}-shot, metric ${bench.metric}`,
      );
      const result = await evaluate(p.model, p.tokenizer, p.preprocess, bench, {
        shots,
        seed: o.seed as number,
        batchSize: o["batch-size"] as number,
        maxNewTokens: o["max-new-tokens"] as number,
        promptFormat,
        ...(o["demo-template"] !== undefined
          ? { demoTemplate: unescapeTemplate(o["demo-template"] as string) }
          : {}),
        convMode: format,
        ...(o.system !== undefined ? { system: o.system as string } : {}),
        withholdImage: o["withhold-image"] === true,
        ...(o.limit !== undefined ? { limit: o.limit as number } : {}),
        maxContext: p.maxContext,
        onProgress: (d, n) => {
          if (!json && (d === n || d % 50 < (o["batch-size"] as number)))
            process.stderr.write(`\reval: ${bench.name} ${d}/${n}${d === n ? "\n" : ""}`);
        },
      });
      const summary = benchSummary(result.evaluated, result, trivialBaselines(result.evaluated, shots), {
        model: modelId,
        shots,
        seed: result.seed,
        promptFormat,
        convMode: result.convMode,
        withholdImage: result.withholdImage,
        timings: result.timings,
      });
      await writeBenchOutputs(join(out, bench.name), result.evaluated, result, summary, {
        modelId,
        sample: o.sample as number,
      });
      summaries.push(summary);
    }
  }

  if (summaries.length > 1) {
    writeTextAtomic(join(out, "summary.json"), `${JSON.stringify(summaries, null, 1)}\n`);
    writeTextAtomic(join(out, "summary.md"), summaryMarkdown(summaries));
  }
  if (json) console.log(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 1));
  else console.log(`${summaryMarkdown(summaries)}\noutputs in ${resolve(out)}`);
  return 0;
}

// `vila recipe NAME [--out DIR] [--section.key=value ...] [--force]` and `vila recipe --list`: run a
// recipe (src/recipes) — world, tokenizer, base LLM, vision tower, stages 0-2 and evaluation —
// skipping stages finished earlier with the same config. Options this command knows are parsed by
// args.ts; every other `--key=value` is a preset override checked before any work. Ctrl-C stops
// after the current training step (the stage resumes on the next run); a second Ctrl-C quits.

import { RECIPES } from "../recipes/presets.js";
import { runRecipe } from "../recipes/run.js";
import { ConfigError } from "../train/config.js";
import { ProgressBar } from "../train/progress.js";
import { TrainingError } from "../train/trainer.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";
import { abortOnSigint } from "./interrupt.js";

const SPEC: Record<string, OptionSpec> = {
  out: { type: "string", describe: "output folder (default runs/NAME)" },
  force: { type: "boolean", describe: "re-run every stage, even finished ones" },
  list: { type: "boolean", describe: "list the recipes and exit" },
  json: { type: "boolean", describe: "print the result (report, checkpoint, stages) as JSON at the end" },
};

const SUMMARY = `Run a recipe: generate the world, train the tokenizer, the base LLM and the vision tower,
then VILA stages 0 (align), 1 (pre-train), the preset's stage 1.5 (lookups, where it has one) and 2
(SFT), evaluating after each. Finished stages are cached under OUT/<stage>-<hash> and reused.
Any other --section.key=value overrides the preset, e.g.
  vila recipe world-tiny --sft.max_steps=300 --eval.limit=50 --model.llm.hidden_size=192
Sections: world, tokenizer, model, text_tower, base_llm, vision_tower, align, pretrain, lookups, sft,
eval.`;

export async function run(argv: string[]): Promise<number> {
  const own: string[] = [];
  const overrides: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = a.startsWith("--") ? a.slice(2).split("=")[0] : "";
    if (!a.startsWith("--") || a === "--help" || key in SPEC) {
      own.push(a);
      if (SPEC[key] && !a.includes("=") && SPEC[key].type !== "boolean" && i + 1 < argv.length)
        own.push(argv[++i]);
    } else if (a.includes("=")) overrides.push(a.slice(2));
    else
      throw new Error(
        `vila recipe: "${a}" is neither an option of vila recipe nor a --section.key=value override`,
      );
  }
  const { opts, positionals, help } = parseArgs(own, SPEC, "vila recipe");
  if (help) {
    console.log(helpText("vila recipe NAME [--section.key=value ...]", SUMMARY, SPEC));
    return 0;
  }
  if (opts.list) {
    for (const r of Object.values(RECIPES)) console.log(`${r.name.padEnd(14)} ${r.describe}`);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(
      `vila recipe: give one recipe name (${Object.keys(RECIPES).join(", ")}); see vila recipe --help`,
    );
    return 2;
  }

  const bar = new ProgressBar(process.stderr);
  const interrupt = abortOnSigint(
    "vila recipe: stopping after this step (Ctrl-C again to quit now); re-run to resume",
    () => bar.clear(),
  );
  try {
    const r = await runRecipe({
      recipe: positionals[0],
      out: opts.out === undefined ? undefined : String(opts.out),
      overrides,
      force: opts.force === true,
      signal: interrupt.signal,
      onLog: (line) => {
        bar.clear();
        console.log(line);
      },
      onStep: (_stage, s) => bar.update(s),
    });
    bar.done();
    console.log("");
    console.log(`report:     ${r.report.html}`);
    console.log(`            ${r.report.markdown}`);
    if (r.finalCheckpoint) {
      console.log(`checkpoint: ${r.finalCheckpoint}`);
      console.log(`chat:       vila chat --model ${r.finalCheckpoint} --conv-mode ${r.convMode}`);
    }
    console.log(
      `wall time:  ${r.seconds.toFixed(1)} s${r.stopped ? " (interrupted; re-run to resume)" : ""}`,
    );
    if (opts.json) {
      console.log(
        JSON.stringify({
          report: r.report,
          finalCheckpoint: r.finalCheckpoint,
          convMode: r.convMode,
          seconds: r.seconds,
          stopped: r.stopped,
          stages: r.stages.map((s) => ({
            name: s.stage.name,
            dir: s.dir,
            cached: s.cached,
            seconds: s.record?.seconds ?? null,
          })),
        }),
      );
    }
    return r.stopped ? 130 : 0;
  } catch (e) {
    bar.done();
    if (e instanceof ConfigError || e instanceof TrainingError) {
      console.error(`vila recipe: ${e.message}`);
      return e instanceof ConfigError ? 2 : 1;
    }
    throw e;
  } finally {
    interrupt.dispose();
  }
}

// `vila train --config FILE [--key=value ...] [--resume]`: run one training stage (src/train).
// Options this command knows are parsed by args.ts; every other `--key=value` is a config override
// checked against the config schema. Ctrl-C asks the trainer to stop after the current step and
// save a checkpoint; a second Ctrl-C quits at once. Log lines go to stdout, the progress bar to
// stderr (only on a terminal).

import { ConfigError, loadTrainConfig, type TrainConfig } from "../train/config.js";
import { ProgressBar } from "../train/progress.js";
import { runStage, TrainingError } from "../train/trainer.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";
import { abortOnSigint } from "./interrupt.js";

const SPEC: Record<string, OptionSpec> = {
  config: { type: "string", describe: "stage config file (JSON or YAML)", required: true },
  resume: { type: "boolean", describe: "continue from the latest checkpoint in output_dir" },
  "resume-from": { type: "string", describe: "continue from this checkpoint folder" },
  "print-config": { type: "boolean", describe: "print the resolved config as JSON and exit" },
  json: { type: "boolean", describe: "print the result ({checkpointDir, step, ...}) as JSON at the end" },
};

const SUMMARY = `Train one VILA stage (which parts train, data mixture, schedule) from a config.
Any other --key=value overrides a config key (dotted paths for nested keys), e.g.
  vila train --config configs/train/sft.yaml --learning_rate=2e-5 --tune_vision_tower=true --max_steps=100
Writes OUTPUT_DIR/checkpoint-N (VILA1.5 layout + trainer_state/), metrics.jsonl and report.html.`;

export async function run(argv: string[]): Promise<number> {
  const own: string[] = [];
  const overrides: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = a.startsWith("--") ? a.slice(2).split("=")[0] : "";
    if (a === "--help" || a === "-h" || (key && key in SPEC)) {
      own.push(a);
      if (SPEC[key] && !a.includes("=") && SPEC[key].type !== "boolean" && i + 1 < argv.length)
        own.push(argv[++i]);
    } else if (key && a.includes("=")) overrides.push(a.slice(2));
    else
      throw new Error(
        `vila train: "${a}" is neither an option of vila train nor a --key=value config override`,
      );
  }
  const { opts, help } = parseArgs(own, SPEC, "vila train");
  if (help) {
    console.log(helpText("vila train --config FILE [--key=value ...]", SUMMARY, SPEC));
    return 0;
  }
  let config: TrainConfig;
  try {
    config = loadTrainConfig(String(opts.config), overrides);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`vila train: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (opts["print-config"]) {
    console.log(JSON.stringify(config, null, 2));
    return 0;
  }

  const bar = new ProgressBar(process.stderr);
  const interrupt = abortOnSigint(
    "vila train: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)",
    () => bar.clear(),
  );
  try {
    const resume = opts["resume-from"] ? String(opts["resume-from"]) : opts.resume === true;
    const result = await runStage(config, {
      resume,
      signal: interrupt.signal,
      onLog: (line) => {
        bar.clear();
        console.log(line);
      },
      onStep: (s) => bar.update(s),
    });
    bar.done();
    console.log(
      `checkpoint: ${result.checkpointDir}\nmetrics: ${result.metricsPath}\nreport: ${result.reportPath}`,
    );
    if (opts.json) {
      const { checkpointDir, step, totalSteps, stopped, reportPath, metricsPath } = result;
      console.log(JSON.stringify({ checkpointDir, step, totalSteps, stopped, reportPath, metricsPath }));
    }
    return result.stopped ? 130 : 0;
  } catch (e) {
    bar.done();
    if (e instanceof ConfigError || e instanceof TrainingError) {
      console.error(`vila train: ${e.message}`);
      return e instanceof ConfigError ? 2 : 1;
    }
    throw e;
  } finally {
    interrupt.dispose();
  }
}

// `vila world`: generate the embedded world dataset (images, corpus, pairs, interleaved
// documents, instruction data, benchmarks) into a folder, with progress and a summary of counts.

import { generateWorld } from "../world/index.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";

const SPEC: Record<string, OptionSpec> = {
  out: { type: "string", describe: "output folder", required: true },
  preset: { type: "string", describe: "smoke | tiny | small", default: "tiny" },
  seed: { type: "number", describe: "random seed (the world is a function of seed + preset)", default: 0 },
  "image-size": { type: "number", describe: "image side in pixels (default: the preset's, 64)" },
  workers: { type: "number", describe: "worker threads for rendering (default: cores, at most 8)" },
  force: { type: "boolean", describe: "replace an existing world folder" },
  json: { type: "boolean", describe: "print the summary as JSON" },
};

export async function run(argv: string[]): Promise<number> {
  const { opts, help } = parseArgs(argv, SPEC, "vila world");
  if (help) {
    console.log(helpText("vila world", "Generate the embedded multimodal world dataset.", SPEC));
    return 0;
  }
  const json = opts.json === true;
  const summary = await generateWorld({
    out: opts.out as string,
    preset: opts.preset as string,
    seed: opts.seed as number,
    imageSize: opts["image-size"] as number | undefined,
    workers: opts.workers as number | undefined,
    force: opts.force === true,
    onProgress: json ? undefined : (m) => console.error(`world: ${m}`),
  });
  if (json) {
    console.log(JSON.stringify(summary, null, 1));
    return 0;
  }
  const rows = [
    ...Object.entries(summary.counts).map(([k, v]) => `  ${k.padEnd(22)} ${v.toLocaleString("en-US")}`),
    ...Object.entries(summary.words).map(
      ([k, v]) => `  words.${k.padEnd(16)} ${Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(1)}`,
    ),
    ...Object.entries(summary.timings).map(([k, v]) => `  time.${k.padEnd(17)} ${(v / 1000).toFixed(2)} s`),
  ];
  console.log(
    `world ${summary.preset} (seed ${summary.seed}, ${summary.imageSize} px) -> ${summary.out}\n${rows.join("\n")}`,
  );
  return 0;
}

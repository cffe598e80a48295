#!/usr/bin/env node
// The `vila` command: one entry point, one file per subcommand, each exporting run(argv).
// Nothing happens on import; the subcommand module is loaded only when asked for.

type Command = {
  describe: string;
  load: () => Promise<{ run(argv: string[]): Promise<number | undefined> | number | undefined }>;
};

const commands: Record<string, Command> = {
  chat: {
    describe: "chat with a VILA model in the terminal (images, history, Ctrl-C stops an answer)",
    load: () => import("./chat.js"),
  },
  convert: {
    describe: "write a checkpoint's LLM as GGUF for llama.cpp / Ollama (--to gguf)",
    load: () => import("./convert.js"),
  },
  eval: {
    describe: "evaluate a checkpoint on benchmarks (0/k-shot): predictions, summaries, HTML report",
    load: () => import("./eval.js"),
  },
  generate: {
    describe: 'greedy token generation from ids or a prompt (prints {"tokens": [...]})',
    load: () => import("./generate.js"),
  },
  infer: {
    describe: "answer a question about images with a VILA model (streams; --json)",
    load: () => import("./infer.js"),
  },
  logits: {
    describe: "print the logits of every position for ids or a prompt (JSON)",
    load: () => import("./logits.js"),
  },
  metric: {
    describe: "score predictions with an official metric (vqa, textvqa, cider, mc, pope, exact)",
    load: () => import("./metric.js"),
  },
  recipe: {
    describe: "run a recipe: world, base models, stages 0-2, evaluation (cached stages)",
    load: () => import("./recipe.js"),
  },
  tokenizer: {
    describe: "train a byte-level BPE tokenizer, or encode text with one",
    load: () => import("./tokenizer.js"),
  },
  train: {
    describe: "train one VILA stage from a config (checkpoints, --resume, metrics, report)",
    load: () => import("./train.js"),
  },
  world: { describe: "generate the embedded world dataset", load: () => import("./world.js") },
};

function usage(): string {
  const rows = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.describe}`);
  return [
    "usage: vila <command> [options]   (vila <command> --help for its options)",
    "",
    "commands:",
    ...rows,
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`vila: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return (await mod.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const msg =
      err instanceof Error
        ? process.env.VILA_DEBUG
          ? (err.stack ?? err.message)
          : err.message
        : String(err);
    console.error(`vila: ${msg}`);
    process.exitCode = 1;
  },
);

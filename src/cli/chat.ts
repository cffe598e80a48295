// `vila chat`: an interactive terminal chat with a VILA checkpoint. History is kept and re-sent
// through the conversation template every turn; `/image PATH` attaches an image to the next
// question; `/reset` forgets the conversation; `/exit` (or end of input) leaves. Ctrl-C stops the
// answer being generated and keeps the session; at the prompt, a second Ctrl-C leaves. Bad input (an
// image that does not decode, a placeholder/image mismatch, a too-long conversation) prints an
// error and the session goes on. Works with piped input too (one line per message).

import readline from "node:readline";
import { generate, newSession, readImages, type SessionImage } from "../infer/index.js";
import { promptFormatName } from "../tokenizer/templates.js";
import { helpText, type OptionSpec, parseArgs } from "./args.js";
import { GENERATION_SPEC, loadFromFlags, samplingOf } from "./infer.js";

const SPEC: Record<string, OptionSpec> = { ...GENERATION_SPEC };

const COMMANDS = [
  "/image PATH   attach an image to the next question (repeat for several)",
  "/reset        forget the conversation and attached images",
  "/exit         leave (also /quit, end of input, or Ctrl-C twice at the prompt)",
  "/help         this list",
].join("\n");

export async function run(argv: string[]): Promise<number> {
  const { opts, help } = parseArgs(argv, SPEC, "vila chat");
  if (help) {
    console.log(
      `${helpText("vila chat", "Chat with a VILA model in the terminal. Ctrl-C stops the current answer.", SPEC)}\n\ncommands in the chat:\n${COMMANDS}`,
    );
    return 0;
  }
  const pipeline = await loadFromFlags(opts);
  const session = newSession(pipeline, opts["conv-mode"] as string, {
    system: opts.system as string | undefined,
  });
  const sampling = samplingOf(opts);
  const tty = process.stdin.isTTY === true;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  const say = (s: string) => process.stderr.write(`${s}\n`);

  let answering: AbortController | null = null;
  let armedExit = false;
  const onInterrupt = () => {
    if (answering) {
      answering.abort();
      return;
    }
    if (armedExit) rl.close();
    else {
      armedExit = true;
      say("\n(Ctrl-C again or /exit to leave)");
      if (tty) rl.prompt();
    }
  };
  rl.on("SIGINT", onInterrupt);
  process.on("SIGINT", onInterrupt);

  say(`vila chat: ${opts.model} (${promptFormatName(session.opts.format)}); /help for commands`);
  let pending: SessionImage[] = [];
  rl.setPrompt("> ");
  if (tty) rl.prompt();
  try {
    for await (const raw of rl) {
      armedExit = false;
      const line = raw.trim();
      try {
        if (line === "") continue;
        if (line === "/exit" || line === "/quit") break;
        if (line === "/help") say(COMMANDS);
        else if (line === "/reset") {
          session.reset();
          pending = [];
          say("(conversation reset)");
        } else if (line === "/image" || line.startsWith("/image ")) {
          const file = line
            .slice("/image".length)
            .trim()
            .replace(/^(["'])(.*)\1$/, "$2");
          if (!file) throw new Error("/image needs a file path");
          pending.push(...(await readImages(pipeline, [file])));
          say(`(image ${pending.length} attached: ${file})`);
        } else if (line.startsWith("/")) {
          throw new Error(`unknown command ${line.split(/\s/)[0]} (/help lists them)`);
        } else {
          const turn = session.prepare(line, pending);
          answering = new AbortController();
          let text = "";
          let started = false;
          let aborted = false;
          for await (const ev of generate(pipeline.model, session.inputOf(turn, pipeline.model), {
            ...sampling,
            ...session.optionsOf(turn),
            tokenizer: pipeline.tokenizer,
            signal: answering.signal,
          })) {
            const piece = started ? ev.text : ev.text.trimStart();
            if (piece) {
              process.stdout.write(piece);
              started = true;
            }
            if (ev.type === "done") {
              text = ev.result.text.trim();
              aborted = ev.result.finishReason === "abort";
            }
          }
          process.stdout.write("\n");
          if (aborted) say("(stopped)");
          session.commit(turn, text);
          pending = [];
        }
      } catch (e) {
        say(`error: ${(e as Error).message}`);
      } finally {
        answering = null;
      }
      if (tty) rl.prompt();
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    rl.close();
    process.stdin.destroy(); // a still-open stdin would keep the process alive after /exit or Ctrl-C
  }
  return 0;
}

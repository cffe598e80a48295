// `vila chat` driven through stdin: a bad image path and a bad command print errors and the session
// goes on; images attach to the next question; /reset clears the history; EOF leaves with code 0.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { savePng } from "../../src/io/image.js";
import { MAIN, vila } from "./cli_run.js";

test("vila chat over piped stdin survives bad input and answers every question", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vila-chat-"));
  try {
    const png = join(dir, "a.png");
    await savePng(
      png,
      new Uint8Array(16 * 16 * 3).map((_, i) => i % 256),
      16,
      16,
    );
    const lines = [
      `/image ${join(dir, "nope.png")}`,
      `/image ${png}`,
      "t5 t7",
      "<image> again",
      "/reset",
      "t9 t8",
      "/bogus",
      "t3",
    ];
    const args = [
      "chat",
      "--model",
      "test/fixtures/models/vila15",
      "--conv-mode",
      "plain",
      "--temperature",
      "0",
      "--max-new-tokens",
      "4",
    ];
    const r = vila(args, `${lines.join("\n")}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /error: image .*nope\.png: file not found/);
    assert.match(r.stderr, /image 1 attached/);
    assert.match(r.stderr, /error: the prompt has 1 <image> placeholder\(s\) but 0 image\(s\)/);
    assert.match(r.stderr, /conversation reset/);
    assert.match(r.stderr, /error: unknown command \/bogus/);
    const answers = r.stdout.trim().split("\n");
    assert.equal(answers.length, 3, r.stdout); // "t5 t7", "t9 t8", "t3"
    for (const a of answers) assert.match(a, /^t\d+( t\d+){3}$/);
    // after /reset the answer to "t9 t8" is the same as in a fresh session
    const fresh = vila(args, "t9 t8\n");
    assert.equal(fresh.stdout.trim(), answers[1]);
    // without /reset the history changes the prompt of the second question
    const kept = vila(args, `/image ${png}\nt5 t7\nt9 t8\n`);
    assert.equal(kept.stdout.trim().split("\n")[0], answers[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vila chat: Ctrl-C at the prompt keeps the session; a second one leaves", async () => {
  const child = spawn(process.execPath, [
    MAIN,
    "chat",
    "--model",
    "test/fixtures/models/vila15",
    "--conv-mode",
    "plain",
    "--temperature",
    "0",
    "--max-new-tokens",
    "3",
  ]);
  try {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(cond(), `timed out; stdout ${JSON.stringify(stdout)} stderr ${JSON.stringify(stderr)}`);
    };
    await until(() => stderr.includes("/help for commands"));
    child.kill("SIGINT");
    await until(() => stderr.includes("Ctrl-C again"));
    child.stdin.write("t5 t7\n");
    await until(() => stdout.includes("\n"));
    assert.match(stdout, /^t\d+ t\d+ t\d+\n$/);
    child.kill("SIGINT");
    await until(() => stderr.split("Ctrl-C again").length === 3);
    child.kill("SIGINT");
    assert.equal(await exited, 0);
  } finally {
    child.kill("SIGKILL");
  }
});

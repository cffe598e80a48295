// The world-smoke recipe end to end in a temporary folder: stages run in order, checkpoints are in
// the VILA1.5 layout and load, the report holds the eval table; a re-run is fully cached; changing
// one stage's config re-runs that stage and the ones after it only; an interrupted stage resumes;
// bad input fails before any work.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadWorldBenchmark, subsetBenchmark } from "../../src/eval/benchmarks.js";
import { demoMajorityBaseline } from "../../src/eval/score.js";
import { loadVila } from "../../src/io/model.js";
import { openSafetensors } from "../../src/io/safetensors.js";
import { FINISHED_FILE, readFinished, stageHash } from "../../src/recipes/cache.js";
import type { EvalRow } from "../../src/recipes/executors.js";
import { RECIPES, type RecipePreset } from "../../src/recipes/presets.js";
import { type RecipeResult, runRecipe } from "../../src/recipes/run.js";
import { applyRecipeOverrides, buildStages, checkPreset, resolveRecipe } from "../../src/recipes/stages.js";
import { ConfigError } from "../../src/train/config.js";
import { PRESETS as WORLD_PRESETS } from "../../src/world/presets.js";

const ORDER = [
  "world",
  "tokenizer",
  "base_llm",
  "eval_base_llm",
  "vision_tower",
  "align",
  "pretrain",
  "lookups",
  "sft",
  "eval_sft",
];

function tmp(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vila-recipe-${tag}-`));
}

async function smoke(out: string, overrides: string[] = [], signal?: AbortSignal) {
  const lines: string[] = [];
  const r = await runRecipe({ recipe: "world-smoke", out, overrides, onLog: (l) => lines.push(l), signal });
  return { r, lines, ran: r.stages.filter((s) => !s.cached).map((s) => s.stage.name) };
}

describe("world-smoke recipe", () => {
  let out: string;
  let first: RecipeResult;
  let firstLines: string[];
  before(async () => {
    out = tmp("smoke");
    ({ r: first, lines: firstLines } = await smoke(out));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("runs every stage in order and marks each finished", () => {
    assert.deepEqual(
      first.stages.map((s) => s.stage.name),
      ORDER,
    );
    const started = firstLines.filter((l) => / running \(/.test(l)).map((l) => l.split(":")[0]);
    assert.deepEqual(started, ORDER);
    for (const s of first.stages) {
      assert.equal(s.cached, false);
      const rec = readFinished(s.dir);
      assert.ok(rec, `${s.stage.name} has ${FINISHED_FILE}`);
      assert.equal(rec.hash, s.hash);
      assert.ok(rec.seconds >= 0 && rec.peak_rss_mib > 0);
    }
  });

  it("writes VILA1.5 checkpoints that loadVila reads, with the trained tower and tokenizer", () => {
    const ckpt = first.finalCheckpoint as string;
    for (const part of ["llm", "vision_tower", "mm_projector"])
      assert.ok(fs.existsSync(path.join(ckpt, part, "config.json")), `${part}/config.json`);
    const { model, checkpoint } = loadVila(ckpt);
    assert.ok(checkpoint.tokenizerDir);
    const p = RECIPES["world-smoke"].model;
    assert.equal(model.llm.config.hidden_size, p.llm.hidden_size);
    assert.equal(model.config.vision.hidden_size, p.vision.hidden_size);
    assert.equal(model.config.projector.mm_projector_type, "mlp_downsample");
    // stage 0 starts from the pre-trained tower and keeps it frozen, so align's tower equals the
    // vision_tower stage's weights; stage 1 tunes it and SFT keeps it frozen (the preset), so the
    // final tower is stage 1's and differs from align's
    const tower = first.stages.find((s) => s.stage.name === "vision_tower");
    const align = first.stages.find((s) => s.stage.name === "align");
    const pretrain = first.stages.find((s) => s.stage.name === "pretrain");
    assert.ok(tower?.record && align?.record && pretrain?.record);
    const pre = openSafetensors(path.join(tower.dir, tower.record.outputs.tower, "model.safetensors"));
    const alignModel = loadVila(path.join(align.dir, align.record.outputs.checkpoint)).model;
    const a = alignModel.visionTower.stateDict();
    for (const k of Object.keys(a)) assert.deepEqual(a[k].f32, pre.get(k).f32, k);
    assert.ok(
      RECIPES["world-smoke"].pretrain.tune_vision_tower && !RECIPES["world-smoke"].sft.tune_vision_tower,
    );
    const stage1 = loadVila(path.join(pretrain.dir, pretrain.record.outputs.checkpoint)).model;
    const p1 = stage1.visionTower.stateDict();
    const b = model.visionTower.stateDict();
    assert.ok(
      Object.keys(a).some((k) => a[k].f32.some((x, i) => x !== p1[k].f32[i])),
      "stage 1 changed the tower",
    );
    for (const k of Object.keys(p1))
      assert.deepEqual(b[k].f32, p1[k].f32, `SFT changed the frozen tower: ${k}`);
  });

  it("writes the report with the eval table and baselines", () => {
    const md = fs.readFileSync(first.report.markdown, "utf8");
    const html = fs.readFileSync(first.report.html, "utf8");
    assert.match(
      md,
      /\| benchmark \| metric \| shots \| questions \| base LLM \| stage 2 \(SFT\) \| most frequent answer/,
    );
    for (const b of RECIPES["world-smoke"].eval.benchmarks) assert.match(md, new RegExp(`\\| ${b} \\|`));
    assert.match(md, /image withheld/);
    assert.match(html, /<svg/);
    assert.match(html, /<table>/);
    // the base LLM: only the text-only benchmark prompted raw (icl_text), at 0 and 4 shots
    const baseEval = first.stages.find((s) => s.stage.name === "eval_base_llm");
    const baseRep = JSON.parse(fs.readFileSync(path.join(baseEval!.dir, "eval.json"), "utf8"));
    assert.deepEqual(
      baseRep.rows.map(
        (r: { bench: string; shots: number; conv_mode: string }) => `${r.bench} ${r.shots} ${r.conv_mode}`,
      ),
      ["icl_text 0 raw", "icl_text 4 raw"],
    );
    assert.match(md, /\| vqa \| vqa \| 0 \| 4 \| - \| [\d.]+ \|/, "no base-LLM score on a visual benchmark");
    assert.match(md, /\| copying: most frequent \/ a random demonstrated answer \|/);
    assert.match(md, /\| icl_text \| exact \| 4 \| 3 \/ 4 \| [\d.]+ \| [\d.]+ \|.* \| [\d.]+ \/ 50\.0 \|/);
    const evalStage = first.stages.find((s) => s.stage.name === "eval_sft");
    const rep = JSON.parse(fs.readFileSync(path.join(evalStage!.dir, "eval.json"), "utf8"));
    // vqa and captions at 0 and 4 shots and with the image withheld, mmlu at 0 shots, icl_text at
    // 0 and 4 shots, prompted raw (no template)
    assert.equal(rep.rows.length, 9);
    for (const row of rep.rows) assert.equal(row.conv_mode, row.bench === "icl_text" ? "raw" : "hermes-2");
    // the 4-shot in-context row carries its copying baseline, computed from the questions' own demos
    const icl4 = rep.rows.find(
      (r: { bench: string; shots: number }) => r.bench === "icl_text" && r.shots === 4,
    );
    const world = first.stages.find((s) => s.stage.kind === "world");
    const full = loadWorldBenchmark(path.join(world!.dir, "world"), "icl_text");
    const bench = subsetBenchmark(full, full.items.slice(0, RECIPES["world-smoke"].eval.final_limit));
    assert.equal(icl4.demo_majority, demoMajorityBaseline(bench, 4));
    // 2-way episodes, both keys shown in the first two demonstrations: a random one scores 50
    assert.equal(icl4.demo_random, 50);
    for (const r of rep.rows)
      assert.equal(
        r.demo_majority === null,
        r.bench !== "icl_text" || r.shots === 0,
        `${r.bench} ${r.shots}`,
      );
    assert.match(
      md,
      /In-context learning \(icl_text\)\.\*\* base LLM [\d.]+ at 0 shots, [\d.]+ at 4 \(copying [\d.]+\); stage 2 \(SFT\) [\d.]+ at 0 shots, [\d.]+ at 4 \(copying [\d.]+\)/,
    );
  });

  it("re-runs nothing when nothing changed", async () => {
    const { r, lines, ran } = await smoke(out);
    assert.deepEqual(ran, []);
    assert.equal(lines.filter((l) => l.endsWith(")") && l.includes(": cached (")).length, ORDER.length);
    assert.ok(!lines.some((l) => /step \d+ \|/.test(l)), "no training step ran");
    assert.equal(r.finalCheckpoint, first.finalCheckpoint);
  });

  it("re-runs a changed stage and the stages after it only", async () => {
    const sft = await smoke(out, ["sft.learning_rate=5e-4"]);
    assert.deepEqual(sft.ran, ["sft", "eval_sft"]);
    // eval_sft is the smoke recipe's only (so its last) eval stage: final_limit is its limit
    const ev = await smoke(out, ["eval.final_limit=2"]);
    assert.deepEqual(ev.ran, ["eval_sft"]);
    // a benchmark's demonstration template reaches its k-shot prompts (the default: one line each)
    const firstPrompt = (r: RecipeResult, stage: string, bench: string, shots: number) => {
      const dir = r.stages.find((s) => s.stage.name === stage)!.dir;
      const rows = JSON.parse(fs.readFileSync(path.join(dir, "eval.json"), "utf8")).rows as EvalRow[];
      return rows.find((row) => row.bench === bench && row.shots === shots)!.first_prompt as string;
    };
    const plain = firstPrompt(first, "eval_sft", "icl_text", 4);
    assert.equal(plain.split("\n").length, 5, plain);
    const dt = await smoke(out, ["eval.demo_templates={icl_text: '{question} {answer};'}"]);
    assert.deepEqual(dt.ran, ["eval_base_llm", "eval_sft"]);
    const custom = firstPrompt(dt.r, "eval_sft", "icl_text", 4);
    assert.equal(custom.split(";").length, 5, custom);
    assert.equal(custom, plain.replaceAll("\n", ";"));
    const tower = await smoke(out, ["vision_tower.lr=1e-3"]);
    assert.deepEqual(tower.ran, ["vision_tower", "align", "pretrain", "lookups", "sft", "eval_sft"]);
    // the variants' folders sit beside the first run's, which is still cached
    assert.deepEqual((await smoke(out)).ran, []);
  });

  it("resumes an interrupted training stage on the next run", async () => {
    const dir = tmp("abort");
    try {
      const ctrl = new AbortController();
      const lines: string[] = [];
      const r = await runRecipe({
        recipe: "world-smoke",
        out: dir,
        overrides: ["sft.max_steps=4", "world.dir=" + firstWorld(first)],
        signal: ctrl.signal,
        onLog: (l) => lines.push(l),
        onStep: (stage, s) => {
          if (stage === "sft" && s.step === 2) ctrl.abort();
        },
      });
      assert.equal(r.stopped, true);
      const sft = r.stages.find((s) => s.stage.name === "sft");
      assert.ok(sft && sft.record === null && !fs.existsSync(path.join(sft.dir, FINISHED_FILE)));
      const again = await smoke(dir, ["sft.max_steps=4", "world.dir=" + firstWorld(first)]);
      assert.deepEqual(again.ran, ["sft", "eval_sft"]);
      assert.ok(again.lines.some((l) => l.includes("sft: resuming from")));
      assert.ok(again.lines.some((l) => l.includes("resumed from") && l.includes("at step 2")));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function firstWorld(r: RecipeResult): string {
  const w = r.stages.find((s) => s.stage.name === "world");
  return path.join(w!.dir, w!.record!.outputs.world);
}

describe("recipe stages and cache keys", () => {
  it("hashes the kind, the config and the inputs' hashes (sha256 of canonical JSON)", () => {
    const [world, tok] = buildStages(RECIPES["world-tiny"]);
    const h = stageHash(tok, { world: "abc" });
    // canonical JSON: keys sorted at every level
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
            )
          : v;
    const text = JSON.stringify({ config: sorted(tok.config), inputs: { world: "abc" }, kind: "tokenizer" });
    assert.equal(h, createHash("sha256").update(text).digest("hex").slice(0, 12));
    assert.notEqual(stageHash(tok, { world: "abd" }), h);
    assert.notEqual(stageHash(world, {}), stageHash({ ...world, config: { ...world.config, seed: 1 } }, {}));
  });

  it("keys the world stage by the world preset's contents, not only its name", () => {
    const before = stageHash(buildStages(RECIPES["world-tiny"])[0], {});
    const pairs = WORLD_PRESETS.tiny.pairs;
    WORLD_PRESETS.tiny.pairs = { ...pairs, objects: pairs.objects + 1 };
    try {
      const changed = buildStages(RECIPES["world-tiny"])[0];
      assert.deepEqual(changed.config.spec, WORLD_PRESETS.tiny);
      assert.notEqual(stageHash(changed, {}), before);
    } finally {
      WORLD_PRESETS.tiny.pairs = pairs;
    }
    assert.equal(stageHash(buildStages(RECIPES["world-tiny"])[0], {}), before);
  });

  it("evaluates after the stages the preset names", () => {
    const names = buildStages(RECIPES["world-tiny"]).map((s) => s.name);
    assert.deepEqual(names, [
      "world",
      "tokenizer",
      "base_llm",
      "vision_tower",
      "align",
      "eval_align",
      "pretrain",
      "eval_pretrain",
      "lookups",
      "sft",
      "eval_sft",
    ]);
  });

  it("goes from pretrain to sft in a preset without the lookups stage", () => {
    // every named preset has stage 1.5; a preset of one's own may leave it out (lookups: null)
    const plain: RecipePreset = { ...RECIPES["world-small"], lookups: null };
    const stages = buildStages(plain);
    assert.ok(!stages.some((s) => s.name === "lookups"));
    assert.deepEqual(stages.find((s) => s.name === "sft")?.inputs, ["world", "pretrain"]);
    for (const name of ["world-tiny", "world-small"])
      assert.deepEqual(buildStages(RECIPES[name]).find((s) => s.name === "sft")?.inputs, [
        "world",
        "lookups",
      ]);
    assert.throws(
      () => applyRecipeOverrides(plain, ["lookups.max_steps=10"]),
      /override --lookups.max_steps: recipe world-small has no lookups stage/,
    );
    assert.throws(
      () => checkPreset(applyRecipeOverrides(plain, ["eval.after=[pretrain, lookups]"])),
      /eval.after: "lookups": the recipe has no lookups stage/,
    );
  });

  it("gives the last eval stage final_limit questions and the others limit", () => {
    const limits = (p: RecipePreset) =>
      Object.fromEntries(
        buildStages(p)
          .filter((s) => s.kind === "eval")
          .map((s) => [s.name, s.config.limit]),
      );
    const tiny = RECIPES["world-tiny"];
    const { limit, final_limit } = tiny.eval;
    assert.ok(final_limit > limit);
    assert.deepEqual(limits(tiny), { eval_align: limit, eval_pretrain: limit, eval_sft: final_limit });
    assert.deepEqual(limits(applyRecipeOverrides(tiny, ["eval.after=[align, pretrain]"])), {
      eval_align: limit,
      eval_pretrain: final_limit,
    });
    // the earlier eval stages' configs, so their cache keys, do not depend on final_limit
    const cfg = (p: RecipePreset) => buildStages(p).find((s) => s.name === "eval_pretrain")?.config;
    assert.deepEqual(cfg(applyRecipeOverrides(tiny, ["eval.final_limit=7"])), cfg(tiny));
    assert.ok(!("final_limit" in (cfg(tiny) ?? {})));
  });

  it("types overrides like the values they replace", () => {
    const p = applyRecipeOverrides(RECIPES["world-tiny"], [
      "sft.max_steps=7",
      "model.llm.hidden_size=64",
      "eval.benchmarks=[vqa, mmlu]",
      "align.tune_language_model=true",
    ]);
    assert.equal(p.sft.max_steps, 7);
    assert.equal(p.model.llm.hidden_size, 64);
    assert.deepEqual(p.eval.benchmarks, ["vqa", "mmlu"]);
    assert.equal(p.align.tune_language_model, true);
    assert.notEqual(RECIPES["world-tiny"].sft.max_steps, 7, "the preset itself is untouched");
  });
});

describe("bad input fails before any work", () => {
  const cases: [string, string, string[], RegExp][] = [
    [
      "an unknown recipe",
      "world-huge",
      [],
      /unknown recipe "world-huge" \(known: world-smoke, world-tiny, world-small\)/,
    ],
    [
      "a typo in a trainer key",
      "world-smoke",
      ["sft.learning_rat=1e-3"],
      /unknown trainer config key "learning_rat"/,
    ],
    ["a typo in a preset key", "world-smoke", ["eval.limt=3"], /unknown key "eval.limt" \(eval has: .*limit/],
    ["an unknown section", "world-smoke", ["sfd.max_steps=3"], /unknown section "sfd"/],
    ["a value of the wrong type", "world-smoke", ["sft.max_steps=many"], /expected a number, got "many"/],
    [
      "a stage with nothing to train",
      "world-smoke",
      ["align.tune_mm_projector=false"],
      /stage align has nothing to train/,
    ],
    [
      "a world folder that does not exist",
      "world-smoke",
      ["world.dir=/no/such/world"],
      /world.dir .* is not a world folder/,
    ],
    [
      "a question count of zero",
      "world-smoke",
      ["eval.final_limit=0"],
      /eval.final_limit must be a positive integer, got 0/,
    ],
    ["an unknown benchmark", "world-smoke", ["eval.benchmarks=[vqa, vqa2]"], /unknown benchmark "vqa2"/],
    [
      "an unknown raw benchmark",
      "world-smoke",
      ["eval.raw_benchmarks=[icl, icl_txt]"],
      /eval.raw_benchmarks: unknown benchmark "icl_txt"/,
    ],
    [
      "a demonstration template for an unknown benchmark",
      "world-smoke",
      ["eval.demo_templates={icl_txt: '{question} {answer}.'}"],
      /eval.demo_templates: unknown benchmark "icl_txt"/,
    ],
    [
      "a demonstration template without its answer",
      "world-smoke",
      ["eval.demo_templates={icl: '{question}.'}"],
      /eval.demo_templates.icl: expected a string with \{question\} and \{answer\}, got "\{question\}."/,
    ],
    [
      "an eval after a stage that does not exist",
      "world-smoke",
      ["eval.after=[base_llm, sfd]"],
      /eval.after: "sfd" is not a trained stage \(base_llm, align, pretrain, lookups, sft\)/,
    ],
    [
      "the image withheld from a base LLM",
      "world-smoke",
      ["eval.withhold_image_after=[base_llm]"],
      /eval.withhold_image_after: "base_llm" is not a training stage with images/,
    ],
    [
      "a base-LLM eval with no text-only raw benchmark",
      "world-smoke",
      ["eval.raw_benchmarks=[icl]"],
      /the base LLM is evaluated on the text-only benchmarks it is prompted raw on .*there are none/,
    ],
    ["a recipe-owned key", "world-smoke", ["sft.init_from=/tmp"], /"init_from" is set by the recipe/],
    ["an invalid trainer value", "world-smoke", ["sft.learning_rate=-1"], /sft.learning_rate/],
    [
      "a tower caption filter that is not a regular expression",
      "world-smoke",
      ["vision_tower.caption_drop=(background"],
      /vision_tower.caption_drop is not a regular expression/,
    ],
    [
      "a word class of one word",
      "world-smoke",
      ["vision_tower.word_classes={shape: [circle]}"],
      /vision_tower.word_classes.shape must be a list of at least 2 single words/,
    ],
    [
      "a tower augmentation shift as large as the image",
      "world-smoke",
      ["vision_tower.augment.shift=64"],
      /vision_tower.augment must be \{dihedral: true\|false, shift: pixels in \[0, 64\)/,
    ],
    [
      "a tower augmentation filter that is not a regular expression",
      "world-smoke",
      ["vision_tower.augment.exclude=(sign"],
      /vision_tower.augment.exclude is not a regular expression/,
    ],
    [
      "a tower pooling that is neither mean nor map",
      "world-smoke",
      ["vision_tower.pooling=max"],
      /vision_tower.pooling must be "mean" or "map", got "max"/,
    ],
  ];
  for (const [what, name, overrides, re] of cases) {
    it(what, async () => {
      const out = path.join(
        os.tmpdir(),
        `vila-recipe-bad-${process.pid}-${Math.random().toString(36).slice(2)}`,
      );
      assert.throws(
        () => resolveRecipe(name, overrides),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
      );
      await assert.rejects(runRecipe({ recipe: name, out, overrides }), re);
      assert.equal(fs.existsSync(out), false, "nothing was written");
    });
  }
});

// VILA checkpoint layouts: tiny random checkpoints in the VILA1.5 split layout (written by our writer,
// whose safetensors bytes test/io/safetensors.test.ts proves identical to the Python library's) and
// in the monolithic LLaVA layout read back exactly; config precedence; clear errors; atomic save.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type Json,
  readVilaCheckpoint,
  type VilaCheckpointSpec,
  writeVilaCheckpoint,
} from "../../src/io/checkpoint.js";
import type { TensorReader } from "../../src/io/safetensors.js";
import { saveShardedSafetensors } from "../../src/io/safetensors_writer.js";
import { Tensor } from "../../src/tensor/tensor.js";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "vila-io-ckpt-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

let seed = 7;
function rand(shape: number[], dtype: "f32" | "bf16" = "f32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  if (dtype === "bf16")
    return new Tensor(
      Uint16Array.from({ length: n }, () =>
        Math.fround(next()) === 0 ? 0 : new Uint32Array(new Float32Array([next()]).buffer)[0] >>> 16,
      ),
      shape,
      "bf16",
    );
  return new Tensor(Float32Array.from({ length: n }, next), shape);
}

const llmConfig: Json = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  vocab_size: 11,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 64,
};
const vtConfig: Json = {
  architectures: ["SiglipVisionModel"],
  model_type: "siglip_vision_model",
  hidden_size: 6,
  intermediate_size: 10,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  image_size: 28,
  patch_size: 14,
  hidden_act: "gelu_pytorch_tanh",
  layer_norm_eps: 1e-6,
};
const preprocessor: Json = {
  image_processor_type: "SiglipImageProcessor",
  size: { height: 28, width: 28 },
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  resample: 3,
  rescale_factor: 1 / 255,
  do_resize: true,
  do_rescale: true,
  do_normalize: true,
};
const mpConfig: Json = {
  architectures: ["MultimodalProjector"],
  mm_projector_type: "mlp_downsample",
  model_type: "v2l_projector",
};

function makeSpec(): VilaCheckpointSpec {
  return {
    config: {
      image_aspect_ratio: "resize",
      mm_hidden_size: 6,
      hidden_size: 8,
      mm_vision_select_layer: -2,
      mm_vision_select_feature: "cls_patch",
    },
    llm: {
      config: llmConfig,
      tensors: {
        "model.embed_tokens.weight": rand([11, 8], "bf16"),
        "model.layers.0.self_attn.q_proj.weight": rand([8, 8], "bf16"),
        "model.norm.weight": rand([8]),
        "lm_head.weight": rand([11, 8], "bf16"),
      },
      generationConfig: { bos_token_id: 1, eos_token_id: 2 },
    },
    vision_tower: {
      config: vtConfig,
      preprocessor,
      tensors: {
        "vision_model.embeddings.patch_embedding.weight": rand([6, 3, 14, 14]),
        "vision_model.post_layernorm.weight": rand([6]),
      },
    },
    mm_projector: {
      config: mpConfig,
      tensors: {
        "layers.1.weight": rand([24]),
        "layers.2.weight": rand([8, 24]),
        "layers.4.weight": rand([8, 8]),
      },
    },
    tokenizer: {
      "tokenizer_config.json": '{"model_max_length": 64}\n',
      "tokenizer.json": '{"version": "1.0"}\n',
    },
    maxShardBytes: 200, // forces a sharded llm/
  };
}

function assertSame(reader: TensorReader, tensors: Record<string, unknown>, what: string): void {
  assert.deepEqual(reader.keys().sort(), Object.keys(tensors).sort(), `${what} keys`);
  for (const [k, t] of Object.entries(tensors)) {
    const got = reader.get(k);
    const want = t as Tensor;
    assert.equal(got.dtype, want.dtype, `${what} ${k} dtype`);
    assert.deepEqual(got.shape, want.shape, `${what} ${k} shape`);
    assert.deepEqual(got.data, want.data, `${what} ${k} data`);
  }
}

describe("VILA1.5 layout", () => {
  const dir = path.join(TMP, "vila15");
  const spec = makeSpec();
  writeVilaCheckpoint(dir, spec);

  test("write then read back: files, configs, weights, tokenizer", () => {
    assert.deepEqual(fs.readdirSync(dir).sort(), ["config.json", "llm", "mm_projector", "vision_tower"]);
    assert.ok(fs.existsSync(path.join(dir, "llm", "model.safetensors.index.json")));
    assert.ok(fs.existsSync(path.join(dir, "llm", "tokenizer.json")));
    const c = readVilaCheckpoint(dir);
    assert.equal(c.layout, "vila1.5");
    assert.equal(c.llm.architecture, "LlamaForCausalLM");
    assert.equal(c.vision_tower.architecture, "SiglipVisionModel");
    assert.equal(c.mm_projector.projectorType, "mlp_downsample");
    assert.deepEqual(c.llm.config, llmConfig);
    assert.deepEqual(c.config.llm_cfg, llmConfig);
    assert.deepEqual(c.config.vision_tower_cfg, vtConfig);
    assert.equal(c.config.architectures?.toString(), "LlavaLlamaModel");
    assert.equal(c.config.mm_vision_select_feature, "cls_patch");
    assert.equal(c.tokenizerDir, path.join(dir, "llm"));
    assert.deepEqual(c.vision_tower.preprocessorConfig, JSON.parse(JSON.stringify(preprocessor)));
    assert.equal(c.vision_tower.preprocess.mode, "resize");
    assert.deepEqual(c.vision_tower.preprocess.size, { height: 28, width: 28 });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "llm", "generation_config.json"), "utf8")), {
      bos_token_id: 1,
      eos_token_id: 2,
    });
    assertSame(c.llm.weights, spec.llm.tensors, "llm");
    assertSame(c.vision_tower.weights, spec.vision_tower.tensors, "vision_tower");
    assertSame(c.mm_projector.weights, spec.mm_projector.tensors, "mm_projector");
    assert.deepEqual({ ...c.mm_projector.weights.metadata }, { format: "pt" }); // transformers refuses files without it
  });

  test("the sub-folder config wins over the embedded dict; the dict is the fallback", () => {
    const d = path.join(TMP, "precedence");
    fs.cpSync(dir, d, { recursive: true });
    const sub = { ...llmConfig, num_hidden_layers: 3 };
    fs.writeFileSync(path.join(d, "llm", "config.json"), JSON.stringify(sub));
    fs.rmSync(path.join(d, "vision_tower", "config.json"));
    const c = readVilaCheckpoint(d);
    assert.equal(c.llm.config.num_hidden_layers, 3);
    assert.equal((c.config.llm_cfg as Json).num_hidden_layers, 3);
    assert.equal(
      (JSON.parse(fs.readFileSync(path.join(d, "config.json"), "utf8")).llm_cfg as Json).num_hidden_layers,
      1,
    );
    assert.deepEqual(c.vision_tower.config, vtConfig);
  });

  test("bad checkpoints are clear errors naming the file", () => {
    const bad = (name: string, edit: (d: string) => void, re: RegExp) => {
      const d = path.join(TMP, name);
      fs.cpSync(dir, d, { recursive: true });
      edit(d);
      assert.throws(() => readVilaCheckpoint(d), re);
    };
    const setJson = (f: string, patch: Json) =>
      fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, "utf8")), ...patch }));
    bad(
      "proj",
      (d) => setJson(path.join(d, "mm_projector", "config.json"), { mm_projector_type: "mlp_qformer" }),
      /mm_projector\/config\.json: mm_projector_type "mlp_qformer" is not supported/,
    );
    bad(
      "arch",
      (d) => setJson(path.join(d, "llm", "config.json"), { architectures: ["MistralForCausalLM"] }),
      /llm\/config\.json: LLM architecture "MistralForCausalLM" is not supported/,
    );
    bad(
      "varch",
      (d) => setJson(path.join(d, "vision_tower", "config.json"), { architectures: ["InternVisionModel"] }),
      /vision_tower\/config\.json: vision tower architecture "InternVisionModel"/,
    );
    bad(
      "novt",
      (d) => fs.rmSync(path.join(d, "vision_tower"), { recursive: true }),
      /the vision_tower\/ folder is missing/,
    );
    bad(
      "nopre",
      (d) => fs.rmSync(path.join(d, "vision_tower", "preprocessor_config.json")),
      /vision_tower\/preprocessor_config\.json is missing/,
    );
    const rmWeights = (d: string) => {
      for (const f of fs.readdirSync(d)) if (f.startsWith("model")) fs.rmSync(path.join(d, f));
    };
    bad(
      "noweights",
      (d) => rmWeights(path.join(d, "mm_projector")),
      /mm_projector folder .*mm_projector has no model\.safetensors/,
    );
    bad(
      "badjson",
      (d) => fs.writeFileSync(path.join(d, "llm", "config.json"), "{"),
      /llm\/config\.json is not valid JSON/,
    );
    bad(
      "trunc",
      (d) => {
        const vt = path.join(d, "vision_tower");
        const last = fs
          .readdirSync(vt)
          .filter((f) => f.endsWith(".safetensors"))
          .sort()
          .pop() as string;
        fs.truncateSync(path.join(vt, last), fs.statSync(path.join(vt, last)).size - 10);
      },
      /vision_tower\/model\S*\.safetensors: tensor "vision_model\.\S+": data_offsets .* end past the data/,
    );
    assert.throws(() => readVilaCheckpoint(path.join(TMP, "nowhere")), /nowhere\/config\.json is missing/);
    const c = readVilaCheckpoint(dir);
    assert.throws(
      () => c.mm_projector.weights.get("layers.2.weight", [24, 8]),
      /mm_projector\/model\.safetensors: tensor "layers\.2\.weight" has shape \[8,24\], expected \[24,8\]/,
    );
  });

  test("writer refuses unsupported configs before writing anything", () => {
    const s = makeSpec();
    s.mm_projector.config = { ...mpConfig, mm_projector_type: "resampler" };
    const d = path.join(TMP, "refused");
    assert.throws(() => writeVilaCheckpoint(d, s), /mm_projector_type "resampler" is not supported/);
    assert.equal(fs.existsSync(d), false);
  });
});

describe("atomic save", () => {
  const parent = path.join(TMP, "atomic");
  const dir = path.join(parent, "ckpt");
  const v1 = makeSpec();
  writeVilaCheckpoint(dir, v1);
  const checkV1 = () =>
    assertSame(readVilaCheckpoint(dir).llm.weights, v1.llm.tensors, "llm after failed save");

  test("an error mid-write leaves the old checkpoint and no temp folder", () => {
    const v2 = makeSpec();
    v2.mm_projector.tensors["layers.4.weight"] = { dtype: "F32", shape: [8, 8], data: new Float32Array(3) }; // fails after llm/ and vision_tower/ are written
    assert.throws(() => writeVilaCheckpoint(dir, v2), /layers\.4\.weight/);
    checkV1();
    assert.deepEqual(fs.readdirSync(parent), ["ckpt"]);
  });

  test("a process killed mid-write leaves the old checkpoint; the next save replaces it", () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const ckptJs = path.join(here, "..", "..", "src", "io", "checkpoint.js");
    const tensorJs = path.join(here, "..", "..", "src", "tensor", "tensor.js");
    // the child writes llm/ and vision_tower/, then dies abruptly (process.exit runs no cleanup)
    const code = `
      const { writeVilaCheckpoint } = await import(${JSON.stringify(ckptJs)});
      const { Tensor } = await import(${JSON.stringify(tensorJs)});
      const t = (n) => new Tensor(new Float32Array(n), [n]);
      const cfg = JSON.parse(${JSON.stringify(JSON.stringify({ llmConfig, vtConfig, preprocessor, mpConfig }))});
      writeVilaCheckpoint(${JSON.stringify(dir)}, {
        config: {}, llm: { config: cfg.llmConfig, tensors: { "model.norm.weight": t(8) } },
        vision_tower: { config: cfg.vtConfig, preprocessor: cfg.preprocessor, tensors: { "vision_model.post_layernorm.weight": t(6) } },
        mm_projector: { config: cfg.mpConfig, tensors: { get "layers.1.weight"() { process.exit(3); } } },
      });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    assert.equal(r.status, 3, r.stderr);
    checkV1();
    const left = fs.readdirSync(parent).filter((f) => f !== "ckpt");
    assert.equal(left.length, 1);
    assert.match(left[0], /^ckpt\.tmp-/);
    assert.ok(fs.existsSync(path.join(parent, left[0], "vision_tower", "model.safetensors"))); // it did die mid-write
    const v3 = makeSpec();
    writeVilaCheckpoint(dir, v3);
    assertSame(readVilaCheckpoint(dir).llm.weights, v3.llm.tensors, "llm after replace");
    assert.deepEqual(
      fs.readdirSync(parent).filter((f) => !f.startsWith("ckpt.tmp-")),
      ["ckpt"],
    );
  });
});

describe("monolithic LLaVA-1.5 / VILA v1.0 layout", () => {
  const dir = path.join(TMP, "mono");
  const llm = {
    "model.embed_tokens.weight": rand([11, 8]),
    "model.norm.weight": rand([8]),
    "lm_head.weight": rand([11, 8]),
  };
  const vision = {
    "vision_model.embeddings.patch_embedding.weight": rand([6, 3, 14, 14]),
    "vision_model.pre_layrnorm.weight": rand([6]),
  };
  const proj = {
    "0.weight": rand([8, 6]),
    "0.bias": rand([8]),
    "2.weight": rand([8, 8]),
    "2.bias": rand([8]),
  };
  const top: Json = {
    ...llmConfig,
    architectures: ["LlavaLlamaForCausalLM"],
    model_type: "llava_llama",
    mm_hidden_size: 6,
    mm_projector_type: "mlp2x_gelu",
    mm_vision_tower: "openai/clip-vit-large-patch14-336",
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "patch",
    image_aspect_ratio: "pad",
    mm_use_im_start_end: false,
    tune_mm_mlp_adapter: false,
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(top));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), "{}");
  saveShardedSafetensors(
    dir,
    {
      ...llm,
      ...Object.fromEntries(
        Object.entries(vision).map(([k, v]) => [`model.vision_tower.vision_tower.${k}`, v]),
      ),
      ...Object.fromEntries(Object.entries(proj).map(([k, v]) => [`model.mm_projector.${k}`, v])),
    },
    1000,
  );

  test("keys split by prefix, projector renamed to layers.*, configs derived", () => {
    const c = readVilaCheckpoint(dir);
    assert.equal(c.layout, "monolithic");
    assertSame(c.llm.weights, llm, "llm");
    assertSame(c.vision_tower.weights, vision, "vision_tower");
    assertSame(
      c.mm_projector.weights,
      Object.fromEntries(Object.entries(proj).map(([k, v]) => [`layers.${k}`, v])),
      "mm_projector",
    );
    assert.equal(c.llm.architecture, "LlamaForCausalLM");
    assert.equal(c.llm.config.model_type, "llama");
    assert.equal(c.llm.config.mm_vision_tower, undefined);
    assert.equal(c.llm.config.tune_mm_mlp_adapter, undefined);
    assert.equal(c.llm.config.hidden_size, 8);
    assert.equal(c.vision_tower.architecture, "CLIPVisionModel");
    assert.equal(c.mm_projector.projectorType, "mlp2x_gelu");
    assert.equal(c.vision_tower.preprocess.mode, "pad");
    assert.deepEqual(c.vision_tower.preprocess.size, { shortestEdge: 336 });
    assert.equal(c.config.image_aspect_ratio, "pad");
    assert.equal(c.tokenizerDir, dir);
    assert.throws(
      () => c.mm_projector.weights.get("layers.0.weight", [6, 8]),
      /tensor "layers\.0\.weight" \(stored as "model\.mm_projector\.0\.weight"\) has shape \[8,6\]/,
    );
  });

  test("converted to the VILA1.5 layout and read back", () => {
    const c = readVilaCheckpoint(dir);
    const all = (r: TensorReader) => Object.fromEntries(r.keys().map((k) => [k, r.get(k)]));
    const out = path.join(TMP, "mono_as_vila15");
    writeVilaCheckpoint(out, {
      config: c.config,
      llm: { config: c.llm.config, tensors: all(c.llm.weights) },
      vision_tower: {
        config: c.vision_tower.config,
        preprocessor: c.vision_tower.preprocessorConfig,
        tensors: all(c.vision_tower.weights),
      },
      mm_projector: { config: c.mm_projector.config, tensors: all(c.mm_projector.weights) },
      tokenizer: c.tokenizerDir ?? undefined,
    });
    const d = readVilaCheckpoint(out);
    assert.equal(d.layout, "vila1.5");
    assertSame(d.mm_projector.weights, all(c.mm_projector.weights), "mm_projector");
    assertSame(d.llm.weights, llm, "llm");
    assert.equal(d.vision_tower.preprocess.mode, "pad");
    assert.ok(fs.existsSync(path.join(out, "llm", "tokenizer_config.json")));
  });

  test("a tower given by an unknown hub id needs visionTowerDir; with it, its weights load", () => {
    const d = path.join(TMP, "mono_no_tower");
    fs.mkdirSync(d);
    fs.writeFileSync(
      path.join(d, "config.json"),
      JSON.stringify({ ...top, mm_vision_tower: "someone/vit-x" }),
    );
    saveShardedSafetensors(d, {
      ...llm,
      "model.mm_projector.0.weight": proj["0.weight"],
      "model.mm_projector.2.weight": proj["2.weight"],
    });
    assert.throws(
      () => readVilaCheckpoint(d),
      /config\.json: mm_vision_tower "someone\/vit-x" is not a local folder nor a known tower/,
    );
    const tower = path.join(TMP, "tower");
    fs.mkdirSync(tower);
    fs.writeFileSync(path.join(tower, "config.json"), JSON.stringify(vtConfig));
    fs.writeFileSync(path.join(tower, "preprocessor_config.json"), JSON.stringify(preprocessor));
    saveShardedSafetensors(tower, vision);
    const c = readVilaCheckpoint(d, { visionTowerDir: tower });
    assert.equal(c.vision_tower.architecture, "SiglipVisionModel");
    assertSame(c.vision_tower.weights, vision, "vision from visionTowerDir");
  });
});

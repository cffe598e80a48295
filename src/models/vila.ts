// VilaForCausalLM: vision tower -> projector -> image tokens spliced into the LLM's input
// embeddings where IMAGE_TOKEN_INDEX (-200) stands (llava_arch.py
// prepare_inputs_labels_for_multimodal, VILA1.5). Any number of images anywhere in any row;
// images are consumed in order across the whole batch; image positions get label -100; rows are
// right-padded with zero embeddings (or left-padded for batched generation); text-only input skips
// the vision tower. Modules are named `llm`, `vision_tower`, `mm_projector`, as in the VILA1.5
// checkpoint folders.

import { Module } from "../nn/index.js";
import { embedding } from "../tensor/ops/index.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import { concat, reshape, slice } from "../tensor/ops/shape.js";
import { withPoolScope } from "../tensor/pool.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { isGradEnabled, noGrad, Tensor } from "../tensor/tensor.js";
import { type KVCache, type LlamaConfig, LlamaForCausalLM } from "./llm/llama.js";
import { MultimodalProjector, type ProjectorConfig } from "./projector.js";
import { type ClipVisionConfig, ClipVisionModel } from "./vision/clip.js";
import { type SiglipVisionConfig, SiglipVisionModel } from "./vision/siglip.js";

export const IMAGE_TOKEN_INDEX = -200;
export const IGNORE_INDEX = -100;

export type VisionConfig = (SiglipVisionConfig | ClipVisionConfig) & {
  architectures?: string[];
  model_type?: string;
};

export interface VilaConfig {
  llm: LlamaConfig;
  vision: VisionConfig;
  projector: ProjectorConfig;
  /** hidden_states index of the tower (-2 = output of the second-to-last layer). */
  mm_vision_select_layer?: number;
  /** "patch" drops token 0 (CLIP's class token); "cls_patch" keeps all (SigLIP). */
  mm_vision_select_feature?: "patch" | "cls_patch";
}

export function isSiglip(c: VisionConfig): boolean {
  const a = c.architectures?.[0] ?? "";
  return a.startsWith("Siglip") || c.model_type === "siglip_vision_model" || c.model_type === "siglip";
}

export function isClip(c: VisionConfig): boolean {
  const a = c.architectures?.[0] ?? "";
  return a.startsWith("CLIPVision") || c.model_type === "clip_vision_model" || c.model_type === "clip";
}

export interface VilaInputs {
  /** (B, L) i32 with -200 where images go. */
  inputIds: Tensor;
  /** (nImg, 3, H, W) pixels, in the order the -200 markers appear row by row. */
  images?: Tensor | null;
  /** (nImg, N, C) image embeddings already through the tower and projector (`encodeImages`), in
   * place of `images`: what a caller that meets the same image again (an evaluation's demonstration
   * images) computed once. */
  imageEmbeds?: Tensor | null;
  /** (nImg, P', dv) the tower's selected features (`visionFeatures`) in place of `images`: what a
   * trainer with the tower frozen keeps per image (the projector still runs, and trains). */
  visionFeats?: Tensor | null;
  /** (B, L) i32 labels (-100 = no loss); shifted inside, as HF causal LMs do. */
  labels?: Tensor;
  /** (B, L) i32 1 = real token, 0 = padding in the input ids. */
  attentionMask?: Tensor;
  /** (B, L) i32 segment ids of packed samples; positions restart at 0 in each segment. */
  segments?: Tensor;
  /** truncate each expanded row to this many positions (tokenizer_model_max_length). */
  maxLength?: number;
  paddingSide?: "right" | "left";
  cache?: KVCache;
}

export interface Spliced {
  embeds: Tensor; // (B, T, C)
  labels: Tensor | null; // (B, T)
  keyPadding: Tensor | null; // (B, T) 1 real / 0 pad, null when no row is padded
  segments: Tensor | null; // (B, T)
  positions: Tensor; // (B, T)
  lengths: number[];
}

export class VilaForCausalLM extends Module {
  llm: LlamaForCausalLM;
  visionTower: SiglipVisionModel | ClipVisionModel;
  mmProjector: MultimodalProjector;
  readonly selectLayer: number;
  readonly selectFeature: "patch" | "cls_patch";

  constructor(
    readonly config: VilaConfig,
    gen: Generator = defaultGenerator,
  ) {
    super();
    const v = config.vision;
    if (isSiglip(v)) this.visionTower = this.module("vision_tower", new SiglipVisionModel(v, gen));
    else if (isClip(v)) this.visionTower = this.module("vision_tower", new ClipVisionModel(v, gen));
    else
      throw new Error(
        `unsupported vision tower architecture "${v.architectures?.[0] ?? v.model_type}" (SiglipVisionModel, CLIPVisionModel)`,
      );
    this.mmProjector = this.module(
      "mm_projector",
      new MultimodalProjector(config.projector, v.hidden_size, config.llm.hidden_size, gen),
    );
    this.llm = this.module("llm", new LlamaForCausalLM(config.llm, gen));
    this.selectLayer = config.mm_vision_select_layer ?? -2;
    this.selectFeature = config.mm_vision_select_feature ?? "patch";
    const L = v.num_hidden_layers;
    const idx = this.selectLayer < 0 ? L + 1 + this.selectLayer : this.selectLayer;
    if (idx < 0 || idx > L)
      throw new Error(
        `mm_vision_select_layer ${this.selectLayer} is out of range for a tower of ${L} layers`,
      );
  }

  /** Vision tokens per image after feature selection. */
  get visionTokens(): number {
    const v = this.config.vision;
    const P = Math.floor(v.image_size / v.patch_size) ** 2;
    return isClip(v) && this.selectFeature === "cls_patch" ? P + 1 : P;
  }

  /** Embeddings per image in the LLM sequence. */
  get imageTokens(): number {
    return this.mmProjector.tokensFor(this.visionTokens);
  }

  /** (nImg, 3, H, W) -> selected vision features (nImg, P', dv) */
  visionFeatures(images: Tensor): Tensor {
    if (this.selectFeature !== "patch" && this.selectFeature !== "cls_patch")
      throw new Error(`unknown mm_vision_select_feature "${this.selectFeature}"`);
    const L = this.visionTower.numLayers;
    const idx = this.selectLayer < 0 ? L + 1 + this.selectLayer : this.selectLayer;
    const run = () => {
      const h = this.visionTower.hiddenState(images, idx);
      return this.selectFeature === "patch" ? slice(h, 1, 1, h.shape[1]) : h;
    };
    // a tower that records no graph (frozen, or no gradient at all) hands its activations back to
    // the pool at once: no backward will (with the tower frozen in SFT they went to the GC every step)
    const graph = isGradEnabled() && this.visionTower.parameters().some((p) => p.requiresGrad);
    return graph ? run() : withPoolScope(run, (f) => [f.f32]);
  }

  /** (nImg, 3, H, W) -> projected image embeddings (nImg, N, C) */
  encodeImages(images: Tensor): Tensor {
    return this.mmProjector.forward(this.visionFeatures(images));
  }

  /** (nImg, 3, H, W) -> each image's embeddings (N, C), without a graph: for callers that keep them
   * and pass them again as `imageEmbeds` (an evaluation's demonstrations, a chat's earlier images). */
  embedEach(images: Tensor): Tensor[] {
    return noGrad(() =>
      withPoolScope(
        () => {
          const e = this.encodeImages(images);
          const [n, N, C] = e.shape;
          return Array.from({ length: n }, (_, i) => reshape(slice(e, 0, i, i + 1), [N, C]));
        },
        (ts) => ts.map((t) => t.f32),
      ),
    );
  }

  /** Build the LLM input: text embeddings with image embeddings spliced in, labels, padding. */
  splice(inp: VilaInputs): Spliced {
    const ids = inp.inputIds.i32;
    const [B, L] = inp.inputIds.shape;
    let nMarkers = 0;
    for (const x of ids) if (x === IMAGE_TOKEN_INDEX) nMarkers++;
    if ([inp.images, inp.imageEmbeds, inp.visionFeats].filter((x) => x).length > 1)
      throw new Error(
        "give one of images, imageEmbeds (their embeddings) or visionFeats (their tower features)",
      );
    const given = inp.imageEmbeds ?? inp.visionFeats ?? inp.images;
    const nImg = given ? given.shape[0] : 0;
    if (inp.imageEmbeds) {
      const [, N, C] = inp.imageEmbeds.shape;
      if (inp.imageEmbeds.shape.length !== 3 || N !== this.imageTokens || C !== this.config.llm.hidden_size)
        throw new Error(
          `imageEmbeds must be (nImg, ${this.imageTokens}, ${this.config.llm.hidden_size}), got (${inp.imageEmbeds.shape.join(", ")})`,
        );
    }
    if (nMarkers !== nImg) {
      throw new Error(
        `the input has ${nMarkers} image token(s) (${IMAGE_TOKEN_INDEX}) but ${nImg} image(s) were given`,
      );
    }
    const clamped = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) clamped[i] = ids[i] === IMAGE_TOKEN_INDEX ? 0 : ids[i];
    const text = this.llm.embed(new Tensor(clamped, [B, L])); // (B, L, C)
    const C = text.shape[2];
    let feats: Tensor | null = inp.imageEmbeds ?? null; // (nImg, N, C)
    if (!feats && inp.visionFeats) feats = this.mmProjector.forward(inp.visionFeats);
    else if (!feats && nImg) feats = this.encodeImages(inp.images!);
    const N = feats ? feats.shape[1] : 0;

    const mask = inp.attentionMask?.i32;
    const lab = inp.labels?.i32;
    const seg = inp.segments?.i32;
    // Each row of the expanded batch as source rows: text position b*L + t of `text`, row
    // B*L + img*N + j of `feats`; one gather builds the batch and its backward scatter-adds (each
    // image's slice padded to every image's features and summed grew with the square of the images)
    const rowSources: number[][] = [];
    const rowLabels: number[][] = [];
    const rowSegs: number[][] = [];
    let img = 0;
    for (let b = 0; b < B; b++) {
      const src: number[] = [];
      const labs: number[] = [];
      const segs: number[] = [];
      for (let t = 0; t < L; t++) {
        const i = b * L + t;
        if (mask && mask[i] === 0) continue;
        if (ids[i] === IMAGE_TOKEN_INDEX) {
          for (let j = 0; j < N; j++) {
            src.push(B * L + img * N + j);
            labs.push(IGNORE_INDEX);
            segs.push(seg ? seg[i] : 0);
          }
          img++;
        } else {
          src.push(i);
          labs.push(lab ? lab[i] : IGNORE_INDEX);
          segs.push(seg ? seg[i] : 0);
        }
      }
      if (src.length === 0) throw new Error(`row ${b} of the batch is empty (every position is padding)`);
      if (inp.maxLength && src.length > inp.maxLength) {
        src.length = inp.maxLength;
        labs.length = inp.maxLength;
        segs.length = inp.maxLength;
      }
      rowSources.push(src);
      rowLabels.push(labs);
      rowSegs.push(segs);
    }

    const lengths = rowSources.map((r) => r.length);
    const T = Math.max(...lengths);
    const left = inp.paddingSide === "left";
    const zeroRow = B * L + nImg * N; // padding positions read a row of zeros
    const index = new Int32Array(B * T).fill(zeroRow);
    for (let b = 0; b < B; b++) index.set(rowSources[b], b * T + (left ? T - lengths[b] : 0));
    const parts = [reshape(text, [B * L, C])];
    if (feats) parts.push(reshape(feats, [nImg * N, C]));
    parts.push(new Tensor(new Float32Array(C), [1, C]));
    const embeds = reshape(embedding(concat(parts, 0), new Tensor(index, [B * T])), [B, T, C]);
    const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
    const keyPad = new Int32Array(B * T);
    const segments = new Int32Array(B * T);
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const off = left ? T - lengths[b] : 0;
      let p = 0;
      for (let t = 0; t < lengths[b]; t++) {
        const k = b * T + off + t;
        labels[k] = rowLabels[b][t];
        keyPad[k] = 1;
        segments[k] = rowSegs[b][t];
        if (t > 0 && seg && rowSegs[b][t] !== rowSegs[b][t - 1]) p = 0;
        positions[k] = p++;
      }
    }
    const anyPad = lengths.some((l) => l !== T);
    return {
      embeds,
      labels: inp.labels ? new Tensor(labels, [B, T]) : null,
      keyPadding: anyPad ? new Tensor(keyPad, [B, T]) : null,
      segments: seg ? new Tensor(segments, [B, T]) : null,
      positions: new Tensor(positions, [B, T]),
      lengths,
    };
  }

  /** -> logits (B, T, V) over the expanded sequence, and the mean loss when labels are given.
   * `lossOnly` (training, with labels): logits only at the positions that carry a loss after the
   * shift, as (n, V) in row-major order of (B, T), when at least an eighth of the positions carry
   * none (prompts, images, padding); the loss is the same mean over them. */
  forward(
    inp: VilaInputs,
    opts: { lastOnly?: boolean; lossOnly?: boolean } = {},
  ): { logits: Tensor; loss: Tensor | null; spliced: Spliced } {
    const s = this.splice(inp);
    const { positions, keyPadding } = withCache(s, inp.cache);
    const targets = s.labels ? shiftLabels(s.labels, s.segments) : null;
    const kept = opts.lossOnly && targets && !opts.lastOnly ? labeledRows(targets) : null;
    const logits = this.llm.forward(
      {
        inputsEmbeds: s.embeds,
        positionIds: positions,
        keyPadding: keyPadding ?? undefined,
        segments: s.segments ?? undefined,
        cache: inp.cache,
      },
      { lastOnly: opts.lastOnly, rows: kept?.rows },
    );
    if (inp.cache && keyPadding) inp.cache.keyPadding = keyPadding;
    let loss: Tensor | null = null;
    if (targets) loss = crossEntropy(logits, kept ? kept.targets : targets, IGNORE_INDEX);
    return { logits, loss, spliced: s };
  }
}

/**
 * Positions and key padding of new tokens that follow a cache. Each row continues from the number
 * of real tokens it has cached (so a left-padded row's positions start at 0, as HF's
 * `cumsum(attention_mask) - 1`), and the mask covers cache + new tokens: (B, S + T).
 */
function withCache(s: Spliced, cache: KVCache | undefined): { positions: Tensor; keyPadding: Tensor | null } {
  const past = cache?.length ?? 0;
  if (!cache || past === 0) return { positions: s.positions, keyPadding: s.keyPadding };
  const [B, T] = s.positions.shape;
  const pastMask = cache.keyPadding?.i32 ?? null;
  if (pastMask && pastMask.length !== B * past) {
    throw new Error(
      `VilaForCausalLM.forward: the cache holds ${pastMask.length / past} row(s) but the input has ${B}`,
    );
  }
  const positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let real = past;
    if (pastMask) {
      real = 0;
      for (let j = 0; j < past; j++) real += pastMask[b * past + j];
    }
    for (let t = 0; t < T; t++) positions[b * T + t] = s.positions.i32[b * T + t] + real;
  }
  if (!pastMask && !s.keyPadding) return { positions: new Tensor(positions, [B, T]), keyPadding: null };
  // (B, past) ++ (B, T) -> (B, past + T)
  const S = past + T;
  const mask = new Int32Array(B * S);
  const fresh = s.keyPadding?.i32;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < past; j++) mask[b * S + j] = pastMask ? pastMask[b * past + j] : 1;
    for (let t = 0; t < T; t++) mask[b * S + past + t] = fresh ? fresh[b * T + t] : 1;
  }
  return { positions: new Tensor(positions, [B, T]), keyPadding: new Tensor(mask, [B, S]) };
}

/** The positions of shifted labels (B, T) that carry a loss, and their labels; null when fewer
 * than an eighth of the positions carry none (packed text: only the samples' last positions),
 * where gathering the rest would cost about what the head saves. */
function labeledRows(targets: Tensor): { rows: Tensor; targets: Tensor } | null {
  const t = targets.i32;
  let n = 0;
  for (const x of t) if (x !== IGNORE_INDEX) n++;
  if (8 * (t.length - n) < t.length) return null;
  const rows = new Int32Array(n);
  const kept = new Int32Array(n);
  for (let i = 0, k = 0; i < t.length; i++) {
    if (t[i] === IGNORE_INDEX) continue;
    rows[k] = i;
    kept[k++] = t[i];
  }
  return { rows: new Tensor(rows, [n]), targets: new Tensor(kept, [n]) };
}

/** labels[b, t] -> labels[b, t + 1], last position -100 (HF's shift inside causal LMs); with
 * packed segments, a position never predicts the first token of the next sample. */
export function shiftLabels(labels: Tensor, segments: Tensor | null = null): Tensor {
  const [B, T] = labels.shape;
  const src = labels.i32;
  const seg = segments?.i32;
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const k = b * T + t;
      if (!seg || seg[k] === seg[k + 1]) out[k] = src[k + 1];
    }
  }
  return new Tensor(out, [B, T]);
}

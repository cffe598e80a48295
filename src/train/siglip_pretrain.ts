// Vision-tower pre-training the SigLIP way (Zhai et al. 2023, arXiv 2303.15343): where no pretrained
// tower exists (the embedded world), a SiglipVisionModel is trained from nothing with the sigmoid
// loss against a small text tower (models/siglip_pair.ts) on image-text pairs, so the tower learns
// what captions say rather than a fixed label set. Contract:
// - Data: the pairs of a world folder (`pairs/pairs.jsonl`, images relative to the world root) or
//   any pairs dataset (data/dataset.ts). Every image is decoded once (sharp) and kept as 8-bit
//   RGB; each batch is preprocessed as SiglipImageProcessor does (resize to image_size, x/255,
//   mean 0.5, std 0.5) by io/image.ts.
// - Text: a word-level vocabulary over the training captions (the world's language is closed:
//   ~370 words and punctuation marks for world-tiny), lower-cased; `<pad>` 0, `<unk>` 1, `</s>` 2.
//   A caption is its tokens, `</s>`, then `<pad>` up to max_position_embeddings (SigLIP's
//   padding="max_length"); longer captions keep their first T-1 tokens.
// - Split: a seeded shuffle holds out `evalSize` pairs; the rest are trained on in seeded epochs.
// - Optimiser: AdamW (betas 0.9/0.95, as the paper's small-batch runs), weight decay on matrices
//   only, cosine schedule with warmup, global-norm clipping at 1.
// - Metric: zero-shot retrieval top-1 (image->text and text->image) on the held-out pairs and on
//   as many training pairs; a hit is a retrieved item whose caption equals the query's caption
//   (the world repeats short captions such as "the nida tower.", which no model can tell apart).
// - Hard negatives (optional; NegCLIP's replaced-word negatives, Yuksekgonul et al. 2023, arXiv
//   2210.01936): named word classes (colour, shape, size words) whose members can stand in for each
//   other. With `hardNegatives`, every caption that has a class word gets one negative caption in its
//   batch, the caption with one such word (uniformly chosen) replaced by another member of its class;
//   the negatives are extra texts no image matches (sigmoidLoss's M > B), so a tower whose image
//   embedding does not say which shape it saw cannot meet the loss on them. Without them, a batch of
//   32 scenes is told apart by colours alone.
// - Augmentation (optional, `augment`): each training image whose caption the transform keeps true
//   is drawn under a random symmetry of the square and/or shifted by a few pixels (edges
//   replicated), from its own seeded stream; held-out images are never transformed.
// - Swap metric (with `wordClasses`, SugarCrepe's replace-attribute test): for every held-out pair
//   and class, each caption made by replacing one class word with another member; accuracy = how
//   often the image scores its own caption above the variant (chance 0.5).
// Same options and seed -> the same losses and the same tower, bit for bit (one backend).

import { join } from "node:path";
import { backend } from "../backend/index.js";
import { openDataset, type SourceDataset } from "../data/dataset.js";
import {
  decodeImage,
  type PreprocessConfig,
  parsePreprocessorConfig,
  preprocessImage,
  type RgbImage,
} from "../io/image.js";
import { SiglipPairModel, type SiglipPooling } from "../models/siglip_pair.js";
import type { SiglipTextConfig } from "../models/text_tower.js";
import type { SiglipVisionConfig, SiglipVisionModel } from "../models/vision/siglip.js";
import { AdamW, clipGradNorm, cosineWithWarmup } from "../optim/index.js";
import { matmul } from "../tensor/ops/matmul.js";
import { clearPool, trimPool } from "../tensor/pool.js";
import { Generator } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { PAIRS_JSONL } from "../world/layout.js";
import { yieldToEventLoop } from "./yield.js";

// ---------------------------------------------------------------------------------------------
// captions -> ids

const WORD_RE = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

/** Word-level vocabulary: lower-cased words, numbers and single punctuation marks. */
export class CaptionVocab {
  static readonly PAD = 0;
  static readonly UNK = 1;
  static readonly EOS = 2;
  readonly words: string[];
  private readonly ids: Map<string, number>;

  constructor(words: string[]) {
    this.words = words;
    this.ids = new Map(words.map((w, i) => [w, i]));
    if (words[0] !== "<pad>" || words[1] !== "<unk>" || words[2] !== "</s>")
      throw new Error('CaptionVocab: the first three entries must be "<pad>", "<unk>", "</s>"');
    if (this.ids.size !== words.length) throw new Error("CaptionVocab: duplicate words");
  }

  /** The specials, then every word of `captions` by falling count (ties: code-point order). */
  static build(captions: Iterable<string>): CaptionVocab {
    const counts = new Map<string, number>();
    for (const c of captions) for (const w of splitWords(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([w]) => w);
    return new CaptionVocab(["<pad>", "<unk>", "</s>", ...words]);
  }

  get size(): number {
    return this.words.length;
  }

  /** caption -> (T) ids: tokens, `</s>`, `<pad>`... (the first T-1 tokens when longer). */
  encode(caption: string, T: number): Int32Array {
    const out = new Int32Array(T).fill(CaptionVocab.PAD);
    const toks = splitWords(caption).slice(0, T - 1);
    toks.forEach((w, i) => {
      out[i] = this.ids.get(w) ?? CaptionVocab.UNK;
    });
    out[toks.length] = CaptionVocab.EOS;
    return out;
  }
}

function splitWords(caption: string): string[] {
  return caption.toLowerCase().match(WORD_RE) ?? [];
}

// ---------------------------------------------------------------------------------------------
// options and results

/** A text tower config without vocab_size (the captions decide it). */
export type TextTowerDims = Pick<
  SiglipTextConfig,
  | "hidden_size"
  | "intermediate_size"
  | "num_hidden_layers"
  | "num_attention_heads"
  | "max_position_embeddings"
> &
  Partial<SiglipTextConfig>;

export interface SiglipPretrainOptions {
  /** A world folder: its `pairs/pairs.jsonl` is read. */
  worldDir?: string;
  /** Or any pairs dataset (openDataset with format "pairs"). */
  pairs?: SourceDataset;
  /** Side of the square input images (must equal towerConfig.image_size). */
  imageSize: number;
  towerConfig: SiglipVisionConfig;
  /** vocab_size is set from the captions' vocabulary. */
  textConfig: TextTowerDims;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** Decoupled weight decay on weight matrices (default 1e-4). */
  weightDecay?: number;
  /** Default 0.05. */
  warmupRatio?: number;
  /** Global gradient-norm clip (default 1; 0 disables). */
  clipNorm?: number;
  /** Held-out pairs for retrieval (default min(128, a fifth of the pairs)). */
  evalSize?: number;
  /** Retrieval every this many steps (default 0: before and after training only). */
  evalEvery?: number;
  /** A log entry every this many steps (default 10). */
  logEvery?: number;
  /** Use at most this many pairs (default all). */
  maxPairs?: number;
  /** Every match of this regular expression (flags "g") is removed from the captions before the
   * text tower sees them (and from the retrieval captions), e.g. a phrase that alone tells most
   * images of a batch apart. */
  captionDrop?: string;
  /** Named word classes (lower-case words) for the swap metric and the hard negatives. */
  wordClasses?: WordClasses;
  /** Train with one replaced-word negative per caption (needs wordClasses). */
  hardNegatives?: boolean;
  /** how the image embedding pools the patches: "mean" (default) or "map" (SigLIP's attention
   * pooling head) */
  pooling?: SiglipPooling;
  /** Caption-preserving augmentation of the training images (default none). */
  augment?: AugmentOptions;
  onLog?: (entry: SiglipLogEntry) => void;
  /** Aborting stops after the current step (the result says `stopped`). */
  signal?: AbortSignal;
}

/** Random transforms of a training image whose caption stays true of it. */
export interface AugmentOptions {
  /** One of the square's 8 symmetries (rotations by quarter turns, mirrored or not), uniformly. */
  dihedral: boolean;
  /** A shift by up to this many pixels each way, the edge pixels replicated (0: none). */
  shift: number;
  /** Images whose caption matches this regular expression are never transformed ("" = none), e.g.
   * `"` for the world's signs, whose text a mirror would garble. */
  exclude: string;
}

/** Named word classes whose members can stand in for each other in a caption. */
export type WordClasses = Record<string, readonly string[]>;

/** Swap accuracy of one word class: `n` (caption, variant) comparisons, chance 0.5. */
export interface SwapScore {
  n: number;
  accuracy: number;
}

export interface SiglipLogEntry {
  step: number;
  loss: number;
  lr: number;
  /** t = exp(t') */
  temperature: number;
  bias: number;
  gradNorm: number;
  ms: number;
  patchTokensPerSec: number;
  retrieval?: RetrievalMetrics;
}

/** Top-1 retrieval accuracy over n pairs; chance is about 1/n. */
export interface RetrievalScore {
  n: number;
  imageToText: number;
  textToImage: number;
  chance: number;
}

export interface RetrievalMetrics {
  heldOut: RetrievalScore;
  train: RetrievalScore;
}

export interface SiglipPretrainMetrics {
  backend: string;
  pairs: { train: number; heldOut: number };
  vocabSize: number;
  towerParameters: number;
  textParameters: number;
  /** loss of every step */
  losses: number[];
  retrievalBefore: RetrievalMetrics;
  retrieval: RetrievalMetrics;
  /** held-out swap accuracy per word class, before and after training ({} without wordClasses) */
  swapsBefore: Record<string, SwapScore>;
  swaps: Record<string, SwapScore>;
  /** hard-negative captions trained on (0 without hardNegatives) */
  hardNegativesSeen: number;
  temperature: number;
  bias: number;
  /** image decoding, seconds */
  loadSeconds: number;
  /** the training steps, seconds (retrieval evaluations excluded) */
  trainSeconds: number;
  /** steps * batch * patches per image / trainSeconds */
  patchTokensPerSec: number;
  imagesPerSec: number;
}

export interface SiglipPretrainResult {
  /** The trained vision tower (what VILA uses). */
  tower: SiglipVisionModel;
  /** true when `signal` stopped training before `steps` */
  stopped: boolean;
  /** The whole pair model (tower, pooling head, text tower, t', b). */
  model: SiglipPretrainModel;
  metrics: SiglipPretrainMetrics;
}

export interface SiglipPretrainModel {
  pair: SiglipPairModel;
  vocab: CaptionVocab;
}

// ---------------------------------------------------------------------------------------------
// data

interface PairData {
  captions: string[];
  images: RgbImage[];
}

/** The captionDrop option as a global RegExp (null for none or ""); throws "is not a regular
 * expression: ..." for a bad one. */
export function captionDropRegExp(source: string | undefined): RegExp | null {
  if (!source) return null;
  try {
    return new RegExp(source, "g");
  } catch (e) {
    throw new Error(`is not a regular expression: ${(e as Error).message}`);
  }
}

async function loadPairs(opts: SiglipPretrainOptions): Promise<PairData> {
  if (!opts.pairs === !opts.worldDir)
    throw new Error("pretrainVisionTower: give exactly one of worldDir and pairs");
  const ds =
    opts.pairs ??
    (await openDataset({
      name: "pairs",
      format: "pairs",
      paths: [join(opts.worldDir as string, PAIRS_JSONL)],
      mediaDir: opts.worldDir,
    }));
  const n = Math.min(ds.length, opts.maxPairs ?? ds.length);
  let drop: RegExp | null = null;
  try {
    drop = captionDropRegExp(opts.captionDrop);
  } catch (e) {
    throw new Error(`pretrainVisionTower: captionDrop ${(e as Error).message}`);
  }
  const captions: string[] = new Array(n);
  const images: RgbImage[] = new Array(n);
  const chunk = 64;
  for (let s = 0; s < n; s += chunk) {
    await Promise.all(
      Array.from({ length: Math.min(chunk, n - s) }, async (_, k) => {
        const i = s + k;
        const rec = await ds.get(i);
        if (rec.kind !== "pair")
          throw new Error(
            `pretrainVisionTower: ${rec.file}:${rec.line} is a ${rec.kind} record, not an image-text pair`,
          );
        const where = `${rec.file}:${rec.line}`;
        images[i] = await decodeImage(
          rec.image.kind === "path" ? rec.image.path : rec.image.data,
          `${where} (${rec.image.kind === "path" ? rec.image.path : rec.image.name})`,
        );
        captions[i] = drop ? rec.caption.replace(drop, "") : rec.caption;
      }),
    );
  }
  return { captions, images };
}

/** (B, 3, S, S) pixels of the given images, SigLIP preprocessing. */
function pixelBatch(images: RgbImage[], idx: number[], pre: PreprocessConfig, S: number): Tensor {
  const per = 3 * S * S;
  const out = new Float32Array(idx.length * per);
  const same: PreprocessConfig = { ...pre, mode: "processor", doResize: false };
  idx.forEach((i, b) => {
    const img = images[i];
    out.set(preprocessImage(img, img.width === S && img.height === S ? same : pre).pixels, b * per);
  });
  return new Tensor(out, [idx.length, 3, S, S]);
}

/**
 * The image under symmetry k of the square (0-7: bit 2 mirrors, bits 0-1 count quarter turns) and
 * shifted by (dx, dy) pixels, edge pixels replicated: out(x, y) = in(g(clamp(x - dx), clamp(y - dy))).
 */
export function transformImage(img: RgbImage, k: number, dx: number, dy: number): RgbImage {
  const { width: W, height: H } = img;
  if (k !== 0 && W !== H)
    throw new Error(`transformImage: symmetry ${k} needs a square image, got ${W}x${H}`);
  const out = new Uint8Array(W * H * 3);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let u = clamp(x - dx, W);
      let v = clamp(y - dy, H);
      if (k & 4) u = W - 1 - u;
      for (let r = 0; r < (k & 3); r++) [u, v] = [v, W - 1 - u];
      const src = (v * W + u) * 3;
      const dst = (y * W + x) * 3;
      out[dst] = img.data[src];
      out[dst + 1] = img.data[src + 1];
      out[dst + 2] = img.data[src + 2];
    }
  return { width: W, height: H, data: out };
}

/** The training images of one batch, each drawn through `augment` unless its caption is excluded. */
function augmentBatch(
  images: RgbImage[],
  captions: string[],
  idx: number[],
  augment: AugmentOptions,
  exclude: RegExp | null,
  gen: Generator,
): { images: RgbImage[]; idx: number[] } {
  const out = idx.map((i) => {
    const img = images[i];
    if (exclude?.test(captions[i])) return img;
    const k = augment.dihedral ? gen.randint(8) : 0;
    const m = augment.shift;
    const dx = m > 0 ? gen.randint(2 * m + 1) - m : 0;
    const dy = m > 0 ? gen.randint(2 * m + 1) - m : 0;
    return k === 0 && dx === 0 && dy === 0 ? img : transformImage(img, k, dx, dy);
  });
  return { images: out, idx: out.map((_, b) => b) };
}

/** (n, T) caption ids. */
function idBatch(texts: string[], vocab: CaptionVocab, T: number): Tensor {
  const out = new Int32Array(texts.length * T);
  texts.forEach((t, b) => {
    out.set(vocab.encode(t, T), b * T);
  });
  return new Tensor(out, [texts.length, T]);
}

// ---------------------------------------------------------------------------------------------
// replaced-word captions

/** Every caption made from `words` by replacing one occurrence of a member of `members` with
 * another member (each occurrence, each other member), as word lists. */
export function swapVariants(words: readonly string[], members: readonly string[]): string[][] {
  const inClass = new Set(members);
  const out: string[][] = [];
  words.forEach((w, i) => {
    if (!inClass.has(w)) return;
    for (const m of members) if (m !== w) out.push(words.map((x, k) => (k === i ? m : x)));
  });
  return out;
}

/** One replaced-word negative: a uniformly chosen word that belongs to a class, replaced by a
 * uniformly chosen other member of that class; null when no word belongs to any class. */
export function hardNegative(
  words: readonly string[],
  classes: readonly (readonly string[])[],
  gen: Generator,
): string[] | null {
  const slots: { at: number; members: readonly string[] }[] = [];
  words.forEach((w, at) => {
    const members = classes.find((c) => c.includes(w));
    if (members && members.length > 1) slots.push({ at, members });
  });
  if (slots.length === 0) return null;
  const { at, members } = slots[gen.randint(slots.length)];
  const others = members.filter((m) => m !== words[at]);
  const out = [...words];
  out[at] = others[gen.randint(others.length)];
  return out;
}

/** The classes with only the words the vocabulary knows (a negative must not be <unk>). */
function knownClasses(classes: WordClasses, vocab: CaptionVocab): WordClasses {
  const known = new Set(vocab.words);
  return Object.fromEntries(
    Object.entries(classes).map(([name, ws]) => [
      name,
      ws.map((w) => w.toLowerCase()).filter((w) => known.has(w)),
    ]),
  );
}

/** Held-out swap accuracy per class: the image's similarity to its caption against each variant's. */
function swapAccuracy(
  model: SiglipPretrainModel,
  pixels: Tensor,
  captions: string[],
  classes: WordClasses,
  T: number,
): Record<string, SwapScore> {
  const out: Record<string, SwapScore> = {};
  const was = model.pair.training;
  model.pair.eval();
  const x = noGrad(() => model.pair.encodeImage(pixels).f32);
  for (const [name, members] of Object.entries(classes)) {
    // each image's own caption, then its variants
    const texts: string[] = [];
    const image: number[] = [];
    const isOwn: boolean[] = [];
    captions.forEach((c, i) => {
      const words = splitWords(c);
      const variants = swapVariants(words, members);
      if (variants.length === 0) return;
      for (const [k, w] of [words, ...variants].entries()) {
        texts.push(w.join(" "));
        image.push(i);
        isOwn.push(k === 0);
      }
    });
    let hits = 0;
    let n = 0;
    const D = x.length / captions.length;
    let own = 0;
    for (let s = 0; s < texts.length; s += 256) {
      const chunk = texts.slice(s, s + 256);
      const y = noGrad(() => model.pair.encodeText(idBatch(chunk, model.vocab, T)).f32);
      chunk.forEach((_, k) => {
        const i = image[s + k];
        let dot = 0;
        for (let d = 0; d < D; d++) dot += x[i * D + d] * y[k * D + d];
        if (isOwn[s + k]) own = dot;
        else {
          n++;
          if (own > dot) hits++;
        }
      });
    }
    out[name] = { n, accuracy: n ? hits / n : Number.NaN };
  }
  model.pair.train(was);
  return out;
}

// ---------------------------------------------------------------------------------------------
// retrieval

/** Top-1 retrieval both ways on the given pairs; a hit is any item with the query's caption. */
export function retrievalAccuracy(
  model: SiglipPretrainModel,
  pixels: Tensor,
  ids: Tensor,
  captions: string[],
): RetrievalScore {
  const sim = noGrad(() => {
    const was = model.pair.training;
    model.pair.eval();
    const x = model.pair.encodeImage(pixels);
    const y = model.pair.encodeText(ids);
    model.pair.train(was);
    return matmul(x, y, { transB: true }).f32; // (n, D) @ (D, n) -> (n_img, n_txt)
  });
  return retrievalFromSimilarity(sim, captions);
}

/** Top-1 retrieval from an (n_img, n_txt) similarity matrix of n pairs (row-major): image i's best
 * text, and text j's best image (first maximum wins); a hit is a retrieved item whose caption equals
 * the query's. `chance` is the expected accuracy of a uniformly random pick. */
export function retrievalFromSimilarity(sim: Float32Array, captions: string[]): RetrievalScore {
  const n = captions.length;
  if (sim.length !== n * n)
    throw new Error(`retrieval: similarity has ${sim.length} entries, expected ${n}x${n}`);
  let i2t = 0;
  let t2i = 0;
  for (let i = 0; i < n; i++) {
    let bestT = 0;
    let bestI = 0;
    for (let j = 1; j < n; j++) {
      if (sim[i * n + j] > sim[i * n + bestT]) bestT = j;
      if (sim[j * n + i] > sim[bestI * n + i]) bestI = j;
    }
    if (captions[bestT] === captions[i]) i2t++;
    if (captions[bestI] === captions[i]) t2i++;
  }
  const same = new Map<string, number>();
  for (const c of captions) same.set(c, (same.get(c) ?? 0) + 1);
  let chance = 0;
  for (const c of captions) chance += (same.get(c) as number) / n;
  return { n, imageToText: i2t / n, textToImage: t2i / n, chance: chance / n };
}

// ---------------------------------------------------------------------------------------------
// training

function checkOptions(o: SiglipPretrainOptions): void {
  const posInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`pretrainVisionTower: ${name} must be a positive integer, got ${v}`);
  };
  posInt("steps", o.steps);
  posInt("batch", o.batch);
  posInt("imageSize", o.imageSize);
  if (!(o.lr > 0)) throw new Error(`pretrainVisionTower: lr must be positive, got ${o.lr}`);
  const a = o.augment;
  if (a) {
    if (!Number.isInteger(a.shift) || a.shift < 0 || a.shift >= o.imageSize)
      throw new Error(
        `pretrainVisionTower: augment.shift must be an integer in [0, ${o.imageSize}), got ${a.shift}`,
      );
    try {
      new RegExp(a.exclude);
    } catch (e) {
      throw new Error(
        `pretrainVisionTower: augment.exclude is not a regular expression: ${(e as Error).message}`,
      );
    }
  }
  if (o.towerConfig.image_size !== o.imageSize)
    throw new Error(
      `pretrainVisionTower: imageSize ${o.imageSize} differs from towerConfig.image_size ${o.towerConfig.image_size}`,
    );
}

/** Splitmix-style mix, so the data order's seed differs from the init's for every seed. */
function dataSeed(seed: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0x5bd1e995) >>> 0;
}

/**
 * Pre-train a SigLIP vision tower on image-text pairs with the sigmoid loss.
 * @example
 * const { tower, metrics } = await pretrainVisionTower({
 *   worldDir: "data/world-tiny", imageSize: 64, seed: 0, steps: 300, batch: 64, lr: 2e-3,
 *   towerConfig: { hidden_size: 96, intermediate_size: 384, num_hidden_layers: 3, num_attention_heads: 4, image_size: 64, patch_size: 8 },
 *   textConfig: { hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 40, projection_size: 96 },
 * });
 * console.log(metrics.retrieval.heldOut.imageToText);
 */
export async function pretrainVisionTower(opts: SiglipPretrainOptions): Promise<SiglipPretrainResult> {
  checkOptions(opts);
  const tLoad = performance.now();
  const data = await loadPairs(opts);
  const loadSeconds = (performance.now() - tLoad) / 1000;
  const N = data.captions.length;
  const evalSize = opts.evalSize ?? Math.min(128, Math.floor(N / 5));
  if (evalSize < 2 || N - evalSize < 2)
    throw new Error(
      `pretrainVisionTower: ${N} pairs cannot give ${evalSize} held-out pairs and at least 2 to train on`,
    );
  const dataGen = new Generator(dataSeed(opts.seed));
  const order = dataGen.shuffle(Array.from({ length: N }, (_, i) => i));
  const heldOut = order.slice(0, evalSize);
  const train = order.slice(evalSize);
  const batch = Math.min(opts.batch, train.length);

  const vocab = CaptionVocab.build(train.map((i) => data.captions[i]));
  if (opts.hardNegatives && !opts.wordClasses)
    throw new Error("pretrainVisionTower: hardNegatives needs wordClasses");
  const classes = opts.wordClasses ? knownClasses(opts.wordClasses, vocab) : {};
  const classLists = Object.values(classes);
  const negGen = new Generator(dataSeed(opts.seed + 1));
  const augGen = new Generator(dataSeed(opts.seed + 2));
  const augExclude = opts.augment?.exclude ? new RegExp(opts.augment.exclude) : null;
  const words = opts.hardNegatives ? data.captions.map(splitWords) : [];
  const textConfig: SiglipTextConfig = { ...opts.textConfig, vocab_size: vocab.size };
  const T = textConfig.max_position_embeddings;
  const S = opts.imageSize;
  const pre = parsePreprocessorConfig(
    { image_processor_type: "SiglipImageProcessor", size: { height: S, width: S } },
    "resize",
    "SigLIP pre-training",
  );
  const pair = new SiglipPairModel(opts.towerConfig, textConfig, new Generator(opts.seed), opts.pooling);
  const model: SiglipPretrainModel = { pair, vocab };

  const named = pair.namedParameters();
  const decay = named.filter(([n, t]) => t.ndim >= 2 && !n.includes("position_embedding"));
  const noDecay = named.filter(([n, t]) => !(t.ndim >= 2 && !n.includes("position_embedding")));
  const opt = new AdamW(
    [
      { params: decay, lr: opts.lr, weightDecay: opts.weightDecay ?? 1e-4, name: "decay" },
      { params: noDecay, lr: opts.lr, weightDecay: 0, name: "no_decay" },
    ],
    { betas: [0.9, 0.95], eps: 1e-8 },
  );
  const params = named.map(([, t]) => t);

  const probe = (idx: number[]) => {
    const captions = idx.map((i) => data.captions[i]);
    return { pixels: pixelBatch(data.images, idx, pre, S), ids: idBatch(captions, vocab, T), captions };
  };
  const probes = { heldOut: probe(heldOut), train: probe(train.slice(0, evalSize)) };
  const score = (p: ReturnType<typeof probe>) => retrievalAccuracy(model, p.pixels, p.ids, p.captions);
  const evaluate = (): RetrievalMetrics => ({ heldOut: score(probes.heldOut), train: score(probes.train) });
  const retrievalBefore = evaluate();
  const swaps = () => swapAccuracy(model, probes.heldOut.pixels, probes.heldOut.captions, classes, T);
  const swapsBefore = swaps();
  let hardNegativesSeen = 0;

  const P = (S / opts.towerConfig.patch_size) ** 2;
  const logEvery = opts.logEvery ?? 10;
  const evalEvery = opts.evalEvery ?? 0;
  const losses: number[] = [];
  let epoch: number[] = [];
  let trainMs = 0;
  let windowMs = 0;
  let windowSteps = 0;
  let stopped = false;
  // the pool's buffers go back whether the loop ends or throws (a NaN loss, a bad image)
  try {
    for (let step = 0; step < opts.steps; step++) {
      const t0 = performance.now();
      opt.setLrScale(cosineWithWarmup(step, opts.steps, opts.warmupRatio ?? 0.05));
      if (epoch.length < batch) epoch = epoch.concat(dataGen.shuffle([...train]));
      const idx = epoch.splice(0, batch);
      // the batch's captions, then its hard negatives (texts no image matches)
      const texts = idx.map((i) => data.captions[i]);
      if (opts.hardNegatives)
        for (const i of idx) {
          const neg = hardNegative(words[i], classLists, negGen);
          if (neg) texts.push(neg.join(" "));
        }
      hardNegativesSeen += texts.length - idx.length;
      const seen = opts.augment
        ? augmentBatch(data.images, data.captions, idx, opts.augment, augExclude, augGen)
        : { images: data.images, idx };
      const { loss } = pair.forward(pixelBatch(seen.images, seen.idx, pre, S), idBatch(texts, vocab, T));
      const l = loss.item();
      loss.backward(undefined, { free: true }); // the step's activations go back to the pool
      const gradNorm = clipGradNorm(params, opts.clipNorm ?? 1);
      opt.step();
      opt.zeroGrad();
      trimPool();
      if (!Number.isFinite(l)) throw new Error(`pretrainVisionTower: loss is ${l} at step ${step}`);
      losses.push(l);
      const ms = performance.now() - t0;
      trainMs += ms;
      windowMs += ms;
      windowSteps++;
      const last = step === opts.steps - 1;
      const doEval = evalEvery > 0 && ((step + 1) % evalEvery === 0 || last);
      if (opts.onLog && ((step + 1) % logEvery === 0 || last || doEval)) {
        opts.onLog({
          step: step + 1,
          loss: l,
          lr: opt.groups[0].lr,
          temperature: Math.exp(pair.logitScale.item()),
          bias: pair.logitBias.item(),
          gradNorm,
          ms: windowMs / windowSteps,
          patchTokensPerSec: (windowSteps * batch * P) / (windowMs / 1000),
          retrieval: doEval ? evaluate() : undefined,
        });
        windowMs = 0;
        windowSteps = 0;
      }
      await yieldToEventLoop(); // a SIGINT sets the signal here: the pairs are all in memory
      if (opts.signal?.aborted && step < opts.steps - 1) {
        stopped = true;
        break;
      }
    }
  } finally {
    clearPool();
  }
  const trainSeconds = trainMs / 1000;
  const towerParameters = pair.tower.numParameters();
  return {
    tower: pair.tower,
    stopped,
    model,
    metrics: {
      backend: backend().name,
      pairs: { train: train.length, heldOut: heldOut.length },
      vocabSize: vocab.size,
      towerParameters,
      textParameters: pair.text.numParameters(),
      losses,
      retrievalBefore,
      retrieval: evaluate(),
      swapsBefore,
      swaps: swaps(),
      hardNegativesSeen,
      temperature: Math.exp(pair.logitScale.item()),
      bias: pair.logitBias.item(),
      loadSeconds,
      trainSeconds,
      patchTokensPerSec: (losses.length * batch * P) / trainSeconds,
      imagesPerSec: (losses.length * batch) / trainSeconds,
    },
  };
}

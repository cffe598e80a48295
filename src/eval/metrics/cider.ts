// CIDEr as pycocoevalcap's `Cider` computes it (coco-caption `pycocoevalcap/cider/cider_scorer.py`,
// the scorer LLaVA/VILA call): n-grams 1..4, TF-IDF vectors whose document frequencies come from the
// references of the evaluated images only (idf = log(#images) - log(max(1, df))), a clipped cosine
// per n-gram order (sum of min(w_hyp, w_ref) * w_ref over the candidate's n-grams, divided by both
// norms when neither is 0), times exp(-delta^2 / (2 sigma^2)) with sigma = 6, averaged over orders
// and references, times 10. These are the "CIDEr-D" modifications, with one quirk kept on purpose:
// `delta` is the difference in *bigram* counts, not word counts (the code adds term frequencies where
// the 0-based n-gram index is 1). Inputs are pre-tokenised strings split on whitespace; use
// `ptbTokenize` for raw captions. See docs/METRICS.md.

import { pySplit } from "./py_text.js";

/** Per-order n-gram counts of one sentence; keys are the words joined by a space. (n, ngram -> tf) */
type NgramCounts = Map<string, number>[];

/** TF-IDF vector of one sentence: per-order weights, per-order L2 norms and the bigram count. */
interface TfIdf {
  vec: Map<string, number>[];
  norm: number[];
  length: number;
}

/** Options of the scorer; the defaults are pycocoevalcap's. */
export interface CiderOptions {
  n?: number;
  sigma?: number;
}

/** One image to score: the candidate (already tokenised) and its references (already tokenised). */
export interface CiderItem {
  imageId: string;
  candidate: string;
  references: string[];
}

/** `{"corpus": x, "per_image": {...}}`: the mean of the per-image scores and the scores themselves. */
export interface CiderReport {
  corpus: number;
  per_image: Record<string, number>;
  count: number;
}

function countNgrams(sentence: string, n: number): NgramCounts {
  const words = pySplit(sentence);
  const counts: NgramCounts = [];
  for (let k = 1; k <= n; k++) {
    const m = new Map<string, number>();
    for (let i = 0; i + k <= words.length; i++) {
      const g = words.slice(i, i + k).join(" ");
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    counts.push(m);
  }
  return counts;
}

function toTfIdf(counts: NgramCounts, df: Map<string, number>, logImages: number): TfIdf {
  const vec: Map<string, number>[] = [];
  const sq: number[] = [];
  let length = 0;
  counts.forEach((m, order) => {
    const v = new Map<string, number>();
    let s = 0;
    for (const [g, tf] of m) {
      const w = tf * (logImages - Math.log(Math.max(1, df.get(g) ?? 0)));
      v.set(g, w);
      s += w * w;
      if (order === 1) length += tf; // the official "length" counts bigrams
    }
    vec.push(v);
    sq.push(s);
  });
  return { vec, norm: sq.map(Math.sqrt), length };
}

function similarity(hyp: TfIdf, ref: TfIdf, sigma: number): number[] {
  const delta = hyp.length - ref.length;
  const penalty = Math.E ** (-(delta * delta) / (2 * sigma * sigma));
  return hyp.vec.map((hv, order) => {
    const rv = ref.vec[order];
    let val = 0;
    for (const [g, wh] of hv) {
      const wr = rv.get(g) ?? 0;
      val += Math.min(wh, wr) * wr; // clipping
    }
    if (hyp.norm[order] !== 0 && ref.norm[order] !== 0) val /= hyp.norm[order] * ref.norm[order];
    return val * penalty;
  });
}

/**
 * Score every image; the document frequencies are taken over the references of exactly these images.
 * @example
 * ciderScore([{ imageId: "1", candidate: "a dog runs", references: ["a dog runs", "a dog is running"] },
 *             { imageId: "2", candidate: "a cat", references: ["a cat sits"] }]).corpus
 */
export function ciderScore(items: readonly CiderItem[], opts: CiderOptions = {}): CiderReport {
  const n = opts.n ?? 4;
  const sigma = opts.sigma ?? 6;
  if (items.length === 0) throw new Error("CIDEr: no images to score");
  const refCounts = items.map((it) => {
    if (it.references.length === 0)
      throw new Error(`CIDEr: image_id ${it.imageId} has no reference captions`);
    return it.references.map((r) => countNgrams(r, n));
  });
  // df(g) = number of images whose references (any of them) contain g.
  const df = new Map<string, number>();
  for (const refs of refCounts) {
    const seen = new Set<string>();
    for (const r of refs) for (const m of r) for (const g of m.keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const logImages = Math.log(items.length);
  const perImage: Record<string, number> = {};
  let sum = 0;
  items.forEach((it, i) => {
    const hyp = toTfIdf(countNgrams(it.candidate, n), df, logImages);
    const score = new Array<number>(n).fill(0);
    for (const r of refCounts[i]) {
      const s = similarity(hyp, toTfIdf(r, df, logImages), sigma);
      for (let k = 0; k < n; k++) score[k] += s[k];
    }
    let mean = 0;
    for (const v of score) mean += v;
    const value = (mean / n / refCounts[i].length) * 10;
    if (Object.hasOwn(perImage, it.imageId)) throw new Error(`CIDEr: image_id ${it.imageId} appears twice`);
    perImage[it.imageId] = value;
    sum += value;
  });
  return { corpus: sum / items.length, per_image: perImage, count: items.length };
}

// Truncation and sequence packing (VILA1.5: DataCollatorForSupervisedDataset truncation +
// `repack_multimodal_data`).
//
// Lengths are counted in the model's sequence positions: every IMAGE_TOKEN_INDEX occupies
// `imageTokens` positions once the model splices the image's embeddings in (196 / 576 / 256 ...),
// because VILA packs after splicing.
// - truncateSample cuts a sample so its spliced length fits `maxLength`; an image that does not fit
//   whole is dropped together with its -200 and everything after it (VILA drops the images whose
//   `<image>` tokens were truncated).
// - packSamples sorts samples by spliced length (longest first) and greedily puts each into the
//   first row with room (VILA's repacking), then pads every row to the same number of tokens.
//   Each row carries `segmentIds` (1, 2, ... per sample, 0 = padding) so attention stays inside a
//   sample, and `positionIds` restarting at 0 per sample, in spliced positions: a -200 token holds
//   the position of its image's first embedding and the next token continues after the image.

import { IGNORE_INDEX, IMAGE_TOKEN_INDEX } from "../tokenizer/constants.js";
import type { ImageRef } from "./image_ref.js";
import type { TokenizedSample } from "./samples.js";

/** Spliced length of `ids` (each image counts `imageTokens` positions). */
export function splicedLength(ids: ArrayLike<number>, imageTokens: number): number {
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += ids[i] === IMAGE_TOKEN_INDEX ? imageTokens : 1;
  return n;
}

/** Cuts `s` so that its spliced length is at most `maxLength`; returns `s` itself when it fits. */
export function truncateSample(s: TokenizedSample, maxLength: number, imageTokens: number): TokenizedSample {
  let len = 0;
  let cut = s.inputIds.length;
  for (let i = 0; i < s.inputIds.length; i++) {
    const w = s.inputIds[i] === IMAGE_TOKEN_INDEX ? imageTokens : 1;
    if (len + w > maxLength) {
      cut = i;
      break;
    }
    len += w;
  }
  if (cut === s.inputIds.length) return s;
  const inputIds = s.inputIds.slice(0, cut);
  let nImages = 0;
  for (let i = 0; i < cut; i++) if (inputIds[i] === IMAGE_TOKEN_INDEX) nImages++;
  return { ...s, inputIds, labels: s.labels.slice(0, cut), images: s.images.slice(0, nImages) };
}

/** One packed row (token space; the model expands each -200 to `imageTokens` positions). */
export interface PackedRow {
  inputIds: Int32Array;
  labels: Int32Array;
  /** 1-based sample number within the row per token; 0 = padding. */
  segmentIds: Int32Array;
  /** Position of each token in spliced space, restarting at 0 for every sample. */
  positionIds: Int32Array;
  /** Images of the row in order of their -200 tokens. */
  images: ImageRef[];
  /** Spliced lengths of the samples in the row, in order (VILA's `seqlens_in_batch`). */
  seqlens: number[];
  /** Where each sample came from ("file:line"). */
  sources: string[];
}

export interface PackOptions {
  /** Row capacity in spliced positions (model_max_length). */
  maxLength: number;
  /** Embeddings per image after the projector. */
  imageTokens: number;
  /** Token id written at padding (labels get IGNORE_INDEX there). */
  padId: number;
}

/**
 * Truncates every sample to `maxLength`, then packs them into as few rows as greedy first-fit on
 * length-sorted samples gives.
 * @example
 * const rows = packSamples(batch, { maxLength: 2048, imageTokens: 196, padId: tok.padId ?? 0 });
 */
export function packSamples(samples: TokenizedSample[], opts: PackOptions): PackedRow[] {
  const { maxLength, imageTokens } = opts;
  if (imageTokens > maxLength)
    throw new Error(`pack: one image (${imageTokens} positions) does not fit in maxLength ${maxLength}`);
  const cut = samples
    .map((s) => truncateSample(s, maxLength, imageTokens))
    .filter((s) => s.inputIds.length > 0);
  const lens = cut.map((s) => splicedLength(s.inputIds, imageTokens));
  const order = cut.map((_, i) => i).sort((a, b) => lens[b] - lens[a] || a - b);
  const bins: { items: number[]; used: number }[] = [];
  for (const i of order) {
    const bin = bins.find((b) => b.used + lens[i] <= maxLength);
    if (bin) {
      bin.items.push(i);
      bin.used += lens[i];
    } else bins.push({ items: [i], used: lens[i] });
  }
  const width = Math.max(0, ...bins.map((b) => b.items.reduce((n, i) => n + cut[i].inputIds.length, 0)));
  return bins.map((bin) => {
    const inputIds = new Int32Array(width).fill(opts.padId);
    const labels = new Int32Array(width).fill(IGNORE_INDEX);
    const segmentIds = new Int32Array(width);
    const positionIds = new Int32Array(width);
    const images: ImageRef[] = [];
    const seqlens: number[] = [];
    const sources: string[] = [];
    let t = 0;
    bin.items.forEach((i, k) => {
      const s = cut[i];
      let pos = 0;
      for (let j = 0; j < s.inputIds.length; j++, t++) {
        inputIds[t] = s.inputIds[j];
        labels[t] = s.labels[j];
        segmentIds[t] = k + 1;
        positionIds[t] = pos;
        pos += s.inputIds[j] === IMAGE_TOKEN_INDEX ? imageTokens : 1;
      }
      images.push(...s.images);
      seqlens.push(lens[i]);
      sources.push(`${s.file}:${s.line}`);
    });
    return { inputIds, labels, segmentIds, positionIds, images, seqlens, sources };
  });
}

// Next-token selection from one row of logits (V): the logits processors of Hugging Face
// `generate` with their exact semantics (repetition penalty, then the warpers temperature ->
// top-k -> top-p, as `_get_logits_warper` orders them), then greedy argmax or a multinomial draw
// from a seeded Generator. Every processor works in place on a Float32Array and marks removed
// tokens with -Infinity, as HF's `filter_value` does.

import type { Generator } from "../tensor/random.js";

/** How the next token is chosen. VILA's defaults (run_vila.py / server.py): temperature 0.2, top_p 0.9. */
export interface SamplingOptions {
  /** <= 0 means greedy (VILA: `do_sample = temperature > 0`). Default 0. */
  temperature?: number;
  /** keep the k most likely tokens (ties with the k-th kept, as HF); 0 / undefined = off. */
  topK?: number;
  /** keep the smallest set of most likely tokens whose probability sums to >= topP; 1 / undefined = off. */
  topP?: number;
  /** HF RepetitionPenaltyLogitsProcessor; 1 / undefined = off. */
  repetitionPenalty?: number;
}

/**
 * HF `RepetitionPenaltyLogitsProcessor`: for every token already present, a positive logit is divided
 * by `penalty` and a negative one multiplied by it (each token once, however often it occurred).
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  previous: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  if (!(penalty > 0)) throw new Error(`repetition penalty must be > 0, got ${penalty}`);
  for (const id of new Set(previous)) {
    if (id < 0 || id >= logits.length) continue;
    const x = logits[id];
    logits[id] = x < 0 ? x * penalty : x / penalty;
  }
}

/** HF `TemperatureLogitsWarper`: logits / temperature. */
export function applyTemperature(logits: Float32Array, temperature: number): void {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 to scale logits, got ${temperature}`);
  if (temperature === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] /= temperature;
}

/** HF `TopKLogitsWarper`: remove every token whose logit is below the k-th largest (ties stay). */
export function applyTopK(logits: Float32Array, k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new Error(`top-k must be a non-negative integer, got ${k}`);
  if (k === 0 || k >= logits.length) return;
  const kth = Float32Array.from(logits).sort().reverse()[k - 1];
  for (let i = 0; i < logits.length; i++) if (logits[i] < kth) logits[i] = Number.NEGATIVE_INFINITY;
}

/**
 * HF `TopPLogitsWarper` (min_tokens_to_keep 1): sort ascending, drop the tokens whose cumulative
 * probability is <= 1 - topP, always keep the most likely one. Equivalently: keep the smallest set of
 * most likely tokens whose probability sums to >= topP.
 */
export function applyTopP(logits: Float32Array, topP: number): void {
  if (!(topP > 0 && topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${topP}`);
  if (topP === 1) return;
  const probs = softmax(logits);
  // ascending by logit; stable so equal logits keep index order, as torch.sort on CPU
  const order = Array.from(logits.keys()).sort((a, b) => logits[a] - logits[b] || a - b);
  let cum = 0;
  for (let r = 0; r < order.length - 1; r++) {
    cum += probs[order[r]];
    if (cum <= 1 - topP) logits[order[r]] = Number.NEGATIVE_INFINITY;
    else break;
  }
}

/** softmax in float64 (V) -> (V); -Infinity logits get probability 0. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    p[i] = logits[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(logits[i] - m);
    sum += p[i];
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** Index of the largest value (the first on ties, as torch.argmax). */
export function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Draw an index from `probs` (summing to 1) with one uniform number from `gen`. */
export function sampleFrom(probs: ArrayLike<number>, gen: Generator): number {
  const u = gen.random();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // u fell in the rounding gap above the final cumulative sum
}

/** Whether these options sample (temperature > 0) rather than decode greedily. */
export function isSampling(opts: SamplingOptions): boolean {
  return (opts.temperature ?? 0) > 0;
}

/** Check option ranges once, with messages naming the option. */
export function checkSamplingOptions(opts: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1, repetitionPenalty = 1 } = opts;
  if (!Number.isFinite(temperature) || temperature < 0)
    throw new Error(`temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`top-k must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${topP}`);
  if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty))
    throw new Error(`repetition penalty must be > 0, got ${repetitionPenalty}`);
}

/**
 * Choose the next token from one row of logits (modified in place): repetition penalty over
 * `previous`, then greedy argmax, or temperature -> top-k -> top-p -> multinomial draw.
 * @example
 * const next = selectToken(row, generated, { temperature: 0.2, topP: 0.9 }, new Generator(0));
 */
export function selectToken(
  logits: Float32Array,
  previous: Iterable<number>,
  opts: SamplingOptions,
  gen: Generator,
): number {
  applyRepetitionPenalty(logits, previous, opts.repetitionPenalty ?? 1);
  if (!isSampling(opts)) return argmaxOf(logits);
  applyTemperature(logits, opts.temperature as number);
  if (opts.topK) applyTopK(logits, opts.topK);
  if (opts.topP !== undefined && opts.topP < 1) applyTopP(logits, opts.topP);
  return sampleFrom(softmax(logits), gen);
}

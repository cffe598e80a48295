// The frozen vision tower's features of each training image, kept between epochs (stage 0, and
// stage 2 with tune_vision_tower false): a frozen tower gives an image the same features every
// time it is drawn, so they are computed once and only the projector and the LLM run on them
// again. Keyed by image path, up to a byte budget; images given as bytes (MMC4's base64) and
// images past the budget go through the tower every time.

import type { VilaForCausalLM } from "../models/vila.js";
import { noGrad, Tensor } from "../tensor/tensor.js";

export class FeatureCache {
  private readonly kept = new Map<string, Float32Array>();
  private bytes = 0;
  /** (P', dv) of every kept entry */
  private shape: number[] = [];

  constructor(private readonly budgetBytes: number) {}

  /** (nImg, P', dv) tower features (`model.visionFeatures`) of a micro-batch's images (nImg, 3, H,
   * W) with their keys (path, or null when they have none): kept ones reused, the others computed
   * in one pass of the tower and kept while the budget allows. */
  features(model: VilaForCausalLM, images: Tensor, keys: (string | null)[]): Tensor {
    const n = images.shape[0];
    if (keys.length !== n) throw new Error(`FeatureCache: ${keys.length} keys for ${n} images`);
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      if (k === null || !this.kept.has(k)) missing.push(i);
    }
    let fresh: Float32Array | null = null;
    if (missing.length) {
      const px = images.f32;
      const per = px.length / n;
      const sub = new Float32Array(missing.length * per);
      missing.forEach((i, j) => {
        sub.set(px.subarray(i * per, (i + 1) * per), j * per);
      });
      const f = noGrad(() =>
        model.visionFeatures(new Tensor(sub, [missing.length, ...images.shape.slice(1)])),
      );
      this.shape = f.shape.slice(1);
      fresh = f.f32;
    }
    const per = this.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * per);
    for (let i = 0, j = 0; i < n; i++) {
      const k = keys[i];
      if (j < missing.length && missing[j] === i) {
        const f = (fresh as Float32Array).subarray(j * per, (j + 1) * per);
        out.set(f, i * per);
        if (k !== null && !this.kept.has(k) && this.bytes + 4 * per <= this.budgetBytes) {
          this.kept.set(k, f.slice());
          this.bytes += 4 * per;
        }
        j++;
      } else {
        out.set(this.kept.get(k as string) as Float32Array, i * per);
      }
    }
    return new Tensor(out, [n, ...this.shape]);
  }
}

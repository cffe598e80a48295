// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ with norm_type 2).

import { backend } from "../backend/index.js";
import type { Tensor } from "../tensor/tensor.js";

/** Scales every gradient by maxNorm / (total + 1e-6) when the global L2 norm exceeds maxNorm.
 * Returns the norm before clipping (NaN/Inf propagate so the trainer can stop on them). */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const be = backend();
  let sq = 0;
  for (const p of params) if (p.grad) sq += be.sumSquares(p.grad.f32);
  const total = Math.sqrt(sq);
  if (maxNorm > 0 && Number.isFinite(total)) {
    const coef = maxNorm / (total + 1e-6);
    if (coef < 1) for (const p of params) if (p.grad) be.affine(p.grad.f32, coef, 0, p.grad.f32);
  }
  return total;
}

// Learning-rate schedules as pure functions of the step (so resuming needs only the step).

/** Hugging Face get_cosine_schedule_with_warmup, as VILA's trainer uses it (warmup_ratio 0.03):
 * warmup = ceil(warmupRatio * totalSteps); factor = step / warmup while step < warmup, then
 * 0.5 * (1 + cos(pi * progress)) with progress = (step - warmup) / (total - warmup).
 * `step` is the number of optimizer steps already taken (0-based), as in PyTorch's LambdaLR. */
export function cosineWithWarmup(
  step: number,
  totalSteps: number,
  warmupRatio: number,
  minRatio = 0,
): number {
  if (totalSteps <= 0) throw new Error(`cosineWithWarmup: totalSteps must be positive, got ${totalSteps}`);
  const warmup = Math.ceil(warmupRatio * totalSteps);
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  const cos = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
  return minRatio + (1 - minRatio) * cos;
}

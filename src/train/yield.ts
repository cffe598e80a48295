// Long loops whose data is already in memory (a training stage once its images are decoded and
// cached, the SigLIP tower's pairs) settle every `await` as a microtask, so the event loop never
// turns: SIGINT listeners, timers and worker messages wait for the loop to end. Measured: a
// world-tiny SFT stage sent SIGINT at step 300 trained on to step 800 before `vila recipe` heard
// it, and a second Ctrl-C could not quit. These loops give the event loop one turn per step.

/** Resolve after one turn of the event loop (its pending signal handlers and timers have run). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

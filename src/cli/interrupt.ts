// Ctrl-C for long runs (train, recipe): the first SIGINT aborts the returned signal so the run
// stops after its current step and saves; a second one exits at once with 130.

export interface Interrupt {
  signal: AbortSignal;
  /** stop listening for SIGINT (call in `finally`). */
  dispose(): void;
}

export function abortOnSigint(message: string, beforeMessage: () => void = () => {}): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    beforeMessage();
    console.error(message);
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

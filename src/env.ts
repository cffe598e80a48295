// The VILA_* knobs, read once. Only this file reads process.env for the engine
// (VILA_BACKEND = js | native, VILA_NUM_THREADS = native thread-pool size, VILA_DEBUG = 1 checks
// every op's output for NaN/Inf, VILA_FUSED_DECODE = 0 runs single-token decode op by op instead of
// one fused kernel per decoder layer). Runs in a browser too: there `process` is absent and the
// defaults apply.

export interface VilaEnv {
  backend: string | undefined;
  numThreads: number | undefined;
  debug: boolean;
  fusedDecode: boolean;
}

function readEnv(): VilaEnv {
  const e: Record<string, string | undefined> =
    typeof process !== "undefined" && process.env ? process.env : {};
  const threads = e.VILA_NUM_THREADS ? Number.parseInt(e.VILA_NUM_THREADS, 10) : undefined;
  if (threads !== undefined && !(threads >= 1)) {
    throw new Error(`VILA_NUM_THREADS must be a positive integer, got "${e.VILA_NUM_THREADS}"`);
  }
  return {
    backend: e.VILA_BACKEND || undefined,
    numThreads: threads,
    debug: e.VILA_DEBUG === "1" || e.VILA_DEBUG === "true",
    fusedDecode: !(e.VILA_FUSED_DECODE === "0" || e.VILA_FUSED_DECODE === "false"),
  };
}

export const env: VilaEnv = readEnv();

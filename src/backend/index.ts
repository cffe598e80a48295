// Backend selection. Default on Node: native if the addon loads, else js (said once on stderr).
// VILA_BACKEND=js|native forces one; setBackend() switches at run time (tests use it).

import { env } from "../env.js";
import type { Backend } from "./backend.js";
import { jsBackend } from "./js/index.js";
import { loadNativeBackend } from "./native/index.js";

export type { Backend } from "./backend.js";

let current: Backend | null = null;
let native: Backend | null | undefined;
let warned = false;

/** The native backend, or null if the addon cannot load (the reason is kept in nativeLoadError). */
export function nativeBackend(): Backend | null {
  if (native === undefined) {
    const r = loadNativeBackend(env.numThreads);
    native = r.backend;
    nativeLoadError = r.error;
  }
  return native ?? null;
}
export let nativeLoadError: string | null = null;

/** Every backend that can run here, js first. */
export function availableBackends(): Backend[] {
  const n = nativeBackend();
  return n ? [jsBackend, n] : [jsBackend];
}

export function backend(): Backend {
  if (current) return current;
  const want = env.backend ?? "auto";
  if (want === "js") current = jsBackend;
  else if (want === "native" || want === "auto") {
    const n = nativeBackend();
    if (n) current = n;
    else {
      if (want === "native")
        throw new Error(`VILA_BACKEND=native but the native addon cannot load: ${nativeLoadError}`);
      if (!warned) {
        warned = true;
        if (typeof process !== "undefined" && process.stderr) {
          process.stderr.write(
            `vila-ts: native addon unavailable (${nativeLoadError}); using the js backend\n`,
          );
        }
      }
      current = jsBackend;
    }
  } else throw new Error(`VILA_BACKEND must be "js" or "native", got "${want}"`);
  return current;
}

/** Switch the backend used by every op from now on. */
export function setBackend(b: Backend | "js" | "native"): void {
  if (b === "js") current = jsBackend;
  else if (b === "native") {
    const n = nativeBackend();
    if (!n) throw new Error(`native backend unavailable: ${nativeLoadError}`);
    current = n;
  } else current = b;
}

// Builds the native addon (native/, binding.gyp) with node-gyp at install time, against the
// headers of the running Node when they are installed locally (nothing is downloaded).
// A failed build is not fatal: the js backend runs instead and says so once at run time.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

if (!existsSync("binding.gyp")) process.exit(0);
const args = ["rebuild"];
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
const r = spawnSync("node-gyp", args, { stdio: "inherit", shell: process.platform === "win32" });
if (r.status !== 0) {
  console.warn("vila-ts: the native addon did not build; the plain TypeScript backend will be used.");
}

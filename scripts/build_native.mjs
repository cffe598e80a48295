// Builds the native addon (native/, binding.gyp) with node-gyp at install time.
// A failed build is not fatal: the js backend runs instead and says so once at run time.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync("binding.gyp")) process.exit(0);
const r = spawnSync("node-gyp", ["rebuild"], { stdio: "inherit", shell: process.platform === "win32" });
if (r.status !== 0) {
  console.warn("vila-ts: the native addon did not build; the plain TypeScript backend will be used.");
}

// Locates test/fixtures/io from a compiled test file, whatever the output folder (dist/, .build/<name>/).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The absolute path of test/fixtures/io in the repository. */
export function fixturesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, "test", "fixtures", "io");
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("test/fixtures/io not found above the compiled test file");
    dir = up;
  }
}

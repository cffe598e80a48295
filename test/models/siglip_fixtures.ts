// Loads the PyTorch reference values of scripts/make_siglip_fixtures.py (test/fixtures/siglip/*.json)
// from a compiled test file, whatever the output folder (dist/, .build/<name>/).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Parsed JSON of test/fixtures/siglip/<name>. */
export function loadSiglipFixture<T>(name: string): T {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, "test", "fixtures", "siglip", name);
    if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8")) as T;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(
        `test/fixtures/siglip/${name} not found above the compiled test file (run scripts/make_siglip_fixtures.py)`,
      );
    dir = up;
  }
}

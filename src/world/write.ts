// Writing the world to disk: atomic file writes (temp file + rename), JSON / JSONL encoders,
// and the contact sheet (sample images, scaled up, with their captions in the bitmap font).

import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { drawText, GLYPH_ADVANCE } from "./font.js";
import { createImage, type RgbImage, renderScene } from "./render.js";
import type { Scene } from "./scene.js";

/** Write `data` to root/rel atomically (parent folders created). */
export async function writeAtomic(root: string, rel: string, data: string | Buffer): Promise<void> {
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length > 0 ? "\n" : "");
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 1)}\n`;
}

/** Greedy word wrap to lines of at most `width` characters. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (next.length <= width) line = next;
    else {
      if (line) lines.push(line);
      line = word.slice(0, width);
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A contact sheet: `cols` columns of (image scaled by `zoom`, caption below in up to 6 lines).
 * Returns the RGB image.
 */
export function contactSheet(
  items: readonly { scene: Scene; caption: string }[],
  cols = 4,
  zoom = 2,
): RgbImage {
  const side = items.length > 0 ? items[0].scene.size * zoom : 0;
  const chars = Math.max(8, Math.floor(side / GLYPH_ADVANCE));
  const textRows = 6;
  const cellW = side + 8;
  const cellH = side + 8 + textRows * 9;
  const rows = Math.ceil(items.length / cols);
  const sheet = createImage(Math.max(1, cols * cellW), Math.max(1, rows * cellH), [255, 255, 255]);
  items.forEach((it, i) => {
    const img = renderScene(it.scene);
    const ox = (i % cols) * cellW + 4;
    const oy = Math.floor(i / cols) * cellH + 4;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const s = (Math.floor(y / zoom) * img.width + Math.floor(x / zoom)) * 3;
        const d = ((oy + y) * sheet.width + ox + x) * 3;
        sheet.data[d] = img.data[s];
        sheet.data[d + 1] = img.data[s + 1];
        sheet.data[d + 2] = img.data[s + 2];
      }
    }
    wrapText(it.caption, chars)
      .slice(0, textRows)
      .forEach((line, l) => {
        drawText(sheet.data, sheet.width, sheet.height, line, ox, oy + side + 3 + l * 9, [0, 0, 0], 1);
      });
  });
  return sheet;
}

export async function writePng(root: string, rel: string, img: RgbImage): Promise<void> {
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
  await writeAtomic(root, rel, png);
}

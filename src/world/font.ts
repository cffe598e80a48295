// A built-in 5x7 bitmap font (A-Z, 0-9 and a little punctuation) for drawing words into images
// (the OCR / TextVQA analogue) and captions onto the contact sheet. Lower-case input is drawn
// with the upper-case glyphs. Each glyph is 7 rows of 5 columns ('#' = ink); glyphs are drawn
// with one column of spacing, so a line of n characters is 6n - 1 pixels wide at scale 1.

import type { Rgb } from "./vocab.js";

export const GLYPH_W = 5;
export const GLYPH_H = 7;
/** Horizontal advance per character at scale 1 (glyph + one column of spacing). */
export const GLYPH_ADVANCE = GLYPH_W + 1;

const RAW: Record<string, string> = {
  A: ".###. #...# #...# ##### #...# #...# #...#",
  B: "####. #...# #...# ####. #...# #...# ####.",
  C: ".###. #...# #.... #.... #.... #...# .###.",
  D: "####. #...# #...# #...# #...# #...# ####.",
  E: "##### #.... #.... ####. #.... #.... #####",
  F: "##### #.... #.... ####. #.... #.... #....",
  G: ".###. #...# #.... #.### #...# #...# .####",
  H: "#...# #...# #...# ##### #...# #...# #...#",
  I: ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  J: "..### ...#. ...#. ...#. ...#. #..#. .##..",
  K: "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  L: "#.... #.... #.... #.... #.... #.... #####",
  M: "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  N: "#...# #...# ##..# #.#.# #..## #...# #...#",
  O: ".###. #...# #...# #...# #...# #...# .###.",
  P: "####. #...# #...# ####. #.... #.... #....",
  Q: ".###. #...# #...# #...# #.#.# #..#. .##.#",
  R: "####. #...# #...# ####. #.#.. #..#. #...#",
  S: ".#### #.... #.... .###. ....# ....# ####.",
  T: "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  U: "#...# #...# #...# #...# #...# #...# .###.",
  V: "#...# #...# #...# #...# #...# .#.#. ..#..",
  W: "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  X: "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  Y: "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  Z: "##### ....# ...#. ..#.. .#... #.... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  ",": "..... ..... ..... ..... .##.. ..#.. .#...",
  "-": "..... ..... ..... ##### ..... ..... .....",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  ":": "..... .##.. .##.. ..... .##.. .##.. .....",
  '"': ".#.#. .#.#. .#.#. ..... ..... ..... .....",
  "'": "..#.. ..#.. ..#.. ..... ..... ..... .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  "=": "..... ..... ##### ..... ##### ..... .....",
  "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
  "/": "..... ....# ...#. ..#.. .#... #.... .....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
};

/** Glyph bitmaps: 35 entries (row-major, 7 rows x 5 columns), 1 = ink. */
export const GLYPHS: ReadonlyMap<string, Uint8Array> = new Map(
  Object.entries(RAW).map(([ch, rows]) => {
    const bits = rows.replaceAll(" ", "");
    if (bits.length !== GLYPH_W * GLYPH_H) throw new Error(`font: glyph "${ch}" has ${bits.length} cells`);
    return [ch, Uint8Array.from(bits, (c) => (c === "#" ? 1 : 0))];
  }),
);

/** The glyph of a character (lower case maps to upper case); unknown characters draw as "?". */
export function glyphOf(ch: string): Uint8Array {
  return GLYPHS.get(ch.toUpperCase()) ?? GLYPHS.get("?")!;
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** Height in pixels of one line at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_H * scale;
}

/**
 * Draw `text` into an RGB buffer (H, W, 3) with its top-left corner at (x, y); pixels outside the
 * buffer are clipped.
 * @example drawText(data, 64, 64, "cafe", 4, 4, [0, 0, 0], 1)
 */
export function drawText(
  data: Uint8Array,
  width: number,
  height: number,
  text: string,
  x: number,
  y: number,
  colour: Rgb,
  scale = 1,
): void {
  for (let i = 0; i < text.length; i++) {
    const g = glyphOf(text[i]);
    const gx = x + i * GLYPH_ADVANCE * scale;
    for (let r = 0; r < GLYPH_H; r++) {
      for (let c = 0; c < GLYPH_W; c++) {
        if (!g[r * GLYPH_W + c]) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + r * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + c * scale + dx;
            if (px < 0 || px >= width) continue;
            const o = (py * width + px) * 3;
            data[o] = colour[0];
            data[o + 1] = colour[1];
            data[o + 2] = colour[2];
          }
        }
      }
    }
  }
}

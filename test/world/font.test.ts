// The bitmap font: every glyph is well-formed and distinct from every other (so text in images
// is readable in principle), and drawText puts ink exactly where the glyph bits are.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  drawText,
  GLYPH_ADVANCE,
  GLYPH_H,
  GLYPH_W,
  GLYPHS,
  glyphOf,
  textWidth,
} from "../../src/world/font.js";

test("font: A-Z and 0-9 are present, non-empty and pairwise distinct", () => {
  const chars = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
  for (const ch of chars) {
    const g = GLYPHS.get(ch);
    assert.ok(g, `glyph ${ch} missing`);
    assert.equal(g.length, GLYPH_W * GLYPH_H);
    assert.ok(
      g.some((b) => b === 1),
      `glyph ${ch} is empty`,
    );
  }
  const all = [...GLYPHS.entries()];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const diff = all[i][1].reduce((a, b, k) => a + (b !== all[j][1][k] ? 1 : 0), 0);
      assert.ok(diff > 0, `glyphs "${all[i][0]}" and "${all[j][0]}" are identical`);
    }
  }
  assert.deepEqual(glyphOf("q"), GLYPHS.get("Q"), "lower case uses the upper-case glyph");
});

test("font: drawText inks exactly the glyph cells, scaled, at the right place", () => {
  const w = 40;
  const h = 20;
  for (const scale of [1, 2]) {
    const data = new Uint8Array(w * h * 3);
    drawText(data, w, h, "A7", 1, 2, [255, 0, 0], scale);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // Independent expectation: which glyph cell (if any) covers (x, y).
        let want = 0;
        const cx = Math.floor((x - 1) / scale);
        const cy = Math.floor((y - 2) / scale);
        const which = Math.floor(cx / GLYPH_ADVANCE);
        const col = cx - which * GLYPH_ADVANCE;
        if (x >= 1 && y >= 2 && cy < GLYPH_H && which < 2 && col < GLYPH_W)
          want = glyphOf("A7"[which])[cy * GLYPH_W + col];
        assert.equal(data[(y * w + x) * 3] === 255 ? 1 : 0, want, `scale ${scale} pixel (${x}, ${y})`);
      }
    }
  }
  assert.equal(textWidth("A7", 1), 11);
  assert.equal(textWidth("A7", 2), 22);
});

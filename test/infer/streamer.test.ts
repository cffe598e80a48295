// The streamer against a byte-level toy tokenizer decoded with the platform's UTF-8 decoder:
// releases only at word boundaries, never half a character, never a (partial) stop string, and the
// released pieces add up to the full text.

import assert from "node:assert/strict";
import { test } from "node:test";
import { readyLength, type TextDecoderLike, TextStreamer } from "../../src/infer/streamer.js";

/** Token i = the bytes of pieces[i]; decode concatenates bytes and decodes UTF-8 (U+FFFD for partial chars). */
function byteTokenizer(pieces: Uint8Array[]): TextDecoderLike {
  return {
    decode(ids) {
      const bytes = Array.from(ids).flatMap((i) => [...pieces[i]]);
      return new TextDecoder().decode(Uint8Array.from(bytes));
    },
  };
}

const enc = (s: string) => new TextEncoder().encode(s);

test("text is released at spaces and newlines; end() flushes the rest; pieces add up", () => {
  const words = ["Hello", " wor", "ld", ",", " how", "\n", "are", " you"];
  const tok = byteTokenizer(words.map(enc));
  const st = new TextStreamer(tok);
  const out = words.map((_, i) => st.put(i));
  assert.deepEqual(out, ["", "Hello ", "", "", "world, ", "how\n", "", "are "]);
  assert.equal(st.end(), "you");
  assert.equal(out.join("") + "you", words.join(""));
});

test("a UTF-8 character split across tokens is never released half", () => {
  const e = enc("é"); // 2 bytes
  const euro = enc("€"); // 3 bytes
  const pieces = [
    enc("caf"),
    e.slice(0, 1),
    e.slice(1),
    enc(" "),
    euro.slice(0, 1),
    euro.slice(1, 2),
    euro.slice(2),
    enc("!"),
  ];
  const tok = byteTokenizer(pieces);
  const st = new TextStreamer(tok);
  const got = pieces.map((_, i) => st.put(i));
  assert.deepEqual(got, ["", "", "", "café ", "", "", "", ""]);
  assert.equal(st.end(), "€!");
  // CJK is released without waiting for a space, but not while its bytes are incomplete
  const zh = enc("你好");
  const st2 = new TextStreamer(byteTokenizer([zh.slice(0, 2), zh.slice(2, 4), zh.slice(4)]));
  assert.deepEqual([st2.put(0), st2.put(1), st2.put(2)], ["", "你", "好"]);
  assert.equal(readyLength("ab \uFFFD"), 3);
  assert.equal(readyLength("ab c\uFFFD\uFFFD"), 3);
});

test("CJK text is released character by character (no spaces to wait for)", () => {
  const tok = byteTokenizer(["你", "好"].map(enc));
  const st = new TextStreamer(tok);
  assert.equal(st.put(0), "你");
  assert.equal(st.put(1), "好");
});

test("stop strings and their prefixes are held back", () => {
  const stops = ["</s>", "<|im_end|>"];
  assert.equal(readyLength("hi there </", stops), "hi there ".length);
  assert.equal(readyLength("hi there <|im_e", stops), "hi there ".length);
  assert.equal(readyLength("hi </s> more ", stops), "hi ".length);
  assert.equal(readyLength("a < b ", stops), "a < b ".length);
  const tok = byteTokenizer(["The ", "end </", "s> x "].map(enc));
  const st = new TextStreamer(tok, { stopStrings: ["</s>"] });
  assert.equal(st.put(0), "The ");
  assert.equal(st.put(1), "end ");
  assert.equal(st.put(2), "");
  assert.equal(st.end(st.text.indexOf("</s>")), "");
});

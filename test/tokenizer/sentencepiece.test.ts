// SentencePiece tokenizer.model reader + BPE encoder against the official library: fixtures from
// scripts/make_tokenizer_fixtures.py (Debian python3-sentencepiece 0.1.97), including transformers'
// LlamaTokenizer(legacy=False) behaviour re-stated on top of real sentencepiece.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseSentencePieceModel, SentencePieceBpe } from "../../src/tokenizer/sentencepiece.js";
import { loadTokenizer, Tokenizer } from "../../src/tokenizer/tokenizer.js";

const DIR = "test/fixtures/tokenizer/sp_tiny";
const model = new Uint8Array(readFileSync(`${DIR}/tokenizer.model`));
const expected = JSON.parse(readFileSync("test/fixtures/tokenizer/sp_tiny_expected.json", "utf8")) as {
  vocab_size: number;
  cases: { text: string; sp: number[]; hf: number[]; dec: string }[];
};

test("parses the ModelProto (pieces, trainer and normalizer specs)", () => {
  const m = parseSentencePieceModel(model);
  assert.equal(m.pieces.length, expected.vocab_size);
  assert.equal(m.modelType, 2);
  assert.equal(m.byteFallback, true);
  assert.deepEqual([m.unkId, m.bosId, m.eosId, m.padId], [0, 1, 2, -1]);
  assert.equal(m.normalizerName, "identity");
  assert.equal(m.addDummyPrefix, true);
  assert.equal(m.removeExtraWhitespaces, false);
  assert.deepEqual(
    m.pieces.slice(0, 4).map((p) => p.piece),
    ["<unk>", "<s>", "</s>", "<0x00>"],
  );
  assert.throws(() => parseSentencePieceModel(model.subarray(0, 1000), "cut.model"), /cut\.model/);
});

test("encode matches sentencepiece's own encode", () => {
  const sp = new SentencePieceBpe(parseSentencePieceModel(model));
  for (const c of expected.cases) assert.deepEqual(sp.encode(c.text), c.sp, JSON.stringify(c.text));
});

test("Tokenizer.encode matches transformers LlamaTokenizer(legacy=False) and decode round-trips", async () => {
  const tok = await loadTokenizer(DIR);
  assert.equal(tok.kind, "sentencepiece");
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  for (const c of expected.cases) {
    const ids = tok.encode(c.text);
    assert.deepEqual(ids, c.hf, JSON.stringify(c.text));
    if (!c.text.includes("</s>") && !c.text.includes("\u2581"))
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), c.dec);
  }
  // "</s>" inside text is EOS (split out), not characters.
  assert.deepEqual(tok.encode("a</s>", { addSpecialTokens: false }).at(-1), 2);
  assert.equal(tok.decode(tok.encode("hello</s>")), "<s>hello</s>");
});

test("a non-BPE or non-identity model is a clear error", () => {
  const m = parseSentencePieceModel(model);
  assert.throws(
    () => new SentencePieceBpe({ ...m, modelType: 1 }, "x.model"),
    /x\.model: model_type 1 is not BPE/,
  );
  assert.throws(
    () => new SentencePieceBpe({ ...m, normalizerName: "nmt_nfkc" }, "x.model"),
    /normalizer "nmt_nfkc"/,
  );
  assert.throws(
    () => Tokenizer.fromSentencePiece(new Uint8Array([8, 1]), {}, "empty.model"),
    /empty\.model: no pieces/,
  );
});

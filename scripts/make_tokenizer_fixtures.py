#!/usr/bin/env python3
"""Fixtures for test/tokenizer/sentencepiece.test.ts, made with the official SentencePiece library
(Debian python3-sentencepiece). Run: /usr/bin/python3 scripts/make_tokenizer_fixtures.py

Writes test/fixtures/tokenizer/sp_tiny/tokenizer.model (a tiny Llama-2-style BPE model: identity
normalizer, dummy prefix, byte fallback, split digits) and sp_tiny_expected.json with, for a set of
strings:
  sp:  sentencepiece's own encode (the model's settings)
  hf:  transformers' slow LlamaTokenizer(legacy=False) token ids (4.36 logic, re-stated below on top
       of real sentencepiece with add_dummy_prefix switched off, as transformers does)
  dec: sentencepiece's decode of `sp`
"""
import json
import os
import random
import re
import sentencepiece as spm

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "tokenizer")
os.makedirs(os.path.join(OUT, "sp_tiny"), exist_ok=True)

random.seed(0)
words = ("the a cat dog sat ran on under mat hat big small red blue green image picture shows "
         "what is this there are two three objects left right of USER ASSISTANT answer question "
         "hello world tokenization sentence piece llama vicuna").split()
syll = "ka ri to mo na be lu si po te ga chi ro vi".split()
words += ["".join(random.choice(syll) for _ in range(random.randint(2, 4))) for _ in range(150)]
lines = []
for _ in range(4000):
    n = random.randint(3, 14)
    s = " ".join(random.choice(words) for _ in range(n))
    if random.random() < 0.3:
        s += f" {random.randint(0, 999)}."
    if random.random() < 0.2:
        s = s.capitalize() + "?"
    lines.append(s)
lines += ["café naïve résumé", "ünïcödé straße", "tab\tseparated"] * 3
corpus = os.path.join("/tmp", "sp_tiny_corpus.txt")
with open(corpus, "w") as f:
    f.write("\n".join(lines) + "\n")

prefix = os.path.join(OUT, "sp_tiny", "tokenizer")
spm.SentencePieceTrainer.train(
    input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=700,
    byte_fallback=True, normalization_rule_name="identity", add_dummy_prefix=True,
    remove_extra_whitespaces=False, split_digits=True, character_coverage=0.999,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2,
)
os.remove(prefix + ".vocab")
model_bytes = open(prefix + ".model", "rb").read()


# --- protobuf surgery: set NormalizerSpec.add_dummy_prefix (field 3 of field 3) to false ---------
def read_varint(b, i):
    r, s = 0, 0
    while True:
        x = b[i]; i += 1
        r |= (x & 0x7F) << s; s += 7
        if not x & 0x80:
            return r, i


def varint(v):
    out = bytearray()
    while True:
        x = v & 0x7F; v >>= 7
        out.append(x | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    i = 0
    while i < len(b):
        tag, j = read_varint(b, i)
        wire = tag & 7
        if wire == 0:
            _, k = read_varint(b, j)
        elif wire == 2:
            n, k = read_varint(b, j); k += n
        elif wire == 5:
            k = j + 4
        elif wire == 1:
            k = j + 8
        else:
            raise ValueError(wire)
        yield tag >> 3, wire, b[i:k], b[j:k]
        i = k


def without_dummy_prefix(b):
    out = bytearray()
    for f, wire, raw, payload in fields(b):
        if f == 3 and wire == 2:
            n, j = read_varint(payload, 0)
            inner = payload[j:]
            new = bytearray()
            for g, w2, raw2, _ in fields(inner):
                if g != 3:
                    new += raw2
            new += varint(3 << 3) + varint(0)
            out += varint((3 << 3) | 2) + varint(len(new)) + new
        else:
            out += raw
    return bytes(out)


sp = spm.SentencePieceProcessor(model_proto=model_bytes)
sp2 = spm.SentencePieceProcessor(model_proto=without_dummy_prefix(model_bytes))
SPECIALS = ["<s>", "</s>", "<unk>"]
unk_len = len(sp2.encode("<unk>", out_type=str))


def hf_tokenize_chunk(text):
    tokens = sp2.encode(text, out_type=str)
    if not text.startswith(("\u2581", " ")):
        return tokens
    tokens = sp2.encode("<unk>" + text, out_type=str)
    return tokens[unk_len:] if len(tokens) >= unk_len else tokens


def hf_encode(text):
    """transformers 4.36 LlamaTokenizer(legacy=False).encode(text) (add_bos_token=True)."""
    if len(text) == 0:
        return [sp.bos_id()]
    text = "\u2581" + text.replace("\u2581", " ")
    tokens = []
    for part in re.split("(<s>|</s>|<unk>)", text):
        if part in SPECIALS:
            tokens.append(part)
        elif part:
            tokens += hf_tokenize_chunk(part)
    if len(tokens) > 1 and tokens[0] == "\u2581" and tokens[1] in SPECIALS:
        tokens = tokens[1:]
    return [sp.bos_id()] + [sp2.piece_to_id(t) for t in tokens]


cases = [
    "the cat sat on the mat",
    "Hello world",
    " leading space",
    "double  space and trailing ",
    "digits 12345 and 7.",
    "café naïve résumé",
    "emoji 🎉 and CJK 你好 fall back to bytes",
    "tab\tand\nnewline",
    "USER: what is this? ASSISTANT: a red cat</s>USER: and there?",
    "</s>starts with eos",
    "A chat between a curious user and an artificial intelligence assistant. USER: \nWhat is shown? ASSISTANT:",
    "\nWhat is this?",
    "\u2581literal\u2581underline",
    "",
]
expected = []
for c in cases:
    ids = sp.encode(c)
    expected.append({"text": c, "sp": ids, "hf": hf_encode(c), "dec": sp.decode(ids)})
with open(os.path.join(OUT, "sp_tiny_expected.json"), "w") as f:
    json.dump({"vocab_size": sp.get_piece_size(), "cases": expected}, f, ensure_ascii=False)
print("wrote", prefix + ".model", len(model_bytes), "bytes;", len(cases), "cases")

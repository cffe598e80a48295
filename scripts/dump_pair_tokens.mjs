// Tokenizes a pairs JSONL file the way the trainer does (buildPairSample: "<image>" + caption + EOS,
// labels with -100 at the image) and writes [{ids, labels, image, caption}] as JSON, for
// scripts/peer_stage1_train.py. Usage: node scripts/dump_pair_tokens.mjs TOKENIZER_DIR PAIRS.jsonl OUT.json
// Needs `npm run build` (imports dist/).
import fs from "node:fs";
import { buildPairSample } from "../dist/src/data/samples.js";
import { loadTokenizer } from "../dist/src/tokenizer/tokenizer.js";

const [tokDir, pairs, out] = process.argv.slice(2);
if (!out) throw new Error("usage: node scripts/dump_pair_tokens.mjs TOKENIZER_DIR PAIRS.jsonl OUT.json");
const tok = await loadTokenizer(tokDir);
const lines = fs.readFileSync(pairs, "utf8").trim().split("\n");
const rows = lines.map((l, i) => {
  const v = JSON.parse(l);
  const rec = {
    kind: "pair",
    caption: v.caption,
    image: { kind: "path", path: v.image },
    file: pairs,
    line: i + 1,
  };
  const s = buildPairSample(rec, tok);
  return { ids: [...s.inputIds], labels: [...s.labels], image: v.image, caption: v.caption };
});
fs.writeFileSync(out, JSON.stringify(rows));
console.log(`${rows.length} samples -> ${out}`);

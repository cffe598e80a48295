// Variants of a world's `icl` benchmark that ask where image in-context learning fails
// (docs/ARCHITECTURE.md, "In-context learning over images"). Each keeps the episodes, their
// demonstrations' order and answers, and the benchmark's annotations:
//   identical  the query's image is the image of the first demonstration with the answer: matching
//              two identical images is enough
//   text       no images: each image's words in its place ("the purple circle is a"), the text twin
//              of the task; the query names the bound attribute (colour or shape) of the answer's
//              first demonstration and the other attribute of the other word's first one, so only the
//              binding decides
//   described  the text twin with each image kept in front of its words ("<image>the purple circle
//              is a"): the words alone give the answer
//   padded     the text twin with a plain 14-word sentence in front of each demonstration and the
//              query, about as many tokens as an image: whether binding survives the distance
//   captioned  the text twin in the image task's own form: each image's caption, then its prompt
//              ("a purple circle. this is a")
//   keyed      the same with only the bound attribute in the caption ("a purple one. this is a",
//              "a circle. this is a"): matching one word 3-4 words back is enough
// Usage: node scripts/icl_probes.mjs WORLD_DIR OUT_DIR   (needs `npm run build`: imports dist/)
// then e.g. vila eval --model CK --bench OUT_DIR/text/questions.jsonl,OUT_DIR/text/annotations.json
//   --image-folder WORLD_DIR --shots 8 --conv-mode raw --demo-template '{question} {answer}\n'
//   (captioned and keyed: --demo-template '{question} {answer}.\n', sentences as the corpus ends them)
import fs from "node:fs";
import path from "node:path";
import { readJsonl } from "../dist/src/data/jsonl.js";
import { readGroundTruth, referenceAnswer } from "../dist/src/eval/benchmarks.js";
import { article } from "../dist/src/world/describe.js";

const [world, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node scripts/icl_probes.mjs WORLD_DIR OUT_DIR");
  process.exit(2);
}
const bench = path.join(world, "bench", "icl");
const readAll = async (file) => {
  const rows = [];
  for await (const { value } of readJsonl(file)) rows.push(value);
  return rows;
};
const annotationsFile = path.join(bench, "annotations.json");
// the eval's own reference answer of each question
const truth = readGroundTruth([annotationsFile], "exact");
// support image -> "colour shape"
const words = new Map((await readAll(path.join(bench, "support.jsonl"))).map((s) => [s.image, s.answer]));
const describe = (image) => {
  const w = words.get(image);
  if (!w) throw new Error(`${bench}/support.jsonl: no words for demonstration image ${image}`);
  return w.split(" ");
};
// each probe's sentence for an object's colour and shape, before the benchmark's prompt ("this is a")
const named = (c, s) => `the ${c} ${s} is a`;
const captioned = (c, s, prompt) => `${article(c)} ${c} ${s}. ${prompt}`;
// the bound attribute alone: the colour of a colour episode, the shape of a shape episode
const keyedBy = (category) => (c, s, prompt) =>
  category === "colour_binding" ? `${article(c)} ${c} one. ${prompt}` : `${article(s)} ${s}. ${prompt}`;
// the text twin of a question: the query's object [c, s] and each demonstration's image written by
// `sentence`, each line behind `prefix`; `keep` copies the demonstrations' and the query's own
// fields (the images) into it
const twin = (q, [c, s], sentence, prefix = "", keep = false) => ({
  ...(keep ? q : { question_id: q.question_id, category: q.category }),
  text: prefix + sentence(c, s, q.text),
  demos: q.demos.map((d) => ({
    ...(keep ? d : {}),
    text: prefix + sentence(...describe(d.image), d.text),
    answer: d.answer,
  })),
});

const PAD = "here is one more picture for the game that the children like to play. ";
const probes = { identical: [], text: [], described: [], padded: [], captioned: [], keyed: [] };
for (const q of await readAll(path.join(bench, "questions.jsonl"))) {
  const answer = referenceAnswer(truth, String(q.question_id));
  const same = q.demos.find((d) => d.answer === answer);
  const other = q.demos.find((d) => d.answer !== answer);
  if (!same || !other)
    throw new Error(`${bench}/questions.jsonl: question ${q.question_id} needs demonstrations of two words`);
  const [c1, s1] = describe(same.image);
  const [c2, s2] = describe(other.image);
  const query = q.category === "colour_binding" ? [c1, s2] : [c2, s1];
  probes.identical.push({ ...q, image: same.image });
  probes.text.push(twin(q, query, named));
  probes.padded.push(twin(q, query, named, PAD));
  probes.described.push(twin(q, query, named, "<image>", true));
  probes.captioned.push(twin(q, query, captioned));
  probes.keyed.push(twin(q, query, keyedBy(q.category)));
}
for (const [name, rows] of Object.entries(probes)) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "questions.jsonl"), `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
  fs.copyFileSync(annotationsFile, path.join(dir, "annotations.json"));
  console.log(`${dir}: ${rows.length} questions`);
}

// The README.md written into every world folder: what each file is, its format, its counts,
// and the design choices readers must know (held-out landmarks, image paths, k-shot protocol).

import type { WorldSummary } from "./index.js";
import * as L from "./layout.js";

function table(rows: [string, string, string][], head = "file"): string {
  return [
    `| ${head} | what | count |`,
    "| --- | --- | --- |",
    ...rows.map((r) => `| \`${r[0]}\` | ${r[1]} | ${r[2]} |`),
  ].join("\n");
}

export function makeReadme(s: WorldSummary): string {
  const c = s.counts;
  const w = s.words;
  const n = (k: string) => (c[k] ?? 0).toLocaleString("en-US");
  return `# vila-ts world (preset \`${s.preset}\`, seed ${s.seed}, ${s.imageSize}x${s.imageSize} px)

A procedurally generated multimodal world: rendered images of shapes, signs and landmarks, a
text corpus, image-text pairs, interleaved documents, instruction data and benchmarks, written in
the public formats VILA reads (COYO/WebDataset, MMC4, LLaVA, FLAN-style, VQAv2, COCO captions).
Regenerate it byte for byte with \`vila world --out DIR --preset ${s.preset} --seed ${s.seed}${s.imageSize !== s.presetImageSize ? ` --image-size ${s.imageSize}` : ""}\`.

**Image paths.** Every image reference in every file is a path relative to this folder
(e.g. \`images/train/000012.png\`); use this folder as the image folder of LLaVA-style readers.
Training files reference only \`images/train\`; benchmark questions only \`images/bench\`;
demonstrations only \`images/support\`. No benchmark or support image is in a training file.

## Files

${table([
  [
    L.WORLD_JSON,
    "seed, preset and knobs, vocabulary, every landmark with its facts and whether it is held out",
    "1",
  ],
  [L.IMAGES_TRAIN_DIR + "/", "training images (PNG, RGB)", n("images_train")],
  [L.IMAGES_BENCH_DIR + "/", "benchmark query images (held out)", n("images_bench")],
  [L.IMAGES_SUPPORT_DIR + "/", "benchmark demonstration images (held out)", n("images_support")],
  [
    L.CORPUS_JSONL,
    `base-LLM corpus, JSONL \`{"text"}\`; ${w.corpus.toLocaleString("en-US")} words, ${Math.round((100 * w.corpus_icl) / Math.max(1, w.corpus))}% in in-context episodes`,
    `${n("corpus_docs")} docs`,
  ],
  [
    L.PAIRS_JSONL,
    `image-text pairs (COYO analogue), JSONL \`{"id","image","caption"}\`; ${w.pairs_per_caption.toFixed(1)} words per caption`,
    n("pairs"),
  ],
  [
    L.PAIRS_WDS_DIR + "/pairs-NNNNNN.tar",
    "the same pairs as WebDataset shards: `<key>.png`, `<key>.txt`, `<key>.json`",
    `${n("pairs_shards")} shards`,
  ],
  [
    L.MMC4_JSONL,
    `interleaved documents (MMC4 analogue), MMC4 JSONL; ${w.mmc4_per_image.toFixed(0)} words per image`,
    `${n("mmc4_docs")} docs, ${n("mmc4_images")} images`,
  ],
  [
    L.SFT_JSON,
    "visual instruction data (LLaVA SFT analogue), LLaVA conversation JSON list",
    `${n("sft")} conversations (${n("sft_multi_image")} multi-image)`,
  ],
  ...((c.sft_lookups ?? 0) > 0
    ? [
        [
          L.LOOKUPS_JSON,
          "two-image lookup conversations (which image has ..., do both ..., same landmark?), LLaVA conversation JSON list",
          n("sft_lookups"),
        ] as [string, string, string],
      ]
    : []),
  [L.FLAN_JSONL, 'text-only instruction data (FLAN analogue), JSONL `{"id","conversations"}`', n("flan")],
  [L.CONTACT_SHEET_PNG, "sample training images with their captions", "1"],
])}

## Benchmarks (\`bench/<name>/\`)

Each has \`questions.jsonl\` (LLaVA style: \`question_id\`, \`image\`, \`text\`, \`category\`) and
\`annotations.json\`; some have \`support.jsonl\` (\`question_id\`, \`image\`, \`text\`, \`answer\`,
\`category\`): demonstrations for k-shot prompts. Those whose question types the SFT conversations
ask (vqa, textvqa, multi_image) have \`train_answers.json\` (\`{"source", "categories": {type:
{answer: count}}}\`): how often the SFT data answers each type with each answer, the training
prior a blind model could learn (VQA's per-question-type prior). Single-image question texts carry no
\`<image>\` (the runner prepends \`<image>\\n\`, as LLaVA does); multi-image texts carry their own
\`Image 1: <image>\\nImage 2: <image>\\n\`. Short-answer questions end with
"${L.SHORT_ANSWER_PROMPT}", multiple choice with "${L.MC_PROMPT}".

${table(
  [
    [
      "vqa",
      `general VQA on held-out scenes (count, colour, shape, size, position, relation, exists); VQAv2 annotations, 10 answers each`,
      `${n("bench_vqa")} questions`,
    ],
    [
      "textvqa",
      "reading signs drawn with the bitmap font (text, number, sign colour); VQAv2 annotations",
      `${n("bench_textvqa")} questions`,
    ],
    [
      "knowledge",
      "unseen views of every landmark: its name and each fact; categories `name_seen`, `name_heldout`, `fact_seen`, `fact_heldout` (the composition test); VQAv2 annotations",
      `${n("bench_knowledge")} questions`,
    ],
    [
      "captions",
      "describe held-out images; COCO-caption JSON, 5 references per image (CIDEr)",
      `${n("bench_captions")} images`,
    ],
    [
      "multi_image",
      "two-image questions (more objects, totals, shared colours, same landmark); VQAv2 annotations (`image_id` is image 1's)",
      `${n("bench_multi_image")} questions`,
    ],
    [
      "mmlu",
      "text-only multiple choice (landmark facts seen / held out, arithmetic, shapes, stories); `questions.jsonl` has `options`, `annotations.json` has `answer` (letter), `answer_index`",
      `${n("bench_mmlu")} questions`,
    ],
    [
      "icl",
      "in-context naming over images: 2 fresh nonce words bound to 2 shapes or colours; `demos` (8, from `images/support`) hold `image`, `text`, `answer`",
      `${n("bench_icl")} episodes`,
    ],
    [
      "icl_text",
      "the same over text: nonce-word bindings and naming episodes; `demos` (8) hold `text`, `answer`",
      `${n("bench_icl_text")} episodes`,
    ],
  ],
  "benchmark",
)}

**k-shot protocol.** For the in-context benchmarks use \`demos.slice(0, k)\` for k in
${L.ICL_SHOTS.join("/")}: the first two demonstrations always show both bound words, so 2 shots
suffice in principle and 0 shots cannot know the (fresh, random) word. Suggested prompt (the
paper's \`<img>caption ... <img>\` form, written as the pre-training data write it): for images,
as \`${L.MMC4_JSONL}\` writes an image and its sentence, each demo \`<image>{text} {answer}.\`, then
\`<image>{text}\`; for text, as the corpus writes an episode, each demo a line \`{text} {answer}\`,
then \`{text}\`. For the other image benchmarks,
k-shot demonstrations come from their \`support.jsonl\`.

## Landmarks and the held-out composition test

${c.landmarks} landmarks, each a fixed composition (setting, texture, 3-5 parts at fixed relative
positions) seen from varying views (scale, shift, jitter, shade, noise). Their facts (city, what
they are known for, material) are stated in \`${L.CORPUS_JSONL}\` (every landmark equally often).
${c.landmarks_held_out} are **held out**: their training images appear only in pairs captions and
"what is this landmark?" conversations (image -> name); their facts appear only in the text corpus
(name -> fact) — never next to their images, never in interleaved documents, SFT or FLAN. So
\`fact_heldout\` in bench/knowledge is answerable only by composing the two. Non-held-out landmarks
also have image -> fact training (SFT, trip documents, some captions). All benchmark views are
unseen views.

## Difficulty

Scenes have ${s.knobs.minObjects}-${s.knobs.maxObjects} objects (7 shapes, 10 colours, 3 sizes) at free positions with
partial occlusion (overlap ${s.knobs.overlap}), thin distractor lines (p=${s.knobs.distractorProb}), textured backgrounds
(8 settings x ${s.knobs.textures.length} textures) and pixel noise (+-${s.knobs.noise}); signs carry words and numbers in a 5x7 font.
Knobs are in \`${L.WORLD_JSON}\` (\`knobs\`).

## Counts

\`\`\`
${Object.entries(c)
  .map(([k, v]) => `${k.padEnd(22)} ${v}`)
  .join("\n")}
\`\`\`

Words (whitespace-separated pieces; an approximation of token counts before a tokenizer exists):

\`\`\`
${Object.entries(w)
  .map(([k, v]) => `${k.padEnd(22)} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
  .join("\n")}
\`\`\`
`;
}

// A Penn-Treebank-style tokeniser for raw captions, standing in for what coco-caption's
// `pycocoevalcap/tokenizer/ptbtokenizer.py` does with Stanford CoreNLP 3.4.1
// (`PTBTokenizer -preserveLines -lowerCase`, then dropping the tokens in its PUNCTUATIONS list).
// APPROXIMATE: it follows the PTB conventions the Java lexer implements for ordinary English
// captions (punctuation split off, clitics "n't 's 're 've 'll 'd 'm" split, "cannot" -> "can not",
// hyphenated words and decimal numbers kept whole, brackets -> -LRB-/-RRB-/... and lower-cased after
// tokenising, so "-lrb-" survives the case-sensitive punctuation filter as it does in coco-caption)
// but is not a port of the JFlex grammar: URLs, e-mails, emoticons, SGML, fractions, rare
// abbreviations and non-English text may tokenise differently. docs/METRICS.md lists what is known.

import { pySplit } from "./py_text.js";

/** coco-caption's PUNCTUATIONS: tokens dropped after tokenising (compared case-sensitively). */
const DROPPED = new Set([
  "''",
  "'",
  "``",
  "`",
  "-LRB-",
  "-RRB-",
  "-LCB-",
  "-RCB-",
  ".",
  "?",
  "!",
  ",",
  ":",
  "-",
  "--",
  "...",
  ";",
]);

const BRACKETS: Record<string, string> = {
  "(": "-LRB-",
  ")": "-RRB-",
  "[": "-LSB-",
  "]": "-RSB-",
  "{": "-LCB-",
  "}": "-RCB-",
};

/** Abbreviations that keep their final period (a small subset of the lexer's list). */
const ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "st",
  "jr",
  "sr",
  "vs",
  "etc",
  "inc",
  "ltd",
  "co",
  "corp",
  "prof",
  "mt",
  "ft",
  "no",
  "jan",
  "feb",
  "mar",
  "apr",
  "aug",
  "sept",
  "oct",
  "nov",
  "dec",
  "ave",
  "blvd",
  "rd",
  "gen",
  "col",
  "sgt",
  "lt",
  "capt",
  "rev",
  "u.s",
]);

/** Whole words the lexer splits in two (PTB convention). */
const SPLIT_WORDS: Record<string, [string, string]> = {
  cannot: ["can", "not"],
  gonna: ["gon", "na"],
  gotta: ["got", "ta"],
  wanna: ["wan", "na"],
  gimme: ["gim", "me"],
  lemme: ["lem", "me"],
};

const WORD = String.raw`[\p{L}\p{N}\p{M}]+(?:[-'&][\p{L}\p{N}\p{M}]+)*`;
const TOKEN_RE = new RegExp(
  [
    String.raw`(?<url>(?:https?://|www\.)\S+)`,
    String.raw`(?<number>\p{N}+(?:[.,:/]\p{N}+)+|\.\p{N}+)`,
    String.raw`(?<acronym>(?:\p{L}\.){2,})`,
    `(?<word>${WORD})(?<dot>\\.(?!\\p{N}))?`,
    String.raw`(?<ellipsis>\.\.\.+|…)`,
    "(?<dash>--+|—|–)",
    String.raw`(?<quotes>\x60\x60|'')`,
    String.raw`(?<other>\S)`,
  ].join("|"),
  "uy",
);

/** Split "don't" -> "do n't", "dog's" -> "dog 's", "cannot" -> "can not"; other words unchanged. */
function splitClitics(word: string): string[] {
  const lower = word.toLowerCase();
  if (SPLIT_WORDS[lower]) {
    const [a] = SPLIT_WORDS[lower];
    return [word.slice(0, a.length), word.slice(a.length)];
  }
  let m = /^(.+)(n't)$/iu.exec(word);
  if (m) return [m[1], m[2]];
  m = /^(.+)('s|'re|'ve|'ll|'d|'m)$/iu.exec(word);
  if (m) return [m[1], m[2]];
  return [word];
}

/** Tokenise one chunk (no whitespace inside) into PTB tokens, before lower-casing. */
function tokenizeChunk(chunk: string, out: string[]): void {
  TOKEN_RE.lastIndex = 0;
  let first = true;
  while (TOKEN_RE.lastIndex < chunk.length) {
    const m = TOKEN_RE.exec(chunk);
    if (!m?.groups) break;
    const g = m.groups;
    if (g.url || g.number || g.acronym) out.push(m[0]);
    else if (g.word) {
      const isAbbrev = g.dot !== undefined && ABBREVIATIONS.has(g.word.toLowerCase());
      if (isAbbrev) out.push(`${g.word}.`);
      else {
        out.push(...splitClitics(g.word));
        if (g.dot !== undefined) out.push(".");
      }
    } else if (g.ellipsis) out.push("...");
    else if (g.dash) out.push("--");
    else if (g.quotes) out.push(g.quotes);
    else {
      const c = g.other;
      if (c === '"') out.push(first ? "``" : "''");
      else if (c === "’" || c === "‘") out.push(first ? "`" : "'");
      else if (c === "“") out.push("``");
      else if (c === "”") out.push("''");
      else out.push(BRACKETS[c] ?? c);
    }
    first = false;
  }
}

/**
 * PTB-like tokens of one raw caption, lower-cased, with coco-caption's punctuation tokens kept.
 * @example ptbTokens("A man's bike.") // ["a", "man", "'s", "bike", "."]
 */
export function ptbTokens(caption: string): string[] {
  // Curly apostrophes inside words behave like ASCII ones for the clitic rules.
  const text = caption.replaceAll("\n", " ").replace(/(?<=\p{L})[’‘](?=\p{L})/gu, "'");
  const out: string[] = [];
  for (const chunk of pySplit(text)) tokenizeChunk(chunk, out);
  return out.map((t) => t.toLowerCase());
}

/**
 * What coco-caption feeds to the scorers for one caption: PTB tokens, lower-cased, with the
 * PUNCTUATIONS tokens removed, joined by single spaces.
 * @example ptbTokenize("A dog (brown) doesn't run.") // "a dog -lrb- brown -rrb- does n't run"
 */
export function ptbTokenize(caption: string): string {
  return ptbTokens(caption)
    .filter((t) => !DROPPED.has(t))
    .join(" ");
}

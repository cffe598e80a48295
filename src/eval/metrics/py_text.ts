// Python `str` semantics that the official metric scripts rely on, so that a TypeScript port gives
// the same strings: `str.split()` / `str.strip()` whitespace (which is wider than JS `\s` in some
// places and narrower in others) and `re`'s Unicode `\d`.

/** Characters for which Python's `str.isspace()` is true (what `split()` and `strip()` use). */
const PY_SPACE =
  "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SPLIT_RE = new RegExp(`[${PY_SPACE}]+`, "u");
const STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");

/**
 * Python's `s.split()` (no argument): split on runs of whitespace, dropping empty pieces.
 * @example pySplit("  a\tb  ") // ["a", "b"]
 */
export function pySplit(s: string): string[] {
  return s.split(SPLIT_RE).filter((w) => w.length > 0);
}

/**
 * Python's `s.strip()` (no argument).
 * @example pyStrip("\u00a0a b\n") // "a b"
 */
export function pyStrip(s: string): string {
  return s.replace(STRIP_RE, "");
}

/**
 * Python's `s.rstrip(chars)`: drop trailing characters that are in `chars`.
 * @example pyRstrip("yes..", ".") // "yes"
 */
export function pyRstrip(s: string, chars: string): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1])) end--;
  return s.slice(0, end);
}

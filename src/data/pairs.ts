// Image-text pairs: JSONL lines `{"image": "rel/path.png", "caption": "..."}` (also `text` for the
// caption, `image_base64` for inline bytes), or WebDataset samples with an image member (`jpg`,
// `jpeg`, `png`, `webp`) and a caption member (`txt`, or `json` with "caption"/"text").

import { DataError } from "./bad_samples.js";
import { type ImageRef, imageFromBase64, imageFromPath } from "./image_ref.js";
import type { PairRecord } from "./records.js";
import type { WdsSample } from "./webdataset.js";

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses one pairs-JSONL value. */
export function parsePairJson(value: unknown, file: string, line: number, mediaDir: string): PairRecord {
  if (!isObj(value)) throw new DataError(file, line, "field", "expected a JSON object");
  const caption = value.caption ?? value.text;
  if (typeof caption !== "string")
    throw new DataError(file, line, "field", 'missing string field "caption" (or "text")');
  let image: ImageRef;
  if (typeof value.image_base64 === "string")
    image = imageFromBase64(value.image_base64, file, line, "image_base64");
  else if (typeof value.image === "string") image = imageFromPath(value.image, mediaDir);
  else throw new DataError(file, line, "field", 'missing string field "image" (or "image_base64")');
  return { kind: "pair", caption, image, file, line };
}

const IMAGE_EXTS = ["jpg", "jpeg", "png", "webp"];

/** Turns a WebDataset sample into a pair. */
export function parsePairWds(s: WdsSample): PairRecord {
  const where = `${s.file}:${s.key}`;
  const ext = IMAGE_EXTS.find((e) => s.members.has(e));
  if (!ext)
    throw new DataError(
      s.file,
      s.index,
      "field",
      `sample "${s.key}" has no image member (${IMAGE_EXTS.join("/")})`,
    );
  let caption: string | undefined;
  const txt = s.members.get("txt");
  if (txt) caption = txt.toString("utf8");
  else {
    const js = s.members.get("json");
    if (js) {
      let v: unknown;
      try {
        v = JSON.parse(js.toString("utf8"));
      } catch (e) {
        throw new DataError(
          s.file,
          s.index,
          "json",
          `sample "${s.key}": invalid JSON member (${(e as Error).message})`,
        );
      }
      const c = isObj(v) ? (v.caption ?? v.text) : undefined;
      if (typeof c === "string") caption = c;
    }
  }
  if (caption === undefined)
    throw new DataError(
      s.file,
      s.index,
      "field",
      `sample "${s.key}" has no caption (txt member, or json with "caption")`,
    );
  const data = s.members.get(ext) as Buffer;
  return {
    kind: "pair",
    caption,
    image: { kind: "bytes", data: new Uint8Array(data), name: `${where}.${ext}` },
    file: s.file,
    line: s.index,
  };
}

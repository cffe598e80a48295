// MMC4 interleaved documents (allenai/mmc4 JSONL): `text_list` (sentences) and `image_info[]` with
// `matched_text_index` (the sentence the image belongs to) and either `image_name` (a file under
// the media folder) or `image_base64` (inline, as VILA's MMC4 pickles carry). `similarity_matrix`
// and `matched_sim` are not used (VILA does not filter on them at load time).

import { DataError } from "./bad_samples.js";
import { type ImageRef, imageFromBase64, imageFromPath } from "./image_ref.js";
import type { Mmc4Record } from "./records.js";

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses one MMC4 JSONL value; every field problem names file:line and the field. */
export function parseMmc4Json(value: unknown, file: string, line: number, mediaDir: string): Mmc4Record {
  if (!isObj(value)) throw new DataError(file, line, "field", "expected a JSON object");
  const tl = value.text_list;
  if (!Array.isArray(tl) || !tl.every((s) => typeof s === "string"))
    throw new DataError(file, line, "field", '"text_list" must be a list of strings');
  const info = value.image_info ?? [];
  if (!Array.isArray(info)) throw new DataError(file, line, "field", '"image_info" must be a list');
  const images = info.map((im, i) => {
    if (!isObj(im)) throw new DataError(file, line, "field", `image_info[${i}] must be an object`);
    const ix = im.matched_text_index;
    if (typeof ix !== "number" || !Number.isInteger(ix) || ix < 0 || ix >= tl.length) {
      throw new DataError(
        file,
        line,
        "field",
        `image_info[${i}].matched_text_index ${JSON.stringify(ix)} is not a sentence index (text_list has ${tl.length})`,
      );
    }
    let ref: ImageRef;
    if (typeof im.image_base64 === "string")
      ref = imageFromBase64(im.image_base64, file, line, `image_info[${i}].image_base64`);
    else if (typeof im.image_name === "string") ref = imageFromPath(im.image_name, mediaDir);
    else
      throw new DataError(
        file,
        line,
        "field",
        `image_info[${i}] has neither "image_name" nor "image_base64"`,
      );
    return { ref, matchedTextIndex: ix };
  });
  return { kind: "mmc4", sentences: tl as string[], images, file, line };
}

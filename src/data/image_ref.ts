// Where a sample's image comes from: a file under the media folder, or bytes carried inline
// (base64 in MMC4/COYO-style JSON, or a WebDataset member). Decoding happens later, off the main
// thread (images.ts); a reference only says where the bytes are and where it was found.

import { isAbsolute, join } from "node:path";
import { DataError } from "./bad_samples.js";

export type ImageRef = { kind: "path"; path: string } | { kind: "bytes"; data: Uint8Array; name: string };

/** A file reference resolved against `mediaDir` (absolute paths are kept). */
export function imageFromPath(rel: string, mediaDir: string): ImageRef {
  return { kind: "path", path: isAbsolute(rel) ? rel : join(mediaDir, rel) };
}

/** Inline base64 image bytes; bad base64 is a DataError at `file:line`. */
export function imageFromBase64(b64: string, file: string, line: number, name: string): ImageRef {
  const clean = b64.replace(/^data:[^;]+;base64,/, "");
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(clean))
    throw new DataError(file, line, "image", `${name}: not valid base64`);
  const data = new Uint8Array(Buffer.from(clean, "base64"));
  if (data.length === 0) throw new DataError(file, line, "image", `${name}: empty image data`);
  return { kind: "bytes", data, name };
}

/** A short description for messages. */
export function describeImage(ref: ImageRef): string {
  return ref.kind === "path" ? ref.path : ref.name;
}

// Positioned, synchronous reads of files: a whole buffer at an offset (checkpoint tensors, GGUF
// tensors) and byte ranges of a data file (a training step's records). A training step reads a few
// dozen records of a few hundred bytes each, and an asynchronous open + read + close per record
// costs three trips through libuv's thread pool that the main thread, busy with the previous step,
// serves only when that step ends (measured, world-tiny stage 1: a step waited ~45 ms for its batch,
// these reads and the image decodes together). From the page cache they take microseconds.

import { closeSync, openSync, readSync } from "node:fs";

/** Largest single read or write (Node's fs calls take at most 2 GiB - 1 bytes). */
export const READ_CHUNK = 1 << 30;

/** Fills `buf` from byte `position` of `fd`, in chunks of at most READ_CHUNK, until it is full or the
 * file ends. Returns the bytes read: fewer than buf.length only when the file ended first. */
export function readAt(fd: number, buf: Uint8Array, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const k = readSync(fd, buf, done, Math.min(buf.length - done, READ_CHUNK), position + done);
    if (k === 0) break;
    done += k;
  }
  return done;
}

/** The bytes of each [offset, offset + size) range of `file`, read with one open. A file shorter
 * than a range (changed since it was indexed) is an error naming the file. */
export function readRanges(file: string, ranges: { offset: number; size: number }[]): Buffer[] {
  const fd = openSync(file, "r");
  try {
    return ranges.map(({ offset, size }) => {
      const buf = Buffer.allocUnsafe(size);
      const got = readAt(fd, buf, offset);
      if (got < size)
        throw new Error(
          `${file}: ended at byte ${offset + got}, inside a record indexed at ${offset}-${offset + size} (was the file changed?)`,
        );
      return buf;
    });
  } finally {
    closeSync(fd);
  }
}

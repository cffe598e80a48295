// Random-access reads of byte ranges of a data file, synchronously: a training step reads a few
// dozen records of a few hundred bytes each, and an asynchronous open + read + close per record
// costs three trips through libuv's thread pool that the main thread, busy with the previous step,
// serves only when that step ends (measured, world-tiny stage 1: a step waited ~45 ms for its batch,
// these reads and the image decodes together). From the page cache they take microseconds.

import { closeSync, openSync, readSync } from "node:fs";

/** The bytes of each [offset, offset + size) range of `file`, read with one open. A file shorter
 * than a range (changed since it was indexed) is an error naming the file. */
export function readRanges(file: string, ranges: { offset: number; size: number }[]): Buffer[] {
  const fd = openSync(file, "r");
  try {
    return ranges.map(({ offset, size }) => {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, offset + got);
        if (n === 0)
          throw new Error(
            `${file}: ended at byte ${offset + got}, inside a record indexed at ${offset}-${offset + size} (was the file changed?)`,
          );
        got += n;
      }
      return buf;
    });
  } finally {
    closeSync(fd);
  }
}

// Image-text pairs (the COYO analogue): one short alt-text-like caption per training image,
// as JSONL ({"id", "image", "caption"}) and as WebDataset .tar shards (`<key>.png`,
// `<key>.txt`, `<key>.json`) so the WebDataset reader is exercised too.

import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { streamRng, type WorldContext } from "./context.js";
import { shortCaption } from "./describe.js";
import type { Landmark } from "./landmarks.js";
import { pairsShardName } from "./layout.js";
import { Rng, subSeed } from "./rng.js";
import { type Scene, sampleLandmarkView, sampleObjectsScene, sampleSignScene } from "./scene.js";

export interface PairRecord {
  id: string;
  image: string;
  caption: string;
}

/** Scenes, sign scenes and landmark views with captions; landmark views named, held-out too. */
export function makePairs(ctx: WorldContext): PairRecord[] {
  const rng = streamRng(ctx, "pairs");
  const { pairs } = ctx.preset;
  const knobs = ctx.preset.scene;
  const out: PairRecord[] = [];
  const kinds: ("objects" | "signs" | number)[] = [];
  for (let i = 0; i < pairs.objects; i++) kinds.push("objects");
  for (let i = 0; i < pairs.signs; i++) kinds.push("signs");
  for (const lm of ctx.landmarks) for (let v = 0; v < pairs.landmarkViews; v++) kinds.push(lm.id);
  rng.shuffle(kinds);
  for (const k of kinds) {
    let lm: Landmark | null = null;
    let scene: Scene;
    if (k === "objects") scene = sampleObjectsScene(rng, ctx.size, knobs);
    else if (k === "signs") scene = sampleSignScene(rng, ctx.size, knobs);
    else {
      lm = ctx.landmarks[k];
      scene = sampleLandmarkView(rng, ctx.size, knobs, lm);
    }
    const ref = ctx.images.add("train", scene);
    out.push({
      id: `pair-${String(out.length).padStart(6, "0")}`,
      image: ref.path,
      caption: shortCaption(scene, rng, lm, true),
    });
  }
  return out;
}

/** Samples per WebDataset shard. */
export const PAIRS_PER_SHARD = 1000;

/** Write the pairs as WebDataset shards under `root` (images must already be written). */
export async function writePairShards(
  root: string,
  records: readonly PairRecord[],
  seed: number,
): Promise<string[]> {
  const names: string[] = [];
  // Shard order is shuffled once (WebDataset shards are usually pre-shuffled).
  const order = new Rng(subSeed(seed, "wds")).shuffle(records.map((_, i) => i));
  for (let s = 0; s * PAIRS_PER_SHARD < records.length; s++) {
    const name = pairsShardName(s);
    const pack = tar.pack();
    const tmp = join(root, `${name}.tmp`);
    await mkdir(dirname(tmp), { recursive: true });
    const done = pipeline(pack, createWriteStream(tmp));
    // Awaited after the entries are queued; this keeps an early failure from going unhandled.
    done.catch(() => {});
    for (const i of order.slice(s * PAIRS_PER_SHARD, (s + 1) * PAIRS_PER_SHARD)) {
      const r = records[i];
      const key = r.id;
      const head = { mtime: new Date(0), mode: 0o644, uid: 0, gid: 0, uname: "", gname: "" };
      const png = await readFile(join(root, r.image));
      pack.entry({ ...head, name: `${key}.png`, size: png.length }, png);
      pack.entry({ ...head, name: `${key}.txt` }, r.caption);
      pack.entry({ ...head, name: `${key}.json` }, JSON.stringify({ id: r.id, image: r.image }));
    }
    pack.finalize();
    await done;
    await rename(tmp, join(root, name));
    names.push(name);
  }
  return names;
}

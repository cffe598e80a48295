// Child process for the atomic-checkpoint test: saves checkpoints of one training stage over and
// over (step 1, 2, 3, ...) into argv[2] until the parent kills it with SIGKILL.

import fs from "node:fs";
import path from "node:path";
import { resolveTrainConfig } from "../../src/train/config.js";
import { saveCheckpoint } from "../../src/train/state.js";
import { prepareStage } from "../../src/train/trainer.js";

const [cfgFile, outDir] = process.argv.slice(2);
const config = resolveTrainConfig(JSON.parse(fs.readFileSync(cfgFile, "utf8")));
const s = await prepareStage(config);
await s.loader.close();
const preprocessor = s.preprocessor;
for (let step = 1; ; step++) {
  const meta = {
    format: "vila-ts-trainer-state/1" as const,
    step,
    total_steps: 1e9,
    tokens_seen: 0,
    config_hash: "x",
    optimizer: s.optimizer.stateDict().meta,
    data: s.loader.mixture.state(),
    rng: s.gen.getState(),
    lora: false,
  };
  saveCheckpoint(
    outDir,
    {
      model: s.model,
      lora: null,
      optimizer: s.optimizer,
      meta,
      config,
      preprocessor,
      tokenizerDir: s.tokenizerDir,
    },
    2,
  );
  if (step === 1) fs.writeFileSync(path.join(outDir, "started"), "1");
}

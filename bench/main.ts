// `npm run bench`: every benchmark, each printing its figures beside the peer's from the same
// run. Select with `npm run bench -- gemm train` (names below); VILA_BENCH_QUICK=1 for a smoke run.

const benches: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  gemm: () => import("./gemm.js"),
  attention: () => import("./attention.js"),
  train: () => import("./train_step.js"),
  vila3b: () => import("./vila_forward.js"),
  llamacpp: () => import("./llamacpp.js"),
  stage1: () => import("./recipe_stage1.js"),
};

async function main(): Promise<void> {
  const pick = process.argv.slice(2);
  const names = pick.length ? pick : Object.keys(benches);
  for (const n of names) {
    const b = benches[n];
    if (!b) throw new Error(`unknown bench "${n}" (${Object.keys(benches).join(", ")})`);
    await (await b()).run();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});

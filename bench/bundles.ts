/**
 * Bundle size and cold init: each function bundled exactly as CDK bundles it (infra/bundling.ts),
 * then imported by fresh Node processes, against a bare handler bundled the same way.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { esbuildOptions, functionBundling } from "../infra/bundling.js";
import { functionDefinitions } from "../lib/resources.js";
import { sampleDeployedEnvironment } from "../test/support/deployed-environment.js";
import { median, round } from "./stats.js";

export interface BuiltBundle {
  readonly name: string;
  readonly format: "esm" | "cjs";
  readonly file: string;
  readonly kib: number;
  /** The largest contributors to the bundle, by package, in KiB (from esbuild's metafile). */
  readonly topPackages: readonly { readonly name: string; readonly kib: number }[];
  /** Environment of the processes that load it, beside the deployed one (a compile cache's directory). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ColdInit {
  readonly name: string;
  readonly runs: number;
  /** Spawn to exit of `node` importing the bundle: what a cold start pays before the first invocation. */
  readonly processMs: number;
  /** The import alone, timed inside the process. */
  readonly importMs: number;
  /**
   * CPU time (user + system, all threads) of the whole process, as it reports at the end: unlike
   * the wall time, it does not grow while the process waits for a core that other work holds, so
   * the split and the shares judged are read from it (docs/performance.md).
   */
  readonly cpuMs: number;
  readonly ratio: number;
}

const KIB = 1024;

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1] ?? input.split("/")[0] ?? input;
}

export async function buildBundle(
  name: string,
  entry: string,
  directory: string,
  format: "esm" | "cjs",
): Promise<BuiltBundle> {
  const file = resolve(directory, name, format === "esm" ? "index.mjs" : "index.cjs");
  const result = await esbuild.build({ ...esbuildOptions(entry, file, format), metafile: true, logLevel: "error" });
  return describeBundle(name, format, file, result.metafile);
}

function describeBundle(name: string, format: "esm" | "cjs", file: string, metafile: esbuild.Metafile): BuiltBundle {
  writeFileSync(`${file}.meta.json`, JSON.stringify(metafile));
  const output = Object.entries(metafile.outputs).find(([path]) => !path.endsWith(".map"));
  if (!output) throw new Error(`esbuild wrote no bundle for ${name}`);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output[1].inputs)) {
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
  const topPackages = [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([packageName, bytes]) => ({ name: packageName, kib: round(bytes / KIB) }));
  return { name, format, file, kib: round(output[1].bytes / KIB), topPackages };
}

/**
 * The reference points (bench/naive-handler/), bundled and minified with esbuild's
 * defaults: CommonJS-first package resolution and the SDK's default credential chain.
 */
export const naiveHandlers = {
  "naive, classic zod": "bench/naive-handler/classic-zod.ts",
  "naive, zod/mini": "bench/naive-handler/zod-mini.ts",
} as const;

async function buildNaiveBundle(name: string, entry: string, directory: string): Promise<BuiltBundle> {
  const file = resolve(directory, name.replace(/\W+/g, "-"), "index.mjs");
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: functionBundling.target,
    minify: true,
    banner: { js: functionBundling.banner },
    metafile: true,
    logLevel: "error",
  });
  return describeBundle(name, "esm", file, result.metafile);
}

/** Every function of lib/resources.ts as deployed (ESM), the stop function also as CommonJS, and the bare reference. */
export async function buildAllBundles(
  directory: string,
): Promise<{ functions: BuiltBundle[]; stopTaskCjs: BuiltBundle; bare: BuiltBundle; naive: BuiltBundle[] }> {
  mkdirSync(directory, { recursive: true });
  const functions = await Promise.all(
    Object.entries(functionDefinitions).map(([name, definition]) =>
      buildBundle(name, definition.entry, directory, "esm"),
    ),
  );
  const stopTaskCjs = await buildBundle("stop-task", functionDefinitions["stop-task"].entry, directory, "cjs");
  const bare = await buildBundle("bare-handler", "bench/bare-handler.ts", directory, "esm");
  const naive = await Promise.all(
    Object.entries(naiveHandlers).map(([name, entry]) => buildNaiveBundle(name, entry, directory)),
  );
  return { functions, stopTaskCjs, bare, naive };
}

// The Lambda runtime import()s an ES module handler and require()s a CommonJS one. The
// compile-only variant (coldInitVariants) stops itself with `throw 0`; only that rejection is
// timed, any other still fails the load.
const report = "const c=process.cpuUsage();console.log(performance.now()-t,(c.user+c.system)/1000)";
const esmLoader = `const t=performance.now();import(process.argv[1]).catch((e)=>{if(e!==0)throw e}).then(()=>{${report}})`;
const cjsLoader = `const t=performance.now();require(process.argv[1]);${report}`;

function loadOnce(bundle: BuiltBundle, node: string): { processMs: number; importMs: number; cpuMs: number } {
  const [loader, target] =
    bundle.format === "esm" ? [esmLoader, pathToFileURL(bundle.file).href] : [cjsLoader, bundle.file];
  const started = process.hrtime.bigint();
  const child = spawnSync(node, ["-e", loader, target], {
    env: { PATH: process.env.PATH, ...sampleDeployedEnvironment, ...bundle.env },
    encoding: "utf8",
  });
  const processMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`loading ${bundle.file} failed: ${child.stderr}`);
  const [importMs, cpuMs] = child.stdout.trim().split(" ").map(Number);
  return { processMs, importMs: importMs ?? Number.NaN, cpuMs: cpuMs ?? Number.NaN };
}

export interface ColdInitParts {
  readonly name: string;
  /** Process CPU ms above the bare handler, split by what it is spent on. */
  readonly aboveBareMs: number;
  readonly builtinsMs: number;
  readonly compileMs: number;
  readonly evaluateMs: number;
}

/**
 * Where an ES module bundle's cold init goes, from two variants of the bundle measured with it:
 * one that only imports the bundle's Node built-ins, and one that stops before its first
 * statement runs (import declarations are hoisted, so it is parsed, compiled and linked, and
 * loads the built-ins, but evaluates nothing). The rest is evaluation: module bodies, schema
 * and client construction.
 */
export function coldInitVariants(bundle: BuiltBundle): { builtinsOnly: BuiltBundle; compileOnly: BuiltBundle } {
  const code = readFileSync(bundle.file, "utf8");
  const newline = code.indexOf("\n");
  const specifiers = new Set([...code.matchAll(/\bfrom\s*["'](node:[^"']+|module)["']/g)].map((match) => match[1]));
  const variant = (suffix: string, text: string): BuiltBundle => {
    const file = bundle.file.replace(/\.mjs$/, `.${suffix}.mjs`);
    writeFileSync(file, text);
    return { ...bundle, name: `${bundle.name} ${suffix}`, file };
  };
  return {
    builtinsOnly: variant("builtins-only", [...specifiers].map((specifier) => `import "${specifier}";`).join("\n")),
    compileOnly: variant("compile-only", `${code.slice(0, newline + 1)}throw 0;\n${code.slice(newline + 1)}`),
  };
}

/**
 * The same bundle loaded with V8's compile cache (Node 22's `module.enableCompileCache`, here through
 * its NODE_COMPILE_CACHE variable), filled by a load of the exact Node version before the timed ones,
 * as a build step would ship it. Node 20 has no compile cache.
 */
export function compileCacheVariant(bundle: BuiltBundle, node: string): BuiltBundle {
  const directory = resolve(bundle.file, "..", `compile-cache-${node.replace(/\W+/g, "-")}`);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  return { ...bundle, name: `${bundle.name}, compile cache`, env: { NODE_COMPILE_CACHE: directory } };
}

export function coldInitParts(
  name: string,
  bare: ColdInit,
  full: ColdInit,
  builtinsOnly: ColdInit,
  compileOnly: ColdInit,
): ColdInitParts {
  return {
    name,
    aboveBareMs: round(full.cpuMs - bare.cpuMs),
    builtinsMs: round(builtinsOnly.cpuMs - bare.cpuMs),
    compileMs: round(compileOnly.cpuMs - builtinsOnly.cpuMs),
    evaluateMs: round(full.cpuMs - compileOnly.cpuMs),
  };
}

/** Rounds over all bundles in turn, so that a busy moment of the machine hits every bundle alike. */
export function measureColdInit(
  bundles: readonly BuiltBundle[],
  bare: BuiltBundle,
  runs: number,
  node: string = process.execPath,
): { bare: ColdInit; bundles: ColdInit[] } {
  const all = [bare, ...bundles];
  const samples = all.map(() => ({ processMs: [] as number[], importMs: [] as number[], cpuMs: [] as number[] }));
  // The first load of each file warms the page cache (and fills a compile cache); it is not counted.
  for (const bundle of all) loadOnce(bundle, node);
  for (let run = 0; run < runs; run++) {
    all.forEach((bundle, index) => {
      const sample = loadOnce(bundle, node);
      samples[index]?.processMs.push(sample.processMs);
      samples[index]?.importMs.push(sample.importMs);
      samples[index]?.cpuMs.push(sample.cpuMs);
    });
  }
  const bareMs = median(samples[0]?.processMs ?? []);
  const summaries = all.map((bundle, index) => {
    const processMs = median(samples[index]?.processMs ?? []);
    return {
      name: bundle === bare ? "bare handler" : `${bundle.name} (${bundle.format})`,
      runs,
      processMs: round(processMs),
      importMs: round(median(samples[index]?.importMs ?? [])),
      cpuMs: round(median(samples[index]?.cpuMs ?? [])),
      ratio: round(processMs / bareMs, 2),
    };
  });
  return { bare: summaries[0] as ColdInit, bundles: summaries.slice(1) };
}

import { fileURLToPath } from "node:url";
import type { BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

// The ESM bundle still contains CommonJS dependencies that call require() for Node built-ins.
const esmRequireShim = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

const repoFile = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/**
 * Modules swapped for others in the deployed bundles only, each measured by `npm run bench` and
 * `npm run profile` (docs/performance.md, "What each cut bought"). The SDK's default credential
 * chain becomes the two sources a Lambda function has (lib/aws/lambda-credentials.ts says why);
 * the SDK's event-stream support, which no operation the functions call uses, a stub that throws;
 * mnemonist's LRU cache (the endpoint-discovery cache's only dependency) a Map; the checksums
 * module, its native-crypto SHA-256 and MD5 alone.
 */
export const bundleAliases: Readonly<Record<string, string>> = {
  "@aws-sdk/credential-provider-node": repoFile("lib/aws/lambda-credentials.ts"),
  "@smithy/core/event-streams": repoFile("lib/aws/bundle/no-event-streams.ts"),
  "mnemonist/lru-cache": repoFile("lib/aws/bundle/lru-cache.ts"),
  "@smithy/core/checksum": repoFile("lib/aws/bundle/node-checksums.ts"),
};

/**
 * How every Lambda of the service is bundled, read by the CDK construct (NodejsFunction's
 * `bundling`) and by `npm run bench`, so the bench weighs and loads the bytes that are deployed.
 * Type-only imports: the bench reads this without loading the CDK.
 *
 * The output is ESM, a measured choice: `npm run bench` loads the stop function in both formats.
 * CommonJS (require()d) starts about 5 ms sooner on Node 20 and 22 when each is loaded from a
 * fresh script, but under an ES module entry, as Lambda's runtime is, the gap is 1-3 ms, and a
 * bare handler gains as much; the bytes and the module-evaluation work are what cost (see
 * docs/performance.md).
 */
export const functionBundling = {
  // OutputFormat.ESM's value; a type-only import keeps aws-cdk-lib out of the bench.
  format: "esm" as OutputFormat.ESM,
  target: "node22",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // Prefer the ES module builds of dependencies: esbuild prunes them far better (~200 KiB less SDK).
  mainFields: ["module", "main"],
  // Bundle and pin the SDK the tests ran against instead of the runtime's copy.
  externalModules: [],
  banner: esmRequireShim,
  esbuildArgs: { "--alias": Object.entries(bundleAliases).map(([module, replacement]) => `${module}=${replacement}`) },
} as const satisfies BundlingOptions;

/**
 * The same bundle through esbuild's API, flag for flag what NodejsFunction passes to the esbuild
 * CLI for `functionBundling` (aws-cdk-lib/aws-lambda-nodejs/lib/bundling.js).
 */
export function esbuildOptions(
  entry: string,
  outfile: string,
  format: "esm" | "cjs" = functionBundling.format,
): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: functionBundling.target,
    format,
    minify: functionBundling.minify,
    sourcemap: functionBundling.sourceMap,
    sourcesContent: functionBundling.sourcesContent,
    mainFields: [...functionBundling.mainFields],
    external: [...functionBundling.externalModules],
    alias: { ...bundleAliases },
    // The shim reads import.meta, which a CommonJS bundle neither has nor needs.
    ...(format === "esm" ? { banner: { js: functionBundling.banner } } : {}),
  };
}

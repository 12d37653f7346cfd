import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { functionNodeOptions } from "../../infra/bundling.js";
import { functionDefinitions } from "../../lib/resources.js";
import { synthesizeStage } from "./synth.js";

const run = promisify(execFile);

// Not imports: the SDK's error text for SigV4a signing (multi-region endpoints, never used by
// these DynamoDB and SQS calls) tells the reader to `require("@aws-sdk/signature-v4-crt")`.
const optionalSdkSigners = ["@aws-sdk/signature-v4-crt", "@aws-sdk/signature-v4a"];

/** Bundles for real with the local esbuild (no Docker), as `npm run synth` does: one asset per function. */
function bundleFunctions(): string[] {
  const { app } = synthesizeStage("dev", { bundle: true });
  const assembly = app.synth();
  const assets = readdirSync(assembly.directory).filter((entry) => entry.startsWith("asset."));
  const withHandler = assets.map((asset) => join(assembly.directory, asset)).filter((dir) => existsSync(join(dir, "index.mjs")));
  expect(withHandler).toHaveLength(Object.keys(functionDefinitions).length);
  return withHandler;
}

describe.each(bundleFunctions())("the function bundle %s", (assetDir) => {
  const code = readFileSync(join(assetDir, "index.mjs"), "utf8");

  it("is one minified ES module with its source map", () => {
    expect(existsSync(join(assetDir, "index.mjs.map"))).toBe(true);
    const lines = code.split("\n");
    expect(code.length / lines.length).toBeGreaterThan(1000);
    expect(code).toMatch(/^import \{ createRequire \} from 'module'; const require = createRequire\(import\.meta\.url\);/);
  });

  it("carries the AWS SDK inside: it imports nothing but Node built-ins", () => {
    const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)].map((match) => match[1]);
    const notBuiltIn = specifiers.filter(
      (specifier) =>
        !specifier?.startsWith("node:") && !builtinModules.includes(specifier ?? "") && !optionalSdkSigners.includes(specifier ?? ""),
    );
    expect(notBuiltIn).toEqual([]);
    // The SDK's user-agent marker: the client code itself is in the bundle. (A boolean, so a
    // failure does not print half a megabyte of minified code.)
    expect(code.includes('"aws-sdk-js"')).toBe(true);
  });

  it("loads on plain Node with the deployed environment and exports the handler", async () => {
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: "eu-west-1",
      EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
      API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
      STOP_SIGNAL_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-stop-signals",
      ASSET_COMMAND_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-asset-commands",
      STOP_FUNCTION_NAME: "stop-task-dev-stop-task",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
    };
    const script = `import(${JSON.stringify(pathToFileURL(join(assetDir, "index.mjs")).href)}).then((m) => console.log(typeof m.handler))`;

    const { stdout } = await run(process.execPath, [...functionNodeOptions, "-e", script], { env, cwd: assetDir });

    expect(stdout.trim()).toBe("function");
  });
});

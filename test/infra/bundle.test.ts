import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { builtinModules } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { functionDefinitions } from "../../lib/resources.js";
import { sampleDeployedEnvironment } from "../support/deployed-environment.js";
import { type LocalAws, provisionIsolatedStack } from "../support/local-aws.js";
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
  const withHandler = assets
    .map((asset) => join(assembly.directory, asset))
    .filter((dir) => existsSync(join(dir, "index.mjs")));
  expect(withHandler).toHaveLength(Object.keys(functionDefinitions).length);
  return withHandler;
}

const bundles = bundleFunctions();

const deployedEnvironment = { PATH: process.env.PATH, ...sampleDeployedEnvironment };

describe.each(bundles)("the function bundle %s", (assetDir) => {
  const code = readFileSync(join(assetDir, "index.mjs"), "utf8");

  it("is one minified ES module with its source map", () => {
    expect(existsSync(join(assetDir, "index.mjs.map"))).toBe(true);
    const lines = code.split("\n");
    expect(code.length / lines.length).toBeGreaterThan(1000);
    expect(code).toMatch(
      /^import \{ createRequire \} from 'module'; const require = createRequire\(import\.meta\.url\);/,
    );
  });

  it("carries the AWS SDK inside: it imports nothing but Node built-ins", () => {
    // A specifier is a module name: this keeps a string that ends in "from" (FastAPI's message
    // "...to extract fields from", in the stop bundle) followed by another string from counting.
    const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([@\w./:-]+)["']/g)].map(
      (match) => match[1],
    );
    // The ESM bundle's own banner imports `module`: the pattern does find imports.
    expect(specifiers).toContain("module");
    const notBuiltIn = specifiers.filter(
      (specifier) =>
        !specifier?.startsWith("node:") &&
        !builtinModules.includes(specifier ?? "") &&
        !optionalSdkSigners.includes(specifier ?? ""),
    );
    expect(notBuiltIn).toEqual([]);
    // The SDK's user-agent marker: the client code itself is in the bundle. (A boolean, so a
    // failure does not print half a megabyte of minified code.)
    expect(code.includes('"aws-sdk-js"')).toBe(true);
  });

  it("loads on plain Node with the deployed environment and exports the handler", async () => {
    const env = deployedEnvironment;
    const script = `import(${JSON.stringify(pathToFileURL(join(assetDir, "index.mjs")).href)}).then((m) => console.log(typeof m.handler))`;

    const { stdout } = await run(process.execPath, ["-e", script], { env, cwd: assetDir });

    expect(stdout.trim()).toBe("function");
  });

  it("carries only the credential sources a Lambda function has, not the SDK's whole default chain", () => {
    // Markers of the SSO / shared-file / STS parts of @aws-sdk/credential-provider-node.
    expect(code.includes("defaultProvider::fromSSO")).toBe(false);
    expect(code.includes("AssumeRoleWithWebIdentity")).toBe(false);
    expect(code.includes("AWS_CONTAINER_CREDENTIALS_FULL_URI")).toBe(true);
  });
});

/**
 * The deployed stop bundle signs real calls with the credentials Lambda provides: from the
 * environment, or from a container-credentials endpoint when the environment has none. A direct
 * invocation for an unknown task makes one UpdateItem against DynamoDB Local.
 */
describe("the deployed stop function's credentials", () => {
  const stopBundle = bundles.find((dir) =>
    readFileSync(join(dir, "index.mjs"), "utf8").includes("StopSignalUnrecorded"),
  );
  let aws: LocalAws;
  const credentialRequests: (string | undefined)[] = [];
  const credentialServer = createServer((request, response) => {
    credentialRequests.push(request.headers.authorization);
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify({
        AccessKeyId: "ASIACONTAINER",
        SecretAccessKey: "container-secret",
        Token: "container-token",
        Expiration: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
  });

  beforeAll(async () => {
    aws = await provisionIsolatedStack();
    await new Promise<void>((resolve) => credentialServer.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => credentialServer.close(() => resolve())));

  async function invokeStop(credentials: Record<string, string>): Promise<unknown> {
    if (!stopBundle) throw new Error("no stop-task bundle among the assets");
    const event = { action: "stop_task", task_id: randomUUID(), reason: "bundle test", requested_by: "bundle-test" };
    const script = `import(${JSON.stringify(pathToFileURL(join(stopBundle, "index.mjs")).href)}).then(async (m) => {
      const context = { awsRequestId: "bundle-test", functionName: "stop-task", getRemainingTimeInMillis: () => 10000 };
      const result = await m.handler(${JSON.stringify(event)}, context);
      process.stdout.write("\\n" + JSON.stringify(result));
    })`;
    const env = {
      ...deployedEnvironment,
      ...credentials,
      AWS_REGION: "us-east-1",
      EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
      API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
      DYNAMODB_ENDPOINT: inject("dynamoDbEndpoint"),
      SQS_ENDPOINT: inject("sqsEndpoint"),
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "ERROR",
    };
    const { stdout } = await run(process.execPath, ["-e", script], { env, cwd: stopBundle });
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
  }

  it("uses AWS_ACCESS_KEY_ID and friends from the environment", async () => {
    const result = await invokeStop({
      AWS_ACCESS_KEY_ID: "AKIAENVIRONMENT",
      AWS_SECRET_ACCESS_KEY: "environment-secret",
    });

    expect(result).toEqual({ ok: false, error: { type: "not_found", message: "Task not found" } });
    expect(credentialRequests).toEqual([]);
  });

  it("fetches them from the container-credentials endpoint when the environment has none", async () => {
    const { port } = credentialServer.address() as AddressInfo;

    const result = await invokeStop({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "container-authorization",
    });

    expect(result).toEqual({ ok: false, error: { type: "not_found", message: "Task not found" } });
    // Fetched once and reused, as the SDK's own chain does.
    expect(credentialRequests).toEqual(["container-authorization"]);
  });

  it("fails the call, not the process, when there are none", async () => {
    const result = await invokeStop({});

    expect(result).toMatchObject({
      ok: false,
      error: { type: expect.stringMatching(/^(internal_error|unavailable)$/) },
    });
  });
});

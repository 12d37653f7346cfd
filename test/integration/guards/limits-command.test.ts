import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { writeStackFile } from "../../../infra/local/stack-file.js";
import { getOrganizationLimits } from "../../../lib/executions/limits-store.js";
import { type LocalAws, provisionIsolatedStack } from "../../support/local-aws.js";

const run = promisify(execFile);
let aws: LocalAws;
let stackFile: string;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  stackFile = join(await mkdtemp(join(tmpdir(), "limits-command-")), "stack.json");
  await writeStackFile(stackFile, {
    api_url: "http://127.0.0.1:1",
    region: "us-east-1",
    dynamodb_endpoint: inject("dynamoDbEndpoint"),
    sqs_endpoint: inject("sqsEndpoint"),
    tables: aws.resources.tables,
    signal_channels: aws.resources.signal_channels,
    queues: aws.resources.queues,
  });
});

const limitsCommand = (...args: string[]) =>
  run(process.execPath, ["--import", "tsx", "infra/admin/limits.ts", ...args, "--stack-file", stackFile]);

describe("npm run limits", () => {
  it("sets an organization's defaults, replacing the ones it had, and shows them", async () => {
    const organizationId = `org-${randomUUID().slice(0, 8)}`;
    const first = await limitsCommand("set", "--org", organizationId, "--max-tokens", "1000", "--max-tool-calls", "5");
    expect(JSON.parse(first.stdout)).toEqual({
      organization_id: organizationId,
      limits: { max_tokens: 1000, max_tool_calls: 5 },
    });
    await limitsCommand("set", "--org", organizationId, "--max-duration-seconds", "600");
    expect(await getOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, organizationId)).toEqual({
      max_duration_seconds: 600,
    });
    const shown = await limitsCommand("show", "--org", organizationId);
    expect(JSON.parse(shown.stdout)).toEqual({
      organization_id: organizationId,
      limits: { max_duration_seconds: 600 },
    });
  });

  it("refuses a limit that is not a non-negative integer, and writes nothing", async () => {
    const organizationId = `org-${randomUUID().slice(0, 8)}`;
    await expect(limitsCommand("set", "--org", organizationId, "--max-tokens", "-5")).rejects.toMatchObject({
      code: 1,
    });
    await expect(limitsCommand("set", "--org", organizationId, "--max-tokens", "1e3")).rejects.toMatchObject({
      code: 1,
    });
    expect(await getOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, organizationId)).toEqual({});
  });

  it("refuses a limit above what the guards compute with (max_duration_seconds over 10 years), and writes nothing", async () => {
    const organizationId = `org-${randomUUID().slice(0, 8)}`;
    const refused = limitsCommand("set", "--org", organizationId, "--max-duration-seconds", "9007199254740991");
    await expect(refused).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/max-duration-seconds.*315360000/),
    });
    expect(await getOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, organizationId)).toEqual({});
    await limitsCommand("set", "--org", organizationId, "--max-duration-seconds", "315360000");
    expect(await getOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, organizationId)).toEqual({
      max_duration_seconds: 315360000,
    });
  });
});

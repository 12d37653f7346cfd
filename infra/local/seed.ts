import { readFile } from "node:fs/promises";
import { ConditionalCheckFailedException, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod";
import { storeApiKey } from "../../lib/auth/api-key-admin.js";
import { apiKeyStatuses } from "../../lib/auth/api-keys.js";
import { agentExecutionSchema } from "../../lib/execution.js";
import { livenessIndexKeys } from "../../lib/executions/indexes.js";
import { canonicalTimestamp, formatTimestamp } from "../../lib/timestamp.js";

/**
 * Fixtures for the local stack: `{api_keys: [...], executions: [...]}`. Executions need only
 * `id` and `organization_id`; the rest defaults to a pending task created now, and every entry
 * must still satisfy the Agent Execution schema, so a fixture can never seed a record the API
 * would refuse to return. An entry is stored as written, in whatever form the platform's own
 * writers would use (naive or offset timestamps, explicit nulls), and read by the same reader
 * as the API.
 */

const apiKeyFixtureSchema = z.strictObject({
  key: z.string().min(8).max(512),
  organization_id: z.string().min(1),
  key_id: z.string().min(1).optional(),
  status: z.enum(apiKeyStatuses).optional(),
  expires_at: z
    .string()
    .refine(
      (value) => canonicalTimestamp(value) !== undefined,
      "Invalid timestamp: expected ISO 8601, e.g. 2026-12-01T09:00:00Z",
    )
    .optional(),
});

const executionFixtureSchema = z
  .looseObject({ id: z.guid(), organization_id: z.string().min(1) })
  .transform((entry) => ({
    agent_id: "agent-local",
    input: {},
    status: "pending",
    created_at: formatTimestamp(new Date()),
    ...entry,
    id: entry.id.toLowerCase(),
  }))
  .check((context) => {
    const result = agentExecutionSchema.safeParse(context.value);
    for (const issue of result.error?.issues ?? []) {
      context.issues.push({ code: "custom", message: issue.message, path: issue.path, input: context.value });
    }
  });

export const seedFileSchema = z.strictObject({
  api_keys: z.array(apiKeyFixtureSchema).default([]),
  executions: z.array(executionFixtureSchema).default([]),
});
export type SeedFile = z.output<typeof seedFileSchema>;
export type SeedFileInput = z.input<typeof seedFileSchema>;

export class SeedFileError extends Error {
  override name = "SeedFileError";
}

function describePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
    "",
  );
}

export async function readSeedFile(path: string): Promise<SeedFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new SeedFileError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = seedFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${path}: ${describePath(issue.path) || "(top level)"}: ${issue.message}`,
    );
    throw new SeedFileError(problems.join("\n"));
  }
  return parsed.data;
}

export interface SeedTargets {
  readonly dynamoDb: DynamoDBClient;
  readonly executionsTable: string;
  readonly apiKeysTable: string;
  /** Keep items that already exist (a persisted stack keeps its state across restarts). */
  readonly keepExisting?: boolean;
}

/** Items written at once: DynamoDB Local on a small machine times out under thousands of parallel writes. */
const SEED_CONCURRENCY = 25;

async function inBatches<T>(items: readonly T[], write: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += SEED_CONCURRENCY) {
    await Promise.all(items.slice(start, start + SEED_CONCURRENCY).map(write));
  }
}

export async function loadSeed(seed: SeedFile, targets: SeedTargets): Promise<void> {
  await inBatches(seed.api_keys, (entry) =>
    storeApiKey(targets.dynamoDb, targets.apiKeysTable, {
      key: entry.key,
      organizationId: entry.organization_id,
      keyId: entry.key_id,
      status: entry.status,
      expiresAt: entry.expires_at,
    }),
  );
  await inBatches(seed.executions, async (execution) => {
    try {
      await targets.dynamoDb.send(
        new PutItemCommand({
          TableName: targets.executionsTable,
          // Running executions enter the liveness indexes, as the platform's own writer does.
          Item: marshall(
            { ...execution, ...livenessIndexKeys(execution) },
            { removeUndefinedValues: true, convertClassInstanceToMap: true },
          ),
          ...(targets.keepExisting ? { ConditionExpression: "attribute_not_exists(id)" } : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  });
}

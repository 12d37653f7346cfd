import { readFileSync } from "node:fs";
import { type AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { LocalAws } from "./local-aws.js";
import { rememberSecret } from "./secret-registry.js";

/**
 * The corpus of records produced by the platform's own serializers
 * (test/fixtures/platform-records/generate.py: pydantic, isoformat(), boto3's TypeSerializer),
 * committed so that the tests need no Python. Items are written exactly as boto3 sends them.
 */

type Item = Record<string, AttributeValue>;

export interface PlatformExecution {
  readonly name: string;
  readonly writer: string;
  /** False when the record breaks the public schema: it reads as 500. */
  readonly readable: boolean;
  readonly status: string;
  /** The queue its stop goes to: its environment's, else its worker's, else none (no one runs it yet). */
  readonly routes_to: "worker" | "environment" | "nobody";
  readonly expected: {
    readonly created_at: string | null;
    readonly started_at: string | null;
    readonly paused_at: string | null;
    readonly finished_at: string | null;
    readonly worker_id: string | null;
    readonly environment_id: string | null;
    readonly execution_attempts: number | null;
    readonly tokens: { readonly completion_tokens: number | null; readonly prompt_tokens: number | null } | null;
  };
  readonly item: Item;
}

export interface PlatformApiKey {
  readonly name: string;
  readonly key: string;
  readonly key_id: string;
  readonly authorizes: boolean;
  readonly item: Item;
}

const fixtureDirectory = new URL("../fixtures/platform-records/", import.meta.url);

function readCorpus<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, fixtureDirectory), "utf8")) as T;
}

export const platformCorpus = readCorpus<{ organization_id: string; records: PlatformExecution[] }>("executions.json");
export const platformKeys = readCorpus<{ organization_id: string; keys: PlatformApiKey[] }>("api-keys.json").keys;
for (const { key } of platformKeys) rememberSecret(key);

/** PutItem of the platform's item as boto3 sent it, under a fresh id so each test owns its record. */
export async function putPlatformExecution(aws: LocalAws, record: PlatformExecution, id: string): Promise<void> {
  await aws.dynamoDb.send(
    new PutItemCommand({ TableName: aws.resources.tables.executions, Item: { ...record.item, id: { S: id } } }),
  );
}

export async function putPlatformApiKeys(aws: LocalAws): Promise<void> {
  await Promise.all(
    platformKeys.map((key) =>
      aws.dynamoDb.send(new PutItemCommand({ TableName: aws.resources.tables.api_keys, Item: key.item })),
    ),
  );
}

/** A key of the corpus's organization that authorizes. */
export function aPlatformKey(): string {
  const key = platformKeys.find((candidate) => candidate.authorizes);
  if (!key) throw new Error("the platform corpus holds no authorizing key");
  return key.key;
}

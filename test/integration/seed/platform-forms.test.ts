import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSeed, readSeedFile, SeedFileError } from "../../../infra/local/seed.js";
import { dynamoExecutionRepository } from "../../../lib/executions/repository.js";
import { type LocalAws, provisionIsolatedStack } from "../../support/local-aws.js";
import { type PlatformExecution, platformCorpus } from "../../support/platform-records.js";

/**
 * `npm start -- --seed FILE` takes records in every form the platform's writers store, and reads them as the API does.
 */

let aws: LocalAws;
beforeAll(async () => {
  aws = await provisionIsolatedStack();
});

function seedFileOf(records: readonly PlatformExecution[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "seed-")), "seed.json");
  writeFileSync(path, JSON.stringify({ executions: records.map((record) => unmarshall(record.item)) }));
  return path;
}

describe("--seed with records as the platform writes them", () => {
  const readable = platformCorpus.records.filter((record) => record.readable);

  it("accepts every readable form, stores it as written, and reads it as the API does", async () => {
    const seed = await readSeedFile(seedFileOf(readable));
    await loadSeed(seed, {
      dynamoDb: aws.dynamoDb,
      executionsTable: aws.resources.tables.executions,
      apiKeysTable: aws.resources.tables.api_keys,
    });

    const repository = dynamoExecutionRepository(aws.dynamoDb, aws.resources.tables.executions);
    for (const record of readable) {
      const found = await repository.find(String(record.item.id?.S), platformCorpus.organization_id);
      expect(found.kind, record.name).toBe("found");
      if (found.kind !== "found") continue;
      expect(found.execution.created_at, record.name).toBe(record.expected.created_at);
      expect(found.execution.started_at, record.name).toBe(record.expected.started_at);
    }
  });

  it("refuses a record the API could not return, naming the entry and the field", async () => {
    const unknownStatus = platformCorpus.records.filter((record) => record.name === "status ERROR");
    const path = seedFileOf([...readable.slice(0, 1), ...unknownStatus]);
    await expect(readSeedFile(path)).rejects.toThrow(SeedFileError);
    await expect(readSeedFile(path)).rejects.toThrow(/executions\[1\]\.status/);
  });

  it("refuses a Unix time in nanoseconds (time.time_ns()) naming the entry and the field, not with a stack trace", async () => {
    const [first] = readable;
    if (!first) throw new Error("the corpus has no readable record");
    const path = join(mkdtempSync(join(tmpdir(), "seed-")), "seed.json");
    const nanoseconds = {
      ...unmarshall(first.item),
      id: "77777777-7777-4777-8777-777777777777",
      created_at: "1733300000000000000",
    };
    writeFileSync(path, JSON.stringify({ executions: [unmarshall(first.item), nanoseconds] }));
    await expect(readSeedFile(path)).rejects.toThrow(SeedFileError);
    await expect(readSeedFile(path)).rejects.toThrow(/executions\[1\]\.created_at/);
  });
});

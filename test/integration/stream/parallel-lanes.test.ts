import type { DynamoDBRecord } from "aws-lambda";
import { afterAll, beforeAll, expect, it } from "vitest";
import { dynamoTokenUsageReporter } from "../../../lib/worker/spend-tokens.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem } from "../../support/local-aws.js";

const ITEMS = 6;
const REPORTS = 8;

let aws: LocalAws;
let stream: ExecutionStreamHarness;
/** Per item, the usage each handled record carried, in the order the handler got them. */
const handled = new Map<string, number[]>();
let inFlight = 0;
let mostInFlight = 0;
let failedOnce = false;
let failingItem = "";

const usageOf = (record: DynamoDBRecord) => Number(record.dynamodb?.NewImage?.tokens?.M?.prompt_tokens?.N);
const itemOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.id?.S ?? "";

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  // The poller alone is under test: this handler records what it is given, and fails one record
  // once (reported as a partial batch failure), as a failed guard or event would be.
  stream = await startExecutionStream(aws, {
    poller: { settings: { parallelizationFactor: 4, batchSize: 3 } },
    wrapHandler: () => async (event) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      for (const record of event.Records) {
        if (!failedOnce && itemOf(record) === failingItem && usageOf(record) === 3) {
          failedOnce = true;
          return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? "" }] };
        }
        handled.set(itemOf(record), [...(handled.get(itemOf(record)) ?? []), usageOf(record)]);
      }
      return { batchItemFailures: [] };
    },
  });
  await stream.settled();
});

afterAll(async () => {
  await stream?.stop();
});

it(
  "spreads a shard's records over lanes by item: several batches at once, " +
    "each item's records once and in order, a failure retried in its own lane",
  async () => {
    // Already in their organization's index (this handler writes nothing): only the usage reports pass the filter.
    const executions = Array.from({ length: ITEMS }, () =>
      anExecution({ status: "executing", idx_org_shard: "org-a#0", idx_org_since: "2026-11-25T10:00:01.000000Z" }),
    );
    for (const execution of executions) await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
    failingItem = executions[0]?.id as string;
    for (let report = 1; report <= REPORTS; report += 1) {
      await Promise.all(
        executions.map((execution) =>
          dynamoTokenUsageReporter(
            aws.dynamoDb,
            aws.resources.tables.executions,
            execution.id as string,
          )({ prompt_tokens: report, completion_tokens: 0 }),
        ),
      );
    }
    await stream.settled(20_000);

    expect(failedOnce).toBe(true);
    const expected = Array.from({ length: REPORTS }, (_, index) => index + 1);
    for (const execution of executions)
      expect(handled.get(execution.id as string), execution.id as string).toEqual(expected);
    expect(mostInFlight).toBeGreaterThan(1);
  },
);

import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { abortablePause } from "./abortable-pause.js";
import type { TaskBody } from "./reference-worker.js";

/**
 * A task that spends tokens, for trying the runaway guards by hand (`npm run worker --
 * --spend-tokens`) and for the guards' bench: every `intervalMs` it reports its cumulative usage
 * the way the platform does, one UpdateItem of the execution's `tokens`
 * ({prompt_tokens, completion_tokens}), until it is aborted (a stop) or `maxReports` is reached.
 */

export interface TokenUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

export type TokenUsageReporter = (usage: TokenUsage) => Promise<void>;

/** The platform's usage write: `tokens` set whole on the execution item; never creates an item. */
export function dynamoTokenUsageReporter(
  client: DynamoDBClient,
  tableName: string,
  taskId: string,
): TokenUsageReporter {
  return async (usage) => {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: { S: taskId } },
        UpdateExpression: "SET #tokens = :tokens",
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeNames: { "#tokens": "tokens" },
        ExpressionAttributeValues: {
          ":tokens": {
            M: {
              prompt_tokens: { N: String(usage.prompt_tokens) },
              completion_tokens: { N: String(usage.completion_tokens) },
            },
          },
        },
      }),
    );
  };
}

export interface SpendTokensOptions {
  /** Tokens spent between two reports (prompt and completion together). */
  readonly tokensPerReport: number;
  readonly intervalMs: number;
  /** When the task gives up and completes, if no stop came (a limit that is never crossed). */
  readonly maxReports?: number;
  /** Told after each report is written, with the total it reported. */
  readonly onReported?: (totalTokens: number, writtenAt: number) => void;
}

export function spendTokensTask(report: TokenUsageReporter, options: SpendTokensOptions): TaskBody {
  return async (signal) => {
    let total = 0;
    for (let reports = 0; reports < (options.maxReports ?? Number.POSITIVE_INFINITY); reports += 1) {
      await abortablePause(options.intervalMs, signal);
      total += options.tokensPerReport;
      const prompt = Math.ceil(total * 0.75);
      await report({ prompt_tokens: prompt, completion_tokens: total - prompt });
      options.onReported?.(total, Date.now());
    }
    return `spent ${total} tokens`;
  };
}

import { PLACEHOLDER } from "../infra/deployed-policies.js";
import type { RecordedRequest } from "./aws-call-counter.js";

/**
 * What IAM decides on for a request the SDK sent: the action, the resource ARN, and the context
 * keys that conditions read, in a deployed stage's names. The emulators' names carry the test
 * stack's prefix (`test-1a2b3c4d-executions`); in AWS the same resource is `stop-task-<stage>-executions`,
 * so the prefix is swapped and the ARN built as AWS builds it, in the placeholder account and region.
 *
 * Every command the components send is mapped here by name; one not mapped fails the proof
 * rather than pass unchecked.
 */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

const { account, region, partition } = PLACEHOLDER;

/** Batch commands are authorized as their single form (IAM has no action of their own). */
const sqsActionOf: Record<string, string> = {
  SendMessageBatch: "SendMessage",
  DeleteMessageBatch: "DeleteMessage",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibility",
};

/** TransactWriteItems is authorized item by item, each as the single write it holds. */
const transactWriteActionOf: Record<string, string> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
};

/** The ways the components' SDKs name the services: JavaScript clients and boto3 service names. */
const serviceOf: Record<string, string> = {
  DynamoDBClient: "dynamodb",
  SQSClient: "sqs",
  EventBridgeClient: "events",
  LambdaClient: "lambda",
  dynamodb: "dynamodb",
  sqs: "sqs",
};

/** Requests are recorded in the emulators' names; `deployedName` gives a local physical name's deployed one. */
export function iamRequestsOf(recorded: RecordedRequest, deployedName: (localName: string) => string): IamRequest[] {
  const service = serviceOf[recorded.client];
  const operation = recorded.command.replace(/Command$/, "");
  const input = recorded.input;
  // Every request the SDKs send here goes over HTTPS in AWS: the TLS-only policies' condition reads this.
  const transport = { "aws:SecureTransport": "true" };
  if (service === "dynamodb" && operation === "TransactWriteItems") {
    // IAM has no action of its own for a transaction: each item is authorized as its single write.
    const items = (input.TransactItems ?? []) as Record<string, Record<string, unknown>>[];
    return items.flatMap((item) =>
      Object.entries(item).flatMap(([kind, write]) => {
        const single = transactWriteActionOf[kind];
        if (!single) throw new Error(`no IAM mapping for a TransactWriteItems ${kind}: add it to iam-requests.ts`);
        return dynamoDbRequests(single, write, deployedName, transport);
      }),
    );
  }
  if (service === "dynamodb") return dynamoDbRequests(operation, input, deployedName, transport);
  if (service === "sqs") {
    const action = `sqs:${sqsActionOf[operation] ?? operation}`;
    // ListQueues names no queue: IAM authorizes it on `*`.
    if (operation === "ListQueues") return [{ action, resource: "*", context: transport }];
    const localName =
      typeof input.QueueUrl === "string" ? (input.QueueUrl.split("/").pop() ?? "") : String(input.QueueName);
    return [
      { action, resource: `arn:${partition}:sqs:${region}:${account}:${deployedName(localName)}`, context: transport },
    ];
  }
  if (service === "events" && operation === "PutEvents") {
    const entries = (input.Entries ?? []) as { EventBusName?: string; Source?: string; DetailType?: string }[];
    return [...new Set(entries.map((entry) => entry.EventBusName ?? "default"))].map((bus) => {
      const onBus = entries.filter((entry) => (entry.EventBusName ?? "default") === bus);
      return {
        action: "events:PutEvents",
        resource: `arn:${partition}:events:${region}:${account}:event-bus/${deployedName(bus)}`,
        context: {
          ...transport,
          "events:source": [...new Set(onBus.map((entry) => String(entry.Source)))],
          "events:detail-type": [...new Set(onBus.map((entry) => String(entry.DetailType)))],
        },
      };
    });
  }
  if (service === "lambda" && operation === "Invoke") {
    return [
      {
        action: "lambda:InvokeFunction",
        resource: `arn:${partition}:lambda:${region}:${account}:function:${deployedName(String(input.FunctionName))}`,
        context: transport,
      },
    ];
  }
  throw new Error(`no IAM mapping for ${recorded.client} ${recorded.command}: add it to test/support/iam-requests.ts`);
}

/** One DynamoDB request on one table (or one of its indexes), with the context keys conditions read. */
function dynamoDbRequests(
  operation: string,
  input: Readonly<Record<string, unknown>>,
  deployedName: (localName: string) => string,
  transport: Readonly<Record<string, string>>,
): IamRequest[] {
  const table = deployedName(String(input.TableName));
  const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${table}`;
  const key = (input.Key ?? input.Item) as Record<string, Record<string, unknown>> | undefined;
  const leadingKey = key ? Object.values(key)[0] : undefined;
  const leadingValue = leadingKey ? Object.values(leadingKey)[0] : undefined;
  return [
    {
      action: `dynamodb:${operation}`,
      resource: input.IndexName ? `${tableArn}/index/${String(input.IndexName)}` : tableArn,
      context: {
        ...transport,
        ...(typeof leadingValue === "string" ? { "dynamodb:LeadingKeys": leadingValue } : {}),
        ...(typeof input.ReturnValues === "string" ? { "dynamodb:ReturnValues": input.ReturnValues } : {}),
      },
    },
  ];
}

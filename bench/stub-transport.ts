import { createHash, randomUUID } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type HttpRequest, HttpResponse } from "@smithy/core/transport";
import type { HttpHandlerOptions, RequestHandler } from "@smithy/types";

/**
 * An SDK transport that answers in-process and at once (in the next turn of the event loop), with the HTTP responses
 * DynamoDB and SQS
 * would send: the SDK still serializes, signs and parses every call, only the network is gone.
 * Both the handler under test and the bare SDK baseline send through it, so its own (small) cost
 * is in both sides of the ratio.
 */

export type StubbedOperation = "UpdateItem" | "GetItem" | "SendMessage";

interface CannedResponse {
  readonly statusCode: number;
  readonly body: Uint8Array;
}

/** What DynamoDB answers, per operation, while a scenario runs. SendMessage always succeeds. */
export interface DynamoDbAnswers {
  readonly UpdateItem?: CannedResponse;
  readonly GetItem?: CannedResponse;
  /** GetItem answers by table, before `GetItem`: Get Task reads the key table and the executions table. */
  readonly GetItemByTable?: Readonly<Record<string, CannedResponse>>;
}

const JSON_10 = "application/x-amz-json-1.0";

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export const dynamoDbAnswer = {
  updated: (attributes: Record<string, AttributeValue>): CannedResponse => ({
    statusCode: 200,
    body: encode({ Attributes: attributes }),
  }),
  /** A refused conditional write; with ALL_OLD the old item comes back, or none for a missing key. */
  conditionFailed: (oldItem?: Record<string, AttributeValue>): CannedResponse => ({
    statusCode: 400,
    body: encode({
      __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
      message: "The conditional request failed",
      ...(oldItem ? { Item: oldItem } : {}),
    }),
  }),
  item: (item?: Record<string, AttributeValue>): CannedResponse => ({
    statusCode: 200,
    body: encode(item ? { Item: item } : {}),
  }),
};

export class StubTransport implements RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  answers: DynamoDbAnswers = {};

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    // A real response arrives in a later turn of the event loop. Answering within the caller's
    // chain of promises would also starve process.nextTick (stdout's write callbacks pile up
    // across thousands of calls and the GC pays for them), which no deployed function sees.
    await new Promise((resolve) => setImmediate(resolve));
    const target = String(request.headers["x-amz-target"] ?? "");
    const operation = target.slice(target.indexOf(".") + 1);
    if (operation === "SendMessage") return { response: this.sendMessage(bodyText(request.body)) };
    const canned =
      operation === "GetItem" && this.answers.GetItemByTable
        ? (this.answers.GetItemByTable[tableOf(request.body)] ?? this.answers.GetItem)
        : this.answers[operation as "UpdateItem" | "GetItem"];
    if (!canned) throw new Error(`the stub transport has no answer for ${target}`);
    // A copy: the SDK adopts the body it is given as its own blob.
    return { response: respond(canned.statusCode, new Uint8Array(canned.body)) };
  }

  /** SQS answers with the MD5 of the body it received, which the SDK checks. */
  private sendMessage(requestBody: string): HttpResponse {
    const { MessageBody } = JSON.parse(requestBody) as { MessageBody: string };
    const md5 = createHash("md5").update(MessageBody).digest("hex");
    return respond(200, encode({ MD5OfMessageBody: md5, MessageId: randomUUID() }));
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

const decoder = new TextDecoder();

/** JSON protocol bodies arrive as bytes (a string in older SDKs). */
function bodyText(body: unknown): string {
  return typeof body === "string" ? body : decoder.decode(body as Uint8Array);
}

function tableOf(body: unknown): string {
  return (JSON.parse(bodyText(body)) as { TableName?: string }).TableName ?? "";
}

function respond(statusCode: number, body: Uint8Array): HttpResponse {
  return new HttpResponse({
    statusCode,
    headers: { "content-type": JSON_10, "x-amzn-requestid": "bench", "content-length": String(body.byteLength) },
    body,
  });
}

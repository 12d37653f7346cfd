/**
 * The reference point for cold init, written the obvious way: middy, both SDK clients
 * with their defaults (the SDK's whole credential chain), one zod schema, one UpdateItem and one
 * SendMessage. Bundled and minified as esbuild does by default, without this service's choices
 * (module-first resolution, the Lambda credential alias). The entries next to it give it classic
 * zod or `zod/mini`.
 */
import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

export function naiveStopHandler(pathSchema: { parse(value: unknown): { task_id: string } }) {
  const dynamoDb = new DynamoDBClient({});
  const sqs = new SQSClient({});
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async (event) => {
    const { task_id } = pathSchema.parse(event.pathParameters);
    const { Attributes } = await dynamoDb.send(
      new UpdateItemCommand({
        TableName: process.env.EXECUTIONS_TABLE_NAME,
        Key: { id: { S: task_id } },
        ConditionExpression: "attribute_exists(id)",
        UpdateExpression: "SET #status = :stopped",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":stopped": { S: "stopped" } },
        ReturnValues: "ALL_NEW",
      }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl: process.env.STOP_SIGNAL_QUEUE_URL, MessageBody: JSON.stringify({ task_id }) }),
    );
    return { statusCode: 200, body: JSON.stringify(Attributes) };
  });
}

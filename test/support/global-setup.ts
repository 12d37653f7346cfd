import type { TestProject } from "vitest/node";
import { startDynamoDbLocal, startSqsEmulator } from "../../infra/local/emulators.js";

declare module "vitest" {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    sqsEndpoint: string;
  }
}

/** One DynamoDB Local and one fauxqs for the whole run; each test file provisions its own tables and queues. */
export default async function setup(project: TestProject) {
  const [dynamoDb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  project.provide("dynamoDbEndpoint", dynamoDb.endpoint);
  project.provide("sqsEndpoint", sqs.endpoint);
  return async () => {
    await Promise.all([dynamoDb.stop(), sqs.stop()]);
  };
}

import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { type FunctionName, functionDefinitions } from "../../lib/resources.js";

/**
 * The Lambda context a handler sees when the local stack (or a test) invokes it in-process: its
 * remaining time counts down from the function's own timeout, as in AWS, so that a handler that
 * budgets its work by it (the cleanup) budgets the same way locally.
 */
export function localLambdaContext(functionName: FunctionName): Context {
  const deadline = Date.now() + functionDefinitions[functionName].timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

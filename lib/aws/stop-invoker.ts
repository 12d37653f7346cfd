import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { StopTaskInvocation, StopTaskInvocationResult } from "../stop-task-invocation.js";

/** Invokes the stop function directly (RequestResponse): IAM, not an API key, decides who may. */
export function lambdaStopInvoker(client: LambdaClient, functionName: string) {
  return async (invocation: StopTaskInvocation): Promise<StopTaskInvocationResult> => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: JSON.stringify(invocation),
      }),
    );
    if (response.FunctionError) {
      return {
        ok: false,
        error: { type: "internal_error", message: `stop function failed: ${response.FunctionError}` },
      };
    }
    return JSON.parse(new TextDecoder().decode(response.Payload)) as StopTaskInvocationResult;
  };
}

import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { type AwsClientOptions, commonOptions } from "./clients.js";

/** In a module of its own, so that only the function that publishes events bundles the EventBridge client. */
export function createEventBridgeClient(options: AwsClientOptions): EventBridgeClient {
  return new EventBridgeClient({
    ...commonOptions(options),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
}

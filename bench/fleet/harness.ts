/**
 * What every fleet design's measurement shares: the stop server in its own process, the HTTP stop
 * request, an SQS client sized for a fleet's long polls, and a queue's depth.
 */
import { type ChildProcess, fork } from "node:child_process";
import { Agent, request } from "node:http";
import type { Message } from "@aws-sdk/client-sqs";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DEMO_API_KEY } from "../../infra/local/demo-data.js";
import type { StackFile } from "../../infra/local/stack-file.js";
import { createSqsClient } from "../../lib/aws/clients.js";

/** The queue per worker in use, its two references, and the queue per worker served to Python workers of the kit. */
export type FleetDesign = "per-worker" | "sns" | "shared" | "python";

/** The reference worker's own heartbeat interval: the fallback a lost message waits for. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
export const LONG_POLL_SECONDS = 20;
export const SEED_SLICE = 100;

export interface StopServerCalls {
  readonly names: string[];
  /** Milliseconds each command took, by name (`UpdateItem`, `SendMessage`, ...). */
  readonly ms: Record<string, number[]>;
}

export interface StopServer {
  readonly url: string;
  calls(): Promise<StopServerCalls>;
  reset(): Promise<void>;
  stop(): void;
}

export async function startStopServer(
  stackFile: string,
  design: FleetDesign,
  target: { sharedQueueUrl?: string; topicArn?: string },
): Promise<StopServer> {
  const child: ChildProcess = fork(
    "bench/fleet/stop-server.ts",
    [
      "--stack-file",
      stackFile,
      "--design",
      design,
      ...(target.sharedQueueUrl ? ["--shared-queue-url", target.sharedQueueUrl] : []),
      ...(target.topicArn ? ["--topic-arn", target.topicArn] : []),
    ],
    { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] },
  );
  const next = <T>(key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off("message", onMessage);
        resolve(message[key] as T);
      };
      child.on("message", onMessage);
      child.once("exit", (code) => reject(new Error(`the fleet stop server exited (${code})`)));
    });
  const port = await next<number>("port");
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => {
      const answer = next<StopServerCalls>("calls");
      child.send("calls");
      return answer;
    },
    reset: async () => {
      const answer = next<boolean>("reset");
      child.send("reset");
      await answer;
    },
    stop: () => child.kill("SIGTERM"),
  };
}

export function post(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: "POST", agent, headers: { "x-api-key": DEMO_API_KEY } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An SQS client for a whole simulated fleet: a socket per long poll (the SDK's default is 50), and a timeout past the
 * poll's 20 s.
 */
export function fleetSqsClient(stack: StackFile): { sqs: SQSClient; receipts: { messages: number; calls: number } } {
  const sqs = createSqsClient({
    region: stack.region,
    endpoint: stack.sqs_endpoint,
    requestTimeoutMs: 30_000,
    connectionTimeoutMs: 5_000,
    maxAttempts: 3,
    requestHandler: {
      httpAgent: new Agent({ keepAlive: true, maxSockets: 5_000 }),
      requestTimeout: 30_000,
      connectionTimeout: 5_000,
    },
  });
  const receipts = { messages: 0, calls: 0 };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === "ReceiveMessageCommand") {
        receipts.calls += 1;
        receipts.messages += ((result.output as { Messages?: Message[] }).Messages ?? []).length;
      }
      return result;
    },
    { step: "initialize", name: "fleetReceiptCounter" },
  );
  return { sqs, receipts };
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

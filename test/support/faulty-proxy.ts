import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in between an SDK client and a real emulator that injects faults per operation
 * (read from X-Amz-Target, e.g. `DynamoDB_20120810.UpdateItem`, `AmazonSQS.SendMessage`):
 * pass it on, hang, throttle, or answer 500. Everything else reaches the real emulator.
 */
/** `lose-answer`: the emulator applies the request, but its answer never reaches the client. */
export type Fault = "pass" | "hang" | "throttle" | "error" | "lose-answer";

export interface FaultyProxy {
  readonly endpoint: string;
  /** Operations seen, in order (attempts included). */
  readonly seen: string[];
  setFault(decide: (operation: string) => Fault): void;
  close(): Promise<void>;
}

const throttlingBody = {
  dynamodb: {
    __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    message: "Rate of requests exceeds the allowed throughput.",
  },
  sqs: { __type: "com.amazonaws.sqs#RequestThrottled", message: "Request is throttled." },
};

export async function startFaultyProxy(targetEndpoint: string): Promise<FaultyProxy> {
  const target = new URL(targetEndpoint);
  const seen: string[] = [];
  let decide: (operation: string) => Fault = () => "pass";
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const operation = String(incoming.headers["x-amz-target"] ?? "unknown");
    seen.push(operation);
    const fault = decide(operation);
    if (fault === "hang") {
      hanging.add(outgoing);
      incoming.resume();
      return;
    }
    if (fault === "throttle" || fault === "error") {
      incoming.resume();
      const service = operation.startsWith("AmazonSQS") ? "sqs" : "dynamodb";
      const body =
        fault === "throttle" ? throttlingBody[service] : { __type: "InternalServerError", message: "injected failure" };
      outgoing.writeHead(fault === "throttle" ? 400 : 500, {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-errortype": String(body.__type).split("#").at(-1) ?? "",
      });
      outgoing.end(JSON.stringify(body));
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: target.host },
      },
      (response) => {
        if (fault === "lose-answer") {
          response.resume();
          hanging.add(outgoing);
          return;
        }
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    setFault: (next) => {
      decide = next;
    },
    close: () =>
      new Promise((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";

/**
 * Endpoints for the two AWS APIs the emulators of global-setup.ts do not serve, so that the
 * functions' own clients send their real requests (recorded by test/support/aws-call-counter.ts):
 * - Lambda's Invoke, answered by a function's handler in-process (the cleanup invokes the stop function);
 * - EventBridge, served by moto's server (Python moto is installed on every machine of this kind).
 */

export interface StandIn {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the handlers named. */
export async function startLambdaInvokeEndpoint(
  handlers: Readonly<Record<string, (event: unknown) => Promise<unknown>>>,
): Promise<StandIn> {
  const server: Server = createServer((request, response) => {
    const name = decodeURIComponent(/\/functions\/([^/]+)\/invocations/.exec(request.url ?? "")?.[1] ?? "");
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const handler = handlers[name];
      if (!handler) {
        response.writeHead(404, {
          "content-type": "application/json",
          "x-amzn-errortype": "ResourceNotFoundException",
        });
        response.end(JSON.stringify({ message: `Function not found: ${name}` }));
        return;
      }
      handler(JSON.parse(body || "null")).then(
        (result) => {
          response.writeHead(200, { "content-type": "application/json", "x-amz-executed-version": "$LATEST" });
          response.end(JSON.stringify(result));
        },
        (error: unknown) => {
          response.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
          response.end(JSON.stringify({ errorMessage: String(error) }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** moto's server on a free loopback port, ready when it answers; stopped by the PID it was started with. */
export async function startMotoServer(): Promise<StandIn> {
  const port = await freePort();
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto server exited: ${output}`);
    const ready = await fetch(`${endpoint}/moto-api/`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto server did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    },
  };
}

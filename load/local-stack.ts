import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort } from "../infra/local/emulators.js";
import { readStackFile, type StackFile } from "../infra/local/stack-file.js";

/**
 * `npm start` as a child in its own process group, so that stopping the group ends npm, tsx,
 * the Node server and the Java emulator together, whatever state the load run ended in.
 */

export interface RunningLocalStack {
  readonly stack: StackFile;
  readonly output: () => string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // No process left in the group.
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startLocalStackForLoad({
  seedFile,
  stackFile,
  env,
}: {
  seedFile: string;
  stackFile: string;
  env: Record<string, string>;
}): Promise<RunningLocalStack> {
  const port = await freePort();
  const child = spawn("npm", ["start", "--silent", "--", "--seed", seedFile, "--stack-file", stackFile], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, PORT: String(port) },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = exitOf(child);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const pid = child.pid;
      if (pid === undefined) return;
      signalGroup(pid, "SIGTERM");
      await Promise.race([exited, sleep(STOP_GRACE_MS)]);
      // npm can exit before the server has finished stopping the emulators: wait for the whole group.
      const deadline = Date.now() + STOP_GRACE_MS;
      while (signalGroup(pid, 0) && Date.now() < deadline) await sleep(100);
      signalGroup(pid, "SIGKILL");
    })();
    return stopped;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!existsSync(stackFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not come up:\n${output}`);
    }
    await sleep(100);
  }
  return { stack: await readStackFile(stackFile), output: () => output, stop };
}

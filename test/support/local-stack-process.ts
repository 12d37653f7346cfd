import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../infra/local/emulators.js";
import { readStackFile, type StackFile } from "../../infra/local/stack-file.js";

export interface LocalStackProcess {
  readonly stack: StackFile;
  readonly stackFile: string;
  readonly output: () => string;
  /**
   * SIGTERM only the Node process running start.ts (not the group), so that stopping Java is
   * proven to be the local stack's own doing; then wait for `npm start` to exit.
   */
  stop(): Promise<number | null>;
}

/** `npm start` as a user runs it, in its own process group so nothing it starts can outlive the test. */
export function spawnNpmStart(
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn("npm", ["start", "--silent", "--", ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export async function startLocalStack(
  seedFile: string,
  {
    timeoutMs = 45_000,
    env = {},
    args = [],
  }: { timeoutMs?: number; env?: Record<string, string>; args?: readonly string[] } = {},
): Promise<LocalStackProcess> {
  const stackFile = join(mkdtempSync(join(tmpdir(), "stop-task-e2e-")), "stack.json");
  const port = await freePort();
  const { child, output } = spawnNpmStart(["--seed", seedFile, "--stack-file", stackFile, ...args], {
    ...env,
    PORT: String(port),
  });
  const exited = waitForExit(child);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(stackFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.pid) killGroup(child.pid, "SIGKILL");
      throw new Error(`npm start did not come up:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    stack: await readStackFile(stackFile),
    stackFile,
    output,
    stop: async () => {
      for (const pid of pidsMentioning(stackFile)) {
        // The innermost Node process (tsx runs start.ts under its loader), not npm, sh or the tsx wrapper.
        if (processCommandLine(pid)?.includes("tsx/dist/loader.mjs")) process.kill(pid, "SIGTERM");
      }
      const timer = setTimeout(() => child.pid && killGroup(child.pid, "SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined; // The process ended while we looked.
  }
}

/** PIDs of live processes whose command line mentions `needle` (Linux /proc). */
export function pidsMentioning(needle: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map(Number)
    .filter((pid) => processCommandLine(pid)?.includes(needle));
}

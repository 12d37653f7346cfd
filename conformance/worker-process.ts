import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { CONFORMANCE_ENV, haltedTaskOf } from "./contract.js";

/** The worker command under test, run as conformance/contract.ts says, watched from outside. */
export interface WorkerProcess {
  /** Hands it task ids to run, one per line on its stdin. */
  give(taskIds: readonly string[]): void;
  /** When it first said `halted <task id>` (epoch ms), and how many times it said so. */
  halted(taskId: string): { readonly at: number; readonly times: number } | undefined;
  isRunning(): boolean;
  /** Its last lines of output, for a failed check's detail. */
  tail(lines?: number): string;
  /** A crash: SIGKILL to its whole process group. */
  kill(): Promise<void>;
  /** SIGTERM to its process group, then SIGKILL if it has not gone in a few seconds. */
  stop(): Promise<void>;
}

const OUTPUT_LINES_KEPT = 200;
const GRACE_MS = 5_000;

export function startWorkerProcess(
  command: string,
  { stackFile, workerId, cwd }: { readonly stackFile: string; readonly workerId: string; readonly cwd?: string },
): WorkerProcess {
  // Its own process group (detached), so that a kill reaches whatever the command starts (npm, tsx, python).
  const child = spawn("sh", ["-c", command], {
    cwd,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, [CONFORMANCE_ENV.stackFile]: stackFile, [CONFORMANCE_ENV.workerId]: workerId },
  });
  const halts = new Map<string, { at: number; times: number }>();
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > OUTPUT_LINES_KEPT) output.shift();
  };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      keep(line);
      const taskId = haltedTaskOf(line);
      if (!taskId) return;
      const seen = halts.get(taskId);
      halts.set(taskId, { at: seen?.at ?? Date.now(), times: (seen?.times ?? 0) + 1 });
    });
  }
  if (child.stderr) createInterface({ input: child.stderr }).on("line", keep);
  // A worker that exits closes its stdin: writing to it then must not crash the harness.
  child.stdin?.on("error", () => undefined);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  return {
    give: (taskIds) => {
      if (!hasExited()) child.stdin?.write(taskIds.map((taskId) => `${taskId}\n`).join(""));
    },
    halted: (taskId) => halts.get(taskId),
    isRunning: () => !hasExited(),
    tail: (lines = 20) => output.slice(-lines).join("\n"),
    kill: async () => {
      signalGroup("SIGKILL");
      await exited;
    },
    stop: async () => {
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), GRACE_MS);
      await exited;
      clearTimeout(timer);
      // Whatever it started and left behind in its group.
      signalGroup("SIGKILL");
    },
  };
}

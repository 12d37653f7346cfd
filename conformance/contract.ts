/**
 * What `npm run conformance` asks of the worker command it runs, in any language
 * (docs/worker-protocol.md, "Conformance"): the harness's side of it, in one place.
 *
 * - Its environment names the stack file (the `.local/stack.json` form) and the worker id to use.
 * - It makes its own queue, then reads task ids on stdin, one per line: tasks already recorded as
 *   running on it, as the platform writes them. It runs each (a body that only waits is enough),
 *   heartbeating, until it is stopped.
 * - When a task's work has halted because of a stop, it prints `halted <task id>` on a line of its
 *   own on stdout. Anything else it prints is ignored.
 * - It may be killed at any moment and started again with the same id; it is then handed the
 *   tasks it still holds.
 */
export const CONFORMANCE_ENV = {
  stackFile: "STOP_TASK_STACK_FILE",
  workerId: "STOP_TASK_WORKER_ID",
} as const;

const HALTED_LINE = /^halted (\S+)$/;

export function haltedLine(taskId: string): string {
  return `halted ${taskId}`;
}

/** The task id a `halted <task id>` line names, or undefined for any other line. */
export function haltedTaskOf(line: string): string | undefined {
  return HALTED_LINE.exec(line.trim())?.[1];
}

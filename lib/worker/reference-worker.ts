import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { type StopMessage, stopMessageSchema } from "../signals/stop-message.js";
import type { WorkerExecutionUpdates } from "./execution-updates.js";

/**
 * The reference worker: how a worker (or a self-hosted environment's agent) honours a stop.
 *
 * Routing in a fleet: stop messages name `worker_id` (body and message attribute). A worker
 * long-polls the queue; a message for a task it runs aborts that task's AbortSignal, then the
 * worker acknowledges (a conditional write) and deletes the message. A message for another
 * worker is released at once (visibility 0) for the others to see. Delivery does not depend on
 * that routing: every heartbeat is a conditional write that answers `stop_requested` once the
 * task is stopped, so a worker learns of a stop within one heartbeat interval even if its
 * message went to another worker, and the cleanup re-sends any stop left unacknowledged.
 */

export type TaskBody = (signal: AbortSignal) => Promise<string>;
export type TaskEnd = "completed" | "failed" | "stopped";

export interface ReferenceWorkerOptions {
  readonly workerId: string;
  readonly sqs: SQSClient;
  /** The fleet's stop-signal queue, or the asset-command queue for a self-hosted environment. */
  readonly queueUrl: string;
  /** Set for a self-hosted environment's consumer: only its own environment's commands are taken. */
  readonly environmentId?: string;
  readonly updates: WorkerExecutionUpdates;
  readonly heartbeatIntervalMs?: number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

interface RunningTask {
  readonly controller: AbortController;
  readonly settled: Promise<TaskEnd>;
}

export function createReferenceWorker(options: ReferenceWorkerOptions) {
  const running = new Map<string, RunningTask>();
  const log = options.log ?? (() => undefined);
  let polling = false;

  async function acknowledge(taskId: string): Promise<void> {
    const result = await options.updates.acknowledgeStop(taskId, options.environmentId ?? options.workerId);
    log("stop acknowledged", { task_id: taskId, result });
  }

  /** Aborts a local task (if it runs here) and waits until it has let go of its work. */
  async function halt(taskId: string, why: string): Promise<void> {
    const task = running.get(taskId);
    if (task) {
      log("aborting task", { task_id: taskId, why });
      task.controller.abort(new Error(`stopped: ${why}`));
      await task.settled;
    }
  }

  function isMine(message: StopMessage): boolean {
    if (options.environmentId) return message.environment_id === options.environmentId;
    return message.worker_id === options.workerId || running.has(message.task_id);
  }

  async function handleMessage(message: Message): Promise<"handled" | "released" | "discarded"> {
    const parsed = stopMessageSchema.safeParse(JSON.parse(message.Body ?? "null"));
    if (!parsed.success) {
      // A message no worker can read would only bounce to the DLQ; drop it and say so.
      log("unreadable stop message discarded", { message_id: message.MessageId });
      await options.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      return "discarded";
    }
    const stop = parsed.data;
    if (!isMine(stop)) {
      await options.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
      );
      return "released";
    }
    await halt(stop.task_id, stop.reason);
    // Acknowledge before deleting: if the worker dies in between, the message comes back and is acknowledged again (idempotent).
    await acknowledge(stop.task_id);
    await options.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    return "handled";
  }

  return {
    runningTasks: () => [...running.keys()],

    /** Runs a task body under an AbortSignal, heartbeating; finishes it (completed/failed) unless it was stopped. */
    run(taskId: string, body: TaskBody): Promise<TaskEnd> {
      const controller = new AbortController();
      const heartbeat = setInterval(() => {
        options.updates
          .heartbeat(taskId, options.workerId)
          .then(async (result) => {
            if (result === "stop_requested" && !controller.signal.aborted) {
              await halt(taskId, "heartbeat saw the stop");
              await acknowledge(taskId);
            }
          })
          .catch((error: unknown) => log("heartbeat failed", { task_id: taskId, error: String(error) }));
      }, options.heartbeatIntervalMs ?? 5_000);

      const settled = (async (): Promise<TaskEnd> => {
        try {
          const result = await body(controller.signal);
          if (controller.signal.aborted) return "stopped";
          const finished = await options.updates.complete(taskId, options.workerId, result);
          if (finished.kind === "already_terminal" && finished.status === "stopped") {
            // The stop won the race with our own completion: honour it.
            await acknowledge(taskId);
            return "stopped";
          }
          return "completed";
        } catch (error) {
          if (controller.signal.aborted) return "stopped";
          await options.updates.fail(taskId, options.workerId, error instanceof Error ? error.message : String(error));
          return "failed";
        } finally {
          clearInterval(heartbeat);
          running.delete(taskId);
        }
      })();
      running.set(taskId, { controller, settled });
      return settled;
    },

    /** One receive of up to ten stop messages; returns how many were for this worker. */
    async pollOnce(waitSeconds = 0): Promise<number> {
      const { Messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: waitSeconds,
          MessageAttributeNames: ["All"],
        }),
      );
      const results = await Promise.all(Messages.map(handleMessage));
      return results.filter((result) => result === "handled").length;
    },

    /** Long-polls until `stopPolling()`. */
    async startPolling(): Promise<void> {
      polling = true;
      while (polling) {
        try {
          await this.pollOnce(5);
        } catch (error) {
          log("receive failed", { error: String(error) });
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    },

    stopPolling(): void {
      polling = false;
    },
  };
}

export type ReferenceWorker = ReturnType<typeof createReferenceWorker>;

/** A fake agent task: works in steps until done or aborted. */
export function fakeTask(steps: number, stepMs: number): TaskBody {
  return async (signal) => {
    for (let step = 0; step < steps; step += 1) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, stepMs);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    return `finished ${steps} steps`;
  };
}

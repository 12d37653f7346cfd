import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { signalChannels } from "../resources.js";
import { isQueueGone } from "../signals/publisher.js";
import { type StopMessage, stopMessageSchema } from "../signals/stop-message.js";
import { abortablePause } from "./abortable-pause.js";
import type { WorkerExecutionUpdates } from "./execution-updates.js";
import {
  ensureSignalQueue,
  LONG_POLL_SECONDS,
  markSignalQueueSeen,
  QUEUE_REFRESH_INTERVAL_MS,
  type SignalQueueSettings,
} from "./signal-queue.js";

/**
 * The reference worker: how a worker (or a self-hosted environment's agent) honours a stop.
 *
 * Routing in a fleet: each worker has a queue of its own, named from its `worker_id`
 * (lib/signals/queue-names.ts), which it creates at start (lib/worker/signal-queue.ts) and
 * long-polls; the stop function derives the same name and sends there, so every message a
 * worker receives is meant for it, and no worker ever sees another's. A stop aborts the task's
 * AbortSignal, then the worker acknowledges (a conditional write) and deletes the message. A
 * self-hosted environment's consumer does the same on its environment's queue. Delivery does not
 * depend on the queue alone: every heartbeat is a conditional write that answers
 * `stop_requested` once the task is stopped, so a worker learns of a stop within one heartbeat
 * interval even if its message was lost, and the cleanup re-sends any stop left unacknowledged.
 */

export type TaskBody = (signal: AbortSignal) => Promise<string>;
export type TaskEnd = "completed" | "failed" | "stopped";

export interface ReferenceWorkerOptions {
  readonly workerId: string;
  /** Its request timeout must be longer than `pollWaitSeconds` (long polls hold the request open). */
  readonly sqs: SQSClient;
  /**
   * Where this worker's own queue is made: the fleet's worker channel, or for a self-hosted
   * environment's consumer the environment channel (lib/worker/signal-queue.ts).
   */
  readonly signalQueue: SignalQueueSettings;
  /**
   * Set for a self-hosted environment's consumer: its queue is the environment's, and only that environment's commands
   * are taken.
   */
  readonly environmentId?: string;
  readonly updates: WorkerExecutionUpdates;
  readonly heartbeatIntervalMs?: number;
  /** How long a receive waits for a message (SQS's maximum, 20 s, when absent). */
  readonly pollWaitSeconds?: number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  readonly now?: () => Date;
}

interface RunningTask {
  readonly controller: AbortController;
  readonly settled: Promise<TaskEnd>;
}

export function createReferenceWorker(options: ReferenceWorkerOptions) {
  const running = new Map<string, RunningTask>();
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const ownerId = options.environmentId ?? options.workerId;
  const signalQueue = {
    ...options.signalQueue,
    channel:
      options.signalQueue.channel ?? (options.environmentId ? signalChannels.environments : signalChannels.workers),
  };
  let queueUrl: Promise<string> | undefined;
  let lastSeenAt = 0;
  let polling = false;

  /** The worker's own queue, made (or found) once; again after it went missing. */
  function ownQueue(): Promise<string> {
    if (!queueUrl) {
      queueUrl = ensureSignalQueue(options.sqs, signalQueue, ownerId, now());
      lastSeenAt = Date.now();
      queueUrl.catch(() => {
        queueUrl = undefined;
      });
    }
    return queueUrl;
  }

  async function acknowledge(taskId: string): Promise<void> {
    const result = await options.updates.acknowledgeStop(
      taskId,
      options.environmentId ? { environmentId: options.environmentId } : { workerId: options.workerId },
    );
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

  /** Halts the task the stop names and acknowledges it; `not_mine` for a stop this worker must leave alone. */
  async function honourStop(stop: StopMessage): Promise<"handled" | "not_mine"> {
    if (!isMine(stop)) return "not_mine";
    log("stop received", {
      task_id: stop.task_id,
      reason: stop.reason,
      requested_by: stop.requested_by,
      ...(stop.limit ? { limit: stop.limit } : {}),
    });
    await halt(stop.task_id, stop.reason);
    await acknowledge(stop.task_id);
    return "handled";
  }

  async function handleMessage(url: string, message: Message): Promise<"handled" | "discarded"> {
    let body: unknown;
    try {
      body = JSON.parse(message.Body ?? "null");
    } catch {
      body = undefined;
    }
    const parsed = stopMessageSchema.safeParse(body);
    // Acknowledge before deleting: if the worker dies in between, the message comes back and is acknowledged again
    // (idempotent).
    const result = parsed.success ? await honourStop(parsed.data) : "unreadable";
    if (result === "unreadable") log("unreadable stop message discarded", { message_id: message.MessageId });
    // Only this worker reads its queue, so a stop for a task it neither owns nor runs has no one
    // else to go to here: the heartbeat and the re-drive reach the task's real worker.
    if (result === "not_mine") log("stop for another worker discarded", { message_id: message.MessageId });
    await options.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    return result === "handled" ? "handled" : "discarded";
  }

  return {
    runningTasks: () => [...running.keys()],

    /**
     * Creates (or finds) this worker's queue and returns its URL; do it before taking tasks, so no stop finds it
     * missing.
     */
    openQueue: ownQueue,

    honourStop,

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

    /** One receive of up to ten stop messages from this worker's own queue; returns how many it honoured. */
    async pollOnce(waitSeconds = 0): Promise<number> {
      const url = await ownQueue();
      if (Date.now() - lastSeenAt >= QUEUE_REFRESH_INTERVAL_MS) {
        lastSeenAt = Date.now();
        await markSignalQueueSeen(options.sqs, url, now());
      }
      let messages: Message[];
      try {
        ({ Messages: messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitSeconds,
            MessageAttributeNames: ["All"],
          }),
        ));
      } catch (error) {
        // Deleted while this worker was away (the sweep judged it gone): make it again.
        if (isQueueGone(error)) queueUrl = undefined;
        throw error;
      }
      const results = await Promise.all(messages.map((message) => handleMessage(url, message)));
      return results.filter((result) => result === "handled").length;
    },

    /** Long-polls until `stopPolling()`. */
    async startPolling(): Promise<void> {
      polling = true;
      while (polling) {
        try {
          await this.pollOnce(options.pollWaitSeconds ?? LONG_POLL_SECONDS);
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
      await abortablePause(stepMs, signal);
    }
    return `finished ${steps} steps`;
  };
}

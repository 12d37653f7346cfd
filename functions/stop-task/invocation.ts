import type { Context } from "aws-lambda";
import { taskIdSchema } from "../../lib/execution.js";
import { recordFailure, recordOutcome, recordSignalDelivery } from "../../lib/outcome-metrics.js";
import { stopTask } from "../../lib/stop-task.js";
import { type StopTaskInvocationResult, stopTaskInvocationSchema } from "../../lib/stop-task-invocation.js";
import type { StopTaskHandlerDependencies } from "./app.js";

/**
 * The stop function's direct-invoke adapter: trusted internal callers (the scheduled cleanup)
 * invoke it with IAM deciding who may, and read a result instead of an HTTP response.
 */
export function createStopTaskInvocationHandler(deps: StopTaskHandlerDependencies) {
  const { logger } = deps;
  return async (event: Record<string, unknown>, context: Context): Promise<StopTaskInvocationResult> => {
    logger.appendKeys({ request_id: context.awsRequestId });
    const parsed = stopTaskInvocationSchema.safeParse(event);
    const taskId = parsed.success ? taskIdSchema.safeParse(parsed.data.task_id) : undefined;
    if (!parsed.success || !taskId?.success) {
      recordOutcome(deps, "invalid_invocation", { request_id: context.awsRequestId });
      return {
        ok: false,
        error: {
          type: "validation_error",
          message: "expected {action: 'stop_task', task_id: UUID, reason, requested_by}",
        },
      };
    }
    logger.appendKeys({ task_id: taskId.data, requested_by: parsed.data.requested_by });
    try {
      const outcome = await stopTask(
        {
          taskId: taskId.data,
          requester: { kind: "system", requestedBy: parsed.data.requested_by },
          reason: parsed.data.reason,
        },
        deps,
      );
      recordSignalDelivery(deps, taskId.data, outcome);
      if (outcome.kind === "unreadable") throw outcome.error;
      recordOutcome(deps, outcome.kind, {
        request_id: context.awsRequestId,
        task_id: taskId.data,
        requested_by: parsed.data.requested_by,
      });
      if (outcome.kind === "stopped" || outcome.kind === "unchanged") {
        return { ok: true, outcome: outcome.kind, execution: outcome.execution };
      }
      // Without an organization scope a stop is never forbidden; both mean "no such task" to a system caller.
      return { ok: false, error: { type: "not_found", message: "Task not found" } };
    } catch (error) {
      return recordFailure(deps, taskId.data, error) === "unavailable"
        ? { ok: false, error: { type: "unavailable", message: "a dependency is unavailable; retry later" } }
        : { ok: false, error: { type: "internal_error", message: "internal error" } };
    }
  };
}

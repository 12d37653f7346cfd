import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import type { Principal } from "../../lib/auth/api-keys.js";
import { readLimitsRequestBody } from "../../lib/http/limits-request-body.js";
import { readStopRequestBody, type StopRequestBody } from "../../lib/http/stop-request-body.js";
import { createTaskRequestHandler, type TaskRequestHandler } from "../../lib/http/task-request.js";
import type { Limits } from "../../lib/limits.js";
import { recordSignalDelivery } from "../../lib/outcome-metrics.js";
import type { TaskAnswer } from "../../lib/outcomes.js";
import { stopTask, USER_STOP_REASON } from "../../lib/stop-task.js";
import type { StopTaskHandlerDependencies } from "./app.js";

const TASK_LIMITS_PATH = "/v1/tasks/{task_id}/limits";

/**
 * The stop function's HTTP adapter: a caller holding an API key stops a task (both route styles),
 * or sets its limits. Both go through the shared task-request adapter: same checks, same shapes.
 */
export function createStopTaskHttpHandler(deps: StopTaskHandlerDependencies): TaskRequestHandler {
  async function stopForCaller(taskId: string, principal: Principal, body: StopRequestBody): Promise<TaskAnswer> {
    const outcome = await stopTask(
      {
        taskId,
        requester: { kind: "api_key", organizationId: principal.organizationId, keyId: principal.keyId },
        reason: USER_STOP_REASON,
        ...(body.note === undefined ? {} : { note: body.note }),
      },
      deps,
    );
    recordSignalDelivery(deps, taskId, outcome);
    // The stop and its signal are done; only the answer cannot be given (500, logged with the task id).
    if (outcome.kind === "unreadable") throw outcome.error;
    return outcome;
  }

  /**
   * A task's own limits. The write is the whole operation: a limit below what the task already
   * spent is enforced by the runaway guards from the write's own stream record (lib/guards.ts),
   * within a second or two, so this answer never waits on, nor is slowed by, a stop.
   */
  const setLimitsForCaller = (taskId: string, principal: Principal, limits: Limits): Promise<TaskAnswer> =>
    deps.setTaskLimits({ taskId, organizationId: principal.organizationId, limits });

  const handleStop = createTaskRequestHandler(deps, stopForCaller, readStopRequestBody);
  const handleSetLimits = createTaskRequestHandler(deps, setLimitsForCaller, readLimitsRequestBody);
  return (event: APIGatewayProxyEvent, context: Context) =>
    event.resource === TASK_LIMITS_PATH ? handleSetLimits(event, context) : handleStop(event, context);
}

import * as z from "zod/mini";
import type { AgentExecution } from "./execution.js";
import type { TaskResultKind } from "./outcomes.js";

/**
 * The stop function's second contract: trusted internal callers (the scheduled cleanup) invoke
 * it directly, with IAM deciding who may. Such stops are system terminations, never manual.
 */
export const stopTaskInvocationSchema = z.object({
  action: z.literal("stop_task"),
  task_id: z.string(),
  reason: z.string().check(z.minLength(1), z.maxLength(255)),
  requested_by: z.string().check(z.minLength(1), z.maxLength(255)),
});
export type StopTaskInvocation = z.infer<typeof stopTaskInvocationSchema>;

export type StopTaskInvocationErrorType = "validation_error" | "not_found" | "unavailable" | "internal_error";

export type StopTaskInvocationResult =
  | {
      readonly ok: true;
      readonly outcome: Extract<TaskResultKind, "stopped" | "unchanged">;
      readonly execution: AgentExecution;
    }
  | { readonly ok: false; readonly error: { readonly type: StopTaskInvocationErrorType; readonly message: string } };

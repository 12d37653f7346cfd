import type { AgentExecution } from "./execution.js";

/**
 * The one vocabulary of what an operation on a task came to, from the repository to the response
 * and its metric. Each layer passes these values on or narrows them; none renames them.
 */

/** The two refusals every task operation can meet, whatever it is. */
export type TaskRefusal = { readonly kind: "not_found" } | { readonly kind: "forbidden" };

/** A task operation that reached the task: what it did, and the record as it now stands. */
export type TaskResultKind = "found" | "stopped" | "unchanged" | "limits_set";

export type TaskAnswer = { readonly kind: TaskResultKind; readonly execution: AgentExecution } | TaskRefusal;

/** Requests turned away before any operation ran. */
export type RejectedRequestKind = "unauthorized" | "invalid_task_id" | "invalid_body" | "invalid_invocation";

/** What a bulk stop request came to (functions/bulk-stop/http.ts). */
export type BulkStopOutcomeKind =
  | "bulk_stop_created"
  | "bulk_stop_existing"
  | "bulk_stop_dry_run"
  | "bulk_stop_read"
  | "bulk_stop_hold_ended"
  | "invalid_stop_id";

/** Every outcome a request is recorded with (one metric each, `Outcome_<kind>`). */
export type RequestOutcomeKind = TaskAnswer["kind"] | RejectedRequestKind | BulkStopOutcomeKind;

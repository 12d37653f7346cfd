import { randomUUID } from "node:crypto";
import { formatTimestamp } from "../timestamp.js";
import { type BulkStopRequest, type BulkStopScope, normalizeScope } from "./scope.js";
import type { ScopedTaskReader } from "./scoped-tasks.js";
import type { BulkStopStore } from "./store.js";
import { type BulkStopView, bulkStopView } from "./view.js";

/** A bulk stop's run on the jobs queue: which bulk stop, and when its first message was sent (epoch ms). */
export interface BulkStopJob {
  readonly stop_id: string;
  readonly queued_at: number;
}

export interface CreateBulkStopDependencies {
  readonly store: BulkStopStore;
  readonly tasks: ScopedTaskReader;
  /** Queues a run of a bulk stop (its first, or a continuation), after `delaySeconds` when given. */
  readonly enqueueRun: (job: BulkStopJob, delaySeconds?: number) => Promise<void>;
  readonly now: () => Date;
}

export type CreateBulkStopResult =
  | { readonly kind: "dry_run"; readonly scope: BulkStopScope; readonly matched: number }
  | { readonly kind: "created" | "existing"; readonly view: BulkStopView };

/**
 * A bulk stop, made for an organization (the caller's, from its key; or an operator's choice): a dry run counts the
 * scope and changes nothing; else the run is queued, then the bulk stop saved (with its Idempotency-Key, when given: a
 * key used before answers with the bulk stop it made). The answer's `matched` is the scope's count at the request.
 */
export async function createBulkStop(
  request: BulkStopRequest,
  caller: { readonly organizationId: string; readonly createdBy: string; readonly idempotencyKey?: string },
  deps: CreateBulkStopDependencies,
): Promise<CreateBulkStopResult> {
  const scope = normalizeScope(request.scope);
  const { organizationId } = caller;
  if (request.dry_run === true)
    return { kind: "dry_run", scope, matched: await deps.tasks.count(organizationId, scope) };
  const now = deps.now();
  const nowText = formatTimestamp(now);
  if (caller.idempotencyKey !== undefined) {
    const existing = await deps.store.findByIdempotencyKey(organizationId, caller.idempotencyKey);
    const bulkStop = existing === undefined ? undefined : await deps.store.get(existing);
    if (bulkStop) return { kind: "existing", view: bulkStopView(bulkStop, nowText) };
  }
  const matched = await deps.tasks.count(organizationId, scope);
  const stopId = randomUUID();
  // The run's message goes first: a bulk stop saved without one would never run. A message whose bulk stop was never
  // saved (the save failed, or lost to the same Idempotency-Key) finds none, and is dropped after a minute of retries.
  await deps.enqueueRun({ stop_id: stopId, queued_at: now.getTime() });
  const holdUntil =
    request.hold_seconds === undefined || request.hold_seconds === null
      ? null
      : formatTimestamp(new Date(now.getTime() + request.hold_seconds * 1000));
  const created = await deps.store.create({
    stopId,
    organizationId,
    scope,
    reason: request.reason ?? null,
    createdAt: nowText,
    createdBy: caller.createdBy,
    holdUntil,
    ...(caller.idempotencyKey === undefined ? {} : { idempotencyKey: caller.idempotencyKey }),
  });
  const savedId = created.kind === "created" ? stopId : created.stopId;
  const bulkStop = await deps.store.get(savedId);
  if (!bulkStop) throw new Error(`bulk stop ${savedId} not found after it was saved`);
  const view = bulkStopView(bulkStop, nowText);
  return created.kind === "created"
    ? { kind: "created", view: { ...view, matched: Math.max(view.matched, matched) } }
    : { kind: "existing", view };
}

import { randomUUID } from "node:crypto";
import { livenessIndexKeys } from "../../lib/executions/indexes.js";
import { putOrganizationLimits, setTaskLimits } from "../../lib/executions/limits-store.js";
import type { Limits } from "../../lib/limits.js";
import { type ExecutionStreamHarness, startExecutionStream } from "./execution-stream-harness.js";
import { anExecution } from "./factories.js";
import { type LocalAws, provisionIsolatedStack, putItem } from "./local-aws.js";

/** An organization id of this run for each name: tests of one file never share an organization's limits. */
export function organizationsNamed<Name extends string>(defaults: Record<Name, Limits>): Record<Name, string> {
  return Object.fromEntries(
    Object.keys(defaults).map((name) => [name, `org-${name}-${randomUUID().slice(0, 8)}`]),
  ) as Record<Name, string>;
}

/**
 * Fresh tables and queues with each organization's default limits written, then the stream
 * processor started over them, as the runaway guards run on the stack.
 */
export async function startStackWithLimits<Name extends string>(
  organizations: Record<Name, string>,
  defaults: Record<Name, Limits>,
): Promise<{ aws: LocalAws; stream: ExecutionStreamHarness }> {
  const aws = await provisionIsolatedStack();
  // Written a minute ago, as an operator's change is by the time tasks run: the cleanup's rewrite of
  // their deadlines (which waits out the stream's cache of limits) is not left for some later run.
  const aMinuteAgo = new Date(Date.now() - 60_000);
  for (const name of Object.keys(defaults) as Name[]) {
    await putOrganizationLimits(
      aws.dynamoDb,
      aws.resources.tables.limits,
      organizations[name],
      defaults[name],
      aMinuteAgo,
    );
  }
  return { aws, stream: await startExecutionStream(aws) };
}

export const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

/**
 * A running task, in the liveness indexes since `activeForSeconds` ago and heartbeated a second
 * ago, as the seed and the reference worker write one; with limits of its own, set through the
 * limits route's write, when given.
 */
export async function aTaskActiveFor(
  aws: LocalAws,
  organizationId: string,
  activeForSeconds: number,
  limits?: Limits,
): Promise<string> {
  const execution = anExecution({
    organization_id: organizationId,
    started_at: secondsAgo(activeForSeconds),
    heartbeat_at: secondsAgo(1),
  });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  if (limits)
    await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId: execution.id as string,
      organizationId,
      limits,
    });
  return execution.id as string;
}

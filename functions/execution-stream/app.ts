import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import {
  type ChangeResult,
  type ExecutionStreamDependencies,
  processExecutionStreamBatch,
} from "../../lib/execution-stream.js";
import { MetricUnit } from "../../lib/observability.js";
import type { OutcomeRecorder } from "../../lib/outcome-metrics.js";

export interface ExecutionStreamHandlerDependencies extends ExecutionStreamDependencies, OutcomeRecorder {}

/** Counts of one invocation, published as one EMF line. */
interface Tally {
  records: number;
  childrenStopped: number;
  foreignChildrenSkipped: number;
  childrenNotFound: number;
  cascadesContinued: number;
  eventsPublished: number;
  guardStops: number;
  recordsFailed: number;
  /** Records, or sub-executions within a cascade, that the processor cannot read: set aside, never retried. */
  recordsUnreadable: number;
  cascadesRefused: number;
}

/** Where a record is in its shard and whose it is, and the kind of error: never the record's content. */
function describeRecord(record: DynamoDBRecord, error: unknown) {
  return {
    event_id: record.eventID,
    sequence_number: record.dynamodb?.SequenceNumber,
    task_id: record.dynamodb?.Keys?.id?.S,
    error: error instanceof Error ? error.name : "unknown",
  };
}

/**
 * The executions table's stream processor (DynamoDB Streams event source in AWS; the local stack's
 * poller locally, with the same event shape): the cascade and the task events, partial batch
 * failures reported so that a retry resumes at the record that failed.
 */
export function createExecutionStreamHandler(deps: ExecutionStreamHandlerDependencies) {
  const { logger, metrics } = deps;

  function observe(tally: Tally, result: ChangeResult): void {
    tally.records += 1;
    tally.eventsPublished += result.events.length;
    if (result.guard) {
      if (result.guard.outcome === "stopped") tally.guardStops += 1;
      logger.info("runaway guard stopped a task over its limit", {
        task_id: result.guard.taskId,
        limit_name: result.guard.crossing.limit_name,
        limit: result.guard.crossing.limit,
        usage: result.guard.crossing.usage,
        outcome: result.guard.outcome,
      });
    }
    const report = result.cascade;
    if (!report) return;
    if (report.refused) {
      tally.cascadesRefused += 1;
      // The reason, and the record's id: never the unreadable value itself.
      logger.warn("cascade refused: the parent's organization cannot be read, or its id is no task id", {
        task_id: report.parentId,
        reason: report.refused,
      });
    }
    tally.recordsUnreadable += report.unreadable.length;
    tally.childrenStopped += report.stopped.length;
    tally.childrenNotFound += report.notFound.length;
    tally.cascadesContinued += report.continues ? 1 : 0;
    for (const childId of report.foreign) {
      tally.foreignChildrenSkipped += 1;
      logger.warn("sub-execution of another organization left untouched", {
        parent_id: report.parentId,
        task_id: childId,
      });
    }
    for (const childId of report.unreadable)
      logger.error("stored execution does not satisfy the schema", { parent_id: report.parentId, task_id: childId });
    for (const childId of report.signalsNotDelivered)
      logger.warn("stop signal not delivered; left to the re-drive", { parent_id: report.parentId, task_id: childId });
    if (report.notFound.length > 0)
      logger.info("listed sub-executions not found", { parent_id: report.parentId, count: report.notFound.length });
    if (report.stopped.length > 0) {
      logger.info("cascade stopped sub-executions", {
        parent_id: report.parentId,
        stopped: report.stopped.length,
        continues: report.continues,
      });
    }
  }

  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event) => {
      const tally: Tally = {
        records: 0,
        childrenStopped: 0,
        foreignChildrenSkipped: 0,
        childrenNotFound: 0,
        cascadesContinued: 0,
        eventsPublished: 0,
        guardStops: 0,
        recordsFailed: 0,
        recordsUnreadable: 0,
        cascadesRefused: 0,
      };
      const response = await processExecutionStreamBatch(event.Records, deps, {
        onHandled: (result) => observe(tally, result),
        onUnreadable: (record, error) => {
          tally.recordsUnreadable += 1;
          logger.error("stream record cannot be read; set aside, the shard goes on", describeRecord(record, error));
        },
        onFailed: (record, error) => {
          tally.recordsFailed += 1;
          logger.error("stream record failed; the shard resumes from it", describeRecord(record, error));
        },
      });
      metrics.addMetric("StreamRecordsHandled", MetricUnit.Count, tally.records);
      metrics.addMetric("CascadeChildrenStopped", MetricUnit.Count, tally.childrenStopped);
      metrics.addMetric("CascadeForeignChildrenSkipped", MetricUnit.Count, tally.foreignChildrenSkipped);
      metrics.addMetric("CascadeChildrenNotFound", MetricUnit.Count, tally.childrenNotFound);
      metrics.addMetric("CascadeContinued", MetricUnit.Count, tally.cascadesContinued);
      metrics.addMetric("TaskEventsPublished", MetricUnit.Count, tally.eventsPublished);
      metrics.addMetric("GuardStops", MetricUnit.Count, tally.guardStops);
      // The alarm watches this one (with the function's errors and the failure queue).
      metrics.addMetric("StreamRecordsFailed", MetricUnit.Count, tally.recordsFailed);
      metrics.addMetric("StreamRecordsUnreadable", MetricUnit.Count, tally.recordsUnreadable);
      metrics.addMetric("CascadesRefused", MetricUnit.Count, tally.cascadesRefused);
      return response;
    });
}

import { CfnOutput, Duration, Stack, type StackProps, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import {
  bulkStopJobsQueue,
  type FunctionName,
  functionDefinitions,
  signalChannels,
  taskEventsQueue,
} from "../lib/resources.js";
import { SWEEP_SIGNAL_QUEUES_JOB } from "../lib/signals/queue-sweep.js";
import { Alarms } from "./constructs/alarms.js";
import { ApiKeysTable } from "./constructs/api-keys-table.js";
import { BulkStopsTable } from "./constructs/bulk-stops-table.js";
import { ExecutionStreamProcessing } from "./constructs/execution-stream-processing.js";
import { ExecutionsTable } from "./constructs/executions-table.js";
import { HttpApi } from "./constructs/http-api.js";
import { LimitsTable } from "./constructs/limits-table.js";
import { QueueWithDeadLetter } from "./constructs/queue-with-dead-letter.js";
import { ScheduledRun } from "./constructs/scheduled-run.js";
import { ServiceFunction } from "./constructs/service-function.js";
import { SignalChannel } from "./constructs/signal-queue.js";
import { SweepPositionsTable } from "./constructs/sweep-positions-table.js";
import { TaskEventsBus } from "./constructs/task-events-bus.js";
import { resourcePrefix, type StageName } from "./stages.js";

export interface StopTaskStackProps extends StackProps {
  readonly stage: StageName;
  readonly retainData: boolean;
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: logs.RetentionDays;
  readonly apiTracing: boolean;
  /** An existing topic for the alarms; the stack creates one when absent. */
  readonly alarmTopic?: sns.ITopic;
  /** The example rule: this organization's task events go to the stack's task-events queue. None when absent. */
  readonly taskEventsOrganization?: string;
}

/** PascalCase construct id of a function: `stop-task` -> `StopTask`. */
function constructId(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
}

/**
 * Everything the Stop Task endpoint needs in an account: the API, its functions, the scheduled
 * cleanup, the executions and api-keys tables, the two signal channels (the DLQs and the owner
 * policies; each worker and environment makes its own queue), the executions table's stream and
 * its processor (the cascade and the task events), the task events bus with an example rule, and
 * the alarms. Each function's permissions are exactly its grants below.
 */
export class StopTaskStack extends Stack {
  constructor(scope: Construct, id: string, props: StopTaskStackProps) {
    super(scope, id, props);
    const prefix = resourcePrefix(props.stage);
    const { retainData, logRetention } = props;

    const executions = new ExecutionsTable(this, "ExecutionsTable", { prefix, retainData });
    const apiKeys = new ApiKeysTable(this, "ApiKeysTable", { prefix, retainData });
    const limits = new LimitsTable(this, "LimitsTable", { prefix, retainData });
    const sweepPositions = new SweepPositionsTable(this, "SweepPositionsTable", { prefix, retainData });
    const bulkStops = new BulkStopsTable(this, "BulkStopsTable", { prefix, retainData });
    const bulkStopJobs = new QueueWithDeadLetter(this, "BulkStopJobs", {
      prefix,
      retainData,
      definition: bulkStopJobsQueue,
    });
    const workerSignals = new SignalChannel(this, "StopSignals", {
      prefix,
      retainData,
      definition: signalChannels.workers,
      owners: "workers",
    });
    const environmentCommands = new SignalChannel(this, "AssetCommands", {
      prefix,
      retainData,
      definition: signalChannels.environments,
      owners: "self-hosted environments",
    });
    // The owners' other half of lib/worker/: heartbeat, acknowledge, complete and fail are
    // conditional UpdateItems on the executions table.
    for (const channel of [workerSignals, environmentCommands]) {
      channel.ownerPolicy.addStatements(
        new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [executions.tableArn] }),
      );
    }

    // Each function's timeout is its definition's (lib/resources.ts); all run at 512 MB.
    const functions = {} as Record<FunctionName, ServiceFunction>;
    for (const name of Object.keys(functionDefinitions) as FunctionName[]) {
      functions[name] = new ServiceFunction(this, constructId(name), { prefix, name, logRetention, retainData });
    }

    const taskEvents = new TaskEventsBus(this, "TaskEvents", { prefix });

    // What each function of lib/resources.ts may touch. Keyed by name rather than typed as
    // Record<FunctionName, ...> so that a function added there fails the synth with its name
    // (below) until someone decides its grants here, instead of inheriting another's.
    const grants: Readonly<Record<string, (fn: ServiceFunction) => void>> = {
      "stop-task": (fn) => {
        executions.grantStopWrite(fn);
        apiKeys.grantKeyLookup(fn);
        workerSignals.grantSend(fn, "WORKER_QUEUE_URL_PREFIX");
        // Self-hosted environments receive their stop on the asset-command channel instead.
        environmentCommands.grantSend(fn, "ENVIRONMENT_QUEUE_URL_PREFIX");
      },
      "get-task": (fn) => {
        executions.grantTaskRead(fn);
        apiKeys.grantKeyLookup(fn);
      },
      cleanup: (fn) => {
        executions.grantCleanup(fn);
        // Re-sends go to the channel the original stop used, so both.
        workerSignals.grantSend(fn, "WORKER_QUEUE_URL_PREFIX");
        environmentCommands.grantSend(fn, "ENVIRONMENT_QUEUE_URL_PREFIX");
        // The hourly sweep deletes the queues of workers and environments long gone.
        workerSignals.grantSweep(fn);
        environmentCommands.grantSweep(fn);
        sweepPositions.grantSweepPositions(fn);
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:ListQueues"], resources: ["*"] }));
        Validations.of(fn.role).acknowledge({
          id: "AwsSolutions-IAM5[Resource::*]",
          reason:
            "sqs:ListQueues has no resource type: IAM allows it only on *. It returns queue URLs, " +
            "nothing of their contents; the sweep lists by its channels' name prefixes only.",
        });
        // Stuck executions are stopped through the stop function, the users' path: no API key, IAM decides.
        functions["stop-task"].grantDirectInvoke(fn, "STOP_FUNCTION_NAME");
        // The duration guard stops through the stop core in-process (its UpdateItem and sends are
        // granted above) and reads every organization's defaults.
        limits.grantLimitsList(fn);
      },
      "execution-stream": (fn) => {
        // The cascade stops sub-executions through the stop core in-process: the stop's own write and
        // signal channels, as the stop function has them (lib/aws/stop-dependencies.ts), plus one
        // GetItem of a late sub-execution's parent.
        executions.grantCascade(fn);
        workerSignals.grantSend(fn, "WORKER_QUEUE_URL_PREFIX");
        environmentCommands.grantSend(fn, "ENVIRONMENT_QUEUE_URL_PREFIX");
        taskEvents.grantPut(fn);
        // The runaway guards read an organization's default limits (lib/guards.ts).
        limits.grantLimitsRead(fn);
        // A task born during a hold is stopped there (lib/bulk-stop/holds.ts).
        bulkStops.grantHolds(fn);
      },
      "bulk-stop": (fn) => {
        // Finds its tasks in the organization index and stops each through the stop core in-process.
        executions.grantBulkStop(fn);
        apiKeys.grantKeyLookup(fn);
        workerSignals.grantSend(fn, "WORKER_QUEUE_URL_PREFIX");
        environmentCommands.grantSend(fn, "ENVIRONMENT_QUEUE_URL_PREFIX");
        bulkStops.grantBulkStops(fn);
        // Queues its runs (and their continuations) by URL: SendMessage only.
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [bulkStopJobs.queue.queueArn] }),
        );
        fn.setEnvironment("BULK_STOP_JOBS_QUEUE_URL", bulkStopJobs.queue.queueUrl);
        // Lambda consumes the queue with the role: the three actions AWS's own SQS execution policy
        // (AWSLambdaSQSQueueExecutionRole) names, not CDK's grantConsumeMessages (which adds
        // ChangeMessageVisibility and GetQueueUrl, which the event source does not call).
        const consume = new iam.PolicyStatement({
          actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          resources: [bulkStopJobs.queue.queueArn],
        });
        fn.addToRolePolicy(consume);
        const mapping = fn.function.addEventSourceMapping("BulkStopJobsSource", {
          eventSourceArn: bulkStopJobs.queue.queueArn,
          batchSize: 1,
          reportBatchItemFailures: true,
        });
        // The mapping reads the queue as soon as it exists: only once the role may.
        mapping.node.addDependency(fn.role);
        taskEvents.grantPut(fn);
      },
    };
    for (const fn of Object.values(functions)) {
      const grant = grants[fn.name];
      if (!grant)
        throw new Error(`function ${fn.name} has no grants: add it to the grants of infra/stop-task-stack.ts`);
      grant(fn);
    }

    // The executions table's stream drives the cascade and the task events (the stream read is granted here).
    const executionStream = new ExecutionStreamProcessing(this, "ExecutionStreamSource", {
      prefix,
      retainData,
      table: executions,
      fn: functions["execution-stream"],
    });
    const taskEventsTarget = props.taskEventsOrganization
      ? new QueueWithDeadLetter(this, "TaskEventsQueue", { prefix, retainData, definition: taskEventsQueue })
      : undefined;
    if (props.taskEventsOrganization && taskEventsTarget) {
      taskEvents.routeOrganization("OrganizationRoute", props.taskEventsOrganization, taskEventsTarget);
    }

    new ScheduledRun(this, "CleanupSchedule", {
      prefix,
      fn: functions.cleanup,
      every: Duration.minutes(1),
      description: "Re-sends unacknowledged stop signals and stops stale or over-long executions",
    });
    new ScheduledRun(this, "SignalQueueSweepSchedule", {
      prefix,
      fn: functions.cleanup,
      every: Duration.hours(1),
      ruleName: "signal-queue-sweep-schedule",
      input: { job: SWEEP_SIGNAL_QUEUES_JOB },
      description: "Deletes the stop-signal queues of workers and environments not seen for a day",
    });

    const api = new HttpApi(this, "Api", {
      prefix,
      stageName: props.stage,
      throttling: props.throttling,
      logRetention,
      retainData,
      tracing: props.apiTracing,
      functions: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.function])) as Record<
        FunctionName,
        ServiceFunction["function"]
      >,
    });

    const alarms = new Alarms(this, "Alarms", { prefix, ...(props.alarmTopic ? { topic: props.alarmTopic } : {}) });
    alarms.watchApi(api.api);
    for (const fn of Object.values(functions)) alarms.watchFunction(`${constructId(fn.name)}Function`, fn.function);
    alarms.watchDeadLetterQueue("StopSignalsDlq", workerSignals.deadLetterQueue);
    alarms.watchDeadLetterQueue("AssetCommandsDlq", environmentCommands.deadLetterQueue);
    alarms.watchUndeliverableSignals("cleanup");
    alarms.watchDeadLetterQueue("ExecutionStreamFailures", executionStream.failureQueue);
    alarms.watchDeadLetterQueue("BulkStopJobsDlq", bulkStopJobs.deadLetterQueue);
    alarms.watchStreamIteratorAge("ExecutionStreamFunction", functions["execution-stream"].function);
    if (taskEventsTarget) alarms.watchDeadLetterQueue("TaskEventsDlq", taskEventsTarget.deadLetterQueue);

    new CfnOutput(this, "ApiUrl", { value: api.url, description: "Base URL of the API stage" });
    new CfnOutput(this, "ExecutionsTableName", { value: executions.tableName });
    new CfnOutput(this, "LimitsTableName", {
      value: limits.tableName,
      description: "Pass to `npm run limits -- set --table`",
    });
    new CfnOutput(this, "ApiKeysTableName", {
      value: apiKeys.tableName,
      description: "Pass to `npm run keys -- create --table`",
    });
    // What a worker (or an environment's agent) needs to make its own queue: lib/worker/signal-queue.ts.
    new CfnOutput(this, "WorkerQueueNamePrefix", {
      value: workerSignals.namePrefix,
      description: "A worker's queue: this + its worker_id",
    });
    new CfnOutput(this, "WorkerPolicyArn", {
      value: workerSignals.ownerPolicy.managedPolicyArn,
      description: "Attach to the workers' role",
    });
    new CfnOutput(this, "StopSignalDeadLetterQueueArn", { value: workerSignals.deadLetterQueue.queueArn });
    new CfnOutput(this, "StopSignalDeadLetterQueueUrl", { value: workerSignals.deadLetterQueue.queueUrl });
    new CfnOutput(this, "EnvironmentQueueNamePrefix", {
      value: environmentCommands.namePrefix,
      description: "A self-hosted environment's queue: this + its environment_id",
    });
    new CfnOutput(this, "EnvironmentPolicyArn", {
      value: environmentCommands.ownerPolicy.managedPolicyArn,
      description: "Attach to the self-hosted environments' agent role",
    });
    new CfnOutput(this, "AssetCommandDeadLetterQueueArn", { value: environmentCommands.deadLetterQueue.queueArn });
    new CfnOutput(this, "AssetCommandDeadLetterQueueUrl", { value: environmentCommands.deadLetterQueue.queueUrl });
    new CfnOutput(this, "CleanupFunctionName", {
      value: functions.cleanup.function.functionName,
      description: "Runs every minute; `aws lambda invoke` it for an extra run",
    });
    new CfnOutput(this, "TaskEventBusName", {
      value: taskEvents.bus.eventBusName,
      description: "Task Stopped and related events; add rules of your own",
    });
    if (taskEventsTarget) {
      new CfnOutput(this, "TaskEventsQueueUrl", {
        value: taskEventsTarget.queue.queueUrl,
        description: `Task events of ${props.taskEventsOrganization}, routed by the example rule`,
      });
    }
    new CfnOutput(this, "AlarmTopicArn", {
      value: alarms.topic.topicArn,
      description: "Subscribe an email or pager to it",
    });
  }
}

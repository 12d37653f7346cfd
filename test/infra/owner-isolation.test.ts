import { runSimulation } from "@cloud-copilot/iam-simulate";
import { describe, expect, it } from "vitest";
import { signalChannels } from "../../lib/resources.js";
import { ownerQueueId, signalQueueName } from "../../lib/signals/queue-names.js";
import { PLACEHOLDER, type PolicyDocument, templateResolver, withPrincipalTags } from "./deployed-policies.js";
import { synthesizeStage } from "./synth.js";

/**
 * Owners cannot touch each other's queues (issue 24, item 11; the negative controls of issue 26's
 * deployed proof): the owner policies as deployed, resolved from the synthesized template, run
 * through AWS's evaluation logic as @cloud-copilot/iam-simulate implements it. Each worker (or
 * environment) carries its principal tag; a decision other than Allowed is a denial.
 */

/** The calls an owner makes on its queue (lib/worker/signal-queue.ts, reference-worker.ts), stated apart from the policy. */
const OWNER_CALLS = ["CreateQueue", "GetQueueUrl", "SetQueueAttributes", "TagQueue", "ReceiveMessage", "DeleteMessage"];
const OWNER_QUEUE_ACTIONS = OWNER_CALLS.map((call) => `sqs:${call}`);

const { account, region } = PLACEHOLDER;
const queueArn = (name: string) => `arn:aws:sqs:${region}:${account}:${name}`;

interface Principal {
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
}

async function decide(principal: Principal, action: string, resource: string) {
  const result = await runSimulation(
    {
      identityPolicies: principal.policies.map(({ name, document }) => ({
        name,
        policy: withPrincipalTags(document, principal.tags),
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: principal.arn,
        action,
        resource: { resource, accountId: account },
        contextVariables: Object.fromEntries(
          Object.entries(principal.tags).map(([key, value]) => [`aws:PrincipalTag/${key}`, value]),
        ),
      },
    },
    {},
  );
  // A malformed request is no denial: every decision here must be the simulator's answer to a well-formed one.
  expect(result.resultType, `${action} on ${resource}: ${JSON.stringify(result)}`).toBe("single");
  return result.resultType === "single" ? result.overallResult : "error";
}

describe.each(["dev", "prod"] as const)("owners reach their own queue only, as deployed (%s)", (stage) => {
  const { template } = synthesizeStage(stage);
  const resolver = templateResolver(template);
  const prefix = `stop-task-${stage}`;
  const workerPrefix = `${prefix}-worker-`;
  const environmentPrefix = `${prefix}-env-`;
  const workerPolicy = {
    name: `${prefix}-worker-signal-queue-owner`,
    document: resolver.managedPolicy(`${prefix}-worker-signal-queue-owner`),
  };
  const environmentPolicy = {
    name: `${prefix}-env-signal-queue-owner`,
    document: resolver.managedPolicy(`${prefix}-env-signal-queue-owner`),
  };
  const workerTag = signalChannels.workers.ownerPrincipalTag;
  const environmentTag = signalChannels.environments.ownerPrincipalTag;

  const worker = (id: string): Principal => ({
    arn: `arn:aws:sts::${account}:assumed-role/${prefix}-workers/${id}`,
    tags: { [workerTag]: ownerQueueId(workerPrefix, id) },
    policies: [workerPolicy],
  });
  const environment = (id: string): Principal => ({
    arn: `arn:aws:sts::${account}:assumed-role/${prefix}-environment-agents/${id}`,
    tags: { [environmentTag]: ownerQueueId(environmentPrefix, id) },
    policies: [environmentPolicy],
  });
  const workerQueue = (id: string) => queueArn(signalQueueName(workerPrefix, id));
  const environmentQueue = (id: string) => queueArn(signalQueueName(environmentPrefix, id));

  it.each(OWNER_QUEUE_ACTIONS)(
    "allows worker A %s on its own queue, even when its id is hashed into the name",
    async (action) => {
      expect(await decide(worker("worker-a"), action, workerQueue("worker-a"))).toBe("Allowed");
      expect(await decide(worker("host-7.eu.internal"), action, workerQueue("host-7.eu.internal"))).toBe("Allowed");
    },
  );

  it.each(OWNER_QUEUE_ACTIONS)(
    "denies worker A %s on worker B's queue and on any environment's queue",
    async (action) => {
      for (const resource of [
        workerQueue("worker-b"),
        // A name that merely starts with A's: the policy names the queue whole.
        workerQueue("worker-a2"),
        environmentQueue("env-onprem-eu"),
        environmentQueue("worker-a"),
        queueArn(`${prefix}-stop-signals-dlq`),
      ])
        expect(await decide(worker("worker-a"), action, resource), resource).not.toBe("Allowed");
    },
  );

  it.each(OWNER_QUEUE_ACTIONS)(
    "allows an environment %s on its own queue, and denies it on another's and any worker's",
    async (action) => {
      const own = environment("env-onprem-eu");
      expect(await decide(own, action, environmentQueue("env-onprem-eu"))).toBe("Allowed");
      for (const resource of [environmentQueue("env-other-org"), workerQueue("env-onprem-eu"), workerQueue("worker-a")])
        expect(await decide(own, action, resource), resource).not.toBe("Allowed");
    },
  );

  it.each(OWNER_QUEUE_ACTIONS)("denies %s to a principal with an owner policy but without its tag", async (action) => {
    const untagged = { ...worker("worker-a"), tags: {} };
    const wrongTag = { ...worker("worker-a"), tags: { [environmentTag]: "worker-a" } };
    for (const principal of [untagged, wrongTag])
      for (const resource of [workerQueue("worker-a"), workerQueue("worker-b")])
        expect(await decide(principal, action, resource), resource).not.toBe("Allowed");
  });

  it("lets an owner write the executions table only, of the stack's tables", async () => {
    const table = (name: string) => `arn:aws:dynamodb:${region}:${account}:table/${prefix}-${name}`;
    expect(await decide(worker("worker-a"), "dynamodb:UpdateItem", table("executions"))).toBe("Allowed");
    for (const name of ["api-keys", "limits", "sweep-positions"])
      expect(await decide(worker("worker-a"), "dynamodb:UpdateItem", table(name)), name).not.toBe("Allowed");
    for (const action of ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"])
      expect(await decide(worker("worker-a"), action, table("executions")), action).not.toBe("Allowed");
  });

  it("needs the principal tag resolved before simulation: iam-simulate 0.1.173 denies even the owner a queue ARN with a policy variable", async () => {
    // The finding behind withPrincipalTags (test/infra/deployed-policies.ts). When this starts to
    // answer Allowed, the simulator resolves such ARNs itself: simulate the raw policy and drop the step.
    const result = await runSimulation(
      {
        identityPolicies: [{ name: workerPolicy.name, policy: workerPolicy.document }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          principal: worker("worker-a").arn,
          action: "sqs:TagQueue",
          resource: { resource: workerQueue("worker-a"), accountId: account },
          contextVariables: { [`aws:PrincipalTag/${workerTag}`]: "worker-a" },
        },
      },
      {},
    );
    expect(result.resultType === "single" && result.overallResult).toBe("ImplicitlyDenied");
  });
});

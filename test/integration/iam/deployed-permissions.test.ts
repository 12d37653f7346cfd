import { runSimulation } from "@cloud-copilot/iam-simulate";
import { beforeAll, describe, expect, it } from "vitest";
import { signalChannels } from "../../../lib/resources.js";
import { ownerQueueId } from "../../../lib/signals/queue-names.js";
import {
  PLACEHOLDER,
  type PolicyDocument,
  STREAM_LABEL,
  templateResolver,
  withPrincipalTags,
} from "../../infra/deployed-policies.js";
import { synthesizeStage } from "../../infra/synth.js";
import { markdownTableRows } from "../../support/doc-tables.js";
import { type IamRequest, iamRequestsOf } from "../../support/iam-requests.js";
import { type Caller, type RecordedRun, recordEveryComponent } from "./recorded-flows.js";

/**
 * Issue 26: every AWS call each component makes is allowed by its deployed identity under AWS's
 * own evaluation logic (@cloud-copilot/iam-simulate), and nothing more is granted.
 *
 * recorded-flows.ts runs every component's flows on the emulators with recording clients; each
 * recorded request becomes the IAM request AWS would decide on (test/support/iam-requests.ts), in
 * each stage's names, and is simulated against the policies resolved from that stage's synthesized
 * template (test/infra/deployed-policies.ts), with the resource's own policy where it has one.
 */

const { account } = PLACEHOLDER;
const DOC = "docs/deploy.md";
const functionNames = ["stop-task", "get-task", "cleanup", "execution-stream", "bulk-stop"] as const;
type FunctionName = (typeof functionNames)[number];

let run: RecordedRun;
beforeAll(async () => {
  run = await recordEveryComponent();
}, 180_000);

type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

interface Identity {
  /** The role (or owner policy) as the permission table names it. */
  readonly role: string;
  readonly principal: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The policies as written (policy variables unresolved), and as the simulator gets them. */
  readonly written: readonly { readonly name: string; readonly document: PolicyDocument }[];
}

interface Simulated {
  readonly decision: Decision;
  /** The statements that decided: the denying ones, or the allowing ones, or what came closest. */
  readonly why: string;
}

interface Grant {
  readonly role: string;
  readonly action: string;
  readonly resource: string;
}

/** IAM's resource and action matching: `*` any run of characters, `?` one; actions case-insensitive. */
function globMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

const list = (value: string | readonly string[]) => (typeof value === "string" ? [value] : [...value]);

function stageProof(stage: "dev" | "prod") {
  const { template } = synthesizeStage(stage);
  const resolver = templateResolver(template);
  const prefix = `stop-task-${stage}`;
  const resourcePolicies = resolver.resourcePolicies();
  const ownerPolicy = (part: string) => {
    const name = `${prefix}-${part}-signal-queue-owner`;
    return { name, document: resolver.managedPolicy(name) };
  };
  const workerPolicy = ownerPolicy("worker");
  const environmentPolicy = ownerPolicy("env");
  const functionRole = (name: FunctionName) => ({
    name: `${prefix}-${name}`,
    document: resolver.rolePolicy(`${prefix}-${name}: writes its own log group; tables and queues grant the rest`),
  });

  function identityOf(caller: Caller): Identity | undefined {
    if (caller.kind === "function") {
      const policy = functionRole(caller.name);
      return {
        role: caller.name,
        principal: `arn:aws:sts::${account}:assumed-role/${policy.name}/${policy.name}`,
        tags: {},
        written: [policy],
      };
    }
    if (caller.kind === "worker")
      return ownerIdentity("worker-signal-queue-owner", workerPolicy, signalChannels.workers, caller.ownerId);
    if (caller.kind === "environment")
      return ownerIdentity("env-signal-queue-owner", environmentPolicy, signalChannels.environments, caller.ownerId);
    return undefined;
  }

  function ownerIdentity(
    role: string,
    policy: { name: string; document: PolicyDocument },
    channel: (typeof signalChannels)[keyof typeof signalChannels],
    ownerId: string,
    tags: Record<string, string> = {
      [channel.ownerPrincipalTag]: ownerQueueId(`${prefix}-${channel.ownerQueuePart}-`, ownerId),
    },
  ): Identity {
    return {
      role,
      principal: `arn:aws:sts::${account}:assumed-role/${prefix}-owners/${ownerId}`,
      tags,
      written: [policy],
    };
  }

  const deployedName = (localName: string) =>
    localName.startsWith(`${run.localPrefix}-`) ? `${prefix}${localName.slice(run.localPrefix.length)}` : localName;

  /** Each recorded call as IAM requests, with its caller. */
  function requests() {
    return run.calls.flatMap(({ caller, scenario, request }) =>
      iamRequestsOf(request, deployedName).map((iam) => ({ caller, scenario, iam })),
    );
  }

  async function simulate(
    identity: Pick<Identity, "principal" | "tags" | "written">,
    request: IamRequest,
    options: { resourcePolicy?: PolicyDocument | undefined } = {},
  ): Promise<Simulated> {
    const resourcePolicy = options.resourcePolicy ?? resourcePolicies.get(request.resource);
    const result = await runSimulation(
      {
        identityPolicies: identity.written.map(({ name, document }) => ({
          name,
          // The owner policies name the queue by `${aws:PrincipalTag/...}`: resolved for this principal
          // first (deployed-policies.ts says why the simulator needs it).
          policy: withPrincipalTags(document, identity.tags),
        })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        request: {
          principal: identity.principal,
          action: request.action,
          resource: { resource: request.resource, accountId: account },
          contextVariables: {
            ...Object.fromEntries(Object.entries(request.context).map(([key, value]) => [key, list(value)])),
            ...Object.fromEntries(
              Object.entries(identity.tags).map(([key, value]) => [`aws:PrincipalTag/${key}`, value]),
            ),
          },
        },
      },
      {},
    );
    if (result.resultType === "error")
      throw new Error(`${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
    const analyses =
      result.resultType === "single"
        ? [result.result.analysis]
        : result.results.map((resourceResult) => resourceResult.analysis);
    const statements = analyses.flatMap((analysis) => [
      ...(analysis.identityAnalysis?.denyStatements ?? []).map((s) => ({ kind: "identity deny", s })),
      ...(analysis.resourceAnalysis?.denyStatements ?? []).map((s) => ({ kind: "resource policy deny", s })),
      ...(analysis.identityAnalysis?.allowStatements ?? []).map((s) => ({ kind: "identity allow", s })),
      ...(analysis.resourceAnalysis?.allowStatements ?? []).map((s) => ({ kind: "resource policy allow", s })),
    ]);
    const near = analyses.flatMap((analysis) =>
      (analysis.identityAnalysis?.unmatchedStatements ?? [])
        .filter((s) => s.actionMatch)
        .map((s) => ({ kind: "identity statement for the action, on another resource", s })),
    );
    const why = (statements.length > 0 ? statements : near)
      .map(({ kind, s }) => `${kind} (${s.policyId}): ${JSON.stringify(s.statement.toJSON?.() ?? s.statement)}`)
      .join("; ");
    return { decision: result.overallResult as Decision, why: why || "no statement names this action" };
  }

  /** Every Allow of an identity's written policies, one action and one resource pattern each. */
  function grantsOf(identity: Identity): Grant[] {
    return identity.written.flatMap(({ document }) =>
      document.Statement.filter((statement) => statement.Effect === "Allow").flatMap((statement) =>
        list(statement.Action).flatMap((action) =>
          list(statement.Resource).map((resource) => ({ role: identity.role, action, resource })),
        ),
      ),
    );
  }

  /** Whether a grant covers a request of a caller, the caller's principal tags put in the pattern. */
  function covers(grant: Grant, identity: Identity, request: IamRequest): boolean {
    const pattern = grant.resource.replace(
      /\$\{aws:PrincipalTag\/([^}]+)\}/gi,
      (_whole, key: string) => identity.tags[key] ?? "\u0000unresolved",
    );
    return globMatches(grant.action, request.action, true) && globMatches(pattern, request.resource);
  }

  /** How docs/deploy.md writes a resource: without the placeholder region and account, the stage as `<stage>`. */
  function shown(resource: string): string {
    return resource
      .replace(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:/, "")
      .replaceAll(prefix, "stop-task-<stage>")
      .replaceAll(STREAM_LABEL, "*");
  }

  return { prefix, identityOf, ownerIdentity, requests, simulate, grantsOf, covers, shown, resourcePolicies, resolver };
}

const identityKinds: readonly { readonly role: string; readonly caller: Caller }[] = [
  ...functionNames.map((name) => ({ role: name, caller: { kind: "function", name } as const })),
  { role: "worker-signal-queue-owner", caller: { kind: "worker", ownerId: "any" } },
  { role: "env-signal-queue-owner", caller: { kind: "environment", ownerId: "any" } },
];

/** The service-made uses of a role's grants (docs/deploy.md): role, action, resource as shown, reason. */
const serviceGrants = markdownTableRows(DOC, "### Grants only AWS uses").map(
  ([role = "", action = "", resource = ""]) => ({
    role,
    action,
    resource,
  }),
);

const isServiceGrant = (grant: { role: string; action: string; resource: string }) =>
  serviceGrants.some(
    (row) =>
      (row.role === grant.role ||
        (row.role === "every function" && (functionNames as readonly string[]).includes(grant.role))) &&
      row.action
        .split(",")
        .map((action) => action.trim())
        .includes(grant.action) &&
      row.resource.replaceAll("<function>", grant.role) === grant.resource,
  );

describe.each(["dev", "prod"] as const)("the deployed permissions (%s)", (stage) => {
  const proof = stageProof(stage);

  it("records calls of every component: each function, the reference worker, the Python kit, the operators", () => {
    const seen = new Set(
      run.calls.map(({ caller }) =>
        caller.kind === "function" ? caller.name : caller.kind === "operator" ? caller.command : caller.kind,
      ),
    );
    expect([...seen].sort()).toEqual(
      [...functionNames, "worker", "environment", "npm run keys", "npm run limits", "npm run stops"].sort(),
    );
    expect(run.calls.some(({ scenario }) => scenario.startsWith("python kit"))).toBe(true);
  });

  it("allows every recorded call under its own deployed identity (and the resource's policy)", async () => {
    const failures: string[] = [];
    const decided = new Set<string>();
    for (const { caller, scenario, iam } of proof.requests()) {
      const identity = proof.identityOf(caller);
      if (!identity) continue; // an operator's own credentials: no role of the stack's (the table below lists them)
      const key = `${identity.principal} ${iam.action} ${iam.resource} ${JSON.stringify(iam.context)}`;
      if (decided.has(key)) continue;
      decided.add(key);
      const { decision, why } = await proof.simulate(identity, iam);
      if (decision !== "Allowed")
        failures.push(`${scenario}: ${iam.action} on ${iam.resource} by ${identity.role} is ${decision}: ${why}`);
    }
    expect(decided.size).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });

  it("grants each role nothing its recorded calls do not use, besides the grants only AWS uses", () => {
    const unused: string[] = [];
    const requests = proof.requests();
    for (const { role, caller } of identityKinds) {
      const identity = proof.identityOf(caller) as Identity;
      for (const grant of proof.grantsOf(identity)) {
        const used = requests.some(({ caller: by, iam }) => {
          const byIdentity = proof.identityOf(by);
          return byIdentity?.role === role && proof.covers(grant, byIdentity, iam);
        });
        const shownGrant = { role, action: grant.action, resource: proof.shown(grant.resource) };
        if (used && isServiceGrant(shownGrant))
          unused.push(`${role} ${grant.action} ${shownGrant.resource}: listed as AWS's only, but a component calls it`);
        if (!used && !isServiceGrant(shownGrant)) unused.push(`${role} ${grant.action} ${shownGrant.resource}`);
      }
    }
    expect(unused).toEqual([]);
  });

  it("lists in docs/deploy.md exactly the grants only AWS uses, each with its reason", () => {
    const granted = identityKinds.flatMap(({ caller }) => {
      const identity = proof.identityOf(caller) as Identity;
      return proof.grantsOf(identity).map((grant) => ({ ...grant, resource: proof.shown(grant.resource) }));
    });
    for (const row of markdownTableRows(DOC, "### Grants only AWS uses")) {
      const [role = "", action = "", resource = "", reason = ""] = row;
      expect(reason.length, row.join(" | ")).toBeGreaterThan(20);
      for (const one of action.split(",").map((each) => each.trim()))
        expect(
          granted.some((grant) => isServiceGrant(grant) && grant.action === one),
          `${role} ${one} ${resource} is not granted any more`,
        ).toBe(true);
    }
  });

  it("shows in docs/deploy.md each permission in use: role, action, resource, the flow that uses it", () => {
    const requests = proof.requests();
    const rows: string[] = [];
    for (const { role, caller } of identityKinds) {
      const identity = proof.identityOf(caller) as Identity;
      for (const grant of proof.grantsOf(identity)) {
        const first = requests.find(({ caller: by, iam }) => {
          const byIdentity = proof.identityOf(by);
          return byIdentity?.role === role && proof.covers(grant, byIdentity, iam);
        });
        if (first)
          rows.push(`| ${role} | \`${grant.action}\` | \`${proof.shown(grant.resource)}\` | ${first.scenario} |`);
      }
    }
    for (const { caller, scenario, iam } of requests) {
      if (caller.kind !== "operator") continue;
      const row = `| operator: ${caller.command} | \`${iam.action}\` | \`${proof.shown(iam.resource)}\` | ${scenario} |`;
      if (!rows.some((existing) => existing.startsWith(row.slice(0, row.lastIndexOf("|", row.length - 2)))))
        rows.push(row);
    }
    const documented = markdownTableRows(DOC, "### Permissions in use").map(
      (cells) => `| ${cells[0]} | \`${cells[1]}\` | \`${cells[2]}\` | ${cells[3]} |`,
    );
    expect(documented, `the table docs/deploy.md should hold:\n${rows.join("\n")}`).toEqual(rows);
  });

  describe("negative controls: each must be denied", () => {
    it("denies each function's role every call of the other components that none of its own grants covers", async () => {
      const requests = proof.requests();
      const allowed: string[] = [];
      let controls = 0;
      for (const name of functionNames) {
        const identity = proof.identityOf({ kind: "function", name }) as Identity;
        const grants = proof.grantsOf(identity);
        const seen = new Set<string>();
        for (const { iam } of requests) {
          if (grants.some((grant) => proof.covers(grant, identity, iam))) continue;
          const key = `${iam.action} ${iam.resource}`;
          if (seen.has(key)) continue;
          seen.add(key);
          controls += 1;
          const { decision, why } = await proof.simulate(identity, iam);
          if (decision === "Allowed") allowed.push(`${name}: ${key}: ${why}`);
        }
      }
      expect(controls).toBeGreaterThan(20);
      expect(allowed).toEqual([]);
    });

    it("denies the bulk stop function the other tables and the executions table's other indexes, and the others the organization index and the bulk stops beyond their grants", async () => {
      const table = (name: string) => `arn:aws:dynamodb:${PLACEHOLDER.region}:${account}:table/${proof.prefix}-${name}`;
      const executionsIndex = (name: string) => `${table("executions")}/index/${name}`;
      const controls: Record<FunctionName, readonly (readonly [string, string])[]> = {
        "bulk-stop": [
          ["dynamodb:GetItem", table("executions")],
          ["dynamodb:Scan", table("executions")],
          ["dynamodb:Query", table("executions")],
          ...["signal-redrive", "active-by-heartbeat", "active-by-start", "active-by-deadline"].map(
            (index) => ["dynamodb:Query", executionsIndex(index)] as const,
          ),
          ["dynamodb:GetItem", table("limits")],
          ["dynamodb:PutItem", table("limits")],
          ["dynamodb:GetItem", table("sweep-positions")],
          ["dynamodb:PutItem", table("api-keys")],
          ["dynamodb:Query", `${table("bulk-stops")}/index/holds-by-organization`],
          ["dynamodb:DeleteItem", table("bulk-stops")],
          ["dynamodb:Scan", table("bulk-stops")],
        ],
        cleanup: [
          ["dynamodb:Query", executionsIndex("active-by-organization")],
          ["dynamodb:GetItem", table("bulk-stops")],
          ["dynamodb:UpdateItem", table("bulk-stops")],
        ],
        "execution-stream": [
          ["dynamodb:Query", executionsIndex("active-by-organization")],
          ["dynamodb:GetItem", table("bulk-stops")],
          ["dynamodb:PutItem", table("bulk-stops")],
          ["dynamodb:Query", table("bulk-stops")],
        ],
        "stop-task": [
          ["dynamodb:Query", executionsIndex("active-by-organization")],
          ["dynamodb:GetItem", table("bulk-stops")],
        ],
        "get-task": [
          ["dynamodb:Query", executionsIndex("active-by-organization")],
          ["dynamodb:GetItem", table("bulk-stops")],
        ],
      };
      const allowed: string[] = [];
      for (const name of functionNames) {
        const identity = proof.identityOf({ kind: "function", name }) as Identity;
        for (const [action, resource] of controls[name]) {
          const { decision, why } = await proof.simulate(identity, {
            action,
            resource,
            context: { "aws:SecureTransport": "true" },
          });
          if (decision === "Allowed") allowed.push(`${name}: ${action} on ${resource}: ${why}`);
        }
      }
      expect(allowed).toEqual([]);
    });

    it("denies a worker, and an environment, every call another owner made on its own queue", async () => {
      const allowed: string[] = [];
      let controls = 0;
      for (const { caller, iam } of proof.requests()) {
        if ((caller.kind !== "worker" && caller.kind !== "environment") || !iam.action.startsWith("sqs:")) continue;
        const others = [
          proof.identityOf({ kind: caller.kind, ownerId: `${caller.ownerId}-other` }) as Identity,
          proof.identityOf({
            kind: caller.kind === "worker" ? "environment" : "worker",
            ownerId: caller.ownerId,
          }) as Identity,
          // The owner policy attached without its tag reaches no queue at all.
          { ...(proof.identityOf(caller) as Identity), tags: {} },
        ];
        for (const other of others) {
          controls += 1;
          const { decision, why } = await proof.simulate(other, iam);
          if (decision === "Allowed")
            allowed.push(`${iam.action} on ${iam.resource} by ${JSON.stringify(other.tags)}: ${why}`);
        }
      }
      expect(controls).toBeGreaterThan(10);
      expect(allowed).toEqual([]);
    });

    it("denies every request without TLS to each queue and topic with a TLS-only policy, which it otherwise allows", async () => {
      expect(proof.resourcePolicies.size).toBeGreaterThanOrEqual(stage === "dev" ? 6 : 4);
      for (const [resource, policy] of proof.resourcePolicies) {
        const action = resource.includes(":sns:") ? "sns:Publish" : "sqs:SendMessage";
        // A role of the account that its own policy allows: only the resource policy's deny can stop it.
        const caller = {
          principal: `arn:aws:iam::${account}:role/anyone-allowed`,
          tags: {},
          written: [
            {
              name: "allows-it",
              document: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow" as const, Action: action, Resource: resource }],
              },
            },
          ],
        };
        const over = (secure: string) => ({ action, resource, context: { "aws:SecureTransport": secure } });
        expect((await proof.simulate(caller, over("true"), { resourcePolicy: policy })).decision, resource).toBe(
          "Allowed",
        );
        const plain = await proof.simulate(caller, over("false"), { resourcePolicy: policy });
        expect(plain.decision, `${resource}: ${plain.why}`).toBe("ExplicitlyDenied");
      }
    });

    it("lets EventBridge send to the task-events queues only for the example rule", async () => {
      const queues = [...proof.resourcePolicies.keys()].filter((arn) =>
        /:stop-task-[a-z]+-task-events(-dlq)?$/.test(arn),
      );
      if (stage === "prod") {
        expect(queues).toEqual([]); // prod has no example rule, and no such queue
        return;
      }
      expect(queues).toHaveLength(2);
      const rule = `arn:aws:events:${PLACEHOLDER.region}:${account}:rule/${proof.prefix}-task-events/${proof.prefix}-org-demo-task-events`;
      const events = { principal: "events.amazonaws.com", tags: {}, written: [] };
      for (const resource of queues) {
        const send = (context: Record<string, string>) => ({
          action: "sqs:SendMessage",
          resource,
          context: { "aws:SecureTransport": "true", ...context },
        });
        expect(
          (await proof.simulate(events, send({ "aws:SourceArn": rule, "aws:SourceAccount": account }))).decision,
        ).toBe("Allowed");
        for (const source of [
          `arn:aws:events:${PLACEHOLDER.region}:${account}:rule/${proof.prefix}-task-events/another-rule`,
          `arn:aws:events:${PLACEHOLDER.region}:${account}:rule/${proof.prefix}-cleanup-schedule`,
          rule.replace(account, "210987654321"),
        ])
          expect((await proof.simulate(events, send({ "aws:SourceArn": source }))).decision, source).not.toBe(
            "Allowed",
          );
        expect((await proof.simulate(events, send({}))).decision, "no source").not.toBe("Allowed");
        // Any other principal, of this account or another, with no identity grant of its own.
        for (const principal of [`arn:aws:iam::${account}:role/someone`, "arn:aws:iam::210987654321:root"])
          expect(
            (await proof.simulate({ principal, tags: {}, written: [] }, send({ "aws:SourceArn": rule }))).decision,
            principal,
          ).not.toBe("Allowed");
      }
    });
  });
});

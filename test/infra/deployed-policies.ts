import type { Template } from "aws-cdk-lib/assertions";
import type { CfnResource } from "./synth.js";

/**
 * The synthesized template's policies as IAM would see them once deployed: every Ref, Fn::GetAtt,
 * Fn::Join, Fn::Sub, Fn::Select and Fn::Split resolved to the physical names the stack gives, in
 * one placeholder account and region. A form this does not know fails loudly rather than guess.
 */
export const PLACEHOLDER = { account: "123456789012", region: "eu-west-1", partition: "aws" } as const;

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: unknown;
  readonly Principal?: unknown;
  readonly Sid?: string;
}

const pseudoParameters: Record<string, string> = {
  "AWS::Partition": PLACEHOLDER.partition,
  "AWS::Region": PLACEHOLDER.region,
  "AWS::AccountId": PLACEHOLDER.account,
  "AWS::URLSuffix": "amazonaws.com",
};

const physicalNameProperty: Record<string, string> = {
  "AWS::DynamoDB::Table": "TableName",
  "AWS::SQS::Queue": "QueueName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::Events::EventBus": "Name",
  "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::Events::Rule": "Name",
  "AWS::SNS::Topic": "TopicName",
};

/** The label in a table's stream ARN is the stream's creation time: any fixed one stands for it. */
export const STREAM_LABEL = "2026-01-01T00:00:00.000";

export function templateResolver(template: Template) {
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const { account, region, partition } = PLACEHOLDER;

  function physicalName(logicalId: string): { type: string; name: string } {
    const resource = resources[logicalId];
    const property = resource ? physicalNameProperty[resource.Type] : undefined;
    const name = property ? resource?.Properties?.[property] : undefined;
    if (!resource || typeof name !== "string") throw new Error(`no physical name known for ${logicalId}`);
    return { type: resource.Type, name };
  }

  function ref(name: string): string {
    const pseudo = pseudoParameters[name];
    if (pseudo) return pseudo;
    const { type, name: physical } = physicalName(name);
    // SQS's Ref is the queue URL, SNS's the topic ARN; the others' is the name.
    if (type === "AWS::SQS::Queue") return `https://sqs.${region}.amazonaws.com/${account}/${physical}`;
    if (type === "AWS::SNS::Topic") return `arn:${partition}:sns:${region}:${account}:${physical}`;
    return physical;
  }

  function arn(logicalId: string): string {
    const { type, name } = physicalName(logicalId);
    const arns: Record<string, string> = {
      "AWS::DynamoDB::Table": `arn:${partition}:dynamodb:${region}:${account}:table/${name}`,
      "AWS::SQS::Queue": `arn:${partition}:sqs:${region}:${account}:${name}`,
      "AWS::Lambda::Function": `arn:${partition}:lambda:${region}:${account}:function:${name}`,
      "AWS::Events::EventBus": `arn:${partition}:events:${region}:${account}:event-bus/${name}`,
      "AWS::Logs::LogGroup": `arn:${partition}:logs:${region}:${account}:log-group:${name}:*`,
      // A rule on a custom bus has the bus's name in its ARN.
      "AWS::Events::Rule": `arn:${partition}:events:${region}:${account}:rule/${ruleBus(logicalId)}${name}`,
    };
    const found = arns[type];
    if (!found) throw new Error(`no ARN form known for ${type}`);
    return found;
  }

  function ruleBus(logicalId: string): string {
    const bus = resources[logicalId]?.Properties?.EventBusName;
    return bus === undefined ? "" : `${String(resolve(bus))}/`;
  }

  function resolve(value: unknown): unknown {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== "object") throw new Error(`cannot resolve ${JSON.stringify(value)}`);
    const entries = Object.entries(value);
    const [[key, argument] = ["", undefined]] = entries;
    if (entries.length === 1 && key === "Ref") return ref(String(argument));
    if (entries.length === 1 && key === "Fn::GetAtt") {
      const [logicalId, attribute] = argument as [string, string];
      if (attribute === "StreamArn") return `${arn(logicalId)}/stream/${STREAM_LABEL}`;
      if (attribute !== "Arn") throw new Error(`Fn::GetAtt ${attribute} is not resolved here`);
      return arn(logicalId);
    }
    if (entries.length === 1 && key === "Fn::Join") {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolve(parts) as unknown[]).map(String).join(separator);
    }
    if (entries.length === 1 && key === "Fn::Select") {
      const [index, list] = argument as [number, unknown];
      return (resolve(list) as unknown[])[index];
    }
    if (entries.length === 1 && key === "Fn::Split") {
      const [separator, source] = argument as [string, unknown];
      return String(resolve(source)).split(separator);
    }
    if (entries.length === 1 && key === "Fn::Sub") {
      if (typeof argument !== "string") throw new Error("Fn::Sub with a variable map is not resolved here");
      // `${!Literal}` stays `${Literal}`: how a template writes an IAM policy variable inside Fn::Sub.
      return argument.replace(/\$\{(!?)([^}]+)\}/g, (_whole, literal: string, name: string) =>
        literal ? `\${${name}}` : name.includes(".") ? arn(name.split(".")[0] ?? "") : ref(name),
      );
    }
    if (key.startsWith("Fn::")) throw new Error(`${key} is not resolved here`);
    return Object.fromEntries(entries.map(([name, inner]) => [name, resolve(inner)]));
  }

  return {
    /** The document of the managed policy named `managedPolicyName`, resolved. */
    managedPolicy(managedPolicyName: string): PolicyDocument {
      const found = Object.values(resources).filter(
        (resource) =>
          resource.Type === "AWS::IAM::ManagedPolicy" && resource.Properties?.ManagedPolicyName === managedPolicyName,
      );
      if (found.length !== 1)
        throw new Error(`expected one managed policy ${managedPolicyName}, found ${found.length}`);
      return resolve(found[0]?.Properties?.PolicyDocument) as PolicyDocument;
    },
    /**
     * The one identity policy of the role whose Description is `roleDescription` (each function's
     * role has exactly one, test/infra/iam.test.ts), resolved.
     */
    rolePolicy(roleDescription: string): PolicyDocument {
      const roles = Object.entries(resources).filter(
        ([, resource]) => resource.Type === "AWS::IAM::Role" && resource.Properties?.Description === roleDescription,
      );
      if (roles.length !== 1) throw new Error(`expected one role "${roleDescription}", found ${roles.length}`);
      const [roleId] = roles[0] as [string, CfnResource];
      const policies = Object.values(resources).filter(
        (resource) =>
          resource.Type === "AWS::IAM::Policy" &&
          JSON.stringify(resource.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]),
      );
      if (policies.length !== 1) throw new Error(`expected one policy on ${roleId}, found ${policies.length}`);
      return resolve(policies[0]?.Properties?.PolicyDocument) as PolicyDocument;
    },
    /** The resource policies the stack sets (queue and topic policies), by the ARN of the resource each governs. */
    resourcePolicies(): Map<string, PolicyDocument> {
      const byArn = new Map<string, PolicyDocument>();
      for (const resource of Object.values(resources)) {
        const governed =
          resource.Type === "AWS::SQS::QueuePolicy"
            ? ((resource.Properties?.Queues ?? []) as unknown[]).map((queue) => {
                const url = String(resolve(queue));
                return `arn:${partition}:sqs:${region}:${account}:${url.split("/").pop()}`;
              })
            : resource.Type === "AWS::SNS::TopicPolicy"
              ? ((resource.Properties?.Topics ?? []) as unknown[]).map((topic) => String(resolve(topic)))
              : [];
        for (const arnGoverned of governed)
          byArn.set(arnGoverned, resolve(resource.Properties?.PolicyDocument) as PolicyDocument);
      }
      return byArn;
    },
    resolve,
  };
}

/**
 * IAM's substitution of `${aws:PrincipalTag/KEY}` in a policy's Resource, for one principal:
 * the principal's tag value takes the variable's place; a resource naming a tag the principal does
 * not carry matches nothing ("if AWS cannot resolve a variable, this can make the entire statement
 * invalid", IAM User Guide, policy variables), and a statement left with no resource is dropped.
 *
 * Why here: @cloud-copilot/iam-simulate 0.1.173 substitutes policy variables, but splits an SQS
 * ARN's resource at the first `:` or `/` to find a resource-type part (as in `table/...`), and a
 * queue name has none: the `:` and `/` inside `${aws:PrincipalTag/...}` are taken for one, and the
 * owner itself is denied (`productMismatch`). test/infra/owner-isolation.test.ts holds that finding,
 * so this step goes when the simulator no longer needs it. Everything else, the actions, the ARN
 * match and the decision, is the simulator's.
 */
export function withPrincipalTags(document: PolicyDocument, tags: Readonly<Record<string, string>>): PolicyDocument {
  const byKey = new Map(Object.entries(tags).map(([key, value]) => [key.toLowerCase(), value]));
  const substitute = (resource: string): string | undefined => {
    let unresolved = false;
    const resolved = resource.replace(/\$\{aws:PrincipalTag\/([^}]+)\}/gi, (_whole, key: string) => {
      const value = byKey.get(key.toLowerCase());
      if (value === undefined) unresolved = true;
      return value ?? "";
    });
    return unresolved ? undefined : resolved;
  };
  const statements = document.Statement.flatMap((statement) => {
    const resources = (typeof statement.Resource === "string" ? [statement.Resource] : statement.Resource)
      .map(substitute)
      .filter((resource): resource is string => resource !== undefined);
    return resources.length === 0 ? [] : [{ ...statement, Resource: resources }];
  });
  return { ...document, Statement: statements };
}

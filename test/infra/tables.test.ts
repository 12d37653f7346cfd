import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { tables } from "../../lib/resources.js";
import { logicalIdWhere, synthesizeStage } from "./synth.js";

const definitions = Object.values(tables);

type KeyAttribute = { readonly name: string; readonly type: string };
type IndexDefinition = {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projectedAttributes?: readonly string[];
};

/** Every key attribute of the table and its indexes, once each (indexes may share one). */
function expectedAttributes(definition: {
  partitionKey: KeyAttribute;
  globalSecondaryIndexes: readonly IndexDefinition[];
}) {
  const keys = [
    definition.partitionKey,
    ...definition.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, index.sortKey ?? []].flat()),
  ];
  const byName = new Map(keys.map((key) => [key.name, { AttributeName: key.name, AttributeType: key.type }]));
  return [...byName.values()].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName));
}

function expectedKeySchema(index: IndexDefinition) {
  return [
    { AttributeName: index.partitionKey.name, KeyType: "HASH" },
    ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: "RANGE" }] : []),
  ];
}

describe("DynamoDB tables built from lib/resources.ts", () => {
  const { template } = synthesizeStage("dev");

  it("creates exactly the tables lib/resources.ts defines", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", definitions.length);
  });

  it.each(definitions.map((definition) => [definition.logicalName, definition] as const))(
    "builds the %s table with its keys, indexes, stream, on-demand capacity and encryption",
    (logicalName, definition) => {
      template.hasResourceProperties("AWS::DynamoDB::Table", {
        TableName: `stop-task-dev-${logicalName}`,
        KeySchema: Match.exact([{ AttributeName: definition.partitionKey.name, KeyType: "HASH" }]),
        BillingMode: "PAY_PER_REQUEST",
        // AWS-managed KMS key: no SSEType/KMSMasterKeyId, so no key policy or kms grant exists.
        SSESpecification: Match.exact({ SSEEnabled: true }),
        GlobalSecondaryIndexes:
          definition.globalSecondaryIndexes.length === 0
            ? Match.absent()
            : Match.exact(
                (definition.globalSecondaryIndexes as readonly IndexDefinition[]).map((index) => ({
                  IndexName: index.indexName,
                  KeySchema: expectedKeySchema(index),
                  Projection: index.projectedAttributes
                    ? { ProjectionType: "INCLUDE", NonKeyAttributes: [...index.projectedAttributes] }
                    : { ProjectionType: "ALL" },
                })),
              ),
      });
      template.hasResourceProperties("AWS::DynamoDB::Table", {
        TableName: `stop-task-dev-${logicalName}`,
        StreamSpecification: "stream" in definition ? { StreamViewType: definition.stream } : Match.absent(),
      });
      const table = Object.values(template.findResources("AWS::DynamoDB::Table")).find(
        (resource) => resource.Properties.TableName === `stop-task-dev-${logicalName}`,
      );
      const attributes = [...(table?.Properties.AttributeDefinitions ?? [])].sort(
        (a: { AttributeName: string }, b: { AttributeName: string }) => a.AttributeName.localeCompare(b.AttributeName),
      );
      expect(attributes).toEqual(expectedAttributes(definition));
    },
  );

  it("gives the executions table its active-by-deadline index, carrying only what the duration guard reads", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "stop-task-dev-executions",
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: "active-by-deadline",
          KeySchema: [
            { AttributeName: "idx_active_shard", KeyType: "HASH" },
            { AttributeName: "idx_deadline_at", KeyType: "RANGE" },
          ],
          // No idx_heartbeat_at: a heartbeat writes nothing to this index.
          Projection: {
            ProjectionType: "INCLUDE",
            NonKeyAttributes: ["organization_id", "status", "limits", "idx_active_since"],
          },
        },
      ]),
    });
  });

  it("gives the api-keys table its by-key-id index for the keys command", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "stop-task-dev-api-keys",
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: "by-key-id" })],
    });
  });
});

describe("table protection by stage", () => {
  it("lets dev tables be destroyed, without PITR or deletion protection", () => {
    const { template } = synthesizeStage("dev");
    for (const definition of definitions) {
      const logicalId = logicalIdWhere(
        template,
        "AWS::DynamoDB::Table",
        "TableName",
        `stop-task-dev-${definition.logicalName}`,
      );
      const resource = template.toJSON().Resources[logicalId];
      expect(resource.DeletionPolicy).toBe("Delete");
      expect(resource.UpdateReplacePolicy).toBe("Delete");
      expect(resource.Properties.DeletionProtectionEnabled).toBe(false);
      expect(resource.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
    }
  });

  it("retains prod tables, with deletion protection and point-in-time recovery on", () => {
    const { template } = synthesizeStage("prod");
    for (const definition of definitions) {
      const logicalId = logicalIdWhere(
        template,
        "AWS::DynamoDB::Table",
        "TableName",
        `stop-task-prod-${definition.logicalName}`,
      );
      const resource = template.toJSON().Resources[logicalId];
      expect(resource.DeletionPolicy).toBe("Retain");
      expect(resource.UpdateReplacePolicy).toBe("Retain");
      expect(resource.Properties.DeletionProtectionEnabled).toBe(true);
      expect(resource.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });
});

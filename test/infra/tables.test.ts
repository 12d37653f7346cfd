import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { tables } from "../../lib/resources.js";
import { logicalIdWhere, synthesizeStage } from "./synth.js";

const definitions = Object.values(tables);

function expectedAttributes(definition: (typeof definitions)[number]) {
  const keys = [definition.partitionKey, ...definition.globalSecondaryIndexes.map((index) => index.partitionKey)];
  return keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type }));
}

describe("DynamoDB tables built from lib/resources.ts", () => {
  const { template } = synthesizeStage("dev");

  it("creates exactly the tables lib/resources.ts defines", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", definitions.length);
  });

  it.each(definitions.map((definition) => [definition.logicalName, definition] as const))(
    "builds the %s table with its keys, indexes, on-demand capacity and encryption",
    (logicalName, definition) => {
      template.hasResourceProperties("AWS::DynamoDB::Table", {
        TableName: `stop-task-dev-${logicalName}`,
        KeySchema: Match.exact([{ AttributeName: definition.partitionKey.name, KeyType: "HASH" }]),
        AttributeDefinitions: Match.exact(expectedAttributes(definition)),
        BillingMode: "PAY_PER_REQUEST",
        // AWS-managed KMS key: no SSEType/KMSMasterKeyId, so no key policy or kms grant exists.
        SSESpecification: Match.exact({ SSEEnabled: true }),
        GlobalSecondaryIndexes:
          definition.globalSecondaryIndexes.length === 0
            ? Match.absent()
            : Match.exact(
                definition.globalSecondaryIndexes.map((index) => ({
                  IndexName: index.indexName,
                  KeySchema: [{ AttributeName: index.partitionKey.name, KeyType: "HASH" }],
                  Projection: { ProjectionType: "ALL" },
                })),
              ),
      });
    },
  );

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
      const logicalId = logicalIdWhere(template, "AWS::DynamoDB::Table", "TableName", `stop-task-dev-${definition.logicalName}`);
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
      const logicalId = logicalIdWhere(template, "AWS::DynamoDB::Table", "TableName", `stop-task-prod-${definition.logicalName}`);
      const resource = template.toJSON().Resources[logicalId];
      expect(resource.DeletionPolicy).toBe("Retain");
      expect(resource.UpdateReplacePolicy).toBe("Retain");
      expect(resource.Properties.DeletionProtectionEnabled).toBe(true);
      expect(resource.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });
});

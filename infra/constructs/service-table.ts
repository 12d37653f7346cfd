import { RemovalPolicy, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { type AttributeType, type KeyAttribute, physicalName, type TableDefinition } from "../../lib/resources.js";

export interface ServiceTableProps {
  readonly prefix: string;
  readonly definition: TableDefinition;
  /** prod: RETAIN, deletion protection and point-in-time recovery. */
  readonly retainData: boolean;
}

const attributeTypes: Record<AttributeType, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
};

const streamViewTypes: Record<NonNullable<TableDefinition["stream"]>, dynamodb.StreamViewType> = {
  NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
};

function toAttribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: attributeTypes[key.type] };
}

/**
 * A DynamoDB table built from its definition in lib/resources.ts (keys and indexes), the same
 * definition the local stack provisions from. Subclasses add the grants their callers need.
 */
export class ServiceTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ServiceTableProps) {
    super(scope, id);
    const { definition, retainData } = props;
    this.table = new dynamodb.Table(this, "Table", {
      tableName: physicalName(props.prefix, definition.logicalName),
      partitionKey: toAttribute(definition.partitionKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // AWS-managed KMS key: encrypted at rest with no key policy to maintain and no kms:* grant
      // the function needs (DynamoDB uses the key on the caller's behalf).
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: retainData },
      deletionProtection: retainData,
      removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      ...(definition.stream ? { stream: streamViewTypes[definition.stream] } : {}),
    });
    if (!retainData) {
      Validations.of(this.table).acknowledge({
        id: "AwsSolutions-DDB3",
        reason:
          "Non-production stage: its data is disposable and recreated by seeding; production stages turn point-in-time recovery on.",
      });
    }
    for (const index of definition.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: toAttribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: toAttribute(index.sortKey) } : {}),
        ...(index.projectedAttributes
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projectedAttributes] }
          : { projectionType: dynamodb.ProjectionType.ALL }),
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  get tableArn(): string {
    return this.table.tableArn;
  }

  /** The stream's ARN; only a table whose definition has a stream has one. */
  get tableStreamArn(): string {
    const arn = this.table.tableStreamArn;
    if (!arn)
      throw new Error(`table ${this.node.path} has no stream: give its definition in lib/resources.ts a stream`);
    return arn;
  }
}

import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";

let sequence = 1000;

/**
 * A DynamoDB stream record as Lambda delivers it, from the items before and after a write (as stored, nulls included).
 */
export function aStreamRecord(change: {
  old?: Record<string, unknown>;
  new?: Record<string, unknown>;
  eventName?: "INSERT" | "MODIFY" | "REMOVE";
}): DynamoDBRecord {
  const image = (item: Record<string, unknown> | undefined) =>
    item
      ? (marshall(item, { removeUndefinedValues: true }) as NonNullable<
          NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"]
        >)
      : undefined;
  const id = String((change.new ?? change.old)?.id);
  sequence += 1;
  const oldImage = image(change.old);
  const newImage = image(change.new);
  return {
    eventID: `event-${sequence}`,
    eventName: change.eventName ?? (change.old ? (change.new ? "MODIFY" : "REMOVE") : "INSERT"),
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      ApproximateCreationDateTime: 1_795_000_000,
      Keys: { id: { S: id } },
      ...(oldImage ? { OldImage: oldImage } : {}),
      ...(newImage ? { NewImage: newImage } : {}),
      SequenceNumber: String(sequence).padStart(21, "0"),
      SizeBytes: 100,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
  };
}

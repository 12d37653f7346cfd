import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * A conditional UpdateItem whose refused condition is an answer, not an error: true when it was
 * applied, false when its condition did not hold. Any other failure still throws.
 */
export async function updateIfCondition(client: DynamoDBClient, input: UpdateItemCommandInput): Promise<boolean> {
  try {
    await client.send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

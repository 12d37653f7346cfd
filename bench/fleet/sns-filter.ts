/**
 * The other design the routing decision weighed, measured beside the one chosen: the stop function publishes to
 * one SNS topic, and each worker's own queue is subscribed with a filter policy on the `worker_id`
 * message attribute (raw delivery, so the queue gets the stop message itself). Not used by the
 * service; docs/stop-delivery.md says why.
 */
import { CreateTopicCommand, PublishCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { buildStopMessage, type StopSignalPublisher } from "../../lib/signals/publisher.js";

export async function createStopTopic(sns: SNSClient, name: string): Promise<string> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  if (!TopicArn) throw new Error(`no ARN for topic ${name}`);
  return TopicArn;
}

/**
 * The worker's queue takes the topic's stops for this worker only. (In AWS its queue policy must also let the topic
 * send.)
 */
export async function subscribeWorkerQueue(
  sns: SNSClient,
  sqs: SQSClient,
  topicArn: string,
  queueUrl: string,
  workerId: string,
): Promise<void> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: "sqs",
      Endpoint: Attributes?.QueueArn,
      Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ worker_id: [workerId] }) },
    }),
  );
}

/** Every stop to the one topic, its worker as a message attribute for the filter policies. */
export function snsFilterPublisher(sns: SNSClient, topicArn: string): StopSignalPublisher {
  return async (execution, request) => {
    const message = buildStopMessage(execution, request);
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(message),
        MessageAttributes: {
          type: { DataType: "String", StringValue: message.type },
          task_id: { DataType: "String", StringValue: message.task_id },
          ...(message.worker_id ? { worker_id: { DataType: "String", StringValue: message.worker_id } } : {}),
        },
      }),
    );
    return "sent";
  };
}

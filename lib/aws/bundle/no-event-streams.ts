/**
 * Put in place of `@smithy/core/event-streams` in the deployed bundles (infra/bundling.ts). The SDK's
 * HTTP protocol import()s it only to serialize or parse an event stream, which no operation the
 * functions call has (DynamoDB, SQS, EventBridge and Lambda's Invoke answer plain JSON); esbuild
 * still bundles the dynamic import: about 14 KiB of the stop bundle (docs/performance.md). The
 * Lambda client, which has streaming operations, builds its marshaller when it is constructed: it
 * gets one that fails when used. Should an operation with an event stream ever be called, it
 * fails loudly here instead of misbehaving.
 */
const unsupported = (): never => {
  throw new Error("event streams are left out of this bundle (lib/aws/bundle/no-event-streams.ts)");
};

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

export const eventStreamSerdeProvider = () => ({ serialize: unsupported, deserialize: unsupported });

/** As the SDK's own: the client config gains the provider's marshaller. */
export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(
  input: T,
): T & { eventStreamMarshaller: ReturnType<T["eventStreamSerdeProvider"]> } =>
  Object.assign(input, {
    eventStreamMarshaller: input.eventStreamSerdeProvider(input) as ReturnType<T["eventStreamSerdeProvider"]>,
  });

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signalChannels } from "../../../lib/resources.js";
import {
  namePrefixOfUrlPrefix,
  signalQueueName,
  signalQueueNamePrefix,
  signalQueueUrl,
} from "../../../lib/signals/queue-names.js";

const prefix = signalQueueNamePrefix("stop-task-prod", signalChannels.workers);
const sqsName = /^[A-Za-z0-9_-]{1,80}$/;

describe("signal queue names, derived from the owner's id alone", () => {
  it("keeps an id made of SQS's characters as it is", () => {
    expect(prefix).toBe("stop-task-prod-worker-");
    expect(signalQueueName(prefix, "worker-7")).toBe("stop-task-prod-worker-worker-7");
    expect(signalQueueName(prefix, "i-0abc_DEF")).toBe("stop-task-prod-worker-i-0abc_DEF");
  });

  it("replaces characters SQS forbids and adds a hash of the whole id, so near-identical ids stay apart", () => {
    const dotted = signalQueueName(prefix, "ip-10-0-0-1.eu-west-1.compute.internal");
    const underscored = signalQueueName(prefix, "ip-10-0-0-1_eu-west-1_compute_internal");
    expect(dotted).toMatch(/^stop-task-prod-worker-ip-10-0-0-1_eu-west-1_compute_internal-[0-9a-f]{16}$/);
    expect(underscored).toBe("stop-task-prod-worker-ip-10-0-0-1_eu-west-1_compute_internal");
    expect(signalQueueName(prefix, "pod/worker@7")).not.toBe(signalQueueName(prefix, "pod_worker_7"));
  });

  it("cuts a long id to fit in 80 characters and keeps ids that differ past the cut apart", () => {
    const long = "w".repeat(100);
    expect(signalQueueName(prefix, long)).toHaveLength(80);
    expect(signalQueueName(prefix, `${long}a`)).not.toBe(signalQueueName(prefix, `${long}b`));
  });

  it("hashes an id that already looks hashed, so a chosen id cannot take another id's queue", () => {
    const hashed = signalQueueName(prefix, "worker.7");
    const impostor = hashed.slice(prefix.length);
    expect(signalQueueName(prefix, impostor)).not.toBe(hashed);
  });

  it("gives every id a valid queue name, and different ids different names", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200, unit: "grapheme" }),
        fc.string({ minLength: 1, maxLength: 200 }),
        (a, b) => {
          expect(signalQueueName(prefix, a)).toMatch(sqsName);
          if (a !== b) expect(signalQueueName(prefix, a)).not.toBe(signalQueueName(prefix, b));
        },
      ),
    );
  });

  it("builds the URL from the channel's URL prefix, the stack's and the emulator's forms alike", () => {
    const cloud = "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-prod-worker-";
    expect(signalQueueUrl(cloud, "worker-7")).toBe(
      "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-prod-worker-worker-7",
    );
    expect(signalQueueUrl(cloud, "a.b")).toBe(
      `https://sqs.eu-west-1.amazonaws.com/123456789012/${signalQueueName(prefix, "a.b")}`,
    );
    expect(signalQueueUrl("http://127.0.0.1:4566/000000000000/local-env-", "env-1")).toBe(
      "http://127.0.0.1:4566/000000000000/local-env-env-1",
    );
    expect(namePrefixOfUrlPrefix(cloud)).toBe(prefix);
  });

  it("refuses an empty id and a prefix that leaves no room", () => {
    expect(() => signalQueueName(prefix, "")).toThrow(/owner id/);
    expect(() => signalQueueName("x".repeat(70), "worker")).toThrow(/no room/);
  });
});

import { createHash } from "node:crypto";
import type { SignalChannelDefinition } from "../resources.js";

/**
 * Where an owner (a worker, or a self-hosted environment) receives its stop signals: a queue
 * whose name is derived from the owner's id alone. The stop function, the cleanup's re-drive and
 * the worker library (which creates the queue) all call these functions, so the three cannot
 * disagree on a name, and the stop function needs no lookup to find a worker.
 */

/** SQS's limits on a queue name: 1 to 80 characters, letters, digits, `-` and `_`. */
const MAX_QUEUE_NAME_LENGTH = 80;
const SAFE_ID = /^[A-Za-z0-9_-]+$/;
const UNSAFE_CHARACTERS = /[^A-Za-z0-9_-]/g;
/** 16 hex digits (64 bits) of SHA-256: two ids of one fleet sharing a queue is not a real risk. */
const HASH_LENGTH = 16;
/**
 * The form a hashed name ends in; an id that already ends so is hashed too, so a plain id can never take another id's
 * hashed name.
 */
const HASHED_ENDING = new RegExp(`-[0-9a-f]{${HASH_LENGTH}}$`);

/** The tag an owner refreshes on its queue while it lives; the cleanup's sweep deletes queues whose tag is too old. */
export const LAST_SEEN_TAG = "stop-task:last-seen";

/** `<resource prefix>-<ownerQueuePart>-`: every queue of the channel starts so, and nothing else does. */
export function signalQueueNamePrefix(
  resourcePrefix: string,
  channel: Pick<SignalChannelDefinition, "ownerQueuePart">,
): string {
  return `${resourcePrefix}-${channel.ownerQueuePart}-`;
}

/**
 * The queue name of one owner: the prefix and the id as is, when the id is made of the characters
 * SQS allows and fits; otherwise the id with every other character replaced by `_`, cut to fit,
 * and `-` plus a hash of the whole id, so that ids differing only in those characters, or beyond
 * the cut, still get queues of their own.
 */
export function signalQueueName(namePrefix: string, ownerId: string): string {
  const room = MAX_QUEUE_NAME_LENGTH - namePrefix.length;
  if (room < HASH_LENGTH + 2) throw new Error(`queue name prefix ${namePrefix} leaves no room for an id`);
  if (ownerId.length === 0) throw new Error("an owner id is needed to name its queue");
  if (SAFE_ID.test(ownerId) && ownerId.length <= room && !HASHED_ENDING.test(ownerId)) return namePrefix + ownerId;
  const hash = createHash("sha256").update(ownerId).digest("hex").slice(0, HASH_LENGTH);
  const readable = ownerId.replace(UNSAFE_CHARACTERS, "_").slice(0, room - HASH_LENGTH - 1);
  return `${namePrefix}${readable}-${hash}`;
}

/**
 * An owner's id as its queue name holds it: the id itself when SQS allows it as is, otherwise its
 * readable, hashed form. The value of the owner's principal tag (lib/resources.ts `ownerPrincipalTag`),
 * since IAM can only append a tag's value to the channel's name prefix, not hash it.
 */
export function ownerQueueId(namePrefix: string, ownerId: string): string {
  return signalQueueName(namePrefix, ownerId).slice(namePrefix.length);
}

/**
 * The queue URL of one owner, from the channel's URL prefix (`https://sqs.<region>.<suffix>/
 * <account>/<resource prefix>-worker-`, which the stack sets; locally the emulator's own form).
 */
export function signalQueueUrl(urlPrefix: string, ownerId: string): string {
  const nameStart = urlPrefix.lastIndexOf("/") + 1;
  return urlPrefix.slice(0, nameStart) + signalQueueName(urlPrefix.slice(nameStart), ownerId);
}

/** The name part of a channel's URL prefix (what ListQueues filters on). */
export function namePrefixOfUrlPrefix(urlPrefix: string): string {
  return urlPrefix.slice(urlPrefix.lastIndexOf("/") + 1);
}

/**
 * Identifiers shared by every layer. Branded so that a topic id cannot be passed where a topic
 * name is expected (both are strings), nor a partition key built by hand.
 */
import { randomBytes } from 'node:crypto';

declare const topicIdBrand: unique symbol;
declare const topicPartitionBrand: unique symbol;
declare const brokerIdBrand: unique symbol;

/** Kafka's Uuid of a topic in its string form: 16 bytes as 22 characters of base64url. */
export type TopicId = string & { readonly [topicIdBrand]: true };

/** A broker's id (broker.id); -1 stands for "none" on the wire. */
export type BrokerId = number & { readonly [brokerIdBrand]: true };

/** A map key naming one partition of one topic (see topicPartitionKey). */
export type TopicPartitionKey = string & { readonly [topicPartitionBrand]: true };

/** Kafka's Uuid.ZERO_UUID: "no topic id" (requests by name, old versions). */
export const ZERO_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAA' as TopicId;
/** Kafka's Uuid.METADATA_TOPIC_ID, reserved: never given to a topic. */
const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

const TOPIC_ID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** A new random topic id, never one of the two Kafka reserves. */
export function newTopicId(): TopicId {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (id !== ZERO_TOPIC_ID && id !== METADATA_TOPIC_ID) return id as TopicId;
  }
}

/** The id when `text` is a well-formed topic id (22 base64url characters encoding 16 bytes). */
export function parseTopicId(text: string): TopicId | undefined {
  return TOPIC_ID_PATTERN.test(text) ? (text as TopicId) : undefined;
}

/** A topic id read from the wire or a file as it is; the zero id means none. */
export function asTopicId(text: string): TopicId {
  return text as TopicId;
}

export function asBrokerId(id: number): BrokerId {
  return id as BrokerId;
}

/** Topic names never contain NUL, so the pair is unambiguous. */
export function topicPartitionKey(topic: string, partition: number): TopicPartitionKey {
  return `${topic}\u0000${partition}` as TopicPartitionKey;
}

export function topicPartitionString(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

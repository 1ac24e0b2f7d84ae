/**
 * Client quota configs (Kafka's QuotaConfig): the keys a user, a client id, a (user, client id)
 * pair or an IP address may carry in /config/users, /config/clients and /config/ips, with their
 * types. controller_mutation_rate (KIP-599) is a Kafka key Tributary does not enforce: it is
 * refused when set, and ignored (with a log line) when found in a store Kafka wrote.
 */

export type QuotaValueType = 'long' | 'int' | 'double';

export interface QuotaConfigKey {
  readonly name: string;
  readonly type: QuotaValueType;
  readonly doc: string;
}

export const PRODUCER_BYTE_RATE = 'producer_byte_rate';
export const CONSUMER_BYTE_RATE = 'consumer_byte_rate';
export const REQUEST_PERCENTAGE = 'request_percentage';
export const CONTROLLER_MUTATION_RATE = 'controller_mutation_rate';
export const CONNECTION_CREATION_RATE = 'connection_creation_rate';

/** The keys of users, client ids and (user, client id) pairs that Tributary enforces. */
export const USER_CLIENT_QUOTA_KEYS: ReadonlyMap<string, QuotaConfigKey> = new Map([
  [
    PRODUCER_BYTE_RATE,
    { name: PRODUCER_BYTE_RATE, type: 'long', doc: 'Bytes per second a client may produce.' },
  ],
  [
    CONSUMER_BYTE_RATE,
    { name: CONSUMER_BYTE_RATE, type: 'long', doc: 'Bytes per second a client may fetch.' },
  ],
  [
    REQUEST_PERCENTAGE,
    {
      name: REQUEST_PERCENTAGE,
      type: 'double',
      doc: 'Percentage of the event loop a client may take over the quota window (100: all of it).',
    },
  ],
]);

/** The keys of IP addresses (KIP-612). */
export const IP_QUOTA_KEYS: ReadonlyMap<string, QuotaConfigKey> = new Map([
  [
    CONNECTION_CREATION_RATE,
    {
      name: CONNECTION_CREATION_RATE,
      type: 'int',
      doc: 'New connections per second accepted from an IP address.',
    },
  ],
]);

/** Every key Kafka reads as a client quota (QuotaConfig.isClientOrUserQuotaConfig) or IP quota. */
export function isQuotaConfigKey(key: string): boolean {
  return (
    USER_CLIENT_QUOTA_KEYS.has(key) || IP_QUOTA_KEYS.has(key) || key === CONTROLLER_MUTATION_RATE
  );
}

/** Kafka's name of a default entity in znode paths (/config/users/<default>). */
export const DEFAULT_ENTITY_NAME = '<default>';

/**
 * Kafka's Sanitizer: entity names in znode paths are URL-encoded (UTF-8), with "*" as %2A and
 * a space as %20.
 */
export function sanitizeEntityName(name: string): string {
  return encodeURIComponent(name)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('*', '%2A');
}

export function desanitizeEntityName(name: string): string {
  return decodeURIComponent(name);
}

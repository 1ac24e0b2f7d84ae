/**
 * Every resource limit of the broker, by name, with the config key that sets it and what happens
 * at the limit. The values live in the config (config-def.ts) and are read through here
 * (`limitsFrom`, or `BrokerConfig.limits`), so every bound the broker enforces has a name; this
 * list is what operators and tests read to know that nothing grows without bound. The relations
 * the limits must keep between them are asserted when the config loads (checkLimitRelations).
 */
import { TributaryError } from '../common/errors.ts';
import type { BrokerConfigName } from './config-def.ts';
import {
  type BrokerSettings,
  type NumericConfigName,
  type SettingName,
  settingName,
} from './settings.ts';

export interface LimitDef {
  /** Most significant word first, unit last (STYLE.md). */
  readonly name: string;
  readonly configKey: NumericConfigName;
  readonly atLimit: string;
}

export const limits = [
  {
    name: 'requestBytesMax',
    configKey: 'socket.request.max.bytes',
    atLimit: 'the connection is closed before the frame is read',
  },
  {
    name: 'connectionsMax',
    configKey: 'max.connections',
    atLimit: 'a new connection is closed at once',
  },
  {
    name: 'connectionsPerIpMax',
    configKey: 'max.connections.per.ip',
    atLimit: 'a new connection from that address is closed at once',
  },
  {
    name: 'inflightRequestsPerConnectionMax',
    configKey: 'tributary.connection.inflight.requests.max',
    atLimit: 'the broker stops reading the connection until responses are sent',
  },
  {
    name: 'connectionBufferedBytesMax',
    configKey: 'tributary.connection.buffered.bytes.max',
    atLimit: 'the broker stops reading a connection whose client does not read its responses',
  },
  {
    name: 'connectionIdleMs',
    configKey: 'connections.max.idle.ms',
    atLimit: 'an idle connection is closed',
  },
  {
    name: 'logSyncWriteBytesMax',
    configKey: 'tributary.log.sync.write.bytes.max',
    atLimit: 'a larger grouped log write goes through the thread pool instead of the event loop',
  },
  {
    name: 'logSyncWriteSlowMs',
    configKey: 'tributary.log.sync.write.slow.ms',
    atLimit: 'log writes go through the thread pool for one second',
  },
  {
    name: 'fetchReadBuffersBytes',
    configKey: 'tributary.fetch.read.buffers.bytes',
    atLimit: 'read buffers given back beyond it are left to the garbage collector',
  },
  {
    name: 'batchBytesMax',
    configKey: 'message.max.bytes',
    atLimit:
      'Produce answers MESSAGE_TOO_LARGE for that partition (topic override: max.message.bytes)',
  },
  {
    name: 'topicsMax',
    configKey: 'tributary.topics.max',
    atLimit: 'CreateTopics and auto-creation answer POLICY_VIOLATION',
  },
  {
    name: 'partitionsMax',
    configKey: 'tributary.partitions.max',
    atLimit: 'CreateTopics, CreatePartitions and auto-creation answer POLICY_VIOLATION',
  },
  {
    name: 'fetchResponseBytesMax',
    configKey: 'fetch.max.bytes',
    atLimit:
      'the fetch response stops at whole batches below it (the first batch always goes, KIP-74)',
  },
  {
    name: 'fetchWaitersMax',
    configKey: 'tributary.fetch.purgatory.max',
    atLimit: 'a long-poll fetch is answered at once with what there is',
  },
  {
    name: 'tailCacheBytes',
    configKey: 'tributary.tail.cache.bytes',
    atLimit: 'the oldest cached batches are evicted; reads go to the segment files',
  },
  {
    name: 'groupMembersMax',
    configKey: 'group.max.size',
    atLimit: 'JoinGroup answers GROUP_MAX_SIZE_REACHED',
  },
  {
    name: 'offsetMetadataBytesMax',
    configKey: 'offset.metadata.max.bytes',
    atLimit: 'OffsetCommit answers OFFSET_METADATA_TOO_LARGE for that partition',
  },
  {
    name: 'fetchSessionsMax',
    configKey: 'max.incremental.fetch.session.cache.slots',
    atLimit:
      'fetches are answered session-less (session id 0), as Kafka does when its cache is full',
  },
] as const satisfies readonly LimitDef[];

type LimitEntry = (typeof limits)[number];
export type LimitName = LimitEntry['name'];

/** Every limit in force, by name: `limits.requestBytesMax` is socket.request.max.bytes. */
export type Limits = {
  readonly [L in LimitEntry as L['name']]: BrokerSettings[SettingName<L['configKey']>];
};

export function limitsFrom(settings: BrokerSettings): Limits {
  const values: Record<string, number> = {};
  for (const l of limits) values[l.name] = settings[settingName(l.configKey)];
  return Object.freeze(values) as unknown as Limits;
}

/**
 * Room a Produce request needs around its one record batch, in the largest of its encodings:
 * the request header with a client id, the transactional id, acks, timeout, one topic (names
 * have at most 249 characters) and one partition, with their length prefixes. Client and
 * transactional ids are counted up to 255 bytes each.
 */
const produceRequestOverhead = {
  header: 2 + 2 + 4 + 1, // api key, version, correlation id, tagged fields
  clientId: 2 + 255,
  transactionalId: 2 + 255,
  acksAndTimeout: 2 + 4,
  topic: 4 + (2 + 249) + 1, // array length, name, tagged fields
  partition: 4 + 4 + 1, // array length, index, tagged fields
  recordsLength: 4,
  bodyTaggedFields: 1,
} as const;
export const produceRequestOverheadBytes = Object.values(produceRequestOverhead).reduce(
  (a, b) => a + b,
  0,
);

export interface LimitRelation {
  /** The configs the relation is between, named in the error when it does not hold. */
  readonly keys: readonly BrokerConfigName[];
  readonly holds: (s: BrokerSettings) => boolean;
  /** What goes wrong otherwise. */
  readonly rule: string;
}

/** Retention in force, as Kafka reads it: ms, else minutes, else hours; negative is forever. */
function retentionMs(s: BrokerSettings): number {
  const ms = s.logRetentionMs ?? (s.logRetentionMinutes ?? s.logRetentionHours * 60) * 60_000;
  return ms < 0 ? -1 : ms;
}

export const limitRelations: readonly LimitRelation[] = [
  {
    keys: ['message.max.bytes', 'socket.request.max.bytes'],
    holds: (s) => s.messageMaxBytes + produceRequestOverheadBytes <= s.socketRequestMaxBytes,
    rule: `a Produce request carrying one batch of message.max.bytes, plus ${produceRequestOverheadBytes} bytes of request headers, must fit in socket.request.max.bytes, or a batch the broker accepts could never be sent`,
  },
  {
    keys: ['group.min.session.timeout.ms', 'group.max.session.timeout.ms'],
    holds: (s) => s.groupMinSessionTimeoutMs <= s.groupMaxSessionTimeoutMs,
    rule: 'the smallest session timeout must not exceed the largest, or no consumer could join',
  },
  {
    keys: ['replica.fetch.wait.max.ms', 'replica.socket.timeout.ms'],
    holds: (s) => s.replicaFetchWaitMaxMs <= s.replicaSocketTimeoutMs,
    rule: 'a follower fetch must not wait longer than its socket timeout (Kafka requires this)',
  },
  {
    keys: ['replica.fetch.wait.max.ms', 'replica.lag.time.max.ms'],
    holds: (s) => s.replicaFetchWaitMaxMs <= s.replicaLagTimeMaxMs,
    rule: 'a follower fetch must not wait longer than replica.lag.time.max.ms, or waiting followers would leave the ISR (Kafka requires this)',
  },
  {
    keys: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    holds: (s) => retentionMs(s) !== 0,
    rule: 'the retention in force must be -1 (forever) or at least 1 ms (Kafka requires this)',
  },
];

/** Throws, naming the keys and their values, on the first relation that does not hold. */
export function checkLimitRelations(settings: BrokerSettings): void {
  for (const r of limitRelations) {
    if (r.holds(settings)) continue;
    const values = r.keys.map((k) => `${k}=${String(settings[settingName(k)])}`).join(', ');
    throw new TributaryError('BRK_CONFIG_INVALID', `Invalid configuration ${values}: ${r.rule}`);
  }
}

/**
 * Config definitions, by Kafka's names. One table for broker configs and one for topic configs;
 * a topic config names the broker configs it falls back to (its synonyms, most specific first),
 * which is also what DescribeConfigs reports.
 */
import { TributaryError } from '../common/errors.ts';

/** Kafka's DescribeConfigs config types (ConfigEntry.ConfigType). */
export const ConfigType = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
} as const;
export type ConfigTypeName = keyof typeof ConfigType;

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigTypeName;
  /** Default as Kafka prints it; null when the config has no default. */
  readonly defaultValue: string | null;
  readonly doc: string;
  /** Can only be set in the config file, not changed while running. */
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  /** Returns the reason a value is invalid, or undefined. Called after the type check. */
  readonly validate?: (value: string) => string | undefined;
  /** Values allowed, when the config is an enumeration. */
  readonly allowed?: readonly string[];
  readonly min?: number;
  /**
   * Defined so a Kafka config file loads and DescribeConfigs lists it, but not implemented: when
   * set it is logged once at start as ignored. Keys whose being ignored would change safety or
   * topology are refused instead (unsupported.ts).
   */
  readonly ignored?: true;
}

/** A definition that keeps its name, type, default and allowed values as literal types. */
export interface TypedConfigDef<
  N extends string,
  T extends ConfigTypeName,
  D extends string | null,
  A extends string,
> extends ConfigDef {
  readonly name: N;
  readonly type: T;
  readonly defaultValue: D;
  readonly allowed?: readonly A[];
}

const LONG_MAX = '9223372036854775807';

/** Kafka's security protocols, which are also the listener names that need no map entry. */
/** The authorizer class names that turn Kafka's ACL authorization on (AclAuthorizer, KRaft's). */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'kafka.security.authorizer.AclAuthorizer',
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
];

export const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];
/** Kafka's default listener.security.protocol.map: each protocol named after itself. */
const KAFKA_SECURITY_PROTOCOL_MAP = securityProtocols.map((p) => `${p}:${p}`).join(',');

function checkSecurityProtocolMap(value: string): string | undefined {
  for (const entry of value.split(',')) {
    const m = /^\s*([A-Za-z0-9_]+)\s*:\s*([A-Za-z_]+)\s*$/.exec(entry);
    if (m === null) return `expected NAME:PROTOCOL entries, not '${entry}'`;
    const protocol = (m[2] ?? '').toUpperCase();
    if (!(securityProtocols as readonly string[]).includes(protocol)) {
      return `unknown security protocol ${protocol} (one of ${securityProtocols.join(', ')})`;
    }
  }
  return undefined;
}
const INT_MAX = '2147483647';

function ratio(value: string): string | undefined {
  const n = Number(value);
  return n >= 0 && n <= 1 ? undefined : 'must be between 0 and 1';
}
function ratioAbove0(value: string): string | undefined {
  const n = Number(value);
  return n > 0 && n <= 1 ? undefined : 'must be above 0 and at most 1';
}
function niceValue(value: string): string | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? undefined : 'must be between 0 and 19';
}
function positive(value: string): string | undefined {
  return Number(value) > 0 ? undefined : 'must be above 0';
}

type DefInput = Omit<ConfigDef, 'readOnly' | 'sensitive'> & {
  readOnly?: boolean;
  sensitive?: boolean;
};

/** The literal types let settings.ts derive a typed field per config (a wrong name fails to compile). */
function def<
  const N extends string,
  const T extends ConfigTypeName,
  const D extends string | null,
  const A extends string = string,
>(
  input: DefInput & {
    readonly name: N;
    readonly type: T;
    readonly defaultValue: D;
    readonly allowed?: readonly A[];
  },
): TypedConfigDef<N, T, D, A> {
  return { readOnly: true, sensitive: false, ...input };
}

/** Kafka's message format versions (MetadataVersion strings such as 0.10.2, 2.8-IV1, 3.0-IV1). */
function checkFormatVersion(v: string): string | undefined {
  return /^\d+\.\d+(?:\.\d+)?(?:-IV\d+)?$/.test(v) ? undefined : 'not a Kafka version';
}

// ---------------------------------------------------------------------------------------------
// KAFKA 3.9 TOPIC CONFIGS NOT IMPLEMENTED HERE YET: accepted only at Kafka's default.
//
// Kafka 3.9 lists these for every topic, so DescribeConfigs lists them too (with Kafka's default
// and broker synonym), and a client that sets one to its default gets success. Any other value
// is refused (a topic config with INVALID_CONFIG, the broker key at start: unsupported.ts),
// because accepting it would promise behaviour this broker does not have. Whoever implements one
// moves it out of this list into the ordinary definitions.
// ---------------------------------------------------------------------------------------------
export interface DefaultOnlyConfig {
  readonly topic: string;
  /** Kafka's broker-level synonym, or null when the topic config has none. */
  readonly broker: string | null;
  readonly type: ConfigTypeName;
  readonly defaultValue: string;
  /** Why another value is refused. */
  readonly why: string;
}

const TIERED = 'tiered storage (KIP-405) is not implemented';
const LEVEL = 'compression levels (KIP-390) are not implemented yet';

export const defaultOnlyConfigs: readonly DefaultOnlyConfig[] = [
  {
    topic: 'compression.gzip.level',
    broker: 'compression.gzip.level',
    type: 'int',
    defaultValue: '-1',
    why: LEVEL,
  },
  {
    topic: 'compression.lz4.level',
    broker: 'compression.lz4.level',
    type: 'int',
    defaultValue: '9',
    why: LEVEL,
  },
  {
    topic: 'compression.zstd.level',
    broker: 'compression.zstd.level',
    type: 'int',
    defaultValue: '3',
    why: LEVEL,
  },
  {
    topic: 'local.retention.bytes',
    broker: 'log.local.retention.bytes',
    type: 'long',
    defaultValue: '-2',
    why: TIERED,
  },
  {
    topic: 'local.retention.ms',
    broker: 'log.local.retention.ms',
    type: 'long',
    defaultValue: '-2',
    why: TIERED,
  },
  {
    topic: 'remote.log.copy.disable',
    broker: null,
    type: 'boolean',
    defaultValue: 'false',
    why: TIERED,
  },
  {
    topic: 'remote.log.delete.on.disable',
    broker: null,
    type: 'boolean',
    defaultValue: 'false',
    why: TIERED,
  },
  {
    topic: 'remote.storage.enable',
    broker: null,
    type: 'boolean',
    defaultValue: 'false',
    why: TIERED,
  },
];

/** Whether `value` is the default of a default-only config (numbers compared as numbers). */
export function isDefaultOnlyValue(c: DefaultOnlyConfig, value: string): boolean {
  const v = value.trim();
  if (c.type === 'list') return v.split(',').every((item) => item.trim() === '');
  if (c.type === 'long' || c.type === 'int' || c.type === 'double') {
    return v !== '' && Number(v) === Number(c.defaultValue);
  }
  return v.toLowerCase() === c.defaultValue;
}

function defaultOnlyBrokerDefs(): ConfigDef[] {
  return defaultOnlyConfigs.flatMap((c) =>
    c.broker === null
      ? []
      : [
          {
            name: c.broker,
            type: c.type,
            defaultValue: c.defaultValue,
            doc: `Accepted only at its default (${c.defaultValue}): ${c.why}.`,
            readOnly: true,
            sensitive: false,
          },
        ],
  );
}

function defaultOnlyTopicDefs(): TopicConfigDef[] {
  return defaultOnlyConfigs.map((c) => ({
    name: c.topic,
    type: c.type,
    brokerSynonyms: c.broker === null ? [] : [c.broker],
    doc: `Accepted only at its default (${c.defaultValue}): ${c.why}.`,
    defaultValue: c.broker === null ? c.defaultValue : null,
    readOnly: false,
    sensitive: false,
    defaultOnly: c,
  }));
}
// ---------------------------------------------------------------------------------------------

const brokerConfigDefList = [
  def({
    name: 'broker.id',
    type: 'int',
    defaultValue: '0',
    doc: 'The broker id of this server.',
    min: 0,
  }),
  def({
    name: 'listeners',
    type: 'list',
    defaultValue: 'PLAINTEXT://127.0.0.1:9092',
    doc: 'Listener URIs (NAME://host:port) the broker binds; port 0 picks a free port.',
  }),
  def({
    name: 'listener.security.protocol.map',
    type: 'string',
    defaultValue: KAFKA_SECURITY_PROTOCOL_MAP,
    doc: 'Security protocol of each listener name (NAME:PROTOCOL,...): PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.',
    validate: checkSecurityProtocolMap,
  }),
  def({
    name: 'broker.rack',
    type: 'string',
    defaultValue: null,
    doc: 'The rack of this broker, published in Metadata and DescribeCluster.',
  }),
  def({
    name: 'advertised.listeners',
    type: 'list',
    defaultValue: null,
    doc: 'Listeners published to clients in Metadata, when different from listeners.',
  }),
  def({
    name: 'log.dirs',
    type: 'list',
    defaultValue: null,
    doc: 'Directories holding the partition logs. Falls back to log.dir.',
  }),
  def({
    name: 'log.dir',
    type: 'string',
    defaultValue: './data',
    doc: 'The directory holding the partition logs (used when log.dirs is not set).',
  }),
  def({
    name: 'num.partitions',
    type: 'int',
    defaultValue: '1',
    doc: 'Default number of partitions of an auto-created topic.',
    min: 1,
  }),
  def({
    name: 'default.replication.factor',
    type: 'int',
    defaultValue: '1',
    doc: 'Default replication factor of an auto-created topic.',
    min: 1,
  }),
  def({
    name: 'auto.create.topics.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'Create a topic when a client asks Metadata for one that does not exist.',
  }),
  def({
    name: 'delete.topic.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'Allow DeleteTopics.',
  }),
  def({
    name: 'message.max.bytes',
    type: 'int',
    defaultValue: '1048588',
    doc: 'Largest record batch the broker accepts (after compression).',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'socket.request.max.bytes',
    type: 'int',
    defaultValue: '104857600',
    doc: 'Largest request frame the broker reads; a larger frame closes the connection.',
    min: 1,
  }),
  def({
    name: 'socket.send.buffer.bytes',
    type: 'int',
    defaultValue: '102400',
    doc: 'Accepted for compatibility; the OS default is used.',
    ignored: true,
  }),
  def({
    name: 'socket.receive.buffer.bytes',
    type: 'int',
    defaultValue: '102400',
    doc: 'Accepted for compatibility; the OS default is used.',
    ignored: true,
  }),
  def({
    name: 'connections.max.idle.ms',
    type: 'long',
    defaultValue: '600000',
    doc: 'Idle connections are closed after this many milliseconds.',
    min: 1,
  }),
  def({
    name: 'max.connections',
    type: 'int',
    defaultValue: INT_MAX,
    doc: 'Most connections the broker accepts in total.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'max.connections.per.ip',
    type: 'int',
    defaultValue: INT_MAX,
    doc: 'Most connections the broker accepts from one IP address.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'max.connection.creation.rate',
    type: 'int',
    defaultValue: INT_MAX,
    doc: 'New connections per second the broker accepts over its listeners, the inter-broker one excepted when there are several (KIP-612); listener.name.<listener>.max.connection.creation.rate limits one listener. A connection over the rate waits until the rate is back under it.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'quota.window.num',
    type: 'int',
    defaultValue: '11',
    doc: 'Samples the client quota rates (producer_byte_rate, consumer_byte_rate, request_percentage, connection rates) are measured over.',
    min: 1,
  }),
  def({
    name: 'quota.window.size.seconds',
    type: 'int',
    defaultValue: '1',
    doc: 'Seconds each sample of the client quota rates covers.',
    min: 1,
  }),
  def({
    name: 'queued.max.requests',
    type: 'int',
    defaultValue: '500',
    doc: 'Accepted for compatibility; the per-connection bound is tributary.connection.inflight.requests.max.',
    min: 1,
    ignored: true,
  }),
  def({
    name: 'tributary.connection.inflight.requests.max',
    type: 'int',
    defaultValue: '32',
    doc: 'Requests of one connection processed at once (pipelining); more wait unread. While the client is behind on reading responses, one at a time.',
    min: 1,
  }),
  def({
    name: 'log.segment.bytes',
    type: 'int',
    defaultValue: '1073741824',
    doc: 'Size at which a segment is rolled.',
    min: 14,
    readOnly: false,
  }),
  def({
    name: 'log.roll.ms',
    type: 'long',
    defaultValue: null,
    doc: 'Age at which a segment is rolled; log.roll.hours when not set.',
    min: 1,
    readOnly: false,
  }),
  def({
    name: 'log.roll.hours',
    type: 'int',
    defaultValue: '168',
    doc: 'Age in hours at which a segment is rolled.',
    min: 1,
  }),
  def({
    name: 'log.roll.jitter.ms',
    type: 'long',
    defaultValue: null,
    min: 0,
    doc: 'Accepted for compatibility; no jitter is applied.',
    ignored: true,
  }),
  def({
    name: 'log.retention.ms',
    type: 'long',
    defaultValue: null,
    doc: 'How long segments are kept; -1 keeps them forever. Falls back to minutes, then hours.',
    readOnly: false,
  }),
  def({
    name: 'log.retention.minutes',
    type: 'int',
    defaultValue: null,
    doc: 'Retention in minutes, when log.retention.ms is not set.',
  }),
  def({
    name: 'log.retention.hours',
    type: 'int',
    defaultValue: '168',
    doc: 'Retention in hours, when neither log.retention.ms nor minutes is set.',
  }),
  def({
    name: 'log.retention.bytes',
    type: 'long',
    defaultValue: '-1',
    doc: 'Largest size of a partition before old segments are deleted; -1 for no limit.',
    readOnly: false,
  }),
  def({
    name: 'log.retention.check.interval.ms',
    type: 'long',
    defaultValue: '300000',
    doc: 'How often retention runs.',
    min: 1,
  }),
  def({
    name: 'log.index.size.max.bytes',
    type: 'int',
    defaultValue: '10485760',
    doc: 'Size an offset or time index is preallocated to.',
    // Kafka allows 4; a time index entry is 12 bytes and the storage refuses less.
    min: 12,
    readOnly: false,
  }),
  def({
    name: 'log.index.interval.bytes',
    type: 'int',
    defaultValue: '4096',
    doc: 'Bytes of log between two index entries.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'log.flush.interval.messages',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Messages appended before the log is fsynced.',
    min: 1,
    readOnly: false,
  }),
  def({
    name: 'log.flush.interval.ms',
    type: 'long',
    defaultValue: null,
    doc: 'Most milliseconds data stays unsynced; unset means never by time.',
    readOnly: false,
  }),
  def({
    name: 'log.cleanup.policy',
    type: 'list',
    defaultValue: 'delete',
    doc: 'delete or compact.',
    allowed: ['delete', 'compact', 'compact,delete', 'delete,compact'],
    readOnly: false,
  }),
  // The log cleaner (storage/log-cleaner.ts). The topic configs that fall back to these are
  // dynamic; the cleaner's own sizing is read once at start (a change needs a restart).
  def({
    name: 'log.cleaner.delete.retention.ms',
    type: 'long',
    defaultValue: '86400000',
    doc: 'How long delete tombstones are kept on compacted topics after their first cleaning.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'log.cleaner.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'Run the log cleaner (compaction of topics with cleanup.policy=compact).',
  }),
  def({
    name: 'log.cleaner.threads',
    type: 'int',
    defaultValue: '1',
    doc: 'Logs cleaned at once; 0 cleans none.',
    min: 0,
  }),
  def({
    name: 'log.cleaner.dedupe.buffer.size',
    type: 'long',
    defaultValue: '134217728',
    doc: 'Memory for the offset maps of all cleaner threads (24 bytes a key).',
    min: 0,
  }),
  def({
    name: 'log.cleaner.io.buffer.size',
    type: 'int',
    defaultValue: '524288',
    doc: 'Read and write buffer memory of all cleaner threads.',
    min: 0,
  }),
  def({
    name: 'log.cleaner.io.buffer.load.factor',
    type: 'double',
    defaultValue: '0.9',
    doc: 'Fill ratio of the offset map before a cleaning stops mapping.',
    validate: ratioAbove0,
  }),
  def({
    name: 'log.cleaner.io.max.bytes.per.second',
    type: 'double',
    defaultValue: '1.7976931348623157E308',
    doc: 'Read plus write bytes per second of all cleaner threads together.',
    validate: positive,
  }),
  def({
    name: 'log.cleaner.backoff.ms',
    type: 'long',
    defaultValue: '15000',
    doc: 'Sleep of a cleaner thread that found no log to clean.',
    min: 0,
  }),
  def({
    name: 'log.cleaner.min.cleanable.ratio',
    type: 'double',
    defaultValue: '0.5',
    doc: 'Dirty share of a log below which it is not cleaned.',
    readOnly: false,
    validate: ratio,
  }),
  def({
    name: 'log.cleaner.min.compaction.lag.ms',
    type: 'long',
    defaultValue: '0',
    doc: 'Records younger than this stay uncompacted.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'log.cleaner.max.compaction.lag.ms',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Records older than this are compacted whatever the dirty ratio.',
    min: 1,
    readOnly: false,
  }),
  def({
    name: 'log.segment.delete.delay.ms',
    type: 'long',
    defaultValue: '60000',
    doc: 'Delay before a deleted segment file is removed.',
    readOnly: false,
  }),
  def({
    name: 'log.message.timestamp.type',
    type: 'string',
    defaultValue: 'CreateTime',
    doc: 'CreateTime keeps the producer timestamp; LogAppendTime stamps the broker time.',
    allowed: ['CreateTime', 'LogAppendTime'],
    readOnly: false,
  }),
  def({
    name: 'log.message.timestamp.before.max.ms',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Most a record timestamp (CreateTime) may be behind the broker clock; older records are refused with INVALID_TIMESTAMP.',
    readOnly: false,
  }),
  def({
    name: 'log.message.timestamp.after.max.ms',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Most a record timestamp (CreateTime) may be ahead of the broker clock; later records are refused with INVALID_TIMESTAMP.',
    readOnly: false,
  }),
  def({
    name: 'log.message.timestamp.difference.max.ms',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Deprecated (KIP-937): the before and after bound at once, where those are not set.',
    readOnly: false,
  }),
  def({
    name: 'log.message.format.version',
    type: 'string',
    defaultValue: '3.0-IV1',
    doc: 'Deprecated: has no effect, as in Kafka 3.x; batches are always stored as RecordBatch v2.',
    validate: checkFormatVersion,
  }),
  def({
    name: 'log.preallocate',
    type: 'boolean',
    defaultValue: 'false',
    doc: 'Accepted for compatibility; segments are not preallocated.',
    ignored: true,
  }),
  def({
    name: 'log.message.downconversion.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'Convert records for old fetchers (Fetch v0-v3); false answers them UNSUPPORTED_VERSION.',
    readOnly: false,
  }),
  def({
    name: 'min.insync.replicas',
    type: 'int',
    defaultValue: '1',
    doc: 'Replicas that must have a batch before acks=all succeeds.',
    min: 1,
    readOnly: false,
  }),
  def({
    name: 'compression.type',
    type: 'string',
    defaultValue: 'producer',
    doc: "Codec batches are stored with; producer keeps the producer's.",
    allowed: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'],
    readOnly: false,
  }),
  def({
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    defaultValue: 'false',
    doc: 'Allow an out-of-sync replica to become leader when no in-sync one is left (data loss). No effect on a single node.',
    readOnly: false,
  }),
  def({
    name: 'offsets.topic.num.partitions',
    type: 'int',
    defaultValue: '50',
    doc: 'Partitions of __consumer_offsets.',
    min: 1,
  }),
  def({
    name: 'offsets.topic.replication.factor',
    type: 'short',
    defaultValue: '1',
    doc: 'Replication factor of __consumer_offsets (Kafka defaults to 3; a single node needs 1). In a cluster the topic is created once this many brokers are registered.',
    min: 1,
  }),
  def({
    name: 'offsets.topic.segment.bytes',
    type: 'int',
    defaultValue: '104857600',
    doc: 'Segment size of __consumer_offsets.',
    min: 1,
  }),
  def({
    name: 'offsets.retention.minutes',
    type: 'int',
    defaultValue: '10080',
    doc: 'Committed offsets of an empty group expire after this long.',
    min: 1,
  }),
  def({
    name: 'offset.metadata.max.bytes',
    type: 'int',
    defaultValue: '4096',
    doc: 'Longest metadata string an offset commit may carry.',
    min: 0,
  }),
  def({
    name: 'offsets.retention.check.interval.ms',
    type: 'long',
    defaultValue: '600000',
    doc: 'How often expired offsets are removed.',
    min: 1,
  }),
  def({
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    defaultValue: '3000',
    doc: 'Wait for more members before the first rebalance of an empty group.',
  }),
  def({
    name: 'group.min.session.timeout.ms',
    type: 'int',
    defaultValue: '6000',
    doc: 'Smallest session timeout a member may ask for.',
  }),
  def({
    name: 'group.max.session.timeout.ms',
    type: 'int',
    defaultValue: '1800000',
    doc: 'Largest session timeout a member may ask for.',
  }),
  def({
    name: 'group.max.size',
    type: 'int',
    defaultValue: INT_MAX,
    doc: 'Most members in one group.',
    min: 1,
  }),
  def({
    name: 'transaction.state.log.num.partitions',
    type: 'int',
    defaultValue: '50',
    doc: 'Partitions of __transaction_state, which holds the state of transactional ids.',
    min: 1,
  }),
  def({
    name: 'transaction.state.log.replication.factor',
    type: 'short',
    defaultValue: '1',
    doc: 'Replicas of __transaction_state (Kafka: 3; 1 here, as offsets.topic.replication.factor, so a single node works unchanged); created only once that many brokers are registered.',
    min: 1,
  }),
  def({
    name: 'transaction.state.log.min.isr',
    type: 'int',
    defaultValue: '1',
    doc: 'min.insync.replicas of __transaction_state (Kafka: 2; raise it with the replication factor).',
    min: 1,
  }),
  def({
    name: 'transaction.state.log.segment.bytes',
    type: 'int',
    defaultValue: '104857600',
    doc: 'segment.bytes of __transaction_state.',
    min: 1,
  }),
  def({
    name: 'transactional.id.expiration.ms',
    type: 'int',
    defaultValue: '604800000',
    doc: 'A transactional id idle this long (no transaction open) is forgotten.',
    min: 1,
  }),
  def({
    name: 'transaction.partition.verification.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'KIP-890 part 1: a partition leader asks the transaction coordinator whether a transactional batch belongs to an ongoing transaction that includes the partition before it appends the first such batch of the transaction (INVALID_TXN_STATE otherwise), so a late or zombie write cannot open a transaction that never ends.',
  }),
  def({
    name: 'transaction.max.timeout.ms',
    type: 'int',
    defaultValue: '900000',
    doc: 'Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above).',
    min: 1,
  }),
  def({
    name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    type: 'int',
    defaultValue: '10000',
    doc: 'How often the coordinator aborts transactions open longer than their timeout.',
    min: 1,
  }),
  def({
    name: 'transaction.remove.expired.transaction.cleanup.interval.ms',
    type: 'int',
    defaultValue: '3600000',
    doc: 'How often idle transactional ids are looked for.',
    min: 1,
  }),
  def({
    name: 'producer.id.expiration.ms',
    type: 'int',
    defaultValue: '86400000',
    doc: 'Idempotent producer state expires after this long without writes.',
    min: 1,
  }),
  def({
    name: 'fetch.max.bytes',
    type: 'int',
    defaultValue: '57671680',
    doc: 'Largest fetch response the broker builds.',
    min: 1024,
  }),
  def({
    name: 'max.incremental.fetch.session.cache.slots',
    type: 'int',
    defaultValue: '1000',
    doc: 'Most incremental fetch sessions kept (KIP-227). Not implemented yet: fetches are answered session-less.',
    min: 0,
    ignored: true,
  }),
  // Cluster and replication settings (cluster mode, zookeeper.connect). A single node has no
  // followers; there they have no effect. (Kafka before 0.10.1 also required
  // replica.fetch.max.bytes >= message.max.bytes; KIP-74 dropped that, the first batch is always
  // returned.)
  def({
    name: 'replica.fetch.max.bytes',
    type: 'int',
    defaultValue: '1048576',
    doc: 'Bytes a follower asks for per partition.',
    min: 0,
  }),
  def({
    name: 'replica.fetch.response.max.bytes',
    type: 'int',
    defaultValue: '10485760',
    doc: 'Largest fetch response a follower asks for.',
    min: 0,
  }),
  def({
    name: 'replica.fetch.wait.max.ms',
    type: 'int',
    defaultValue: '500',
    doc: 'Longest a follower fetch waits on the leader for data.',
    min: 0,
  }),
  def({
    name: 'replica.fetch.min.bytes',
    type: 'int',
    defaultValue: '1',
    doc: 'Bytes a follower fetch waits for on the leader.',
    min: 1,
  }),
  def({
    name: 'replica.fetch.backoff.ms',
    type: 'int',
    defaultValue: '1000',
    doc: 'Pause of a follower after a fetch error.',
    min: 0,
  }),
  def({
    name: 'num.replica.fetchers',
    type: 'int',
    defaultValue: '1',
    doc: 'Fetchers (connections) per leader broker a follower spreads its partitions over.',
    min: 1,
  }),
  def({
    name: 'leader.replication.throttled.rate',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Bytes per second a leader sends to out-of-sync replicas of throttled partitions (leader.replication.throttled.replicas).',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'follower.replication.throttled.rate',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Bytes per second a follower fetches for its out-of-sync replicas of throttled partitions (follower.replication.throttled.replicas).',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'replica.alter.log.dirs.io.max.bytes.per.second',
    type: 'long',
    defaultValue: LONG_MAX,
    doc: 'Bytes per second copied by replica moves between the log directories of a broker (AlterReplicaLogDirs); dynamic.',
    min: 0,
    readOnly: false,
  }),
  def({
    name: 'replication.quota.window.num',
    type: 'int',
    defaultValue: '11',
    doc: 'Samples the replication throttle rates are measured over.',
    min: 1,
  }),
  def({
    name: 'replication.quota.window.size.seconds',
    type: 'int',
    defaultValue: '1',
    doc: 'Seconds each sample of the replication throttle rates covers.',
    min: 1,
  }),
  def({
    name: 'replica.lag.time.max.ms',
    type: 'long',
    defaultValue: '30000',
    doc: 'A follower that has not caught up for this long leaves the ISR.',
    min: 0,
  }),
  def({
    name: 'replica.socket.timeout.ms',
    type: 'int',
    defaultValue: '30000',
    doc: 'Request timeout of follower fetches (beyond replica.fetch.wait.max.ms).',
  }),
  def({
    name: 'zookeeper.connect',
    type: 'string',
    defaultValue: null,
    doc: 'ZooKeeper connection string (host:port,...[/chroot]); unset runs a single node with local metadata.',
  }),
  def({
    name: 'zookeeper.session.timeout.ms',
    type: 'int',
    defaultValue: '18000',
    doc: 'ZooKeeper session timeout: a broker silent for this long leaves the cluster.',
    min: 1,
  }),
  def({
    name: 'zookeeper.connection.timeout.ms',
    type: 'int',
    defaultValue: '18000',
    doc: 'How long a broker waits for ZooKeeper at start before giving up.',
    min: 1,
  }),
  def({
    name: 'inter.broker.listener.name',
    type: 'string',
    defaultValue: null,
    doc: 'The listener brokers talk to each other on (replication, the controller, transaction markers); with neither this nor security.inter.broker.protocol set, the first listener. Any protocol: brokers log in to it with its TLS settings and the SASL user of its JAAS config.',
  }),
  def({
    name: 'security.inter.broker.protocol',
    type: 'string',
    // Kafka's default is PLAINTEXT (the listener named PLAINTEXT); unset here, the first listener.
    defaultValue: null,
    doc: 'The protocol brokers talk to each other with, naming the listener called after it (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); set this or inter.broker.listener.name, not both.',
    validate: (v) =>
      (securityProtocols as readonly string[]).includes(v.toUpperCase())
        ? undefined
        : `not a security protocol (${securityProtocols.join(', ')})`,
  }),
  def({
    name: 'sasl.mechanism.inter.broker.protocol',
    type: 'string',
    defaultValue: 'GSSAPI',
    doc: "The SASL mechanism brokers log in to each other with when the inter-broker listener uses SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (one of the listener's sasl.enabled.mechanisms; GSSAPI, Kafka's default, is refused at start). The user and password are the username and password options of listener.name.<listener>.<mechanism>.sasl.jaas.config.",
  }),
  // Security: TLS and SASL on the listeners (src/security/). Each ssl.* key may also be given
  // per listener as listener.name.<listener>.ssl.*, which wins for that listener.
  def({
    name: 'ssl.keystore.type',
    type: 'string',
    defaultValue: 'JKS',
    doc: 'Format of ssl.keystore.location: PKCS12 or PEM (a JKS keystore is refused at start: convert it with keytool -importkeystore -deststoretype PKCS12).',
  }),
  def({
    name: 'ssl.keystore.location',
    type: 'string',
    defaultValue: null,
    doc: "The listener's certificate and private key: a PKCS12 file, or a PEM file holding both.",
  }),
  def({
    name: 'ssl.keystore.password',
    type: 'password',
    defaultValue: null,
    doc: 'Password of the PKCS12 keystore.',
    sensitive: true,
  }),
  def({
    name: 'ssl.key.password',
    type: 'password',
    defaultValue: null,
    doc: 'Password of an encrypted private key in a PEM keystore.',
    sensitive: true,
  }),
  def({
    name: 'ssl.keystore.key',
    type: 'password',
    defaultValue: null,
    doc: 'The private key in PEM, inline (with ssl.keystore.type=PEM), instead of a file.',
    sensitive: true,
  }),
  def({
    name: 'ssl.keystore.certificate.chain',
    type: 'password',
    defaultValue: null,
    doc: 'The certificate chain in PEM, inline (with ssl.keystore.type=PEM), instead of a file.',
    sensitive: true,
  }),
  def({
    name: 'ssl.truststore.type',
    type: 'string',
    defaultValue: 'JKS',
    doc: 'Format of ssl.truststore.location: PKCS12 or PEM (JKS refused at start).',
  }),
  def({
    name: 'ssl.truststore.location',
    type: 'string',
    defaultValue: null,
    doc: "The certificate authorities client certificates are checked against (ssl.client.auth), and, on the inter-broker listener, the other brokers' certificates (unset: Node's default CAs).",
  }),
  def({
    name: 'ssl.truststore.password',
    type: 'password',
    defaultValue: null,
    doc: 'Password of a PKCS12 truststore.',
    sensitive: true,
  }),
  def({
    name: 'ssl.truststore.certificates',
    type: 'password',
    defaultValue: null,
    doc: 'Trusted certificates in PEM, inline (with ssl.truststore.type=PEM).',
    sensitive: true,
  }),
  def({
    name: 'ssl.endpoint.identification.algorithm',
    type: 'string',
    defaultValue: 'https',
    doc: "How a broker checks another broker's certificate on the inter-broker listener: https checks that it names the host connected to; empty checks only that a trusted CA signed it.",
    validate: (v) =>
      v === '' || v.toLowerCase() === 'https' ? undefined : 'only https, or empty for no check',
  }),
  def({
    name: 'ssl.client.auth',
    type: 'string',
    defaultValue: 'none',
    doc: 'Client certificates on SSL listeners: none, requested (checked when given), required.',
    allowed: ['none', 'requested', 'required'],
  }),
  def({
    name: 'ssl.cipher.suites',
    type: 'list',
    defaultValue: '',
    doc: 'TLS cipher suites the listeners accept, by standard name (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256); empty: the TLS library defaults. A version with none of the listed suites is not offered.',
  }),
  def({
    name: 'ssl.principal.mapping.rules',
    type: 'string',
    defaultValue: 'DEFAULT',
    doc: 'How a client certificate subject becomes the user of its principal: RULE:pattern/replacement/[LU] rules tried in order, DEFAULT for the whole subject; a client no rule applies to is refused.',
  }),
  def({
    name: 'ssl.enabled.protocols',
    type: 'list',
    defaultValue: 'TLSv1.2,TLSv1.3',
    doc: 'TLS versions the listeners accept (TLSv1.2 and TLSv1.3).',
    validate: (v) =>
      v.split(',').every((p) => ['TLSv1.2', 'TLSv1.3'].includes(p.trim()))
        ? undefined
        : 'only TLSv1.2 and TLSv1.3 are supported',
  }),
  def({
    name: 'ssl.protocol',
    type: 'string',
    defaultValue: 'TLSv1.3',
    doc: 'The TLS protocol family (TLSv1.2 or TLSv1.3); the versions accepted are ssl.enabled.protocols.',
    allowed: ['TLS', 'TLSv1.2', 'TLSv1.3'],
  }),
  def({
    name: 'sasl.enabled.mechanisms',
    type: 'list',
    defaultValue: 'GSSAPI',
    doc: 'SASL mechanisms of the SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (GSSAPI, the default as in Kafka, is refused at start when a SASL listener exists).',
  }),
  def({
    name: 'connections.max.reauth.ms',
    type: 'long',
    defaultValue: '0',
    doc: 'Lifetime of a SASL session (KIP-368): the client re-authenticates before it ends, or its connection is closed. 0: sessions do not expire.',
    min: 0,
  }),
  def({
    name: 'connection.failed.authentication.delay.ms',
    type: 'int',
    defaultValue: '100',
    doc: 'How long a failed authentication waits before its answer (and the close).',
    min: 0,
  }),
  // Authorization (src/security/authorizer.ts): Kafka's ACL authorizer, on when a class is named.
  def({
    name: 'authorizer.class.name',
    type: 'string',
    defaultValue: '',
    doc: "Turns ACL authorization on: kafka.security.authorizer.AclAuthorizer or org.apache.kafka.metadata.authorizer.StandardAuthorizer (both mean Kafka's ACL model, with ACLs in the metadata store); empty: every request is allowed.",
    validate: (v) =>
      v.trim() === '' || AUTHORIZER_CLASS_NAMES.includes(v.trim())
        ? undefined
        : `only Kafka's ACL authorizers are implemented: ${AUTHORIZER_CLASS_NAMES.join(' or ')} (or empty for none); custom authorizer classes cannot be loaded`,
  }),
  def({
    name: 'super.users',
    type: 'string',
    defaultValue: '',
    doc: 'Principals allowed everything whatever the ACLs, separated by semicolons (User:admin;User:CN=broker).',
  }),
  def({
    name: 'allow.everyone.if.no.acl.found',
    type: 'boolean',
    defaultValue: 'false',
    doc: 'With an authorizer: a resource that no ACL applies to is open to everyone (else to super users only).',
  }),
  def({
    name: 'controlled.shutdown.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'A stopping broker asks the controller to move its leaderships first.',
  }),
  def({
    name: 'controlled.shutdown.max.retries',
    type: 'int',
    defaultValue: '3',
    doc: 'Attempts of a controlled shutdown before stopping anyway.',
    min: 0,
  }),
  def({
    name: 'controlled.shutdown.retry.backoff.ms',
    type: 'long',
    defaultValue: '5000',
    doc: 'Pause between two controlled shutdown attempts.',
    min: 0,
  }),
  def({
    name: 'auto.leader.rebalance.enable',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'The controller moves leadership back to preferred replicas.',
  }),
  def({
    name: 'leader.imbalance.check.interval.seconds',
    type: 'long',
    defaultValue: '300',
    doc: 'How often the controller checks for leadership away from preferred replicas.',
    min: 1,
  }),
  def({
    name: 'leader.imbalance.per.broker.percentage',
    type: 'int',
    defaultValue: '10',
    doc: "A broker's share of lost leaderships above which they move back to it.",
    min: 0,
  }),
  def({
    name: 'tributary.acks.all.fsync',
    type: 'boolean',
    defaultValue: 'true',
    doc: 'Answer acks=all produce only after the batch is fsynced (group commit). Kafka relies on replication instead.',
  }),
  def({
    name: 'tributary.tail.cache.bytes',
    type: 'long',
    defaultValue: '67108864',
    doc: 'Memory for recent batches served to consumers that keep up.',
    min: 0,
  }),
  def({
    name: 'tributary.log.cleaner.thread.nice',
    type: 'int',
    defaultValue: '19',
    doc: 'Nice value of the log cleaner worker threads on Linux (19 lowest priority: cleaning takes the CPU that produce and fetch leave; 0 the priority of the broker).',
    validate: niceValue,
  }),
  def({
    name: 'tributary.log.cleaner.busy.io.max.bytes.per.second',
    type: 'double',
    defaultValue: '10000000',
    doc: 'Read plus write bytes per second of all cleaner threads together while the broker is busy serving (its event loop busier than tributary.log.cleaner.busy.event.loop.utilization), when lower than log.cleaner.io.max.bytes.per.second; an idle broker cleans at that rate. 1.7976931348623157E308 turns it off.',
    validate: positive,
  }),
  def({
    name: 'tributary.log.cleaner.busy.event.loop.utilization',
    type: 'double',
    defaultValue: '0.05',
    doc: "The share of time the broker's event loop is busy (in any half second of the last tributary.log.cleaner.busy.hold.ms) above which the cleaner counts it as busy serving and holds to tributary.log.cleaner.busy.io.max.bytes.per.second.",
    validate: ratio,
  }),
  def({
    name: 'tributary.log.cleaner.busy.hold.ms',
    type: 'long',
    defaultValue: '10000',
    doc: 'How long the broker still counts as busy serving after the last half second its event loop was busier than tributary.log.cleaner.busy.event.loop.utilization (a quiet moment between bursts of requests does not let the cleaner run at full speed).',
    min: 0,
  }),
  def({
    name: 'tributary.log.sync.write.bytes.max',
    type: 'int',
    defaultValue: '131072',
    doc: 'Grouped log writes up to this size are written from the event loop instead of the thread pool (lower latency, less CPU); 0 sends every write to the thread pool.',
    min: 0,
  }),
  def({
    name: 'tributary.log.sync.write.slow.ms',
    type: 'int',
    defaultValue: '5',
    doc: 'A log write from the event loop slower than this sends writes to the thread pool for one second.',
    min: 0,
  }),
  def({
    name: 'tributary.fetch.read.buffers.bytes',
    type: 'long',
    defaultValue: '33554432',
    doc: 'Memory kept for reuse by Fetch reads from segment files (buffers come back once the response is sent); 0 allocates every read.',
    min: 0,
  }),
  def({
    name: 'tributary.fetch.purgatory.max',
    type: 'int',
    defaultValue: '10000',
    doc: 'Most fetches waiting in long poll at once; more are answered at once.',
    min: 0,
  }),
  def({
    name: 'tributary.topics.max',
    type: 'int',
    defaultValue: '100000',
    doc: 'Most topics the broker holds.',
    min: 1,
  }),
  def({
    name: 'tributary.partitions.max',
    type: 'int',
    defaultValue: '200000',
    doc: 'Most partitions the broker holds in total.',
    min: 1,
  }),
  def({
    name: 'tributary.connection.buffered.bytes.max',
    type: 'long',
    defaultValue: '67108864',
    doc: 'Response bytes queued on one connection before the broker stops reading its requests.',
    min: 1,
  }),
  def({
    name: 'metrics.listener',
    type: 'string',
    defaultValue: '',
    doc: 'Where to serve /metrics (Prometheus text format), /health and /ready over HTTP, as http://host:port (port 0: any free port); empty (the default) serves nothing.',
    validate: (v) =>
      v === '' || /^http:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):\d{1,5}\/?$/.test(v)
        ? undefined
        : 'expected http://host:port or empty',
  }),
];

/** Every broker config with its literal types (settings.ts derives BrokerSettings from it). */
export type BrokerConfigDef = (typeof brokerConfigDefList)[number];
export type BrokerConfigName = BrokerConfigDef['name'];
export const brokerConfigDefs: readonly ConfigDef[] = [
  ...brokerConfigDefList,
  ...defaultOnlyBrokerDefs(),
];

/** A topic config and the broker configs it falls back to, most specific first. */
export interface TopicConfigDef extends ConfigDef {
  readonly brokerSynonyms: readonly string[];
  /** Set for the Kafka 3.9 topic configs accepted only at their default (defaultOnlyConfigs). */
  readonly defaultOnly?: DefaultOnlyConfig;
}

function topicDef<const N extends string>(
  name: N,
  type: ConfigTypeName,
  brokerSynonyms: readonly BrokerConfigName[],
  doc: string,
  defaultValue: string | null = null,
): TopicConfigDef & { readonly name: N } {
  const base = brokerConfigDefs.find((b) => b.name === brokerSynonyms[0]);
  return {
    name,
    type,
    brokerSynonyms,
    doc,
    defaultValue,
    readOnly: false,
    sensitive: false,
    ...(base?.allowed === undefined ? {} : { allowed: base.allowed }),
    ...(base?.min === undefined || base.type !== type ? {} : { min: base.min }),
    ...(base?.validate === undefined || base.type !== type ? {} : { validate: base.validate }),
    ...(base?.ignored === true ? { ignored: true } : {}),
  };
}

/**
 * Kafka's ThrottledReplicaListValidator: "*", or partition:broker pairs (an empty list is no
 * throttle).
 */
function throttledReplicasDef<const N extends string>(
  name: N,
  doc: string,
): TopicConfigDef & { readonly name: N } {
  return {
    ...topicDef(name, 'list', [], doc, ''),
    validate: (value) => {
      const entries = value
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      if (entries.length === 1 && entries[0] === '*') return undefined;
      if (entries.every((e) => /^\d+:\d+$/.test(e))) return undefined;
      return 'must be the wildcard (*) or a list of partition:brokerId entries';
    },
  };
}

const topicConfigDefList = [
  topicDef('cleanup.policy', 'list', ['log.cleanup.policy'], 'delete or compact.'),
  topicDef('compression.type', 'string', ['compression.type'], 'Codec batches are stored with.'),
  topicDef(
    'delete.retention.ms',
    'long',
    ['log.cleaner.delete.retention.ms'],
    'How long tombstones are kept on compacted topics.',
  ),
  topicDef(
    'file.delete.delay.ms',
    'long',
    ['log.segment.delete.delay.ms'],
    'Delay before a deleted segment file is removed.',
  ),
  topicDef(
    'flush.messages',
    'long',
    ['log.flush.interval.messages'],
    'Messages appended before the log is fsynced.',
  ),
  topicDef(
    'flush.ms',
    'long',
    ['log.flush.interval.ms'],
    'Most milliseconds data stays unsynced.',
    LONG_MAX,
  ),
  topicDef(
    'index.interval.bytes',
    'int',
    ['log.index.interval.bytes'],
    'Bytes of log between two index entries.',
  ),
  throttledReplicasDef(
    'leader.replication.throttled.replicas',
    'Replicas (partition:broker, or *) whose leader throttles replication to out-of-sync followers.',
  ),
  throttledReplicasDef(
    'follower.replication.throttled.replicas',
    'Replicas (partition:broker, or *) whose out-of-sync follower throttles its fetching.',
  ),
  topicDef(
    'max.compaction.lag.ms',
    'long',
    ['log.cleaner.max.compaction.lag.ms'],
    'Records older than this are compacted whatever the dirty ratio.',
  ),
  topicDef(
    'max.message.bytes',
    'int',
    ['message.max.bytes'],
    'Largest record batch accepted for this topic.',
  ),
  topicDef(
    'message.downconversion.enable',
    'boolean',
    ['log.message.downconversion.enable'],
    'Convert records for old fetchers.',
  ),
  topicDef(
    'message.format.version',
    'string',
    ['log.message.format.version'],
    'Deprecated: has no effect, as in Kafka 3.x.',
  ),
  topicDef(
    'message.timestamp.difference.max.ms',
    'long',
    ['log.message.timestamp.difference.max.ms'],
    'Deprecated (KIP-937): the before and after bound where those are not set.',
  ),
  topicDef(
    'message.timestamp.type',
    'string',
    ['log.message.timestamp.type'],
    'CreateTime or LogAppendTime.',
  ),
  topicDef(
    'message.timestamp.before.max.ms',
    'long',
    ['log.message.timestamp.before.max.ms'],
    'Most a record timestamp may be behind the broker clock.',
  ),
  topicDef(
    'message.timestamp.after.max.ms',
    'long',
    ['log.message.timestamp.after.max.ms'],
    'Most a record timestamp may be ahead of the broker clock.',
  ),
  topicDef(
    'min.cleanable.dirty.ratio',
    'double',
    ['log.cleaner.min.cleanable.ratio'],
    'Dirty share of the log below which it is not cleaned.',
  ),
  topicDef(
    'min.compaction.lag.ms',
    'long',
    ['log.cleaner.min.compaction.lag.ms'],
    'Records younger than this stay uncompacted.',
  ),
  topicDef(
    'min.insync.replicas',
    'int',
    ['min.insync.replicas'],
    'Replicas that must have a batch before acks=all succeeds.',
  ),
  topicDef('preallocate', 'boolean', ['log.preallocate'], 'Accepted for compatibility.'),
  topicDef(
    'retention.bytes',
    'long',
    ['log.retention.bytes'],
    'Largest size of a partition before old segments are deleted.',
  ),
  topicDef(
    'retention.ms',
    'long',
    ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    'How long segments are kept; -1 forever.',
  ),
  topicDef('segment.bytes', 'int', ['log.segment.bytes'], 'Size at which a segment is rolled.'),
  topicDef(
    'segment.index.bytes',
    'int',
    ['log.index.size.max.bytes'],
    'Size an index is preallocated to.',
  ),
  topicDef('segment.jitter.ms', 'long', ['log.roll.jitter.ms'], 'Accepted for compatibility.', '0'),
  topicDef(
    'segment.ms',
    'long',
    ['log.roll.ms', 'log.roll.hours'],
    'Age at which a segment is rolled.',
  ),
  topicDef(
    'unclean.leader.election.enable',
    'boolean',
    ['unclean.leader.election.enable'],
    'Allow an out-of-sync replica to become leader.',
  ),
];

export type TopicConfigName = (typeof topicConfigDefList)[number]['name'];
export const topicConfigDefs: readonly TopicConfigDef[] = [
  ...topicConfigDefList,
  ...defaultOnlyTopicDefs(),
];

export const brokerConfigByName: ReadonlyMap<string, ConfigDef> = new Map(
  brokerConfigDefs.map((d) => [d.name, d]),
);
export const topicConfigByName: ReadonlyMap<string, TopicConfigDef> = new Map(
  topicConfigDefs.map((d) => [d.name, d]),
);

/** Checks a value against its definition; returns the reason it is invalid, or undefined. */
export function checkConfigValue(d: ConfigDef, value: string): string | undefined {
  const v = value.trim();
  switch (d.type) {
    case 'boolean':
      if (v !== 'true' && v !== 'false') return 'expected true or false';
      break;
    case 'int':
    case 'short':
    case 'long': {
      if (!/^-?\d+$/.test(v)) return 'expected an integer';
      const n = Number(v);
      const max = d.type === 'short' ? 32767 : d.type === 'int' ? 2147483647 : Number.MAX_VALUE;
      if (Math.abs(n) > max) return `out of range for ${d.type}`;
      if (d.min !== undefined && n < d.min) return `must be at least ${d.min}`;
      break;
    }
    case 'double':
      if (Number.isNaN(Number(v)) || v === '') return 'expected a number';
      break;
    default:
      break;
  }
  if (d.allowed !== undefined && !d.allowed.includes(v)) {
    return `must be one of ${d.allowed.join(', ')}`;
  }
  return d.validate?.(v);
}

export function invalidConfig(name: string, value: string, reason: string): TributaryError {
  return new TributaryError(
    'BRK_CONFIG_INVALID',
    `Invalid value ${value} for configuration ${name}: ${reason}`,
  );
}

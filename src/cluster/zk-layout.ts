/**
 * Kafka's ZooKeeper layout (kafka.zk.ZkData in Apache Kafka 3.x, the last line that ran on
 * ZooKeeper): the znode paths and the JSON each one holds, written field for field and type for
 * type as Kafka 3.9 writes them. ZooKeeper-era tools (kafka-topics --zookeeper, zkCli,
 * kafka-reassign-partitions, monitoring that reads /brokers) parse these exact shapes: a
 * timestamp that Kafka writes as a string must stay a string, a version that is a number must stay
 * a number, or those tools fail on our cluster.
 *
 * Each format has a typed encoder (to the znode's bytes) and a decoder (from them) that accepts
 * what Kafka writes, older versions included where Kafka itself still reads them. A decoder that
 * meets something else throws a BRK_STORAGE_CORRUPT TributaryError naming the path.
 */
import { TributaryError } from '../common/errors.ts';
import { parseTopicId, type TopicId } from '../common/ids.ts';

// -------------------------------------------------------------------------------------------
// Paths

/** The config entity types of Kafka's ConfigType (each has its /config/<type> znode). */
export const CONFIG_ENTITY_TYPES = ['topics', 'clients', 'users', 'brokers', 'ips'] as const;
export type ConfigEntityType = (typeof CONFIG_ENTITY_TYPES)[number];

export const CONFIG_CHANGE_PREFIX = 'config_change_';
export const ISR_CHANGE_PREFIX = 'isr_change_';
export const LOG_DIR_EVENT_PREFIX = 'log_dir_event_';

export const ZkPaths = {
  clusterId: '/cluster/id',
  brokers: '/brokers',
  brokerIds: '/brokers/ids',
  broker: (id: number): string => `/brokers/ids/${id}`,
  brokerSequenceId: '/brokers/seqid',
  topics: '/brokers/topics',
  topic: (topic: string): string => `/brokers/topics/${topic}`,
  topicPartitions: (topic: string): string => `/brokers/topics/${topic}/partitions`,
  topicPartition: (topic: string, partition: number): string =>
    `/brokers/topics/${topic}/partitions/${partition}`,
  partitionState: (topic: string, partition: number): string =>
    `/brokers/topics/${topic}/partitions/${partition}/state`,
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  admin: '/admin',
  deleteTopics: '/admin/delete_topics',
  deleteTopic: (topic: string): string => `/admin/delete_topics/${topic}`,
  reassignPartitions: '/admin/reassign_partitions',
  configEntityType: (type: ConfigEntityType): string => `/config/${type}`,
  topicConfig: (topic: string): string => `/config/topics/${topic}`,
  configChanges: '/config/changes',
  /** Created persistent_sequential: ZooKeeper appends a 10-digit sequence number. */
  configChangePrefix: `/config/changes/${CONFIG_CHANGE_PREFIX}`,
  isrChangeNotification: '/isr_change_notification',
  isrChangePrefix: `/isr_change_notification/${ISR_CHANGE_PREFIX}`,
  logDirEventNotification: '/log_dir_event_notification',
  /** Created persistent_sequential by a broker whose log dir failed (LogDirEventNotification). */
  logDirEventPrefix: `/log_dir_event_notification/${LOG_DIR_EVENT_PREFIX}`,
  producerIdBlock: '/latest_producer_id_block',
  /** The old consumers' root; Kafka still creates it at start. */
  consumers: '/consumers',
  feature: '/feature',
} as const;

/**
 * /feature as a Kafka 3.x controller writes it (FeatureZNode, version 2): feature versioning
 * enabled (status 1), no finalized features (ZooKeeper-mode clusters finalize none).
 */
export const FEATURE_ZNODE = Buffer.from(JSON.stringify({ features: {}, version: 2, status: 1 }));

/**
 * The persistent znodes every Kafka broker makes sure exist at start (ZkData.PersistentZkPaths):
 * the controller and the tools assume them, e.g. a children watch on /brokers/ids needs the znode.
 */
export const PERSISTENT_PATHS: readonly string[] = [
  ZkPaths.consumers,
  ZkPaths.brokerIds,
  ZkPaths.topics,
  ZkPaths.configChanges,
  ZkPaths.deleteTopics,
  ZkPaths.brokerSequenceId,
  ZkPaths.isrChangeNotification,
  ZkPaths.producerIdBlock,
  ZkPaths.logDirEventNotification,
  ...CONFIG_ENTITY_TYPES.map((type) => ZkPaths.configEntityType(type)),
];

/** The sequence number of a sequential znode's name ("config_change_0000000042" → 42). */
export function sequenceNumberOf(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const digits = name.slice(prefix.length);
  return /^\d{10}$/.test(digits) ? Number(digits) : undefined;
}

// -------------------------------------------------------------------------------------------
// JSON reading with Kafka's types

type Json = Record<string, unknown>;

function corrupt(path: string, why: string): TributaryError {
  return new TributaryError('BRK_STORAGE_CORRUPT', `ZooKeeper ${path}: ${why}`);
}

function parseObject(bytes: Buffer, path: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(path, `not JSON: ${bytes.toString('utf8').slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(path, 'not a JSON object');
  }
  return value as Json;
}

function int(json: Json, key: string, path: string): number {
  const v = json[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw corrupt(path, `"${key}" is not an integer`);
  }
  return v;
}

function str(json: Json, key: string, path: string): string {
  const v = json[key];
  if (typeof v !== 'string') throw corrupt(path, `"${key}" is not a string`);
  return v;
}

function intList(value: unknown, what: string, path: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) {
    throw corrupt(path, `${what} is not a list of integers`);
  }
  return value as number[];
}

function object(value: unknown, what: string, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(path, `${what} is not a JSON object`);
  }
  return value as Json;
}

function encode(json: unknown): Buffer {
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/** A millisecond timestamp as Kafka writes it in registrations: a decimal string. */
function timestampText(ms: number): string {
  return String(Math.trunc(ms));
}

// -------------------------------------------------------------------------------------------
// /cluster/id: {"version":"1","id":"..."} (the version is a string there, unlike elsewhere)

export function encodeClusterId(id: string): Buffer {
  return encode({ version: '1', id });
}

export function decodeClusterId(bytes: Buffer): string {
  return str(parseObject(bytes, ZkPaths.clusterId), 'id', ZkPaths.clusterId);
}

// -------------------------------------------------------------------------------------------
// /controller and /controller_epoch

export interface ControllerRegistration {
  readonly brokerId: number;
  /** Set by a KRaft controller during a migration; -1 (none) from ZooKeeper-mode controllers. */
  readonly kraftControllerEpoch: number;
}

/** Version 2, as 3.x brokers write it: the timestamp a string, kraftControllerEpoch -1. */
export function encodeController(brokerId: number, timestampMs: number): Buffer {
  return encode({
    version: 2,
    brokerid: brokerId,
    timestamp: timestampText(timestampMs),
    kraftControllerEpoch: -1,
  });
}

/** Reads version 1 (no kraftControllerEpoch) and 2. */
export function decodeController(bytes: Buffer): ControllerRegistration {
  const json = parseObject(bytes, ZkPaths.controller);
  const brokerId = int(json, 'brokerid', ZkPaths.controller);
  const kraft = json['kraftControllerEpoch'];
  const kraftControllerEpoch =
    kraft === undefined ? -1 : int(json, 'kraftControllerEpoch', ZkPaths.controller);
  return { brokerId, kraftControllerEpoch };
}

/** The epoch as decimal text, not JSON (ControllerEpochZNode). */
export function encodeControllerEpoch(epoch: number): Buffer {
  return Buffer.from(String(epoch), 'utf8');
}

export function decodeControllerEpoch(bytes: Buffer): number {
  const text = bytes.toString('utf8').trim();
  if (!/^-?\d+$/.test(text)) throw corrupt(ZkPaths.controllerEpoch, `not a number: ${text}`);
  return Number(text);
}

// -------------------------------------------------------------------------------------------
// /brokers/ids/N

export interface ZkEndpoint {
  readonly listenerName: string;
  readonly securityProtocol: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerRegistrationData {
  readonly endpoints: readonly ZkEndpoint[];
  readonly rack: string | null;
  /** -1 when JMX is off (Kafka's default). */
  readonly jmxPort: number;
  readonly timestampMs: number;
}

/** EndPoint.connectionString: "LISTENER://host:port", IPv6 hosts in brackets. */
function endpointString(e: ZkEndpoint): string {
  if (e.host === '') return `${e.listenerName}://:${e.port}`;
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.listenerName}://${host}:${e.port}`;
}

function parseEndpoint(text: string, protocols: Json, path: string): ZkEndpoint {
  const m = /^([^:/]+):\/\/(\[[^\]]*\]|[^:]*):(-?\d+)$/.exec(text);
  if (m === null) throw corrupt(path, `bad endpoint ${text}`);
  const listenerName = m[1] ?? '';
  const rawHost = m[2] ?? '';
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const mapped = protocols[listenerName];
  // Without a map entry the listener name is the protocol (Kafka's default map).
  const securityProtocol = typeof mapped === 'string' ? mapped : listenerName;
  return { listenerName, securityProtocol, host, port: Number(m[3]) };
}

/**
 * Version 5 (Kafka 2.7+): every endpoint, the listener → protocol map, the rack when set, the
 * supported features (none here: {}), and the top-level host and port of the first PLAINTEXT
 * endpoint for clients older than 0.10 (null and -1 when there is none, as Kafka writes).
 */
export function encodeBrokerRegistration(b: BrokerRegistrationData): Buffer {
  const plaintext = b.endpoints.find((e) => e.securityProtocol === 'PLAINTEXT');
  const json: Json = {
    version: 5,
    host: plaintext?.host ?? null,
    port: plaintext?.port ?? -1,
    endpoints: b.endpoints.map(endpointString),
    jmx_port: b.jmxPort,
    timestamp: timestampText(b.timestampMs),
    listener_security_protocol_map: Object.fromEntries(
      b.endpoints.map((e) => [e.listenerName, e.securityProtocol]),
    ),
    features: {},
  };
  if (b.rack !== null) json['rack'] = b.rack;
  return encode(json);
}

/** Reads versions 1 to 5 (BrokerIdZNode.decode). */
export function decodeBrokerRegistration(id: number, bytes: Buffer): BrokerRegistrationData {
  const path = ZkPaths.broker(id);
  const json = parseObject(bytes, path);
  const version = int(json, 'version', path);
  if (version < 1) throw corrupt(path, `unsupported registration version ${version}`);
  let endpoints: ZkEndpoint[];
  if (version === 1) {
    const host = str(json, 'host', path);
    const port = int(json, 'port', path);
    endpoints = [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host, port }];
  } else {
    const list = json['endpoints'];
    if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) {
      throw corrupt(path, '"endpoints" is not a list of strings');
    }
    const map = json['listener_security_protocol_map'];
    const protocols = map === undefined ? {} : object(map, 'the protocol map', path);
    endpoints = (list as string[]).map((e) => parseEndpoint(e, protocols, path));
  }
  const rack = json['rack'];
  const timestamp = json['timestamp'];
  return {
    endpoints,
    rack: typeof rack === 'string' ? rack : null,
    jmxPort: int(json, 'jmx_port', path),
    timestampMs: typeof timestamp === 'string' ? Number(timestamp) : 0,
  };
}

// -------------------------------------------------------------------------------------------
// /brokers/topics/T

export interface TopicAssignmentData {
  /** null for a topic written by a tool older than 2.8 (the controller then gives it one). */
  readonly topicId: TopicId | null;
  /** Per partition, numbered from 0, its replicas (preferred leader first). */
  readonly partitions: readonly (readonly number[])[];
  /** Replicas being added or removed by a reassignment, by partition (usually empty). */
  readonly addingReplicas: ReadonlyMap<number, readonly number[]>;
  readonly removingReplicas: ReadonlyMap<number, readonly number[]>;
}

function byPartition(map: ReadonlyMap<number, readonly number[]>): Json {
  return Object.fromEntries([...map].map(([p, r]) => [String(p), [...r]]));
}

/** Version 3 (Kafka 2.8+): partition numbers as string keys, the topic id when known. */
export function encodeTopicAssignment(t: TopicAssignmentData): Buffer {
  const json: Json = {
    version: 3,
    partitions: Object.fromEntries(t.partitions.map((r, p) => [String(p), [...r]])),
    adding_replicas: byPartition(t.addingReplicas),
    removing_replicas: byPartition(t.removingReplicas),
  };
  if (t.topicId !== null) json['topic_id'] = t.topicId;
  return encode(json);
}

function replicasByPartition(value: unknown, what: string, path: string): Map<number, number[]> {
  const map = new Map<number, number[]>();
  if (value === undefined) return map;
  for (const [key, replicas] of Object.entries(object(value, what, path))) {
    if (!/^\d+$/.test(key)) throw corrupt(path, `${what}: bad partition ${key}`);
    map.set(Number(key), intList(replicas, `${what} of partition ${key}`, path));
  }
  return map;
}

/** Reads versions 1 to 3; the partitions must be numbered 0..n-1, as Kafka creates them. */
export function decodeTopicAssignment(topic: string, bytes: Buffer): TopicAssignmentData {
  const path = ZkPaths.topic(topic);
  const json = parseObject(bytes, path);
  const byNumber = replicasByPartition(json['partitions'], '"partitions"', path);
  const partitions = Array.from({ length: byNumber.size }, (_, p) => {
    const replicas = byNumber.get(p);
    if (replicas === undefined) throw corrupt(path, `partition ${p} is missing`);
    return replicas;
  });
  let topicId: TopicId | null = null;
  if (json['topic_id'] !== undefined) {
    const text = str(json, 'topic_id', path);
    topicId = parseTopicId(text) ?? null;
    if (topicId === null) throw corrupt(path, `bad topic id ${text}`);
  }
  return {
    topicId,
    partitions,
    addingReplicas: replicasByPartition(json['adding_replicas'], '"adding_replicas"', path),
    removingReplicas: replicasByPartition(json['removing_replicas'], '"removing_replicas"', path),
  };
}

// -------------------------------------------------------------------------------------------
// /brokers/topics/T/partitions/P/state

/** LeaderRecoveryState (KIP-704): 0 RECOVERED, 1 RECOVERING after an unclean election. */
export type LeaderRecoveryState = 0 | 1;

export interface PartitionStateData {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly controllerEpoch: number;
  readonly leaderRecoveryState: LeaderRecoveryState;
}

/** Version 1; leader_recovery_state only when not RECOVERED, as 3.x writes it. */
export function encodePartitionState(s: PartitionStateData): Buffer {
  const json: Json = {
    controller_epoch: s.controllerEpoch,
    leader: s.leader,
    version: 1,
    leader_epoch: s.leaderEpoch,
    isr: [...s.isr],
  };
  if (s.leaderRecoveryState !== 0) json['leader_recovery_state'] = s.leaderRecoveryState;
  return encode(json);
}

export function decodePartitionState(
  topic: string,
  partition: number,
  bytes: Buffer,
): PartitionStateData {
  const path = ZkPaths.partitionState(topic, partition);
  const json = parseObject(bytes, path);
  const recovery = json['leader_recovery_state'];
  if (recovery !== undefined && recovery !== 0 && recovery !== 1) {
    throw corrupt(path, `unknown leader_recovery_state ${String(recovery)}`);
  }
  return {
    leader: int(json, 'leader', path),
    leaderEpoch: int(json, 'leader_epoch', path),
    isr: intList(json['isr'], '"isr"', path),
    controllerEpoch: int(json, 'controller_epoch', path),
    leaderRecoveryState: recovery ?? 0,
  };
}

// -------------------------------------------------------------------------------------------
// /config/<type>/<name> and /config/changes

/** {"version":1,"config":{...}}: every value a string, as Kafka's Properties. */
export function encodeEntityConfig(configs: ReadonlyMap<string, string>): Buffer {
  return encode({ version: 1, config: Object.fromEntries(configs) });
}

/** Empty data (a znode created without any) is no overrides, as Kafka reads it. */
export function decodeEntityConfig(path: string, bytes: Buffer): Map<string, string> {
  if (bytes.length === 0) return new Map();
  const json = parseObject(bytes, path);
  if (json['config'] === undefined) return new Map();
  const configs = new Map<string, string>();
  for (const [key, value] of Object.entries(object(json['config'], '"config"', path))) {
    if (typeof value !== 'string') throw corrupt(path, `config ${key} is not a string`);
    configs.set(key, value);
  }
  return configs;
}

/** Version 2: {"version":2,"entity_path":"topics/T"}. */
export function encodeConfigChange(entityType: ConfigEntityType, entityName: string): Buffer {
  return encode({ version: 2, entity_path: `${entityType}/${entityName}` });
}

export interface ConfigChange {
  readonly entityType: string;
  readonly entityName: string;
}

/** Reads version 2 (entity_path) and version 1 (entity_type and entity_name). */
export function decodeConfigChange(path: string, bytes: Buffer): ConfigChange {
  const json = parseObject(bytes, path);
  const version = int(json, 'version', path);
  if (version === 1) {
    return {
      entityType: str(json, 'entity_type', path),
      entityName: str(json, 'entity_name', path),
    };
  }
  if (version !== 2) throw corrupt(path, `unsupported config change version ${version}`);
  const entityPath = str(json, 'entity_path', path);
  const slash = entityPath.indexOf('/');
  if (slash <= 0) throw corrupt(path, `bad entity_path ${entityPath}`);
  return { entityType: entityPath.slice(0, slash), entityName: entityPath.slice(slash + 1) };
}

// -------------------------------------------------------------------------------------------
// /isr_change_notification/isr_change_N and /admin/reassign_partitions

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

function partitionRefs(json: Json, path: string): TopicPartitionRef[] {
  const list = json['partitions'];
  if (!Array.isArray(list)) throw corrupt(path, '"partitions" is not a list');
  return list.map((entry: unknown) => {
    const p = object(entry, 'a partition', path);
    return { topic: str(p, 'topic', path), partition: int(p, 'partition', path) };
  });
}

/** {"version":1,"partitions":[{"topic":"t","partition":0}]} (IsrChangeNotificationHandler). */
export function encodeIsrChange(partitions: readonly TopicPartitionRef[]): Buffer {
  return encode({
    version: 1,
    partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
  });
}

export function decodeIsrChange(path: string, bytes: Buffer): TopicPartitionRef[] {
  return partitionRefs(parseObject(bytes, path), path);
}

/** Kafka's LogDirEventNotificationZNode event type for a failed log dir. */
export const LOG_DIR_FAILURE_EVENT = 1;

/** {"version":1,"broker":N,"event":1}: broker N had a log dir fail. */
export function encodeLogDirEvent(brokerId: number): Buffer {
  return encode({ version: 1, broker: brokerId, event: LOG_DIR_FAILURE_EVENT });
}

/** The broker of a log dir event notification. */
export function decodeLogDirEvent(path: string, bytes: Buffer): number {
  return int(parseObject(bytes, path), 'broker', path);
}

export interface Reassignment extends TopicPartitionRef {
  readonly replicas: readonly number[];
}

/** The legacy reassignment request: {"version":1,"partitions":[{topic,partition,replicas}]}. */
export function encodeReassignment(partitions: readonly Reassignment[]): Buffer {
  return encode({
    version: 1,
    partitions: partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      replicas: [...p.replicas],
    })),
  });
}

export function decodeReassignment(bytes: Buffer): Reassignment[] {
  const path = ZkPaths.reassignPartitions;
  const json = parseObject(bytes, path);
  const list = json['partitions'];
  if (!Array.isArray(list)) throw corrupt(path, '"partitions" is not a list');
  return list.map((entry: unknown) => {
    const p = object(entry, 'a partition', path);
    return {
      topic: str(p, 'topic', path),
      partition: int(p, 'partition', path),
      replicas: intList(p['replicas'], '"replicas"', path),
    };
  });
}

// -------------------------------------------------------------------------------------------
// /latest_producer_id_block

/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE: what a ZooKeeper-mode broker reserves. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export interface ProducerIdBlock {
  readonly brokerId: number;
  /** First and last id of the block, inclusive. */
  readonly blockStart: number;
  readonly blockEnd: number;
}

/** {"version":1,"broker":N,"block_start":"0","block_end":"999"}: the bounds as strings (longs). */
export function encodeProducerIdBlock(b: ProducerIdBlock): Buffer {
  return encode({
    version: 1,
    broker: b.brokerId,
    block_start: String(b.blockStart),
    block_end: String(b.blockEnd),
  });
}

function longText(json: Json, key: string, path: string): number {
  const text = str(json, key, path);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw corrupt(path, `bad ${key} ${text}`);
  return n;
}

/** null for the empty znode that start-up creates before any block was taken. */
export function decodeProducerIdBlock(bytes: Buffer): ProducerIdBlock | null {
  if (bytes.length === 0) return null;
  const path = ZkPaths.producerIdBlock;
  const json = parseObject(bytes, path);
  return {
    brokerId: int(json, 'broker', path),
    blockStart: longText(json, 'block_start', path),
    blockEnd: longText(json, 'block_end', path),
  };
}

/**
 * Kafka's small text files, in Kafka's formats:
 *
 *   offset checkpoints (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 *   replication-offset-checkpoint):   0\n<count>\n<topic> <partition> <offset>\n...
 *   leader-epoch-checkpoint:          0\n<count>\n<epoch> <startOffset>\n...
 *   meta.properties (ZooKeeper-era v0): key=value lines: version=0, broker.id=N, cluster.id=...
 *
 * All are replaced atomically (write a temporary file, fdatasync, rename, sync the directory).
 */
import { TributaryError } from '../common/errors.ts';

const CHECKPOINT_VERSION = 0;

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

function corrupt(what: string, detail: string): TributaryError {
  return new TributaryError('BRK_STORAGE_CORRUPT', `malformed ${what}: ${detail}`);
}

function parseLines(text: string, what: string): string[][] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const version = Number(lines[0]);
  if (version !== CHECKPOINT_VERSION) throw corrupt(what, `version '${lines[0] ?? ''}'`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0) throw corrupt(what, `count '${lines[1] ?? ''}'`);
  const rows = lines.slice(2).map((l) => l.trim().split(/\s+/));
  if (rows.length !== count) throw corrupt(what, `expected ${count} entries, found ${rows.length}`);
  return rows;
}

function parseInteger(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || s.length === 0 || !Number.isSafeInteger(n)) {
    throw corrupt(what, `not an integer: '${s ?? ''}'`);
  }
  return n;
}

export function formatOffsetCheckpoint(entries: readonly TopicPartitionOffset[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function parseOffsetCheckpoint(text: string): TopicPartitionOffset[] {
  const what = 'offset checkpoint';
  return parseLines(text, what).map((row) => {
    if (row.length !== 3) throw corrupt(what, `line '${row.join(' ')}'`);
    return {
      topic: row[0] as string,
      partition: parseInteger(row[1], what),
      offset: parseInteger(row[2], what),
    };
  });
}

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export function formatEpochCheckpoint(entries: readonly EpochEntry[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.epoch} ${e.startOffset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function parseEpochCheckpoint(text: string): EpochEntry[] {
  const what = 'leader-epoch-checkpoint';
  return parseLines(text, what).map((row) => {
    if (row.length !== 2) throw corrupt(what, `line '${row.join(' ')}'`);
    return { epoch: parseInteger(row[0], what), startOffset: parseInteger(row[1], what) };
  });
}

export interface MetaProperties {
  readonly version: number;
  readonly brokerId: number;
  readonly clusterId: string | undefined;
}

export function formatMetaProperties(meta: MetaProperties, comment: string): Buffer {
  const lines = [`#${comment}`, `version=${meta.version}`, `broker.id=${meta.brokerId}`];
  if (meta.clusterId !== undefined) lines.push(`cluster.id=${meta.clusterId}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function parseMetaProperties(text: string): MetaProperties {
  const props = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const what = 'meta.properties';
  return {
    version: parseInteger(props.get('version'), what),
    brokerId: parseInteger(props.get('broker.id') ?? props.get('node.id'), what),
    clusterId: props.get('cluster.id'),
  };
}

/** `<topic>-<partition>` for a partition directory name; undefined for anything else. */
export function parsePartitionDirName(
  name: string,
): { topic: string; partition: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (m === null) return undefined;
  const partition = Number(m[2]);
  if (!Number.isSafeInteger(partition)) return undefined;
  return { topic: m[1] as string, partition };
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Kafka's partition.metadata: which topic (by id) a partition directory belongs to. */
export const PARTITION_METADATA_FILE = 'partition.metadata';
const PARTITION_METADATA_VERSION = 0;

export function formatPartitionMetadata(topicId: string): Buffer {
  return Buffer.from(`version: ${PARTITION_METADATA_VERSION}\ntopic_id: ${topicId}\n`, 'utf8');
}

/** The topic id a partition.metadata file names; throws on any other content. */
export function parsePartitionMetadata(text: string): string {
  const what = PARTITION_METADATA_FILE;
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw corrupt(what, `line '${line}'`);
    fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (parseInteger(fields.get('version'), what) !== PARTITION_METADATA_VERSION) {
    throw corrupt(what, `version ${fields.get('version')}`);
  }
  const id = fields.get('topic_id');
  if (id === undefined || !/^[A-Za-z0-9_-]{22}$/.test(id)) throw corrupt(what, 'topic_id');
  return id;
}

/**
 * `tributary topics list | describe T... | create T | delete T | alter T --partitions N`.
 */
import {
  type Admin,
  type CleanerState,
  cleanerStates,
  describeConfigs,
  EARLIEST,
  KafkaError,
  LATEST,
  type TopicMetadata,
} from '../admin/index.ts';
import { type ParsedArgs, parseKeyValues, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

const TOPIC_ALREADY_EXISTS = 'TOPIC_ALREADY_EXISTS';
const UNKNOWN_TOPIC = 'UNKNOWN_TOPIC_OR_PARTITION';

export const topicsCommand: Command = {
  name: 'topics',
  summary: 'list, describe, create, delete and grow topics',
  synopsis: `usage: tributary topics list [--exclude-internal] [--json]
       tributary topics describe TOPIC... [--json]
       tributary topics create TOPIC [--partitions N] [--replication-factor R] [--config k=v]... [--if-not-exists]
       tributary topics delete TOPIC [--if-exists]
       tributary topics alter TOPIC --partitions N`,
  options: {
    partitions: {
      kind: 'int',
      value: 'N',
      help: 'partitions (create: default from the broker; alter: new total)',
    },
    'replication-factor': {
      kind: 'int',
      value: 'R',
      help: 'replicas per partition (default from the broker)',
    },
    config: { kind: 'list', value: 'k=v[,k=v]', help: 'topic config for create (repeatable)' },
    'if-not-exists': { kind: 'flag', help: 'create: succeed when the topic already exists' },
    'if-exists': { kind: 'flag', help: 'delete: succeed when the topic does not exist' },
    'exclude-internal': {
      kind: 'flag',
      help: 'list: leave out internal topics (__consumer_offsets, ...)',
    },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  async run(args, io) {
    const [sub, ...names] = args.positionals;
    const needOne = (): string => {
      if (names.length !== 1) throw new UsageError(`topics ${sub} needs exactly one TOPIC`);
      return names[0] as string;
    };
    switch (sub) {
      case 'list':
        return withAdmin(args, io, (admin) => listTopics(admin, args, io));
      case 'describe':
        if (names.length === 0) throw new UsageError('topics describe needs a TOPIC');
        return withAdmin(args, io, (admin) => describeTopics(admin, names, args, io));
      case 'create': {
        const name = needOne();
        return withAdmin(args, io, (admin) => createTopic(admin, name, args, io));
      }
      case 'delete': {
        const name = needOne();
        return withAdmin(args, io, (admin) => deleteTopic(admin, name, args, io));
      }
      case 'alter': {
        const name = needOne();
        const count = args.int('partitions', 1);
        if (count === undefined) throw new UsageError('topics alter needs --partitions N');
        return withAdmin(args, io, (admin) => alterTopic(admin, name, count, args, io));
      }
      default:
        throw new UsageError(
          sub === undefined ? 'topics needs a subcommand' : `unknown subcommand topics ${sub}`,
        );
    }
  },
};

function replicationOf(t: TopicMetadata): number {
  return t.partitions[0]?.replicas.length ?? 0;
}

async function listTopics(admin: Admin, args: ParsedArgs, io: Io): Promise<number> {
  let topics = await admin.listTopics();
  if (args.flag('exclude-internal')) topics = topics.filter((t) => !t.internal);
  if (args.flag('json')) {
    writeJson(
      io,
      topics.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.length,
        replicationFactor: replicationOf(t),
        internal: t.internal,
      })),
    );
    return EXIT.ok;
  }
  const rows = topics.map((t) => [
    t.name,
    String(t.partitions.length),
    String(replicationOf(t)),
    t.internal ? 'yes' : 'no',
  ]);
  io.stdout.write(formatTable(['topic', 'partitions', 'replication', 'internal'], rows));
  return EXIT.ok;
}

interface TopicDescription {
  readonly topic: TopicMetadata;
  readonly earliest: Map<number, number>;
  readonly latest: Map<number, number>;
  readonly configs: Record<string, string | null>;
  /** The cleaner's state by partition; undefined when the topic is not compacted. */
  readonly cleaner: Map<number, CleanerState> | undefined;
}

async function describeOne(admin: Admin, topic: TopicMetadata): Promise<TopicDescription> {
  const partitions = topic.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  const [earliest, latest, configs] = await Promise.all([
    admin.listOffsets(topic.name, partitions, EARLIEST),
    admin.listOffsets(topic.name, partitions, LATEST),
    describeConfigs(admin.client, { type: 'topic', name: topic.name }),
  ]);
  const overrides: Record<string, string | null> = {};
  for (const c of configs)
    if (!c.isDefault) overrides[c.name] = c.sensitive ? '(sensitive)' : c.value;
  const policy = configs.find((c) => c.name === 'cleanup.policy')?.value ?? '';
  const cleaner = policy.split(',').includes('compact')
    ? await cleanerStates(
        admin.client,
        topic.name,
        new Map(topic.partitions.map((p) => [p.partition, p.leader])),
      )
    : undefined;
  return { topic, earliest, latest, configs: overrides, cleaner };
}

/** The cleaner columns of a compacted topic's partition (blank when its leader did not say). */
function cleanerCells(s: CleanerState | undefined): string[] {
  if (s === undefined) return ['', '', ''];
  const last = s.lastCleanMs < 0 ? 'never' : new Date(s.lastCleanMs).toISOString();
  const ratio = s.dirtyRatio.toFixed(2) + (s.cleaning ? ' (cleaning)' : '');
  return [ratio + (s.uncleanable ? ' (uncleanable)' : ''), last, String(s.firstDirtyOffset)];
}

function cleanerJson(s: CleanerState | undefined): unknown {
  if (s === undefined) return null;
  return {
    dirtyRatio: s.dirtyRatio,
    cleanableBytes: s.cleanableBytes,
    lastCleanedMs: s.lastCleanMs < 0 ? null : s.lastCleanMs,
    checkpointOffset: s.firstDirtyOffset,
    cleaning: s.cleaning,
    uncleanable: s.uncleanable,
  };
}

async function describeTopics(admin: Admin, names: string[], args: ParsedArgs, io: Io) {
  const topics = await admin.describeTopics(names, { leaderless: true });
  const described = await Promise.all(topics.map((t) => describeOne(admin, t)));
  if (args.flag('json')) {
    writeJson(io, described.map(describeJson));
    return EXIT.ok;
  }
  const blocks = described.map((d) => {
    const t = d.topic;
    const configs = Object.entries(d.configs).map(([k, v]) => `${k}=${v ?? ''}`);
    const head =
      `Topic: ${t.name}  TopicId: ${t.topicId}  Partitions: ${t.partitions.length}  ` +
      `ReplicationFactor: ${replicationOf(t)}${t.internal ? '  Internal: yes' : ''}\n` +
      `Configs: ${configs.length === 0 ? '(defaults)' : configs.join(',')}\n`;
    const rows = t.partitions.map((p) => [
      String(p.partition),
      p.leader < 0 ? 'none' : String(p.leader),
      p.replicas.join(','),
      p.isr.join(','),
      p.offline.join(','),
      String(d.earliest.get(p.partition) ?? ''),
      String(d.latest.get(p.partition) ?? ''),
      ...(d.cleaner === undefined ? [] : cleanerCells(d.cleaner.get(p.partition))),
    ]);
    const columns = ['partition', 'leader', 'replicas', 'isr', 'offline', 'earliest', 'latest'];
    if (d.cleaner !== undefined) columns.push('dirty-ratio', 'last-cleaned', 'cleaner-checkpoint');
    return head + formatTable(columns, rows);
  });
  io.stdout.write(blocks.join('\n'));
  return EXIT.ok;
}

function describeJson(d: TopicDescription): unknown {
  const t = d.topic;
  return {
    name: t.name,
    topicId: t.topicId,
    internal: t.internal,
    replicationFactor: replicationOf(t),
    configs: d.configs,
    partitions: t.partitions.map((p) => ({
      partition: p.partition,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
      offline: p.offline,
      earliestOffset: d.earliest.get(p.partition) ?? null,
      latestOffset: d.latest.get(p.partition) ?? null,
      ...(d.cleaner === undefined ? {} : { cleaner: cleanerJson(d.cleaner.get(p.partition)) }),
    })),
  };
}

async function createTopic(admin: Admin, name: string, args: ParsedArgs, io: Io): Promise<number> {
  const configs = new Map<string, string>();
  for (const raw of args.list('config')) {
    for (const [k, v] of parseKeyValues(raw, '--config')) configs.set(k, v);
  }
  try {
    await admin.createTopic({
      name,
      partitions: args.int('partitions', 1) ?? -1,
      replicationFactor: args.int('replication-factor', 1) ?? -1,
      configs,
    });
  } catch (err) {
    if (
      !(
        args.flag('if-not-exists') &&
        err instanceof KafkaError &&
        err.errorName === TOPIC_ALREADY_EXISTS
      )
    ) {
      throw err;
    }
    report(io, args, { topic: name, created: false }, `Topic ${name} already exists.`);
    return EXIT.ok;
  }
  report(io, args, { topic: name, created: true }, `Created topic ${name}.`);
  return EXIT.ok;
}

async function deleteTopic(admin: Admin, name: string, args: ParsedArgs, io: Io): Promise<number> {
  try {
    await admin.deleteTopic(name);
  } catch (err) {
    if (!(args.flag('if-exists') && err instanceof KafkaError && err.errorName === UNKNOWN_TOPIC)) {
      throw err;
    }
    report(io, args, { topic: name, deleted: false }, `Topic ${name} does not exist.`);
    return EXIT.ok;
  }
  report(io, args, { topic: name, deleted: true }, `Deleted topic ${name}.`);
  return EXIT.ok;
}

async function alterTopic(admin: Admin, name: string, count: number, args: ParsedArgs, io: Io) {
  await admin.createPartitions(name, count);
  report(
    io,
    args,
    { topic: name, partitions: count },
    `Topic ${name} now has ${count} partitions.`,
  );
  return EXIT.ok;
}

function report(io: Io, args: ParsedArgs, json: unknown, text: string): void {
  if (args.flag('json')) writeJson(io, json);
  else io.stdout.write(`${text}\n`);
}

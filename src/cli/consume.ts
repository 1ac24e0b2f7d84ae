/**
 * `tributary consume TOPIC`: prints records from the latest offset (or --from-beginning, or
 * --offset N, or the offsets committed for --group), one per line by default (the value), in a
 * --format template, or as JSON lines. Stops at --max-messages, after --timeout-ms without a
 * record, at the end of the partitions with --exit-at-end, or on Ctrl-C.
 */
import {
  type Admin,
  type ConsumedRecord,
  EARLIEST,
  GroupOffsets,
  LATEST,
  TopicConsumer,
  type TopicMetadata,
} from '../admin/index.ts';
import { CommandFailure, type ParsedArgs, parseInteger, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { compileFormat, recordJson } from './format.ts';
import { EXIT, type Io, Progress } from './output.ts';

export const consumeCommand: Command = {
  name: 'consume',
  summary: 'print records of a topic',
  synopsis:
    'usage: tributary consume TOPIC [--from-beginning | --offset N] [--partition N] [--group G]\n' +
    '                        [--max-messages N] [--format TEMPLATE | --json]',
  options: {
    'from-beginning': { kind: 'flag', help: 'start at the earliest offset (default: the latest)' },
    offset: { kind: 'string', value: 'N', help: 'start at offset N (or earliest / latest)' },
    partition: { kind: 'int', value: 'N', help: 'read only partition N' },
    group: { kind: 'string', value: 'GROUP', help: 'start from and commit offsets of GROUP' },
    'max-messages': { kind: 'int', value: 'N', help: 'stop after N records' },
    'timeout-ms': { kind: 'int', value: 'MS', help: 'stop after MS without a new record' },
    'exit-at-end': { kind: 'flag', help: 'stop when every partition is read to its end' },
    format: {
      kind: 'string',
      value: 'TEMPLATE',
      help: "record template, e.g. '%k=%v' or '{offset} {value}'",
    },
    json: { kind: 'flag', help: 'one JSON object per record' },
  },
  async run(args, io) {
    const [topic, ...extra] = args.positionals;
    if (topic === undefined || extra.length > 0)
      throw new UsageError('consume needs exactly one TOPIC');
    if (args.flag('from-beginning') && args.has('offset')) {
      throw new UsageError('give either --from-beginning or --offset, not both');
    }
    if (args.flag('json') && args.has('format'))
      throw new UsageError('give either --format or --json');
    const render = args.flag('json')
      ? (r: ConsumedRecord) => Buffer.from(`${recordJson(r)}\n`)
      : compileFormat(args.string('format') ?? '%v');
    return withAdmin(args, io, (admin) => consume(admin, topic, args, io, render));
  },
};

interface StartPlan {
  readonly partitions: number[];
  readonly offset: number | 'earliest' | 'latest';
}

function startPlan(meta: TopicMetadata, args: ParsedArgs): StartPlan {
  const all = meta.partitions.map((p) => p.partition);
  const only = args.int('partition', 0);
  if (only !== undefined && !all.includes(only)) {
    throw new CommandFailure(`topic ${meta.name} has no partition ${only} (it has ${all.length})`);
  }
  const partitions = only === undefined ? all : [only];
  const raw = args.string('offset');
  if (raw === undefined)
    return { partitions, offset: args.flag('from-beginning') ? 'earliest' : 'latest' };
  if (raw === 'earliest' || raw === 'latest') return { partitions, offset: raw };
  const n = parseInteger(raw);
  if (n === undefined || n < 0)
    throw new UsageError(`--offset needs an offset, earliest or latest, not '${raw}'`);
  return { partitions, offset: n };
}

async function startPositions(
  admin: Admin,
  meta: TopicMetadata,
  plan: StartPlan,
  group: GroupOffsets | null,
): Promise<Map<number, number>> {
  if (typeof plan.offset === 'number') {
    return new Map(plan.partitions.map((p) => [p, plan.offset as number]));
  }
  const when = plan.offset === 'earliest' ? EARLIEST : LATEST;
  const positions = await admin.listOffsets(meta.name, plan.partitions, when);
  if (group !== null) {
    for (const [p, committed] of await group.fetch(meta.name, plan.partitions)) {
      if (committed >= 0) positions.set(p, committed);
    }
  }
  return positions;
}

async function openGroup(admin: Admin, args: ParsedArgs, io: Io): Promise<GroupOffsets | null> {
  const id = args.string('group');
  if (id === undefined) return null;
  const group = new GroupOffsets(admin.client, id);
  if (await group.supported()) return group;
  io.stderr.write(
    `tributary: warning: the broker does not serve consumer group offsets; --group ${id} is ignored\n`,
  );
  return null;
}

async function consume(
  admin: Admin,
  topic: string,
  args: ParsedArgs,
  io: Io,
  render: (r: ConsumedRecord) => Buffer,
): Promise<number> {
  const [meta] = await admin.describeTopics([topic]);
  const plan = startPlan(meta as TopicMetadata, args);
  const group = await openGroup(admin, args, io);
  const hasPositionFlag = args.flag('from-beginning') || args.has('offset');
  const positions = await startPositions(
    admin,
    meta as TopicMetadata,
    plan,
    hasPositionFlag ? null : group,
  );
  const consumer = new TopicConsumer(admin.client, meta as TopicMetadata, positions);
  const loop = new ConsumeLoop(consumer, io, args, render, group);
  const stop = () => loop.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await loop.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  io.stderr.write(`Processed a total of ${loop.count} messages\n`);
  return EXIT.ok;
}

class ConsumeLoop {
  count = 0;
  readonly #consumer: TopicConsumer;
  readonly #io: Io;
  readonly #render: (r: ConsumedRecord) => Buffer;
  readonly #group: GroupOffsets | null;
  readonly #max: number | undefined;
  readonly #idleMs: number | undefined;
  readonly #exitAtEnd: boolean;
  readonly #progress: Progress;
  readonly #committed = new Map<number, number>();
  #stopped = false;

  constructor(
    consumer: TopicConsumer,
    io: Io,
    args: ParsedArgs,
    render: (r: ConsumedRecord) => Buffer,
    group: GroupOffsets | null,
  ) {
    this.#consumer = consumer;
    this.#io = io;
    this.#render = render;
    this.#group = group;
    this.#max = args.int('max-messages', 1);
    this.#idleMs = args.int('timeout-ms', 0);
    this.#exitAtEnd = args.flag('exit-at-end');
    this.#progress = new Progress(io, 'consumed', this.#max);
  }

  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<void> {
    let lastRecordAt = performance.now();
    try {
      while (!this.#stopped && !this.#full()) {
        const records = await this.#consumer.poll();
        if (records.length > 0) lastRecordAt = performance.now();
        await this.#emit(records);
        if (this.#exitAtEnd && this.#atEnd()) break;
        if (this.#idleMs !== undefined && performance.now() - lastRecordAt >= this.#idleMs) break;
      }
    } finally {
      this.#progress.done();
    }
  }

  #full(): boolean {
    return this.#max !== undefined && this.count >= this.#max;
  }

  #atEnd(): boolean {
    for (const [p, position] of this.#consumer.positions) {
      const hw = this.#consumer.highWatermarks.get(p);
      if (hw === undefined || position < hw) return false;
    }
    return true;
  }

  async #emit(records: ConsumedRecord[]): Promise<void> {
    const room = this.#max === undefined ? records.length : this.#max - this.count;
    const shown = records.length > room ? records.slice(0, room) : records;
    if (shown.length > 0) {
      const out = Buffer.concat(shown.map(this.#render));
      await new Promise<void>((resolve, reject) => {
        this.#io.stdout.write(out, (err) => (err ? reject(err) : resolve()));
      });
      this.count += shown.length;
      this.#progress.update(this.count);
    }
    if (this.#group === null) return;
    const commit = new Map<number, number>();
    for (const r of shown) commit.set(r.partition, r.offset + 1);
    if (shown.length === records.length) {
      for (const [p, pos] of this.#consumer.positions) commit.set(p, pos);
    }
    for (const [p, offset] of commit) {
      if (this.#committed.get(p) === offset) commit.delete(p);
    }
    if (commit.size === 0) return;
    await this.#group.commit(this.#consumer.topicName, commit);
    for (const [p, offset] of commit) this.#committed.set(p, offset);
  }
}

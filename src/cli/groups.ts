/**
 * `tributary groups list | describe G | delete G | reset-offsets G`: consumer groups as
 * kafka-consumer-groups shows them: state, members and their partitions, committed offsets and
 * the lag behind the log end; and their offsets reset, as kafka-consumer-groups --reset-offsets
 * does (only while the group has no active member).
 */
import {
  type Admin,
  commitOffsetReset,
  describeGroupLag,
  GroupOffsets,
  listGroups,
  notResettableMessage,
  planOffsetReset,
  type ResetTarget,
  resettable,
} from '../admin/index.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

export const groupsCommand: Command = {
  name: 'groups',
  summary: 'list, describe (members, offsets, lag) and delete consumer groups',
  synopsis: `usage: tributary groups list [--json]
       tributary groups describe GROUP [--json]
       tributary groups delete GROUP
       tributary groups reset-offsets GROUP (--topic T[:P,P...] ... | --all-topics)
           (--to-earliest | --to-latest | --to-datetime ISO | --to-offset N | --shift-by N)
           [--dry-run] [--json]`,
  options: {
    json: { kind: 'flag', help: 'print JSON for scripts' },
    topic: {
      kind: 'list',
      value: 'T[:P,P]',
      help: 'reset-offsets: a topic, or some of its partitions',
    },
    'all-topics': { kind: 'flag', help: 'reset-offsets: every topic the group has offsets for' },
    'to-earliest': { kind: 'flag', help: 'reset-offsets: to the log start' },
    'to-latest': { kind: 'flag', help: 'reset-offsets: to the log end' },
    'to-datetime': {
      kind: 'string',
      value: 'ISO',
      help: 'reset-offsets: to the first record at or after this time',
    },
    'to-offset': {
      kind: 'string',
      value: 'N',
      help: 'reset-offsets: to this offset (kept within the log)',
    },
    'shift-by': {
      kind: 'string',
      value: 'N',
      help: 'reset-offsets: the committed offset moved by N (kept within the log)',
    },
    'dry-run': {
      kind: 'flag',
      help: 'reset-offsets: show the new offsets without committing them',
    },
  },
  run(args, io) {
    const [action, group, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (action === 'list' && group === undefined)
      return withAdmin(args, io, (a) => list(a, args, io));
    if (group === undefined) {
      throw new UsageError('expected list, describe GROUP, delete GROUP or reset-offsets GROUP');
    }
    if (action === 'describe') return withAdmin(args, io, (a) => describe(a, group, args, io));
    if (action === 'delete') return withAdmin(args, io, (a) => remove(a, group, io));
    if (action === 'reset-offsets') {
      const target = resetTarget(args);
      return withAdmin(args, io, (a) => resetOffsets(a, group, target, args, io));
    }
    throw new UsageError(`unknown action ${action ?? ''}`);
  },
};

async function list(admin: Admin, args: ParsedArgs, io: Io): Promise<number> {
  const groups = await listGroups(admin.client);
  if (args.flag('json')) {
    writeJson(io, groups);
    return EXIT.ok;
  }
  const rows = groups.map((g) => [g.groupId, g.state, g.protocolType]);
  io.stdout.write(formatTable(['group', 'state', 'protocol type'], rows));
  return EXIT.ok;
}

async function describe(admin: Admin, groupId: string, args: ParsedArgs, io: Io) {
  const { description, offsets } = await describeGroupLag(admin, groupId);
  if (args.flag('json')) {
    writeJson(io, { ...description, offsets });
    return EXIT.ok;
  }
  io.stdout.write(
    `Group: ${description.groupId}\nState: ${description.state}\nProtocol: ${description.protocolType || '-'} ${description.protocol}\n\n`,
  );
  const members = description.members.map((m) => [
    m.memberId,
    m.clientId,
    m.clientHost,
    m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' '),
  ]);
  io.stdout.write(formatTable(['member', 'client id', 'host', 'partitions'], members));
  const rows = offsets.map((o) => [
    o.topic,
    String(o.partition),
    String(o.committed),
    String(o.logEnd),
    String(o.lag),
    o.memberId ?? '-',
  ]);
  io.stdout.write(
    `\n${formatTable(['topic', 'partition', 'committed', 'log end', 'lag', 'member'], rows)}`,
  );
  return EXIT.ok;
}

async function remove(admin: Admin, groupId: string, io: Io): Promise<number> {
  await new GroupOffsets(admin.client, groupId).delete();
  io.stdout.write(`Deleted group ${groupId}.\n`);
  return EXIT.ok;
}

/** The one --to-... or --shift-by option given. */
function resetTarget(args: ParsedArgs): ResetTarget {
  const given: ResetTarget[] = [];
  if (args.flag('to-earliest')) given.push({ kind: 'earliest' });
  if (args.flag('to-latest')) given.push({ kind: 'latest' });
  const datetime = args.string('to-datetime');
  if (datetime !== undefined) {
    const ms = Date.parse(datetime);
    if (Number.isNaN(ms))
      throw new UsageError(`--to-datetime needs an ISO date, not '${datetime}'`);
    given.push({ kind: 'datetime', ms });
  }
  for (const [option, kind] of [
    ['to-offset', 'offset'],
    ['shift-by', 'shift'],
  ] as const) {
    const v = args.string(option);
    if (v === undefined) continue;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`--${option} needs an integer, not '${v}'`);
    given.push({ kind, n: Number(v) });
  }
  if (given.length !== 1) {
    throw new UsageError(
      'give exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by',
    );
  }
  return given[0] as ResetTarget;
}

async function resetOffsets(
  admin: Admin,
  groupId: string,
  target: ResetTarget,
  args: ParsedArgs,
  io: Io,
): Promise<number> {
  const topicArgs = args.list('topic');
  const all = args.flag('all-topics');
  if (topicArgs.length > 0 === all) {
    throw new UsageError('give --topic T (one or more) or --all-topics');
  }
  const group = new GroupOffsets(admin.client, groupId);
  const description = await group.describe();
  if (!resettable(description.state)) {
    io.stderr.write(`tributary: ${notResettableMessage(groupId, description.state)}\n`);
    return EXIT.failed;
  }
  const committed = await group.fetchAll();
  const wanted = new Map<string, number[]>();
  if (all) {
    for (const [topic, byPartition] of committed) wanted.set(topic, [...byPartition.keys()]);
  } else {
    for (const spec of topicArgs) {
      const [topic = '', list] = spec.split(':');
      const [meta] = await admin.describeTopics([topic], { leaderless: true });
      const count = meta?.partitions.length ?? 0;
      const partitions =
        list === undefined
          ? Array.from({ length: count }, (_, i) => i)
          : list.split(',').map(Number);
      const missing = partitions.find((p) => !Number.isInteger(p) || p < 0 || p >= count);
      if (missing !== undefined) {
        io.stderr.write(`tributary: topic ${topic} has no partition ${missing}\n`);
        return EXIT.failed;
      }
      wanted.set(topic, [...(wanted.get(topic) ?? []), ...partitions]);
    }
  }
  const rows = await planOffsetReset(admin, wanted, committed, target);
  if (!args.flag('dry-run')) await commitOffsetReset(admin, groupId, rows);
  if (args.flag('json')) {
    writeJson(io, { group: groupId, dryRun: args.flag('dry-run'), offsets: rows });
    return EXIT.ok;
  }
  io.stdout.write(
    formatTable(
      ['group', 'topic', 'partition', 'new offset'],
      rows.map((r) => [groupId, r.topic, String(r.partition), String(r.newOffset)]),
    ),
  );
  if (args.flag('dry-run')) io.stdout.write('(dry run: nothing committed)\n');
  return EXIT.ok;
}

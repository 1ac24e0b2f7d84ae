/**
 * `tributary groups list | describe G | delete G`: consumer groups as kafka-consumer-groups shows
 * them: state, members and their partitions, committed offsets and the lag behind the log end.
 */
import {
  type Admin,
  type GroupDescription,
  GroupOffsets,
  LATEST,
  listGroups,
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
       tributary groups delete GROUP`,
  options: {
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  run(args, io) {
    const [action, group, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (action === 'list' && group === undefined)
      return withAdmin(args, io, (a) => list(a, args, io));
    if (group === undefined) throw new UsageError('expected list, describe GROUP or delete GROUP');
    if (action === 'describe') return withAdmin(args, io, (a) => describe(a, group, args, io));
    if (action === 'delete') return withAdmin(args, io, (a) => remove(a, group, io));
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

interface OffsetRow {
  topic: string;
  partition: number;
  committed: number;
  logEnd: number;
  lag: number;
  memberId: string | null;
}

async function describe(admin: Admin, groupId: string, args: ParsedArgs, io: Io) {
  const group = new GroupOffsets(admin.client, groupId);
  const description = await group.describe();
  const committed = await group.fetchAll();
  const offsets: OffsetRow[] = [];
  for (const [topic, byPartition] of [...committed].sort(([a], [b]) => a.localeCompare(b))) {
    const partitions = [...byPartition.keys()].sort((a, b) => a - b);
    const ends = await admin.listOffsets(topic, partitions, LATEST);
    for (const p of partitions) {
      const c = byPartition.get(p) ?? -1;
      const end = ends.get(p) ?? -1;
      offsets.push({
        topic,
        partition: p,
        committed: c,
        logEnd: end,
        lag: Math.max(0, end - c),
        memberId: ownerOf(description, topic, p),
      });
    }
  }
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

function ownerOf(d: GroupDescription, topic: string, partition: number): string | null {
  for (const m of d.members) {
    for (const a of m.assignment)
      if (a.topic === topic && a.partitions.includes(partition)) return m.memberId;
  }
  return null;
}

async function remove(admin: Admin, groupId: string, io: Io): Promise<number> {
  await new GroupOffsets(admin.client, groupId).delete();
  io.stdout.write(`Deleted group ${groupId}.\n`);
  return EXIT.ok;
}

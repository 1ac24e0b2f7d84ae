/**
 * Moving partitions between brokers, as kafka-reassign-partitions and kafka-leader-election do:
 *
 *   tributary reassign generate --topics T[,T...] --brokers 1,2,3 [--output FILE]
 *   tributary reassign execute --plan FILE
 *   tributary reassign verify --plan FILE [--wait]
 *   tributary reassign cancel --plan FILE
 *   tributary reassign list
 *   tributary brokers drain N [--output FILE] [--execute]
 *   tributary leaders elect --preferred|--unclean [--topic T --partition P]
 *
 * Plans are Kafka's JSON, so a plan made here runs with Kafka's tool and the reverse.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  type Admin,
  alterReassignments,
  alterReplicaLogDirs,
  clearThrottles,
  currentPlan,
  drainPlan,
  electLeaders,
  formatPlan,
  generatePlan,
  listReassignments,
  type PartitionResult,
  parsePlan,
  plannedLogDirs,
  type ReassignmentPlan,
  type ReplicaLogDir,
  replicaLogDirs,
  throttlePlan,
} from '../admin/index.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

/** How often `verify --wait` asks again. */
const VERIFY_POLL_MS = 500;
/** How long `execute` asks again for a log dir move of a replica not created yet (Kafka's --timeout). */
const LOG_DIR_MOVE_TIMEOUT_MS = 10_000;

export const reassignCommand: Command = {
  name: 'reassign',
  summary: 'move partition replicas between brokers (plans in kafka-reassign-partitions JSON)',
  synopsis: `usage: tributary reassign generate --topics T[,T...] --brokers ID[,ID...] [--output FILE]
       tributary reassign execute --plan FILE [--throttle BYTES_PER_SECOND]
       tributary reassign verify --plan FILE [--wait]
       tributary reassign cancel --plan FILE
       tributary reassign list [--json]`,
  options: {
    topics: { kind: 'string', value: 'T[,T...]', help: 'topics to spread (generate)' },
    brokers: {
      kind: 'string',
      value: 'ID[,ID...]',
      help: 'brokers to spread them over (generate)',
    },
    plan: { kind: 'string', value: 'FILE', help: 'a reassignment plan (execute, verify, cancel)' },
    output: { kind: 'string', value: 'FILE', help: 'also write the proposed plan there' },
    throttle: {
      kind: 'int',
      value: 'BYTES_PER_SECOND',
      help: 'execute: cap the replication of the moving replicas (verify removes it once done)',
    },
    wait: { kind: 'flag', help: 'verify: wait until every partition of the plan is done' },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  run(args, io) {
    const [action, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    switch (action) {
      case 'generate':
        return withAdmin(args, io, (a) => generate(a, args, io));
      case 'execute':
        return withAdmin(args, io, async (a) =>
          execute(a, await readPlan(args), io, args.int('throttle', 1)),
        );
      case 'verify':
        return withAdmin(args, io, async (a) => verify(a, await readPlan(args), args, io));
      case 'cancel':
        return withAdmin(args, io, async (a) => cancel(a, await readPlan(args), io));
      case 'list':
        return withAdmin(args, io, (a) => list(a, args, io));
      default:
        throw new UsageError('expected generate, execute, verify, cancel or list');
    }
  },
};

export const brokersCommand: Command = {
  name: 'brokers',
  summary: 'drain a broker: a plan that moves every replica off it',
  synopsis: 'usage: tributary brokers drain ID [--output FILE] [--execute]',
  options: {
    output: { kind: 'string', value: 'FILE', help: 'write the plan there' },
    execute: { kind: 'flag', help: 'start the reassignment at once' },
  },
  run(args, io) {
    const [action, id, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (action !== 'drain' || id === undefined || !/^\d+$/.test(id)) {
      throw new UsageError('expected drain BROKER_ID');
    }
    return withAdmin(args, io, (a) => drain(a, Number(id), args, io));
  },
};

export const leadersCommand: Command = {
  name: 'leaders',
  summary:
    'elect leaders: the preferred replica, or (unclean) any live replica of a leaderless partition',
  synopsis: 'usage: tributary leaders elect --preferred|--unclean [--topic T [--partition P]]',
  options: {
    preferred: { kind: 'flag', help: 'give each partition back to its first replica' },
    unclean: {
      kind: 'flag',
      help: 'elect an out-of-sync replica where no in-sync one is alive (may lose data)',
    },
    topic: { kind: 'string', value: 'T', help: 'only this topic (default: every partition)' },
    partition: { kind: 'int', value: 'P', help: 'only this partition of --topic' },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  run(args, io) {
    const [action, extra] = args.positionals;
    if (action !== 'elect' || extra !== undefined) throw new UsageError('expected elect');
    const preferred = args.flag('preferred');
    if (preferred === args.flag('unclean')) {
      throw new UsageError('give exactly one of --preferred and --unclean');
    }
    return withAdmin(args, io, (a) => elect(a, preferred ? 'preferred' : 'unclean', args, io));
  },
};

async function readPlan(args: ParsedArgs): Promise<ReassignmentPlan> {
  const file = args.string('plan');
  if (file === undefined) throw new UsageError('--plan FILE is required');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--plan ${file}: ${(err as Error).message}`);
  }
  try {
    return parsePlan(text);
  } catch (err) {
    throw new UsageError(`--plan ${file}: ${(err as Error).message}`);
  }
}

function idList(raw: string | undefined, option: string): number[] {
  if (raw === undefined) throw new UsageError(`--${option} is required`);
  const ids = raw.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s)))
    throw new UsageError(`--${option}: broker ids, comma-separated`);
  return ids.map(Number);
}

async function generate(admin: Admin, args: ParsedArgs, io: Io): Promise<number> {
  const names = (args.string('topics') ?? '').split(',').filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--topics is required');
  const ids = idList(args.string('brokers'), 'brokers');
  const cluster = await admin.cluster();
  const unknown = ids.filter((id) => !cluster.brokers.has(id));
  if (unknown.length > 0) throw new UsageError(`no such broker: ${unknown.join(',')}`);
  const topics = await admin.describeTopics(names, { leaderless: true });
  const brokers = ids.map((id) => ({ id, rack: cluster.brokers.get(id)?.rack ?? null }));
  let proposed: ReassignmentPlan;
  try {
    proposed = generatePlan(topics, brokers);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  io.stdout.write(
    `Current partition replica assignment\n${formatPlan(currentPlan(topics))}\n\nProposed partition reassignment configuration\n${formatPlan(proposed)}\n`,
  );
  await maybeWrite(args.string('output'), proposed);
  return EXIT.ok;
}

async function maybeWrite(file: string | undefined, plan: ReassignmentPlan): Promise<void> {
  if (file === undefined) return;
  await writeFile(file, `${formatPlan(plan)}\n`);
}

async function execute(
  admin: Admin,
  plan: ReassignmentPlan,
  io: Io,
  throttle?: number,
): Promise<number> {
  const names = [...new Set(plan.partitions.map((p) => p.topic))];
  const topics = await admin.describeTopics(names, { leaderless: true });
  const planned = new Set(plan.partitions.map((p) => `${p.topic}-${p.partition}`));
  const rollback = currentPlan(topics).partitions.filter((p) =>
    planned.has(`${p.topic}-${p.partition}`),
  );
  io.stdout.write(
    `Current partition replica assignment\n\n${formatPlan({ version: 1, partitions: rollback })}\n\nSave this to use as the --plan during rollback\n`,
  );
  if (throttle !== undefined) {
    await throttlePlan(admin, plan, topics, throttle);
    io.stdout.write(
      `Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\nThe inter-broker throttle limit was set to ${throttle} B/s\n`,
    );
  }
  const results = await alterReassignments(admin, plan.partitions);
  const code = report(results, 'Successfully started partition reassignment', io);
  const dirs = await moveLogDirs(admin, plannedLogDirs(plan), io);
  return code === EXIT.ok ? dirs : code;
}

/**
 * The plan's `log_dirs` (AlterReplicaLogDirs to each replica's broker), as Kafka's tool: a replica
 * its broker does not have yet (REPLICA_NOT_AVAILABLE, the reassignment is creating it) is asked
 * again until LOG_DIR_MOVE_TIMEOUT_MS.
 */
async function moveLogDirs(admin: Admin, moves: readonly ReplicaLogDir[], io: Io): Promise<number> {
  let pending = [...moves];
  const deadline = Date.now() + LOG_DIR_MOVE_TIMEOUT_MS;
  let failed = false;
  while (pending.length > 0) {
    const results = await alterReplicaLogDirs(admin, pending);
    pending = [];
    for (const r of results) {
      const name = `${r.topic}-${r.partition}`;
      if (r.errorCode === 0) {
        io.stdout.write(
          `Successfully started moving log directory to ${r.dir} for replica ${name} with broker ${r.broker}\n`,
        );
      } else if (r.errorName === 'REPLICA_NOT_AVAILABLE' && Date.now() < deadline) {
        pending.push(r);
      } else {
        failed = true;
        io.stderr.write(
          `Error moving replica ${name} on broker ${r.broker} to ${r.dir}: ${r.errorName}\n`,
        );
      }
    }
    if (pending.length > 0) await new Promise((res) => setTimeout(res, VERIFY_POLL_MS));
  }
  return failed ? EXIT.failed : EXIT.ok;
}

async function cancel(admin: Admin, plan: ReassignmentPlan, io: Io): Promise<number> {
  const results = await alterReassignments(
    admin,
    plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null })),
  );
  return report(results, 'Successfully cancelled partition reassignment', io);
}

function report(results: readonly PartitionResult[], done: string, io: Io): number {
  const failed = results.filter((r) => r.errorCode !== 0);
  const ok = results.filter((r) => r.errorCode === 0);
  if (ok.length > 0) {
    io.stdout.write(`${done}s for ${ok.map((r) => `${r.topic}-${r.partition}`).join(',')}\n`);
  }
  for (const r of failed) {
    io.stderr.write(
      `${r.topic}-${r.partition}: ${r.errorName}${r.errorMessage === null ? '' : `: ${r.errorMessage}`}\n`,
    );
  }
  return failed.length === 0 ? EXIT.ok : EXIT.failed;
}

type PartitionStatus = 'completed' | 'in progress' | 'different';

/**
 * Kafka's --verify: a partition still listed by ListPartitionReassignments is in progress; one
 * whose replicas are the plan's is done; anything else did not reach the plan.
 */
async function verify(
  admin: Admin,
  plan: ReassignmentPlan,
  args: ParsedArgs,
  io: Io,
): Promise<number> {
  for (;;) {
    const statuses = await planStatus(admin, plan);
    const pending = statuses.some((s) => s.status === 'in progress');
    if (!pending || !args.flag('wait')) {
      const done = !pending;
      if (args.flag('json')) writeJson(io, statuses);
      else {
        io.stdout.write('Status of partition reassignment:\n');
        for (const s of statuses) io.stdout.write(`${s.message}\n`);
      }
      if (done) {
        // As Kafka's tool: once nothing of the plan is moving, its throttles go.
        const brokers = [...(await admin.cluster()).brokers.keys()].sort((a, b) => a - b);
        await clearThrottles(admin, plan, brokers);
        if (!args.flag('json')) {
          io.stdout.write(`Clearing broker-level throttles on brokers ${brokers.join(',')}\n`);
        }
      }
      return statuses.every((s) => s.status === 'completed') ? EXIT.ok : EXIT.failed;
    }
    await new Promise((r) => setTimeout(r, VERIFY_POLL_MS));
  }
}

/** The plan's log dir moves, as Kafka's tool reports them. */
async function logDirStatus(
  admin: Admin,
  plan: ReassignmentPlan,
): Promise<{ topic: string; partition: number; status: PartitionStatus; message: string }[]> {
  const placed = await replicaLogDirs(admin, plannedLogDirs(plan));
  return placed.map((r) => {
    const name = `${r.topic}-${r.partition}-${r.broker}`;
    if (r.current === r.dir) {
      return {
        ...pick(r),
        status: 'completed',
        message: `Reassignment of replica ${name} completed successfully.`,
      };
    }
    if (r.future === r.dir) {
      return {
        ...pick(r),
        status: 'in progress',
        message: `Reassignment of replica ${name} is still in progress.`,
      };
    }
    return {
      ...pick(r),
      status: 'different',
      message:
        r.current === null
          ? `Partition ${r.topic}-${r.partition} is not found in any live log dir on broker ${r.broker}. There is likely an offline log directory on the broker.`
          : `Partition ${r.topic}-${r.partition} on broker ${r.broker} is not being moved from log dir ${r.current} to ${r.dir}.`,
    };
  });
}

async function planStatus(
  admin: Admin,
  plan: ReassignmentPlan,
): Promise<{ topic: string; partition: number; status: PartitionStatus; message: string }[]> {
  const partitions = await partitionStatus(admin, plan);
  return [...partitions, ...(await logDirStatus(admin, plan))];
}

async function partitionStatus(
  admin: Admin,
  plan: ReassignmentPlan,
): Promise<{ topic: string; partition: number; status: PartitionStatus; message: string }[]> {
  const ongoing = await listReassignments(
    admin,
    plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
  );
  const names = [...new Set(plan.partitions.map((p) => p.topic))];
  const topics = await admin.describeTopics(names, { leaderless: true });
  return plan.partitions.map((p) => {
    const tp = `${p.topic}-${p.partition}`;
    if (ongoing.some((o) => o.topic === p.topic && o.partition === p.partition)) {
      return {
        ...pick(p),
        status: 'in progress',
        message: `Reassignment of partition ${tp} is still in progress.`,
      };
    }
    const now = topics
      .find((t) => t.name === p.topic)
      ?.partitions.find((x) => x.partition === p.partition);
    const replicas = now?.replicas ?? [];
    if (replicas.join(',') === p.replicas.join(',')) {
      return {
        ...pick(p),
        status: 'completed',
        message: `Reassignment of partition ${tp} is completed.`,
      };
    }
    return {
      ...pick(p),
      status: 'different',
      message: `There is no active reassignment of partition ${tp}, but replica set is ${replicas.join(',')} rather than ${p.replicas.join(',')}.`,
    };
  });
}

function pick(p: { topic: string; partition: number }): { topic: string; partition: number } {
  return { topic: p.topic, partition: p.partition };
}

async function list(admin: Admin, args: ParsedArgs, io: Io): Promise<number> {
  const ongoing = await listReassignments(admin, null);
  if (args.flag('json')) {
    writeJson(io, ongoing);
    return EXIT.ok;
  }
  const rows = ongoing.map((r) => [
    r.topic,
    String(r.partition),
    r.replicas.join(','),
    r.adding.join(','),
    r.removing.join(','),
  ]);
  io.stdout.write(formatTable(['topic', 'partition', 'replicas', 'adding', 'removing'], rows));
  return EXIT.ok;
}

async function drain(admin: Admin, id: number, args: ParsedArgs, io: Io): Promise<number> {
  const cluster = await admin.cluster();
  const topics = await admin.listTopics();
  const brokers = [...cluster.brokers.values()].map((b) => ({ id: b.nodeId, rack: b.rack }));
  let plan: ReassignmentPlan;
  try {
    plan = drainPlan(topics, brokers, id);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  io.stdout.write(`${formatPlan(plan)}\n`);
  await maybeWrite(args.string('output'), plan);
  if (!args.flag('execute') || plan.partitions.length === 0) return EXIT.ok;
  return execute(admin, plan, io);
}

async function elect(
  admin: Admin,
  type: 'preferred' | 'unclean',
  args: ParsedArgs,
  io: Io,
): Promise<number> {
  const topic = args.string('topic');
  const partition = args.int('partition', 0);
  if (partition !== undefined && topic === undefined)
    throw new UsageError('--partition needs --topic');
  let partitions: { topic: string; partition: number }[] | null = null;
  if (topic !== undefined) {
    const [meta] = await admin.describeTopics([topic], { leaderless: true });
    partitions = (meta?.partitions ?? [])
      .filter((p) => partition === undefined || p.partition === partition)
      .map((p) => ({ topic, partition: p.partition }));
    if (partitions.length === 0) throw new UsageError(`${topic} has no partition ${partition}`);
  }
  const results = await electLeaders(admin, type, partitions);
  if (args.flag('json')) {
    writeJson(io, results);
  } else {
    const elected = results.filter((r) => r.errorCode === 0);
    const notNeeded = results.filter((r) => r.errorName === 'ELECTION_NOT_NEEDED');
    const failed = results.filter(
      (r) => r.errorCode !== 0 && r.errorName !== 'ELECTION_NOT_NEEDED',
    );
    if (elected.length > 0) {
      io.stdout.write(
        `Successfully completed leader election (${type}) for partitions ${names(elected)}\n`,
      );
    }
    if (notNeeded.length > 0) {
      io.stdout.write(`Valid replica already elected for partitions ${names(notNeeded)}\n`);
    }
    for (const r of failed) {
      io.stderr.write(
        `${r.topic}-${r.partition}: ${r.errorName}${r.errorMessage === null ? '' : `: ${r.errorMessage}`}\n`,
      );
    }
    if (results.length === 0) io.stdout.write('No partition needed an election.\n');
  }
  return results.every((r) => r.errorCode === 0 || r.errorName === 'ELECTION_NOT_NEEDED')
    ? EXIT.ok
    : EXIT.failed;
}

function names(results: readonly PartitionResult[]): string {
  return results.map((r) => `${r.topic}-${r.partition}`).join(', ');
}

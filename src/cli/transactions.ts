/**
 * `tributary transactions list | describe ID` and `tributary producers describe TOPIC PARTITION`:
 * what kafka-transactions shows (the coordinators' transactional ids, one id's state and
 * partitions, and a partition's active producers with their open transactions).
 */
import {
  type Admin,
  describeProducers,
  describeTransaction,
  listTransactions,
} from '../admin/index.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

export const transactionsCommand: Command = {
  name: 'transactions',
  summary: 'list transactional ids and describe one (state, producer, partitions)',
  synopsis: `usage: tributary transactions list [--json]
       tributary transactions describe TRANSACTIONAL_ID [--json]`,
  options: { json: { kind: 'flag', help: 'print JSON for scripts' } },
  run(args, io) {
    const [action, id, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (action === 'list' && id === undefined) return withAdmin(args, io, (a) => list(a, args, io));
    if (action === 'describe' && id !== undefined) {
      return withAdmin(args, io, (a) => describe(a, id, args, io));
    }
    throw new UsageError('expected list or describe TRANSACTIONAL_ID');
  },
};

export const producersCommand: Command = {
  name: 'producers',
  summary: "a partition's active producers and their open transactions",
  synopsis: 'usage: tributary producers describe TOPIC PARTITION [--json]',
  options: { json: { kind: 'flag', help: 'print JSON for scripts' } },
  run(args, io) {
    const [action, topic, partition, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (
      action !== 'describe' ||
      topic === undefined ||
      partition === undefined ||
      !/^\d+$/.test(partition)
    ) {
      throw new UsageError('expected describe TOPIC PARTITION');
    }
    return withAdmin(args, io, async (a) => {
      const producers = await describeProducers(a.client, topic, Number(partition));
      if (args.flag('json')) {
        writeJson(io, producers);
        return EXIT.ok;
      }
      const rows = producers.map((p) => [
        String(p.producerId),
        String(p.producerEpoch),
        String(p.lastSequence),
        p.lastTimestamp < 0 ? '-' : new Date(p.lastTimestamp).toISOString(),
        String(p.coordinatorEpoch),
        p.currentTxnStartOffset < 0 ? '-' : String(p.currentTxnStartOffset),
      ]);
      io.stdout.write(
        formatTable(
          [
            'producer id',
            'epoch',
            'last sequence',
            'last timestamp',
            'coordinator epoch',
            'txn start offset',
          ],
          rows,
        ),
      );
      return EXIT.ok;
    });
  },
};

async function list(admin: Admin, args: ParsedArgs, io: Io): Promise<number> {
  const listed = await listTransactions(admin.client);
  if (args.flag('json')) {
    writeJson(io, listed);
    return EXIT.ok;
  }
  const rows = listed.map((t) => [
    t.transactionalId,
    String(t.coordinatorId),
    String(t.producerId),
    t.state,
  ]);
  io.stdout.write(formatTable(['transactional id', 'coordinator', 'producer id', 'state'], rows));
  return EXIT.ok;
}

async function describe(admin: Admin, id: string, args: ParsedArgs, io: Io): Promise<number> {
  const d = await describeTransaction(admin.client, id);
  if (args.flag('json')) {
    writeJson(io, d);
    return EXIT.ok;
  }
  const started = d.startTimeMs < 0 ? '-' : new Date(d.startTimeMs).toISOString();
  io.stdout.write(
    formatTable(
      [
        'coordinator',
        'transactional id',
        'producer id',
        'epoch',
        'state',
        'timeout ms',
        'started',
        'partitions',
      ],
      [
        [
          String(d.coordinatorId),
          d.transactionalId,
          String(d.producerId),
          String(d.producerEpoch),
          d.state,
          String(d.timeoutMs),
          started,
          d.partitions.map((p) => `${p.topic}-${p.partition}`).join(',') || '-',
        ],
      ],
    ),
  );
  return EXIT.ok;
}

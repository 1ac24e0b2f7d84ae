/**
 * The fault soak (issue 16) as a command: three broker processes on a real ZooKeeper through a
 * random, seeded schedule of faults (kill -9, clean restarts, SIGSTOP/SIGCONT, an expired
 * ZooKeeper session, a dropped ZooKeeper connection, a broker cut from the others but not from
 * ZooKeeper) for the given time, under idempotent acks=all producers and committing group
 * members; then the figures (src/testing/soak.ts says what each means).
 *
 *   npx tsc -p . && node build/bench/soak.js --seconds 1800 [--seed N] [--faults kill,pause,...]
 *       [--overlap 0.25] [--partitions 4] [--producers 2] [--rate 100] [--consumers 2] [--json]
 *       [--keep DIR]
 *
 * --keep DIR: when the run fails, the brokers' data directories and stderr and the clients'
 * output are kept in DIR. Exits 1 when anything acknowledged was lost, duplicated, moved or reordered, a replica differs,
 * a committed offset moved backwards, an anomaly was seen or the cluster did not heal.
 */
import { parseArgs } from 'node:util';
import { requireConfluentKafka, requireKcat } from '../src/testing/clients.ts';
import { FAULT_KINDS, formatSoakReport, runSoak, soakFailed } from '../src/testing/soak.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      partitions: { type: 'string', default: '4' },
      producers: { type: 'string', default: '2' },
      rate: { type: 'string', default: '100' },
      consumers: { type: 'string', default: '2' },
      overlap: { type: 'string', default: '0.25' },
      json: { type: 'boolean', default: false },
      keep: { type: 'string' },
    },
  });
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const faults = values.faults?.split(',');
  for (const f of faults ?? []) {
    if (!FAULT_KINDS.some((k) => k.name === f)) {
      throw new Error(`unknown fault ${f}; known: ${FAULT_KINDS.map((k) => k.name).join(', ')}`);
    }
  }
  requireKcat();
  requireConfluentKafka();
  const zookeeper = await ZooKeeperServer.start();
  const started = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1_000).toFixed(0)} s] ${line}\n`);
  log(`seed ${seed}`);
  try {
    const report = await runSoak({
      zookeeper,
      seconds: Number(values.seconds),
      seed,
      partitions: Number(values.partitions),
      producers: Number(values.producers),
      rate: Number(values.rate),
      consumers: Number(values.consumers),
      overlap: Number(values.overlap),
      ...(faults === undefined ? {} : { faults }),
      log,
      ...(values.keep === undefined ? {} : { keepDir: values.keep }),
    });
    process.stdout.write(`${formatSoakReport(report)}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exitCode = soakFailed(report) ? 1 : 0;
  } finally {
    await zookeeper.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});

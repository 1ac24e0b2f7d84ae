/**
 * The cluster benchmark: acks=all on an RF 3 topic over three brokers on a real ZooKeeper, beside
 * acks=1 and acks=all on one single-node broker, in one run, driven by the same librdkafka
 * producer (bench/kafka_client.py); and the time from kill -9 of a partition leader to the first
 * record acknowledged by its successor (bench/cluster_client.py).
 *
 *   npx tsc -p . && node build/bench/cluster.js [--records N] [--size B] [--failovers K]
 *
 * Prints a Markdown table and one JSON line. Broker CPU per record is the brokers' user+system
 * time over the run divided by the records produced; "per replica" divides the cluster's by three.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, repoRoot, runOk } from '../src/testing/broker-process.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';
import { cpuSeconds, driver, loadAverage, median } from './broker/proc.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FAILOVER_PROBE = join(HERE, '..', '..', 'bench', 'cluster_client.py');
const PYTHON = '/usr/bin/python3';
const PARTITIONS = 8;

interface Args {
  readonly records: number;
  readonly size: number;
  readonly failovers: number;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  return {
    records: get('records', 500_000),
    size: get('size', 100),
    failovers: get('failovers', 3),
  };
}

interface Row {
  readonly scenario: string;
  readonly recordsPerSecond: number;
  readonly brokerCpuUsPerRecord: number;
  readonly perReplicaUsPerRecord: number;
}

async function produce(
  bootstrap: string,
  topic: string,
  acks: string,
  args: Args,
  brokerPids: readonly number[],
): Promise<{ seconds: number; cpu: number }> {
  const cpu0 = brokerPids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  const out = await driver('produce', {
    bootstrap,
    topic,
    partitions: PARTITIONS,
    size: args.size,
    acks,
    count: args.records,
  }).result;
  const cpu1 = brokerPids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  if ((out.errors ?? []).length > 0) throw new Error(`delivery errors: ${out.errors?.join('; ')}`);
  return { seconds: out.seconds ?? 0, cpu: cpu1 - cpu0 };
}

async function createTopic(bootstrap: string, topic: string, rf: number): Promise<void> {
  const args = ['bin/tributary.js', 'topics', 'create', topic, '--partitions', String(PARTITIONS)];
  args.push('--replication-factor', String(rf), '--bootstrap-server', bootstrap);
  if (rf > 1) args.push('--config', 'min.insync.replicas=2');
  await runOk(process.execPath, args, { timeoutMs: 60_000, cwd: repoRoot() });
}

async function singleNode(args: Args): Promise<Row[]> {
  const broker = await BrokerProcess.start({ overrides: { 'num.partitions': String(PARTITIONS) } });
  try {
    const rows: Row[] = [];
    for (const acks of ['1', 'all']) {
      const topic = `single-${acks}`;
      await createTopic(broker.bootstrap, topic, 1);
      const r = await produce(broker.bootstrap, topic, acks, args, [broker.pid]);
      rows.push({
        scenario: `1 broker, RF 1, acks=${acks}`,
        recordsPerSecond: args.records / r.seconds,
        brokerCpuUsPerRecord: (r.cpu / args.records) * 1e6,
        perReplicaUsPerRecord: (r.cpu / args.records) * 1e6,
      });
    }
    return rows;
  } finally {
    await broker.stop();
    await broker.cleanup();
  }
}

async function clusterRows(cluster: ZkCluster, args: Args): Promise<Row[]> {
  const pids = [...cluster.brokers.values()].map((b) => b.pid);
  const rows: Row[] = [];
  for (const acks of ['1', 'all']) {
    const topic = `rf3-${acks}`;
    await createTopic(cluster.bootstrap, topic, 3);
    await until('the RF 3 topic in sync', async () => {
      const md = await cluster.metadata(1, topic);
      const ps = md.topics[0]?.partitions ?? [];
      return ps.length === PARTITIONS && ps.every((p) => p.isrs.length === 3) ? true : undefined;
    });
    const r = await produce(cluster.bootstrap, topic, acks, args, pids);
    rows.push({
      scenario: `3 brokers, RF 3, acks=${acks}`,
      recordsPerSecond: args.records / r.seconds,
      brokerCpuUsPerRecord: (r.cpu / args.records) * 1e6,
      perReplicaUsPerRecord: (r.cpu / args.records / 3) * 1e6,
    });
  }
  return rows;
}

/** kill -9 of partition 0's leader while a producer sends every 10 ms: ms until the next ack. */
async function failover(cluster: ZkCluster, round: number): Promise<number> {
  const topic = `failover-${round}`;
  await createTopic(cluster.bootstrap, topic, 3);
  await until('a leader in sync', async () => {
    const p = await cluster.partition(1, topic, 0);
    return p !== undefined && p.isrs.length === 3 ? p : undefined;
  });
  const probe = spawn(
    PYTHON,
    [
      FAILOVER_PROBE,
      'failover',
      '--bootstrap',
      cluster.bootstrap,
      '--topic',
      topic,
      '--seconds',
      '12',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  probe.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await until('the probe ready', () => (out.includes('ready') ? true : undefined));
  await new Promise((r) => setTimeout(r, 2000));
  const leader = (await cluster.partition(1, topic, 0))?.leader ?? -1;
  const killedAt = Date.now() / 1000;
  await cluster.broker(leader).kill();
  await new Promise<void>((resolve) => probe.once('exit', () => resolve()));
  await cluster.broker(leader).restart();
  const acks = out
    .split('\n')
    .filter((l) => l.startsWith('{"sent"'))
    .map((l) => JSON.parse(l) as { sent: number; acked: number; error: string | null })
    // Records sent after the kill: an answer of the old leader in flight at the kill is not one.
    .filter((a) => a.error === null && a.sent > killedAt)
    .map((a) => a.acked);
  if (acks.length === 0) throw new Error('no record acknowledged after the kill');
  return (Math.min(...acks) - killedAt) * 1000;
}

function table(rows: readonly Row[]): string {
  const lines = [
    '| scenario | records/s | broker CPU us/record | per replica us/record |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${r.brokerCpuUsPerRecord.toFixed(2)} | ${r.perReplicaUsPerRecord.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const load = loadAverage();
  const rows = await singleNode(args);
  const zookeeper = await ZooKeeperServer.start();
  // Production-like timings, but a 6 s session so a dead leader is noticed in seconds.
  const cluster = await ZkCluster.start(zookeeper, 3, {
    'zookeeper.session.timeout.ms': '6000',
    'replica.lag.time.max.ms': '30000',
    'replica.fetch.wait.max.ms': '500',
    'replica.fetch.backoff.ms': '1000',
  });
  const failovers: number[] = [];
  try {
    rows.push(...(await clusterRows(cluster, args)));
    for (let i = 0; i < args.failovers; i++) failovers.push(await failover(cluster, i));
  } finally {
    await cluster.stop();
    await zookeeper.stop();
  }
  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(
    `kill -9 of a leader to the first acknowledged produce at the new one (session 6 s): ${failovers.map((f) => `${Math.round(f)} ms`).join(', ')} (median ${Math.round(median(failovers))} ms)\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ date: new Date().toISOString(), load, args, rows, failoverMs: failovers })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});

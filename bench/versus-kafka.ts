/**
 * Tributary beside every Apache Kafka peer the machine can run, in one run: Kafka 3.9 in
 * ZooKeeper mode (one broker on a ZooKeeper this bench starts), Kafka 3.9 and Kafka 4.x in KRaft
 * combined mode; each driven by the librdkafka driver (bench/kafka_client.py) and by Kafka's own
 * perf tools (ProducerPerformance, ConsumerPerformance of Kafka 3.9, one JVM per run), with
 * start-up time and RSS. `--cluster` adds RF 3 on three brokers of each: three Tributary brokers
 * on ZooKeeper beside three Kafka 3.9 brokers (broker.id 1..3, -Xmx512m each) on the same
 * ZooKeeper, the same RF 3 topic (min.insync.replicas=2) and the same acks=all load.
 *
 *   npx tsc -p . && node build/bench/versus-kafka.js [--peers kafka3-zk,kafka3-kraft,kafka4-kraft]
 *     [--cluster] [--cluster-only] [--records N] [--out DIR]
 *
 * One target runs at a time (the others stopped), so that the 2-core machine runs one broker
 * under load; the order is Tributary, then each peer. Prints a Markdown table (the advantage
 * column is > 1 where Tributary is ahead) and writes DIR/versus-kafka-peers.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kcatMetadata } from '../src/testing/clients.ts';
import { KAFKA_3, KAFKA_4, kafkaClasspath } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';
import { KafkaBroker } from './broker/apache-kafka.ts';
import {
  BrokerProcess,
  cpuSeconds,
  type DriverOut,
  driver,
  freePort,
  killAll,
  loadAverage,
  memoryMiB,
  ROOT,
  run,
  sleep,
} from './broker/proc.ts';

const PEERS = ['kafka3-zk', 'kafka3-kraft', 'kafka4-kraft'] as const;
type Peer = (typeof PEERS)[number];
const PEER_LABEL: Record<Peer, string> = {
  'kafka3-zk': `Kafka ${KAFKA_3} ZooKeeper`,
  'kafka3-kraft': `Kafka ${KAFKA_3} KRaft`,
  'kafka4-kraft': `Kafka ${KAFKA_4} KRaft`,
};

interface Options {
  readonly peers: readonly Peer[];
  readonly single: boolean;
  readonly cluster: boolean;
  readonly records: number;
  readonly outDir: string;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const peers = (value('peers') ?? PEERS.join(',')).split(',').filter((p) => p !== '');
  for (const p of peers) {
    if (!(PEERS as readonly string[]).includes(p)) {
      throw new Error(`unknown peer ${p}: one of ${PEERS.join(', ')}`);
    }
  }
  const clusterOnly = argv.includes('--cluster-only');
  return {
    peers: peers as Peer[],
    single: !clusterOnly,
    cluster: clusterOnly || argv.includes('--cluster'),
    records: Number(value('records') ?? 500_000),
    outDir: value('out') ?? join(ROOT, 'docs', 'bench'),
  };
}

/** One broker or cluster under measurement. */
interface Target {
  readonly name: string;
  readonly bootstrap: string;
  readonly startupMs: number;
  /** The server processes, whose CPU time and memory are read from /proc. */
  pids(): number[];
  stop(): Promise<void>;
  /** Stopped, then started again on the same data. */
  restart(): Promise<Target>;
}

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** Target name to value. */
  readonly values: Record<string, number>;
}

const rows: Row[] = [];
const notes: string[] = [];

function put(scenario: string, metric: string, unit: string, better: Row['better']) {
  return (name: string, value: number): void => {
    let row = rows.find((r) => r.scenario === scenario && r.metric === metric);
    if (row === undefined) {
      row = { scenario, metric, unit, better, values: {} };
      rows.push(row);
    }
    row.values[name] = value;
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

function cpuOf(t: Target): number {
  return t.pids().reduce((s, pid) => s + cpuSeconds(pid), 0);
}

function rssOf(t: Target): { rss: number; peak: number } {
  return t.pids().reduce(
    (s, pid) => {
      const m = memoryMiB(pid);
      return { rss: s.rss + m.rss, peak: s.peak + m.peak };
    },
    { rss: 0, peak: 0 },
  );
}

async function createTopic(
  t: Target,
  topic: string,
  partitions: number,
  replication = 1,
  config: Record<string, string> = {},
): Promise<void> {
  const args: Record<string, string | number | string[]> = {
    bootstrap: t.bootstrap,
    topic,
    partitions,
    replication,
  };
  args['topic-config'] = Object.entries(config).map(([k, v]) => `${k}=${v}`);
  await driver('create', args).result;
  if (replication > 1) {
    // Every replica in the ISR before the load starts, as the cluster bench waits.
    const first = t.bootstrap.split(',')[0] ?? t.bootstrap;
    await until(`${topic} in sync on ${t.name}`, async () => {
      const md = (await kcatMetadata(first, ['-t', topic])).metadata;
      const ps = md.topics[0]?.partitions ?? [];
      return ps.length === partitions && ps.every((p) => p.isrs.length === replication)
        ? true
        : undefined;
    });
  }
}

interface Measured {
  readonly recPerSec: number;
  readonly cpuUsPerRecord: number;
  readonly cpuUsPerRecordPerBroker: number;
}

function measured(records: number, seconds: number, cpu: number, brokers: number): Measured {
  return {
    recPerSec: records / seconds,
    cpuUsPerRecord: (cpu / records) * 1e6,
    cpuUsPerRecordPerBroker: (cpu / records / brokers) * 1e6,
  };
}

function checked(out: DriverOut): DriverOut {
  const errors = out.errors ?? [];
  if (errors.length > 0) throw new Error(`delivery errors: ${errors.slice(0, 3).join('; ')}`);
  return out;
}

async function rdProduce(
  t: Target,
  topic: string,
  acks: string,
  count: number,
  partitions = 1,
): Promise<Measured> {
  const cpu0 = cpuOf(t);
  const out = checked(
    await driver('produce', { bootstrap: t.bootstrap, topic, partitions, size: 100, acks, count })
      .result,
  );
  return measured(Number(out.records), Number(out.seconds), cpuOf(t) - cpu0, t.pids().length);
}

async function rdConsume(t: Target, topic: string, count: number): Promise<Measured> {
  const cpu0 = cpuOf(t);
  const out = await driver('consume', { bootstrap: t.bootstrap, topic, partitions: 1, count })
    .result;
  return measured(Number(out.records), Number(out.seconds), cpuOf(t) - cpu0, 1);
}

async function rdLatency(
  t: Target,
  topic: string,
  acks: string,
  rate: number,
  seconds: number,
  clientConfig: readonly string[] = [],
): Promise<{ p50: number; p99: number; rate: number }> {
  const consumer = driver('latency-consume', { bootstrap: t.bootstrap, topic, seconds });
  await consumer.waitFor('ready');
  const producer = driver('latency-produce', {
    bootstrap: t.bootstrap,
    topic,
    size: 100,
    acks,
    rate,
    seconds,
    linger: 1,
    'client-config': clientConfig,
  });
  const p = await producer.result;
  const c = await consumer.result;
  return { p50: Number(c.p50_ms), p99: Number(c.p99_ms), rate: Number(p.rate) };
}

/** Kafka 3.9's tools, one JVM per run, as bin/kafka-*-perf-test.sh start them (512 MiB heap). */
function perfTool(main: string, args: readonly string[]): Promise<string> {
  return run('java', [
    '-Xmx512m',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    kafkaClasspath(KAFKA_3),
    main,
    ...args,
  ]);
}

/** ProducerPerformance's summary: "N records sent, R records/sec (...), A ms avg latency, ..." */
async function perfProduce(
  t: Target,
  topic: string,
  acks: string,
  count: number,
): Promise<Measured & { avgMs: number; p99Ms: number }> {
  const cpu0 = cpuOf(t);
  const out = await perfTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(count),
    '--record-size',
    '100',
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${t.bootstrap}`,
    `acks=${acks}`,
  ]);
  const cpu = cpuOf(t) - cpu0;
  const summary = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => / records sent, /.test(l));
  const m = summary?.match(
    /records sent, ([\d.]+) records\/sec.*?([\d.]+) ms avg latency.*? (\d+) ms 99th/,
  );
  if (m === null || m === undefined) throw new Error(`ProducerPerformance said:\n${out}`);
  const recPerSec = Number(m[1]);
  return {
    recPerSec,
    // Over the tool's whole run: the broker's share of its connection set-up is in it too.
    cpuUsPerRecord: (cpu / count) * 1e6,
    cpuUsPerRecordPerBroker: (cpu / count / t.pids().length) * 1e6,
    avgMs: Number(m[2]),
    p99Ms: Number(m[3]),
  };
}

/** ConsumerPerformance's CSV line; fetch.nMsg.sec leaves out the group's join. */
async function perfConsume(t: Target, topic: string, count: number): Promise<Measured> {
  const cpu0 = cpuOf(t);
  const out = await perfTool('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    t.bootstrap,
    '--topic',
    topic,
    '--messages',
    String(count),
    '--timeout',
    '60000',
  ]);
  const cpu = cpuOf(t) - cpu0;
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.split(',').length >= 10);
  const cols = line?.split(',').map((c) => c.trim()) ?? [];
  const nMsg = Number(cols[4]);
  const fetchRate = Number(cols[9]);
  if (!(nMsg > 0) || !(fetchRate > 0)) throw new Error(`ConsumerPerformance said:\n${out}`);
  return { recPerSec: fetchRate, cpuUsPerRecord: (cpu / nMsg) * 1e6, cpuUsPerRecordPerBroker: 0 };
}

async function dropPageCache(): Promise<boolean> {
  try {
    await run('sync', []);
    await writeFile('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

async function tributarySingle(base: string): Promise<Target> {
  const port = await freePort();
  const logDir = join(base, 'tributary');
  const start = async (): Promise<Target> => {
    const b = await BrokerProcess.start({ port, logDir });
    return {
      name: 'Tributary',
      bootstrap: b.bootstrap,
      startupMs: b.startupMs,
      pids: () => [b.pid],
      stop: () => b.stop(),
      restart: async () => {
        await b.stop();
        return start();
      },
    };
  };
  return start();
}

async function kafkaSingle(base: string, peer: Peer, zk: ZooKeeperServer | null): Promise<Target> {
  const version = peer === 'kafka4-kraft' ? KAFKA_4 : KAFKA_3;
  const opts = {
    version,
    port: await freePort(),
    controllerPort: await freePort(),
    dir: join(base, peer),
    ...(peer === 'kafka3-zk' && zk !== null ? { zookeeper: await zk.freshChroot() } : {}),
  };
  const start = async (format: boolean): Promise<Target> => {
    const k = await KafkaBroker.start(opts, format);
    if (format && k.formatMs > 0) {
      notes.push(
        `${PEER_LABEL[peer]}: \`kafka-storage format\` took ${fmt(k.formatMs)} ms before the first start (not in its start-up time).`,
      );
    }
    return {
      name: PEER_LABEL[peer],
      bootstrap: k.bootstrap,
      startupMs: k.startupMs,
      pids: () => [k.pid],
      stop: () => k.stop(),
      restart: async () => {
        await k.stop();
        return start(false);
      },
    };
  };
  return start(true);
}

/** Every single-node scenario on one target, started fresh and stopped at the end. */
async function single(first: Target, records: number): Promise<void> {
  let t = first;
  const name = t.name;
  log(`${name}: started in ${fmt(t.startupMs)} ms`);
  try {
    put('start-up, empty data directory', 'spawn to serving', 'ms', 'lower')(name, t.startupMs);
    await sleep(2000);
    put('idle after start-up', 'RSS', 'MiB', 'lower')(name, rssOf(t).rss);
    // A JVM compiles its hot paths during the first seconds of load: every target gets the same
    // unmeasured warm-up.
    await createTopic(t, 'warm', 1);
    await rdProduce(t, 'warm', '1', records / 2);
    await perfProduce(t, 'warm', '1', records / 4);
    for (const acks of ['1', 'all']) {
      await createTopic(t, `rd-${acks}`, 1);
      const r = await rdProduce(t, `rd-${acks}`, acks, records);
      log(`  ${name} librdkafka acks=${acks}: ${fmt(r.recPerSec)} rec/s`);
      const scenario = `librdkafka produce 100 B, 1p, acks=${acks}`;
      put(scenario, 'throughput', 'rec/s', 'higher')(name, r.recPerSec);
      put(scenario, 'broker CPU per record', 'us', 'lower')(name, r.cpuUsPerRecord);
    }
    for (const acks of ['1', 'all']) {
      await createTopic(t, `perf-${acks}`, 1);
      const r = await perfProduce(t, `perf-${acks}`, acks, records);
      log(`  ${name} ProducerPerformance acks=${acks}: ${fmt(r.recPerSec)} rec/s`);
      const scenario = `ProducerPerformance 100 B, 1p, acks=${acks}`;
      put(scenario, 'throughput', 'rec/s', 'higher')(name, r.recPerSec);
      put(scenario, 'avg latency (tool)', 'ms', 'lower')(name, r.avgMs);
      put(scenario, 'p99 latency (tool)', 'ms', 'lower')(name, r.p99Ms);
      put(scenario, 'broker CPU per record', 'us', 'lower')(name, r.cpuUsPerRecord);
    }
    const lat = await rdLatency(t, 'latency', '1', 10_000, 4);
    const latName = 'end-to-end latency, librdkafka 100 B, acks=1, 10,000 rec/s';
    put(latName, 'p50', 'ms', 'lower')(name, lat.p50);
    put(latName, 'p99', 'ms', 'lower')(name, lat.p99);
    // Two topics to read from disk after a restart: one for each consumer, as the first read
    // brings its topic into the page cache.
    const disk = records * 2;
    for (const topic of ['disk-rd', 'disk-perf']) {
      await createTopic(t, topic, 1);
      await rdProduce(t, topic, '1', disk);
    }
    put('after the produce scenarios', 'peak RSS (VmHWM)', 'MiB', 'lower')(name, rssOf(t).peak);
    await t.stop();
    const dropped = await dropPageCache();
    const notDropped = 'The page cache could not be dropped: the disk reads may be cached.';
    if (!dropped && !notes.includes(notDropped)) notes.push(notDropped);
    t = await first.restart();
    put('restart with the data written', 'spawn to serving', 'ms', 'lower')(name, t.startupMs);
    const c = await rdConsume(t, 'disk-rd', disk);
    log(`  ${name} librdkafka consume from disk: ${fmt(c.recPerSec)} rec/s`);
    put('librdkafka consume 100 B from disk', 'throughput', 'rec/s', 'higher')(name, c.recPerSec);
    put(
      'librdkafka consume 100 B from disk',
      'broker CPU per record',
      'us',
      'lower',
    )(name, c.cpuUsPerRecord);
    const p = await perfConsume(t, 'disk-perf', disk);
    log(`  ${name} ConsumerPerformance from disk: ${fmt(p.recPerSec)} rec/s`);
    const pName = 'ConsumerPerformance 100 B from disk (fetch.nMsg.sec)';
    put(pName, 'throughput', 'rec/s', 'higher')(name, p.recPerSec);
    put(pName, 'broker CPU per record', 'us', 'lower')(name, p.cpuUsPerRecord);
    put('at the end, after the disk reads', 'RSS', 'MiB', 'lower')(name, rssOf(t).rss);
  } finally {
    await t.stop();
  }
}

/** The same timings the cluster bench gives Tributary's brokers (bench/cluster.ts). */
const TRIBUTARY_CLUSTER = {
  'zookeeper.session.timeout.ms': '6000',
  'replica.lag.time.max.ms': '30000',
  'replica.fetch.wait.max.ms': '500',
  'replica.fetch.backoff.ms': '1000',
};
const CLUSTER_PARTITIONS = 8;

async function clusterScenarios(t: Target, records: number): Promise<void> {
  const name = t.name;
  const rf3 = { 'min.insync.replicas': '2' };
  await createTopic(t, 'warm', CLUSTER_PARTITIONS, 3, rf3);
  await rdProduce(t, 'warm', 'all', records / 2, CLUSTER_PARTITIONS);
  await createTopic(t, 'rf3', CLUSTER_PARTITIONS, 3, rf3);
  const r = await rdProduce(t, 'rf3', 'all', records, CLUSTER_PARTITIONS);
  log(`  ${name} RF 3 acks=all: ${fmt(r.recPerSec)} rec/s`);
  const scenario = `3 brokers, RF 3, min.insync.replicas=2, librdkafka 100 B, ${CLUSTER_PARTITIONS}p, acks=all`;
  put(scenario, 'throughput', 'rec/s', 'higher')(name, r.recPerSec);
  put(scenario, 'CPU per record, all brokers', 'us', 'lower')(name, r.cpuUsPerRecord);
  put(scenario, 'CPU per record per broker', 'us', 'lower')(name, r.cpuUsPerRecordPerBroker);
  // The driver's own settings leave librdkafka's in-flight requests unbounded, so at
  // linger.ms=1 it pipelines about a thousand small acks=all requests a second; Kafka serves one
  // request per connection at a time, each waiting for its followers, and they queue. Five in
  // flight (the Java client's default) lets the batches grow instead: both are reported.
  const inFlight = [
    { label: 'in flight unbounded (librdkafka default)', config: [] },
    { label: '5 in flight', config: ['max.in.flight.requests.per.connection=5'] },
  ];
  for (const [i, f] of inFlight.entries()) {
    const topic = `rf3-latency-${i}`;
    await createTopic(t, topic, 1, 3, rf3);
    const lat = await rdLatency(t, topic, 'all', 5_000, 4, f.config);
    const latName = `3 brokers, RF 3, end-to-end latency, 100 B, 1p, acks=all, 5,000 rec/s, ${f.label}`;
    put(latName, 'p50', 'ms', 'lower')(name, lat.p50);
    put(latName, 'p99', 'ms', 'lower')(name, lat.p99);
    // Below the target when the producer could not get its records acknowledged fast enough.
    put(latName, 'producer rate achieved', 'rec/s', 'higher')(name, lat.rate);
  }
  put('3 brokers after the RF 3 load', 'RSS, all brokers', 'MiB', 'lower')(name, rssOf(t).rss);
}

async function cluster(base: string, zk: ZooKeeperServer, records: number): Promise<void> {
  log('cluster: three Tributary brokers');
  const t0 = performance.now();
  const tc = await ZkCluster.start(zk, 3, TRIBUTARY_CLUSTER);
  const tributary: Target = {
    name: 'Tributary',
    bootstrap: tc.bootstrap,
    startupMs: performance.now() - t0,
    pids: () => [...tc.brokers.values()].map((b) => b.pid),
    stop: () => tc.stop(),
    restart: () => Promise.reject(new Error('not restarted')),
  };
  try {
    put(
      '3 brokers, start-up in parallel',
      'spawn to all serving',
      'ms',
      'lower',
    )(tributary.name, tributary.startupMs);
    await clusterScenarios(tributary, records);
  } finally {
    await tc.stop();
  }
  log(`cluster: three ${PEER_LABEL['kafka3-zk']} brokers`);
  const chroot = await zk.freshChroot();
  const t1 = performance.now();
  const brokers = await Promise.all(
    [1, 2, 3].map(async (id) =>
      KafkaBroker.start(
        {
          version: KAFKA_3,
          port: await freePort(),
          controllerPort: 0,
          dir: join(base, `kafka-cluster-${id}`),
          zookeeper: chroot,
          brokerId: id,
          heap: '512m',
        },
        true,
      ),
    ),
  );
  const kafka: Target = {
    name: PEER_LABEL['kafka3-zk'],
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    startupMs: performance.now() - t1,
    pids: () => brokers.map((b) => b.pid),
    stop: async () => {
      await Promise.all(brokers.map((b) => b.stop()));
    },
    restart: () => Promise.reject(new Error('not restarted')),
  };
  try {
    put(
      '3 brokers, start-up in parallel',
      'spawn to all serving',
      'ms',
      'lower',
    )(kafka.name, kafka.startupMs);
    await clusterScenarios(kafka, records);
  } finally {
    await kafka.stop();
  }
  notes.push(
    "Cluster: Tributary's three brokers run with bench/cluster.ts's timings and their defaults otherwise (tributary.acks.all.fsync on: acks=all is answered once every in-sync replica has synced the batch); Kafka's three JVMs run with -Xms512m -Xmx512m, G1, and no flush settings (the page cache, as Kafka ships).",
  );
}

function markdown(targets: readonly string[]): string {
  const others = targets.slice(1);
  const head = ['scenario', 'metric', ...targets.map((t) => t)];
  for (const o of others) head.push(`advantage vs ${o}`);
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const r of rows) {
    const t = r.values['Tributary'];
    const cells = [r.scenario, `${r.metric} (${r.unit})`];
    for (const name of targets) cells.push(fmt(r.values[name] ?? Number.NaN));
    for (const o of others) {
      const k = r.values[o];
      if (t === undefined || k === undefined || t === 0 || k === 0) cells.push('');
      else cells.push(`${(r.better === 'higher' ? t / k : k / t).toFixed(2)}x`);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  for (const peer of opts.peers) kafkaClasspath(peer === 'kafka4-kraft' ? KAFKA_4 : KAFKA_3);
  const started = Date.now();
  const load0 = loadAverage();
  const base = await mkdtemp(join(tmpdir(), 'tributary-versus-'));
  const needZk = opts.cluster || opts.peers.includes('kafka3-zk');
  const zk = needZk ? await ZooKeeperServer.start() : null;
  const targets = ['Tributary'];
  try {
    if (opts.single) {
      log('single node: Tributary');
      await single(await tributarySingle(base), opts.records);
      for (const peer of opts.peers) {
        log(`single node: ${PEER_LABEL[peer]}`);
        await single(await kafkaSingle(base, peer, zk), opts.records);
        targets.push(PEER_LABEL[peer]);
      }
    }
    if (opts.cluster && zk !== null) {
      await cluster(base, zk, opts.records);
      if (!targets.includes(PEER_LABEL['kafka3-zk'])) targets.push(PEER_LABEL['kafka3-zk']);
    }
  } finally {
    await zk?.stop();
    killAll();
    await rm(base, { recursive: true, force: true });
  }
  const argv = process.argv.slice(2).join(' ');
  const report = {
    date: new Date(started).toISOString(),
    command: `node build/bench/versus-kafka.js${argv === '' ? '' : ` ${argv}`}`,
    loadAverageStart: load0,
    loadAverageEnd: loadAverage(),
    seconds: (Date.now() - started) / 1000,
    records: opts.records,
    targets,
    rows,
    notes,
  };
  await mkdir(opts.outDir, { recursive: true });
  await writeFile(
    join(opts.outDir, 'versus-kafka-peers.json'),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  process.stdout.write(`${markdown(targets)}\n\n`);
  process.stdout.write(
    `load average (1 min): ${load0.toFixed(2)} at the start, ${report.loadAverageEnd.toFixed(2)} at the end; ${Math.round(report.seconds)} s\n`,
  );
  for (const n of notes) process.stdout.write(`- ${n}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killAll();
  process.exit(1);
});

/**
 * Tributary beside every Apache Kafka peer the machine can run, in one run: Kafka 3.9 in
 * ZooKeeper mode (one broker on a ZooKeeper this bench starts), Kafka 3.9 and Kafka 4.x in KRaft
 * combined mode; each driven by the librdkafka driver (bench/kafka_client.py, through the
 * scenarios of bench/broker/scenarios.ts that bench/run.ts runs too) and by Kafka's own perf tools
 * (ProducerPerformance, ConsumerPerformance of Kafka 3.9, one JVM per run): produce 100 B and
 * 1 KiB at acks=1 and acks=all, end-to-end latency, consume from the tail (a topic just written,
 * read at once) and from disk (after a restart and a dropped page cache), broker CPU per record,
 * RSS, start-up. `--cluster` adds RF 3 on three brokers of each: three Tributary brokers on
 * ZooKeeper beside three Kafka 3.9 brokers (broker.id 1..3, -Xmx512m each) on the same ZooKeeper
 * and three Kafka 4.x nodes in KRaft combined mode (a controller quorum of three, -Xmx512m each),
 * the same RF 3 topics (min.insync.replicas=2) and the same load.
 *
 *   npx tsc -p . && node build/bench/versus-kafka.js [--peers kafka3-zk,kafka3-kraft,kafka4-kraft]
 *     [--cluster] [--cluster-only] [--cluster-peers kafka3-zk,kafka4-kraft] [--records N]
 *     [--out DIR]
 *
 * One target runs at a time (the others stopped), so that the 2-core machine runs one broker, or
 * one cluster, under load; the order is Tributary, then each peer. Prints a Markdown table (the
 * advantage column is > 1 where Tributary is ahead) and writes DIR/versus-kafka-peers.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kcatMetadata } from '../src/testing/clients.ts';
import { KAFKA_3, KAFKA_4, kafkaClasspath } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';
import { KafkaBroker, type KafkaOptions, newClusterId } from './broker/apache-kafka.ts';
import {
  BrokerProcess,
  cpuSplit,
  freePort,
  killAll,
  loadAverage,
  memoryMiB,
  ROOT,
  run,
  sleep,
} from './broker/proc.ts';
import {
  consumeAll,
  createTopics,
  dropPageCache,
  latency,
  type ProduceSpec,
  produceOnce,
  sizeName,
  specName,
  VERSUS_SPECS,
} from './broker/scenarios.ts';
import type { BenchTarget } from './broker/types.ts';

const PEERS = ['kafka3-zk', 'kafka3-kraft', 'kafka4-kraft'] as const;
type Peer = (typeof PEERS)[number];
const PEER_LABEL: Record<Peer, string> = {
  'kafka3-zk': `Kafka ${KAFKA_3} ZooKeeper`,
  'kafka3-kraft': `Kafka ${KAFKA_3} KRaft`,
  'kafka4-kraft': `Kafka ${KAFKA_4} KRaft`,
};
const PEER_VERSION: Record<Peer, string> = {
  'kafka3-zk': KAFKA_3,
  'kafka3-kraft': KAFKA_3,
  'kafka4-kraft': KAFKA_4,
};

interface Options {
  readonly peers: readonly Peer[];
  /** The Kafka clusters beside Tributary's with --cluster. */
  readonly clusterPeers: readonly Peer[];
  readonly single: boolean;
  readonly cluster: boolean;
  readonly records: number;
  readonly outDir: string;
  /** The command line as the JSON records it: without `--out DIR`, a path of this machine. */
  readonly command: string;
}

function parsePeers(list: string): Peer[] {
  const peers = list.split(',').filter((p) => p !== '');
  for (const p of peers) {
    if (!(PEERS as readonly string[]).includes(p)) {
      throw new Error(`unknown peer ${p}: one of ${PEERS.join(', ')}`);
    }
  }
  return peers as Peer[];
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const clusterOnly = argv.includes('--cluster-only');
  const out = argv.indexOf('--out');
  const recorded = argv.filter((_, i) => out < 0 || (i !== out && i !== out + 1));
  return {
    peers: parsePeers(value('peers') ?? PEERS.join(',')),
    clusterPeers: parsePeers(value('cluster-peers') ?? 'kafka3-zk,kafka4-kraft'),
    single: !clusterOnly,
    cluster: clusterOnly || argv.includes('--cluster'),
    records: Number(value('records') ?? 500_000),
    outDir: value('out') ?? join(ROOT, 'docs', 'bench'),
    command: ['node build/bench/versus-kafka.js', ...recorded].join(' '),
  };
}

/** One broker or cluster under measurement; cpu() and memory() sum its server processes. */
interface Target extends BenchTarget {
  readonly name: string;
  readonly startupMs: number;
  /** How many server processes: CPU per record per broker divides by it. */
  readonly brokers: number;
  /** A clean stop (SIGTERM) that keeps the data. */
  stop(): Promise<void>;
  /** Once stopped: started again on the same data. */
  restart(): Promise<Target>;
}

function target(
  name: string,
  bootstrap: string,
  startupMs: number,
  pids: () => readonly number[],
  stop: () => Promise<void>,
  restart: () => Promise<Target>,
): Target {
  return {
    name,
    bootstrap,
    startupMs,
    brokers: pids().length,
    cpu: () =>
      pids().reduce(
        (s, pid) => {
          const c = cpuSplit(pid);
          return { user: s.user + c.user, sys: s.sys + c.sys };
        },
        { user: 0, sys: 0 },
      ),
    memory: () =>
      pids().reduce(
        (s, pid) => {
          const m = memoryMiB(pid);
          return { rss: s.rss + m.rss, peak: s.peak + m.peak };
        },
        { rss: 0, peak: 0 },
      ),
    stop,
    restart,
  };
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

function note(line: string): void {
  if (!notes.includes(line)) notes.push(line);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/** Throughput and the brokers' CPU per record (and per broker, on a cluster) of one scenario. */
function putMeasured(
  scenario: string,
  t: Target,
  r: { readonly recPerSec: number; readonly brokerCpuUsPerRecord: number },
): void {
  log(`  ${t.name} ${scenario}: ${fmt(r.recPerSec)} rec/s`);
  put(scenario, 'throughput', 'rec/s', 'higher')(t.name, r.recPerSec);
  if (t.brokers === 1) {
    put(scenario, 'broker CPU per record', 'us', 'lower')(t.name, r.brokerCpuUsPerRecord);
    return;
  }
  put(scenario, 'CPU per record, all brokers', 'us', 'lower')(t.name, r.brokerCpuUsPerRecord);
  put(
    scenario,
    'CPU per record per broker',
    'us',
    'lower',
  )(t.name, r.brokerCpuUsPerRecord / t.brokers);
}

/** How the topics of a target are laid out, and what its scenario names start with. */
interface Layout {
  readonly partitions: number;
  readonly replication: number;
  readonly config: Readonly<Record<string, string>>;
  readonly prefix: string;
}

const ONE_NODE: Layout = { partitions: 1, replication: 1, config: {}, prefix: 'librdkafka' };
const RF3: Layout = {
  partitions: 8,
  replication: 3,
  config: { 'min.insync.replicas': '2' },
  prefix: '3 brokers, RF 3, min.insync.replicas=2, librdkafka',
};

/** A topic of the layout; on a cluster, waited for until every replica is in every ISR. */
async function newTopic(t: Target, layout: Layout, topic: string, partitions: number) {
  await createTopics(t, [[topic, partitions]], layout.config, layout.replication);
  if (layout.replication === 1) return;
  const first = t.bootstrap.split(',')[0] ?? t.bootstrap;
  await until(`${topic} in sync on ${t.name}`, async () => {
    const md = (await kcatMetadata(first, ['-t', topic])).metadata;
    const ps = md.topics[0]?.partitions ?? [];
    return ps.length === partitions && ps.every((p) => p.isrs.length === layout.replication)
      ? true
      : undefined;
  });
}

/** Records a produce run writes: `--records` of 100 B, a quarter as many of 1 KiB. */
function produceCount(records: number, size: number): number {
  return Math.round(size >= 1024 ? records / 4 : records);
}

/**
 * Records a read takes: twice `--records` of 100 B, half as many of 1 KiB, so that the 10 ms
 * ticks of the CPU counters weigh little beside a read that costs the broker little.
 */
function readCount(records: number, size: number): number {
  return Math.round(size >= 1024 ? records / 2 : records * 2);
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
async function perfProduce(t: Target, topic: string, acks: string, size: number, count: number) {
  const cpu0 = t.cpu();
  const out = await perfTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(count),
    '--record-size',
    String(size),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${t.bootstrap}`,
    `acks=${acks}`,
  ]);
  const cpu1 = t.cpu();
  const summary = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => / records sent, /.test(l));
  const m = summary?.match(
    /records sent, ([\d.]+) records\/sec.*?([\d.]+) ms avg latency.*? (\d+) ms 99th/,
  );
  if (m === null || m === undefined) throw new Error(`ProducerPerformance said:\n${out}`);
  return {
    recPerSec: Number(m[1]),
    // Over the tool's whole run: the broker's share of its connection set-up is in it too.
    brokerCpuUsPerRecord: ((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) / count) * 1e6,
    avgMs: Number(m[2]),
    p99Ms: Number(m[3]),
  };
}

/** ConsumerPerformance's CSV line; fetch.nMsg.sec leaves out the group's join. */
async function perfConsume(t: Target, topic: string, count: number) {
  const cpu0 = t.cpu();
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
  const cpu1 = t.cpu();
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.split(',').length >= 10);
  const cols = line?.split(',').map((c) => c.trim()) ?? [];
  const nMsg = Number(cols[4]);
  const fetchRate = Number(cols[9]);
  if (!(nMsg > 0) || !(fetchRate > 0)) throw new Error(`ConsumerPerformance said:\n${out}`);
  const cpu = cpu1.user + cpu1.sys - cpu0.user - cpu0.sys;
  return { recPerSec: fetchRate, brokerCpuUsPerRecord: (cpu / nMsg) * 1e6 };
}

/** librdkafka producing 100 B and 1 KiB at acks=1 and acks=all, a new topic for each. */
async function produceRows(t: Target, layout: Layout, records: number): Promise<void> {
  for (const one of VERSUS_SPECS) {
    const spec: ProduceSpec = { ...one, partitions: layout.partitions };
    const topic = `produce-${spec.size}-${spec.acks}`;
    await newTopic(t, layout, topic, spec.partitions);
    const r = await produceOnce(t, spec, topic, produceCount(records, spec.size));
    putMeasured(`${layout.prefix} ${specName(spec)}`, t, r);
  }
}

/** Kafka's ProducerPerformance (the Java client's defaults) on the same shapes. */
async function perfProduceRows(t: Target, records: number): Promise<void> {
  for (const spec of VERSUS_SPECS) {
    const topic = `perf-${spec.size}-${spec.acks}`;
    await newTopic(t, ONE_NODE, topic, 1);
    const n = produceCount(records, spec.size);
    const r = await perfProduce(t, topic, spec.acks, spec.size, n);
    const scenario = `ProducerPerformance ${sizeName(spec.size)}, 1p, acks=${spec.acks}`;
    putMeasured(scenario, t, r);
    put(scenario, 'avg latency (tool)', 'ms', 'lower')(t.name, r.avgMs);
    put(scenario, 'p99 latency (tool)', 'ms', 'lower')(t.name, r.p99Ms);
  }
}

/**
 * Writes `n` records of `size` into a new topic of the layout, with acks=all on a cluster so that
 * every replica holds them before they are read.
 */
async function fill(t: Target, layout: Layout, topic: string, size: number, n: number) {
  await newTopic(t, layout, topic, layout.partitions);
  const acks = layout.replication > 1 ? 'all' : '1';
  const spec: ProduceSpec = { size, partitions: layout.partitions, acks, producers: 1 };
  await produceOnce(t, spec, topic, Math.round(n));
}

/** librdkafka reading a filled topic from offset 0 (`where`: "the tail" or "disk"). */
async function readRow(
  t: Target,
  layout: Layout,
  topic: string,
  size: number,
  n: number,
  where: string,
) {
  const scenario = `${layout.prefix} consume ${sizeName(size)} from ${where}`;
  const c = await consumeAll(t, scenario, [topic], n, size, layout.partitions);
  putMeasured(scenario, t, c);
}

/** Every topic read from the tail is read at once after it is written, while in the page cache. */
async function tailRows(t: Target, layout: Layout, sizes: readonly number[], records: number) {
  for (const size of sizes) {
    const n = readCount(records, size);
    await fill(t, layout, `tail-${size}`, size, n);
    await readRow(t, layout, `tail-${size}`, size, n, 'the tail');
  }
}

/**
 * Stops the target, drops the page cache and starts it again on the same data, timing the
 * start-up under `scenario`; the topics written before are then read from disk.
 */
async function restarted(t: Target, scenario: string): Promise<Target> {
  await t.stop();
  if (!(await dropPageCache())) {
    note('The page cache could not be dropped: the disk reads may be cached.');
  }
  const again = await t.restart();
  put(scenario, 'spawn to serving', 'ms', 'lower')(again.name, again.startupMs);
  return again;
}

/** What one server process gives: Tributary's (proc.ts) and Kafka's (apache-kafka.ts). */
interface Server {
  readonly bootstrap: string;
  readonly startupMs: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A target of one process; its restart() launches it again (on the same data). */
async function oneProcess(name: string, launch: () => Promise<Server>): Promise<Target> {
  const s = await launch();
  const again = () => oneProcess(name, launch);
  return target(
    name,
    s.bootstrap,
    s.startupMs,
    () => [s.pid],
    () => s.stop(),
    again,
  );
}

async function tributarySingle(base: string): Promise<Target> {
  const port = await freePort();
  const logDir = join(base, 'tributary');
  return oneProcess('Tributary', () => BrokerProcess.start({ port, logDir }));
}

async function kafkaSingle(base: string, peer: Peer, zk: ZooKeeperServer | null): Promise<Target> {
  const opts: KafkaOptions = {
    version: PEER_VERSION[peer],
    port: await freePort(),
    controllerPort: await freePort(),
    dir: join(base, peer),
    ...(peer === 'kafka3-zk' && zk !== null ? { zookeeper: await zk.freshChroot() } : {}),
  };
  const formatMs = await KafkaBroker.format(opts);
  if (formatMs > 0) {
    note(
      `${PEER_LABEL[peer]}: \`kafka-storage format\` took ${fmt(formatMs)} ms before the first start (not in its start-up time).`,
    );
  }
  return oneProcess(PEER_LABEL[peer], () => KafkaBroker.start(opts, false));
}

/** Every single-node scenario on one target, started fresh and stopped at the end. */
async function single(first: Target, records: number): Promise<void> {
  let t = first;
  const name = t.name;
  log(`${name}: started in ${fmt(t.startupMs)} ms`);
  try {
    put('start-up, empty data directory', 'spawn to serving', 'ms', 'lower')(name, t.startupMs);
    await sleep(2000);
    put('idle after start-up', 'RSS', 'MiB', 'lower')(name, t.memory().rss);
    // A JVM compiles its hot paths during the first seconds of load: every target gets the same
    // unmeasured warm-up.
    await fill(t, ONE_NODE, 'warm', 100, records / 2);
    await fill(t, ONE_NODE, 'warm-1k', 1024, records / 8);
    await perfProduce(t, 'warm', '1', 100, Math.round(records / 4));
    await produceRows(t, ONE_NODE, records);
    await perfProduceRows(t, records);
    await newTopic(t, ONE_NODE, 'latency', 1);
    const lat = await latency(t, 'latency', { rate: 10_000, seconds: 4 });
    const latName = 'end-to-end latency, librdkafka 100 B, acks=1, 10,000 rec/s';
    put(latName, 'p50', 'ms', 'lower')(name, lat.p50Ms);
    put(latName, 'p99', 'ms', 'lower')(name, lat.p99Ms);
    await tailRows(t, ONE_NODE, [100, 1024], records);
    const perfName = 'ConsumerPerformance 100 B from the tail (fetch.nMsg.sec)';
    await fill(t, ONE_NODE, 'tail-perf', 100, readCount(records, 100));
    putMeasured(perfName, t, await perfConsume(t, 'tail-perf', readCount(records, 100)));
    // Topics to read from disk after a restart: one for each read, as the first read of a topic
    // brings it into the page cache.
    for (const size of [100, 1024]) {
      await fill(t, ONE_NODE, `disk-${size}`, size, readCount(records, size));
    }
    await fill(t, ONE_NODE, 'disk-perf', 100, readCount(records, 100));
    put(
      'after the produce scenarios and the tail reads',
      'peak RSS (VmHWM)',
      'MiB',
      'lower',
    )(name, t.memory().peak);
    t = await restarted(t, 'restart with the data written');
    for (const size of [100, 1024]) {
      await readRow(t, ONE_NODE, `disk-${size}`, size, readCount(records, size), 'disk');
    }
    const p = await perfConsume(t, 'disk-perf', readCount(records, 100));
    putMeasured('ConsumerPerformance 100 B from disk (fetch.nMsg.sec)', t, p);
    put('at the end, after the disk reads', 'RSS', 'MiB', 'lower')(name, t.memory().rss);
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

/** End-to-end latency on one RF 3 partition, with librdkafka's in-flight default and with five. */
async function clusterLatency(t: Target): Promise<void> {
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
    await newTopic(t, RF3, topic, 1);
    const lat = await latency(t, topic, {
      rate: 5_000,
      seconds: 4,
      acks: 'all',
      clientConfig: f.config,
    });
    const latName = `3 brokers, RF 3, end-to-end latency, 100 B, 1p, acks=all, 5,000 rec/s, ${f.label}`;
    put(latName, 'p50', 'ms', 'lower')(t.name, lat.p50Ms);
    put(latName, 'p99', 'ms', 'lower')(t.name, lat.p99Ms);
    // Below the target when the producer could not get its records acknowledged fast enough.
    put(latName, 'producer rate achieved', 'rec/s', 'higher')(t.name, lat.achievedRate);
  }
}

/** Every three-broker scenario on one cluster; stopped at the end (its data is kept). */
async function clusterScenarios(first: Target, records: number): Promise<void> {
  let t = first;
  const name = t.name;
  try {
    put(
      '3 brokers, start-up in parallel',
      'spawn to all serving',
      'ms',
      'lower',
    )(name, t.startupMs);
    await fill(t, RF3, 'warm', 100, records / 2);
    await produceRows(t, RF3, records);
    await clusterLatency(t);
    put('3 brokers after the RF 3 load', 'RSS, all brokers', 'MiB', 'lower')(name, t.memory().rss);
    await tailRows(t, RF3, [100], records);
    await fill(t, RF3, 'disk-100', 100, readCount(records, 100));
    t = await restarted(t, '3 brokers, restart in parallel with the data written');
    await readRow(t, RF3, 'disk-100', 100, readCount(records, 100), 'disk');
    put(
      '3 brokers at the end, after the disk read',
      'RSS, all brokers',
      'MiB',
      'lower',
    )(name, t.memory().rss);
  } finally {
    await t.stop();
  }
}

/** Three Tributary brokers on a fresh chroot; removed (data and all) once `use` is done. */
async function tributaryCluster(zk: ZooKeeperServer, use: (t: Target) => Promise<void>) {
  log('cluster: three Tributary brokers');
  const t0 = performance.now();
  const tc = await ZkCluster.start(zk, 3, TRIBUTARY_CLUSTER);
  const brokers = [...tc.brokers.values()];
  const bootstrap = tc.bootstrap;
  const pids = () => brokers.map((b) => b.pid);
  const stop = async (): Promise<void> => {
    await Promise.all(brokers.map((b) => b.stop(30_000)));
  };
  const restart = async (): Promise<Target> => {
    const t1 = performance.now();
    await Promise.all(brokers.map((b) => b.restart({ samePort: true })));
    return target('Tributary', bootstrap, performance.now() - t1, pids, stop, restart);
  };
  try {
    await use(target('Tributary', bootstrap, performance.now() - t0, pids, stop, restart));
  } finally {
    await tc.stop();
  }
}

/**
 * Three Kafka brokers: on a fresh chroot of the ZooKeeper (3.x), or three nodes in KRaft combined
 * mode, each a voter of the controller quorum, formatted first (not timed).
 */
async function kafkaCluster(base: string, peer: Peer, zk: ZooKeeperServer): Promise<Target> {
  log(`cluster: three ${PEER_LABEL[peer]} brokers`);
  const chroot = peer === 'kafka3-zk' ? await zk.freshChroot() : undefined;
  const nodes: { id: number; port: number; controllerPort: number }[] = [];
  for (const id of [1, 2, 3]) {
    nodes.push({ id, port: await freePort(), controllerPort: await freePort() });
  }
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  const clusterId = newClusterId();
  const opts = nodes.map((n): KafkaOptions => {
    const common = {
      version: PEER_VERSION[peer],
      port: n.port,
      controllerPort: n.controllerPort,
      dir: join(base, `${peer}-cluster-${n.id}`),
      heap: '512m',
    };
    return chroot === undefined
      ? { ...common, nodeId: n.id, quorumVoters: voters, clusterId }
      : { ...common, zookeeper: chroot, brokerId: n.id };
  });
  for (const o of opts) await KafkaBroker.format(o);
  const start = async (): Promise<Target> => {
    const t0 = performance.now();
    const brokers = await Promise.all(opts.map((o) => KafkaBroker.start(o, false)));
    return target(
      PEER_LABEL[peer],
      brokers.map((b) => b.bootstrap).join(','),
      performance.now() - t0,
      () => brokers.map((b) => b.pid),
      async () => {
        await Promise.all(brokers.map((b) => b.stop()));
      },
      start,
    );
  };
  return start();
}

async function cluster(
  base: string,
  zk: ZooKeeperServer,
  peers: readonly Peer[],
  records: number,
): Promise<void> {
  await tributaryCluster(zk, (t) => clusterScenarios(t, records));
  for (const peer of peers) await clusterScenarios(await kafkaCluster(base, peer, zk), records);
  note(
    "Cluster: Tributary's three brokers run with bench/cluster.ts's timings and their defaults otherwise (tributary.acks.all.fsync on: acks=all is answered once every in-sync replica has synced the batch); Kafka's three JVMs run with -Xms512m -Xmx512m, G1, and no flush settings (the page cache, as Kafka ships). A KRaft cluster is three combined-mode nodes, each a voter of the controller quorum; its start-up leaves out `kafka-storage format`.",
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
  const cluster3 = opts.cluster ? opts.clusterPeers : [];
  for (const peer of [...opts.peers, ...cluster3]) kafkaClasspath(PEER_VERSION[peer]);
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
      await cluster(base, zk, cluster3, opts.records);
      for (const peer of cluster3)
        if (!targets.includes(PEER_LABEL[peer])) targets.push(PEER_LABEL[peer]);
    }
  } finally {
    await zk?.stop();
    killAll();
    await rm(base, { recursive: true, force: true });
  }
  const report = {
    date: new Date(started).toISOString(),
    command: opts.command,
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

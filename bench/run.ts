/**
 * Broker benchmark: starts the broker of this build and drives it with librdkafka
 * (bench/kafka_client.py, confluent-kafka under /usr/bin/python3), beside the machine's ceilings
 * and peers measured in the same run. See docs/benchmarks.md, section "Broker".
 *
 *   npx tsc -p . && node build/bench/run.js [--quick] [--reps N] [--profile] [--out DIR]
 *     [--kafka-only]
 *
 * --quick: smaller counts, one repetition (about 2 minutes). Default: three repetitions of every
 * throughput scenario, medians reported (under 10 minutes). --profile: run the broker under
 * `node --cpu-prof` for one extra produce scenario and summarise its self time.
 * --out DIR: where latest.json and latest.svg go (default docs/bench in the repository).
 * Last, when Apache Kafka 3.9's jars are installed (scripts/install-test-deps.sh), Tributary and
 * Kafka side by side under the same load (versusKafka), also written to DIR/versus-kafka.json;
 * --kafka-only runs that alone and leaves latest.json as it was.
 */
import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_3 } from '../src/testing/reference-clients.ts';
import { KafkaBroker, kafkaMissing } from './broker/apache-kafka.ts';
import { diskWrite, echoLatency, loopback } from './broker/ceilings.ts';
import { closeAll, openIdle } from './broker/idle.ts';
import { natsJetStream, type PeerResult, redisStreams, which } from './broker/peers.ts';
import {
  BrokerProcess,
  driver,
  freePort,
  killAll,
  loadAverage,
  median,
  PYTHON,
  ROOT,
  run,
  sleep,
} from './broker/proc.ts';
import { topSelfTime } from './broker/profile.ts';
import { printTable, renderSvg, targets, versusMarkdown } from './broker/report.ts';
import {
  consumeAll,
  createTopics,
  dropPageCache,
  fillTopics,
  latency,
  medianRun,
  type ProduceSpec,
  produceOnce,
  specName,
  summarise,
  VERSUS_SPECS,
} from './broker/scenarios.ts';
import type {
  BenchReport,
  BenchTarget,
  ConsumeRow,
  LatencyRow,
  ProduceRow,
  ScenarioRun,
  VersusKafka,
  VersusRow,
  WideRow,
} from './broker/types.ts';

interface Options {
  readonly quick: boolean;
  readonly reps: number;
  readonly profile: boolean;
  readonly outDir: string;
  /** Only Tributary beside Apache Kafka, nothing else. */
  readonly kafkaOnly: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const repsAt = argv.indexOf('--reps');
  const outAt = argv.indexOf('--out');
  return {
    quick,
    reps: repsAt >= 0 ? Number(argv[repsAt + 1]) : quick ? 1 : 3,
    profile: argv.includes('--profile'),
    outDir: outAt >= 0 ? String(argv[outAt + 1]) : join(ROOT, 'docs', 'bench'),
    kafkaOnly: argv.includes('--kafka-only'),
  };
}

const PRODUCE_SPECS: readonly ProduceSpec[] = [
  { size: 100, partitions: 1, acks: '1', producers: 1 },
  { size: 100, partitions: 8, acks: '1', producers: 1 },
  { size: 100, partitions: 1, acks: 'all', producers: 1 },
  { size: 100, partitions: 8, acks: 'all', producers: 1 },
  { size: 1024, partitions: 1, acks: '1', producers: 1 },
  { size: 1024, partitions: 8, acks: '1', producers: 1 },
  { size: 1024, partitions: 1, acks: 'all', producers: 1 },
  { size: 1024, partitions: 8, acks: 'all', producers: 1 },
  { size: 100, partitions: 1, acks: '0', producers: 1 },
  { size: 100, partitions: 8, acks: '1', producers: 2 },
  { size: 1024, partitions: 8, acks: '1', producers: 2 },
];

function topicName(s: ProduceSpec, rep: number): string {
  return `p${s.size}-${s.partitions}-${s.acks}-${s.producers}-r${rep}`;
}

function countFor(opts: Options, size: number): number {
  if (size >= 1024) return opts.quick ? 150_000 : 200_000;
  return opts.quick ? 1_000_000 : 1_500_000;
}

function aloneKey(s: ProduceSpec): string {
  return `${s.size}-${Math.min(s.partitions, 4)}-${s.producers}`;
}

/** The same producers against librdkafka's mock cluster: what the client alone generates. */
async function aloneOnce(spec: ProduceSpec, count: number): Promise<number> {
  const runs = Array.from({ length: spec.producers }, () =>
    driver('produce', {
      bootstrap: 'mock',
      topic: 'alone',
      partitions: spec.partitions,
      size: spec.size,
      acks: '1',
      count,
    }),
  );
  const results = await Promise.all(runs.map((r) => r.result));
  return summarise(results, { total: 0, sys: 0 }, spec.producers).recPerSec;
}

/**
 * The produce matrix, repetitions interleaved so that a busy spell hits every scenario alike;
 * each repetition also measures the client alone for every distinct client set-up.
 */
async function produceMatrix(broker: BrokerProcess, opts: Options): Promise<ProduceRow[]> {
  const topics: [string, number][] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const s of PRODUCE_SPECS) topics.push([topicName(s, rep), s.partitions]);
  }
  await createTopics(broker, topics);
  const runs = new Map<ProduceSpec, ScenarioRun[]>();
  const alone = new Map<string, number[]>();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const s of PRODUCE_SPECS) {
      const key = aloneKey(s);
      const list = alone.get(key) ?? [];
      if (list.length > rep) continue;
      list.push(await aloneOnce(s, countFor(opts, s.size)));
      alone.set(key, list);
      log(`  client alone ${key} rep ${rep + 1}: ${fmt(list[list.length - 1] ?? 0)} rec/s`);
    }
    for (const s of PRODUCE_SPECS) {
      const r = await produceOnce(broker, s, topicName(s, rep), countFor(opts, s.size));
      const list = runs.get(s) ?? [];
      list.push(r);
      runs.set(s, list);
      log(`  ${specName(s)} rep ${rep + 1}: ${fmt(r.recPerSec)} rec/s, ${fmt(r.mbPerSec)} MB/s`);
    }
  }
  return PRODUCE_SPECS.map((s) => {
    const list = runs.get(s) ?? [];
    const med = medianRun(list);
    const aloneRate = median(alone.get(aloneKey(s)) ?? []);
    return {
      name: specName(s),
      ...s,
      reps: list.length,
      ...med,
      clientAloneRecPerSec: aloneRate,
      keepUp: med.recPerSec / aloneRate,
      runs: list.map((r) => r.recPerSec),
    };
  });
}

/** End-to-end latency at acks=1 on a new one-partition topic (LogAppendTime: split at the append). */
async function latencyOn(
  broker: BenchTarget,
  topic: string,
  rate: number,
  seconds: number,
  logAppendTime = false,
): Promise<LatencyRow> {
  const config: Record<string, string> = logAppendTime
    ? { 'message.timestamp.type': 'LogAppendTime' }
    : {};
  await createTopics(broker, [[topic, 1]], config);
  return latency(broker, topic, { rate, seconds, logAppendTime });
}

async function wide(opts: Options, base: string, port: number): Promise<WideRow> {
  const partitions = 10_000;
  const dir = join(base, 'wide');
  let broker = await BrokerProcess.start({ port, logDir: dir });
  const created = await driver('create', {
    bootstrap: broker.bootstrap,
    topic: 'wide',
    partitions,
  }).result;
  const md1 = await driver('metadata', { bootstrap: broker.bootstrap, repeat: opts.quick ? 3 : 5 })
    .result;
  const mem1 = broker.memory();
  await broker.stop();
  broker = await BrokerProcess.start({ port, logDir: dir });
  const startupMs = broker.startupMs;
  const md2 = await driver('metadata', { bootstrap: broker.bootstrap, repeat: opts.quick ? 3 : 5 })
    .result;
  const mem2 = broker.memory();
  await broker.stop();
  return {
    name: '10,000 partitions on one broker',
    partitions: Number(md2.partitions),
    createSeconds: Number(created.seconds),
    startupMs,
    metadataMs: Number(md2.median_ms),
    metadataMsAfterCreate: Number(md1.median_ms),
    rssMiBAfterCreate: mem1.rss,
    rssMiBAfterRestart: mem2.rss,
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

async function ceilings(base: string, opts: Options) {
  const diskBytes = (opts.quick ? 256 : 512) * 1024 * 1024;
  const disk = await diskWrite(base, diskBytes, 1024 * 1024);
  const net = await loopback((opts.quick ? 1 : 4) * 1024 * 1024 * 1024, 64 * 1024);
  return [...disk, net];
}

async function peers(
  base: string,
  opts: Options,
): Promise<{ peers: PeerResult[]; notes: string[] }> {
  const out: PeerResult[] = [];
  const notes: string[] = [];
  const n = opts.quick ? 300_000 : 1_000_000;
  if ((await which('redis-server')) !== null && (await which('redis-benchmark')) !== null) {
    out.push(await redisStreams(await freePort(), join(base, 'redis'), n, 100, false));
    out.push(await redisStreams(await freePort(), join(base, 'redis-aof'), n, 100, true));
  } else notes.push('Redis not installed (apt-get install redis-server redis-tools): not measured');
  if ((await which('nats-server')) !== null) {
    out.push(
      await natsJetStream(
        await freePort(),
        join(base, 'nats'),
        opts.quick ? 100_000 : 300_000,
        100,
      ),
    );
  } else notes.push('nats-server not installed (apt-get install nats-server): not measured');
  return { peers: out, notes };
}

interface Side {
  readonly name: 'tributary' | 'kafka';
  target: BenchTarget & { stop(): Promise<void>; startupMs: number };
}

/**
 * Tributary beside Apache Kafka 3.9 (KRaft, one node), both running in this run on the same
 * machine and disk, driven by the same librdkafka driver with the same counts and topic settings
 * (each broker's defaults: 1 GiB segments, 7 days' retention, no flush settings). Every scenario
 * runs on Tributary and then on Kafka before the next, repetitions interleaved, so that a busy
 * spell of the shared machine hits both alike; each broker's CPU is read from its own process.
 */
async function versusKafka(base: string, opts: Options): Promise<VersusKafka> {
  const started = Date.now();
  const load0 = loadAverage();
  const rows: VersusRow[] = [];
  const notes: string[] = [];
  const add = (
    scenario: string,
    metric: string,
    unit: string,
    better: VersusRow['better'],
    values: Record<Side['name'], number>,
  ) => {
    rows.push({ scenario, metric, unit, better, tributary: values.tributary, kafka: values.kafka });
  };
  const tPort = await freePort();
  const kafkaOpts = {
    version: KAFKA_3,
    port: await freePort(),
    controllerPort: await freePort(),
    dir: join(base, 'vs-kafka'),
  };
  const tDir = join(base, 'vs-tributary');
  const startTributary = () => BrokerProcess.start({ port: tPort, logDir: tDir });
  log(`versus Kafka ${KAFKA_3}: starting both`);
  const tributary = await startTributary();
  const kafka = await KafkaBroker.start(kafkaOpts, true);
  // acks=all once more on a Tributary with Kafka's page-cache semantics, to tell the cost of its
  // fsync apart from the rest.
  const unsynced = await BrokerProcess.start({
    port: await freePort(),
    logDir: join(base, 'vs-tributary-unsynced'),
    overrides: ['tributary.acks.all.fsync=false'],
  });
  const sides: Side[] = [
    { name: 'tributary', target: tributary },
    { name: 'kafka', target: kafka },
  ];
  try {
    add('start-up, empty data directory', 'spawn to serving', 'ms', 'lower', {
      tributary: tributary.startupMs,
      kafka: kafka.startupMs,
    });
    notes.push(
      'acks=all: Tributary answers only once the batch is fsynced (tributary.acks.all.fsync, on by default); Kafka on one node answers once the batch is in its page cache (log.flush.* unset), so Tributary does more for the same ack. The rows "without its fsync" are a third broker, Tributary with tributary.acks.all.fsync=false (Kafka\'s semantics), run right after the other two in every repetition, beside the same Kafka figures.',
      'Kafka runs with the JVM settings of its bin/kafka-server-start.sh (-Xms1G -Xmx1G, G1); both brokers get the same unmeasured warm-up load first, and each scenario runs on Tributary and then on Kafka, the other one idle.',
    );
    notes.push(
      `Kafka's start-up excludes \`kafka-storage format\` (${fmt(kafka.formatMs)} ms, a JVM of its own) that a new KRaft node needs first.`,
    );
    await sleep(2000);
    const idle = { tributary: 0, kafka: 0 };
    for (const side of sides) idle[side.name] = side.target.memory().rss;
    add('idle after start-up', 'RSS', 'MiB', 'lower', idle);

    // A JVM compiles its hot paths during the first seconds of load: both brokers get the same
    // unmeasured warm-up (every produce shape once) before the figures are taken.
    log('versus Kafka: warm-up');
    const produceOn = async (target: BenchTarget, spec: ProduceSpec, topic: string, n: number) => {
      await createTopics(target, [[topic, spec.partitions]]);
      return produceOnce(target, spec, topic, n);
    };
    for (const side of sides) {
      for (const spec of VERSUS_SPECS) {
        await produceOn(
          side.target,
          spec,
          `vs-warm-${topicName(spec, 0)}`,
          countFor(opts, spec.size) / 2,
        );
      }
    }
    for (const spec of VERSUS_SPECS.filter((x) => x.acks === 'all')) {
      await produceOn(
        unsynced,
        spec,
        `vs-warm-${topicName(spec, 0)}`,
        countFor(opts, spec.size) / 2,
      );
    }
    for (const spec of VERSUS_SPECS) {
      const runs: Record<Side['name'], ScenarioRun[]> = { tributary: [], kafka: [] };
      const unsyncedRuns: ScenarioRun[] = [];
      for (let rep = 0; rep < opts.reps; rep++) {
        const topic = `vs-${topicName(spec, rep)}`;
        const count = countFor(opts, spec.size);
        for (const side of sides) {
          const r = await produceOn(side.target, spec, topic, count);
          runs[side.name].push(r);
          log(`  ${side.name} ${specName(spec)} rep ${rep + 1}: ${fmt(r.recPerSec)} rec/s`);
        }
        if (spec.acks === 'all') {
          const r = await produceOn(unsynced, spec, topic, count);
          unsyncedRuns.push(r);
          log(`  tributary unsynced ${specName(spec)} rep ${rep + 1}: ${fmt(r.recPerSec)} rec/s`);
        }
      }
      const t = medianRun(runs.tributary);
      const k = medianRun(runs.kafka);
      const name = specName(spec);
      add(name, 'throughput', 'rec/s', 'higher', { tributary: t.recPerSec, kafka: k.recPerSec });
      add(name, 'broker CPU per record', 'us', 'lower', {
        tributary: t.brokerCpuUsPerRecord,
        kafka: k.brokerCpuUsPerRecord,
      });
      if (unsyncedRuns.length > 0) {
        const u = medianRun(unsyncedRuns);
        const unsyncedName = `${name}, Tributary without its fsync`;
        add(unsyncedName, 'throughput', 'rec/s', 'higher', {
          tributary: u.recPerSec,
          kafka: k.recPerSec,
        });
        add(unsyncedName, 'broker CPU per record', 'us', 'lower', {
          tributary: u.brokerCpuUsPerRecord,
          kafka: k.brokerCpuUsPerRecord,
        });
      }
    }
    await unsynced.stop();
    const peak = { tributary: 0, kafka: 0 };
    for (const side of sides) peak[side.name] = side.target.memory().peak;
    add('after the produce scenarios', 'peak RSS (VmHWM)', 'MiB', 'lower', peak);

    // Larger than the main run's consume counts: the CPU counters tick every 10 ms, and Kafka's
    // CPU per record must be read as well as Tributary's.
    const n100 = opts.quick ? 1_000_000 : 2_000_000;
    const n1k = opts.quick ? 200_000 : 400_000;
    const n100disk = opts.quick ? 2_000_000 : 4_000_000;
    const n1kdisk = opts.quick ? 400_000 : 800_000;
    const topics = (prefix: string) =>
      Array.from({ length: opts.reps }, (_, i) => `vs-${prefix}-r${i}`);
    for (const side of sides) {
      await fillTopics(side.target, topics('d100'), 100, n100disk);
      await fillTopics(side.target, topics('d1k'), 1024, n1kdisk);
      await fillTopics(side.target, topics('c100'), 100, n100);
      await fillTopics(side.target, topics('c1k'), 1024, n1k);
    }
    const consumeBoth = async (
      name: string,
      prefix: string,
      count: number,
      size: number,
    ): Promise<void> => {
      const out: Record<Side['name'], ConsumeRow | null> = { tributary: null, kafka: null };
      for (const side of sides) {
        out[side.name] = await consumeAll(side.target, name, topics(prefix), count, size);
        log(`  ${side.name} ${name}: ${fmt(out[side.name]?.recPerSec ?? 0)} rec/s`);
      }
      const t = out.tributary;
      const k = out.kafka;
      if (t === null || k === null) return;
      add(name, 'throughput', 'rec/s', 'higher', { tributary: t.recPerSec, kafka: k.recPerSec });
      add(name, 'broker CPU per record', 'us', 'lower', {
        tributary: t.brokerCpuUsPerRecord,
        kafka: k.brokerCpuUsPerRecord,
      });
    };
    log('versus Kafka: consume from the tail');
    await consumeBoth('consume 100 B from the tail', 'c100', n100, 100);
    await consumeBoth('consume 1 KiB from the tail', 'c1k', n1k, 1024);

    // Latency while both are warm: a restarted JVM compiles its hot paths again.
    const seconds = opts.quick ? 4 : 10;
    for (const rate of [10_000, 50_000]) {
      const p50 = { tributary: 0, kafka: 0 };
      const p99 = { tributary: 0, kafka: 0 };
      for (const side of sides) {
        const l = await latencyOn(side.target, `vs-latency-${rate}`, rate, seconds);
        log(`  ${side.name} latency at ${fmt(rate)} rec/s: p99 ${fmt(l.p99Ms)} ms`);
        p50[side.name] = l.p50Ms;
        p99[side.name] = l.p99Ms;
      }
      const name = `end-to-end latency, 100 B, acks=1, ${fmt(rate)} rec/s`;
      add(name, 'p50', 'ms', 'lower', p50);
      add(name, 'p99', 'ms', 'lower', p99);
    }
    for (const side of sides) await side.target.stop();
    const dropped = await dropPageCache();
    if (!dropped) notes.push('The page cache could not be dropped: the disk reads may be cached.');
    const restarted = await startTributary();
    const kafkaAgain = await KafkaBroker.start(kafkaOpts, false);
    sides[0] = { name: 'tributary', target: restarted };
    sides[1] = { name: 'kafka', target: kafkaAgain };
    add('restart with the data written', 'spawn to serving', 'ms', 'lower', {
      tributary: restarted.startupMs,
      kafka: kafkaAgain.startupMs,
    });
    log('versus Kafka: consume from disk, after a restart');
    await consumeBoth('consume 100 B from disk', 'd100', n100disk, 100);
    await consumeBoth('consume 1 KiB from disk', 'd1k', n1kdisk, 1024);

    const rss = { tributary: 0, kafka: 0 };
    for (const side of sides) rss[side.name] = side.target.memory().rss;
    add('at the end, after the disk reads', 'RSS', 'MiB', 'lower', rss);
  } finally {
    for (const side of sides) await side.target.stop();
    await unsynced.stop();
  }
  return {
    date: new Date(started).toISOString(),
    command: `node build/bench/run.js${opts.quick ? ' --quick' : ''}${opts.kafkaOnly ? ' --kafka-only' : ''}`,
    kafkaVersion: KAFKA_3,
    reps: opts.reps,
    loadAverageStart: load0,
    loadAverageEnd: loadAverage(),
    rows,
    notes,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The comparison on its own, so that a --kafka-only run leaves latest.json as it was. */
async function writeVersus(outDir: string, versus: VersusKafka): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'versus-kafka.json'), `${JSON.stringify(versus, null, 2)}\n`);
}

async function profileRun(base: string, port: number, opts: Options) {
  const profDir = join(base, 'prof');
  await mkdir(profDir, { recursive: true });
  const broker = await BrokerProcess.start({
    port,
    logDir: join(base, 'prof-data'),
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  });
  const spec: ProduceSpec = { size: 100, partitions: 1, acks: '1', producers: 1 };
  await createTopics(broker, [['prof', 1]]);
  const run = await produceOnce(broker, spec, 'prof', 2 * countFor(opts, 100));
  await broker.stop();
  const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no .cpuprofile written');
  const summary = await topSelfTime(join(profDir, file), 25);
  // Kept outside the run's directory for a flame graph (Chrome DevTools, speedscope).
  const kept = join(tmpdir(), 'tributary-broker-produce.cpuprofile');
  await copyFile(join(profDir, file), kept);
  log(`profile kept in ${kept} (open it in Chrome DevTools or speedscope for a flame graph)`);
  return { scenario: specName(spec), run, summary };
}

/** Fails early, naming the Debian package, when the librdkafka client is not installed. */
async function checkClient(): Promise<void> {
  try {
    await run(PYTHON, ['-c', 'import confluent_kafka']);
  } catch {
    throw new Error(
      `${PYTHON} cannot import confluent_kafka: apt-get install -y python3-confluent-kafka`,
    );
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  await checkClient();
  const started = Date.now();
  const base = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  dataDir = base;
  const load0 = loadAverage();
  log(`broker benchmark (${opts.quick ? 'quick' : 'full'}, ${opts.reps} reps), data in ${base}`);
  const missing = kafkaMissing(KAFKA_3);
  try {
    if (opts.kafkaOnly) {
      if (missing !== null) throw new Error(missing);
      const versus = await versusKafka(base, opts);
      await writeVersus(opts.outDir, versus);
      process.stdout.write(`${versusMarkdown(versus)}\n`);
      return;
    }
    log('ceilings');
    const machine = await ceilings(base, opts);
    const port = await freePort();
    let broker = await BrokerProcess.start({ port, logDir: join(base, 'data') });
    log('produce');
    const produce = await produceMatrix(broker, opts);
    const peakMiB = broker.memory().peak;
    log('consume (tail cache)');
    const tail100 = Array.from({ length: opts.reps }, (_, i) => `c100-r${i}`);
    const tail1k = Array.from({ length: opts.reps }, (_, i) => `c1k-r${i}`);
    const n100 = opts.quick ? 200_000 : 400_000;
    const n1k = opts.quick ? 20_000 : 40_000;
    // Reading from disk gets topics of its own, larger than the tail cache holds, so that the
    // fixed costs of a consumer (connect, metadata, offsets) and the 10 ms resolution of the CPU
    // counters weigh little beside the reading itself.
    const disk100 = Array.from({ length: opts.reps }, (_, i) => `d100-r${i}`);
    const disk1k = Array.from({ length: opts.reps }, (_, i) => `d1k-r${i}`);
    const n100disk = opts.quick ? 500_000 : 1_000_000;
    const n1kdisk = opts.quick ? 100_000 : 200_000;
    await fillTopics(broker, disk100, 100, n100disk);
    await fillTopics(broker, disk1k, 1024, n1kdisk);
    await fillTopics(broker, tail100, 100, n100);
    await fillTopics(broker, tail1k, 1024, n1k);
    const consume: ConsumeRow[] = [];
    consume.push(await consumeAll(broker, 'consume 100 B, tail cache', tail100, n100, 100));
    consume.push(await consumeAll(broker, 'consume 1 KiB, tail cache', tail1k, n1k, 1024));
    await broker.stop();
    const dropped = await dropPageCache();
    broker = await BrokerProcess.start({ port, logDir: join(base, 'data') });
    const restartMs = broker.startupMs;
    log('consume (disk, after a restart)');
    consume.push(await consumeAll(broker, 'consume 100 B, disk', disk100, n100disk, 100));
    consume.push(await consumeAll(broker, 'consume 1 KiB, disk', disk1k, n1kdisk, 1024));
    const peak = produce[0]?.recPerSec ?? 100_000;
    log(`latency at ${fmt(peak / 2)} rec/s`);
    const lat = await latencyOn(broker, 'latency', peak / 2, opts.quick ? 4 : 10);
    log(`latency at ${fmt(peak / 2)} rec/s, split at the broker (LogAppendTime)`);
    const latSplit = await latencyOn(broker, 'latency-split', peak / 2, opts.quick ? 4 : 10, true);
    log('latency at 10,000 rec/s');
    const latLow = await latencyOn(broker, 'latency-low', 10_000, opts.quick ? 4 : 10);
    log('loopback echo at 10,000 msg/s');
    const echo = await echoLatency(10_000, opts.quick ? 4 : 10);
    log('idle connections');
    const before = broker.memory().rss;
    const sockets = await openIdle(port, 1000);
    await sleep(500);
    const after = broker.memory().rss;
    closeAll(sockets);
    await broker.stop();
    log('10,000 partitions');
    const wideRow = await wide(opts, base, port);
    log('peers');
    const { peers: peerRows, notes } = await peers(base, opts);
    let versus: VersusKafka | null = null;
    if (missing === null) {
      versus = await versusKafka(base, opts);
      await writeVersus(opts.outDir, versus);
    } else notes.push(`Apache Kafka ${KAFKA_3} not measured: ${missing}`);
    const prof = opts.profile ? await profileRun(base, port, opts) : null;
    const report: BenchReport = {
      date: new Date(started).toISOString(),
      command: `node build/bench/run.js${opts.quick ? ' --quick' : ''}`,
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '',
        loadAverageStart: load0,
        loadAverageEnd: loadAverage(),
      },
      reps: opts.reps,
      ceilings: machine,
      produce,
      brokerPeakRssMiB: peakMiB,
      consume,
      pageCacheDropped: dropped,
      restartMs,
      latency: lat,
      latencySplit: latSplit,
      latencyLow: latLow,
      echo,
      idle: { connections: 1000, rssBeforeMiB: before, rssAfterMiB: after },
      wide: wideRow,
      peers: peerRows,
      versusKafka: versus,
      notes,
      profile: prof,
      seconds: (Date.now() - started) / 1000,
    };
    await mkdir(opts.outDir, { recursive: true });
    await writeFile(
      join(opts.outDir, 'latest.json'),
      `${JSON.stringify({ ...report, targets: targets(report) }, null, 2)}\n`,
    );
    await writeFile(join(opts.outDir, 'latest.svg'), renderSvg(report));
    printTable(report);
  } finally {
    killAll();
    await rm(base, { recursive: true, force: true });
  }
}

/** The run's temporary directory, removed on exit (also when interrupted). */
let dataDir: string | null = null;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
    process.exit(130);
  });
}
await main();

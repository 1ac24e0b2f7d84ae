/**
 * The scenarios both broker comparisons run, on any target that gives its CPU time and memory
 * (BenchTarget): create topics, produce with the librdkafka driver, fill a topic and read it back,
 * drop the page cache, end-to-end latency. bench/run.ts (its main run and versusKafka) and
 * bench/versus-kafka.ts call these, so that a figure of the same name means the same measurement
 * in both.
 */
import { writeFile } from 'node:fs/promises';
import { type DriverOut, driver, median, run } from './proc.ts';
import type { BenchTarget, ConsumeRow, LatencyRow, ScenarioRun } from './types.ts';

export interface ProduceSpec {
  readonly size: number;
  readonly partitions: number;
  readonly acks: '0' | '1' | 'all';
  readonly producers: number;
}

/** The produce shapes every comparison with Kafka runs: one producer, one partition. */
export const VERSUS_SPECS: readonly ProduceSpec[] = [
  { size: 100, partitions: 1, acks: '1', producers: 1 },
  { size: 100, partitions: 1, acks: 'all', producers: 1 },
  { size: 1024, partitions: 1, acks: '1', producers: 1 },
  { size: 1024, partitions: 1, acks: 'all', producers: 1 },
];

/** "100 B" or "1 KiB". */
export function sizeName(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

export function specName(s: ProduceSpec): string {
  const procs = s.producers > 1 ? `, ${s.producers} producers` : '';
  return `produce ${sizeName(s.size)}, ${s.partitions}p, acks=${s.acks}${procs}`;
}

/** Creates each topic (name, partitions) through the driver; an existing topic is left as it is. */
export async function createTopics(
  target: BenchTarget,
  topics: readonly (readonly [string, number])[],
  config: Readonly<Record<string, string>> = {},
  replication = 1,
): Promise<void> {
  for (const [topic, partitions] of topics) {
    await driver('create', {
      bootstrap: target.bootstrap,
      topic,
      partitions,
      replication,
      'topic-config': Object.entries(config).map(([k, v]) => `${k}=${v}`),
    }).result;
  }
}

interface CpuDelta {
  readonly total: number;
  readonly sys: number;
}

function cpuDelta(a: { user: number; sys: number }, b: { user: number; sys: number }): CpuDelta {
  return { total: b.user - a.user + (b.sys - a.sys), sys: b.sys - a.sys };
}

/** The figures of one run of `clients` driver processes, with the target's CPU over the run. */
export function summarise(
  results: readonly DriverOut[],
  cpu: CpuDelta,
  clients: number,
): ScenarioRun {
  const brokerCpu = cpu.total;
  const num = (r: DriverOut, k: 'records' | 'bytes' | 'start' | 'end' | 'cpu'): number =>
    Number(r[k]);
  const records = results.reduce((a, r) => a + num(r, 'records'), 0);
  const bytes = results.reduce((a, r) => a + num(r, 'bytes'), 0);
  const start = Math.min(...results.map((r) => num(r, 'start')));
  const end = Math.max(...results.map((r) => num(r, 'end')));
  const clientCpu = results.reduce((a, r) => a + num(r, 'cpu'), 0);
  const seconds = end - start;
  const errors = results.flatMap((r) => r.errors ?? []);
  if (errors.length > 0) throw new Error(`delivery errors: ${errors.slice(0, 3).join('; ')}`);
  return {
    records,
    bytes,
    seconds,
    recPerSec: records / seconds,
    mbPerSec: bytes / 1e6 / seconds,
    // Records per second of the client processes' own CPU, one core each.
    clientCpuRecPerSec: (records / clientCpu) * clients,
    // The same comparison in CPU time, which a busy machine does not skew: what the broker
    // handles per CPU-second over what one client process generates per CPU-second.
    cpuKeepUp: brokerCpu > 0 ? clientCpu / clients / brokerCpu : Number.NaN,
    brokerCpuSec: brokerCpu,
    brokerSysShare: brokerCpu > 0 ? cpu.sys / brokerCpu : 0,
    brokerCpuUsPerRecord: (brokerCpu / records) * 1e6,
    brokerCpuMsPerMB: (brokerCpu * 1000) / (bytes / 1e6),
  };
}

/** The median of every figure, each taken on its own. */
export function medianRun(runs: readonly ScenarioRun[]): ScenarioRun {
  const m = (k: keyof ScenarioRun): number => median(runs.map((r) => r[k]));
  return {
    records: m('records'),
    bytes: m('bytes'),
    seconds: m('seconds'),
    recPerSec: m('recPerSec'),
    mbPerSec: m('mbPerSec'),
    clientCpuRecPerSec: m('clientCpuRecPerSec'),
    cpuKeepUp: m('cpuKeepUp'),
    brokerCpuSec: m('brokerCpuSec'),
    brokerSysShare: m('brokerSysShare'),
    brokerCpuUsPerRecord: m('brokerCpuUsPerRecord'),
    brokerCpuMsPerMB: m('brokerCpuMsPerMB'),
  };
}

/** One produce measurement: `producers` processes at once, the target's CPU before and after. */
export async function produceOnce(
  target: BenchTarget,
  spec: ProduceSpec,
  topic: string,
  count: number,
): Promise<ScenarioRun> {
  const cpu0 = target.cpu();
  const runs = Array.from({ length: spec.producers }, () =>
    driver('produce', {
      bootstrap: target.bootstrap,
      topic,
      partitions: spec.partitions,
      size: spec.size,
      acks: spec.acks,
      count,
    }),
  );
  const results = await Promise.all(runs.map((r) => r.result));
  return summarise(results, cpuDelta(cpu0, target.cpu()), spec.producers);
}

/** Consumes each topic from offset 0 to `count` records, one consumer at a time; medians. */
export async function consumeAll(
  target: BenchTarget,
  name: string,
  topics: readonly string[],
  count: number,
  size: number,
  partitions = 1,
): Promise<ConsumeRow> {
  const list: ScenarioRun[] = [];
  for (const topic of topics) {
    const cpu0 = target.cpu();
    const r = await driver('consume', { bootstrap: target.bootstrap, topic, partitions, count })
      .result;
    list.push(summarise([r], cpuDelta(cpu0, target.cpu()), 1));
  }
  const med = medianRun(list);
  return {
    name,
    size,
    reps: list.length,
    ...med,
    keepUp: med.recPerSec / med.clientCpuRecPerSec,
    runs: list.map((r) => r.recPerSec),
  };
}

/** Creates one-partition topics and writes `n` records of `size` bytes into each (acks=1). */
export async function fillTopics(
  target: BenchTarget,
  topics: readonly string[],
  size: number,
  n: number,
): Promise<void> {
  await createTopics(
    target,
    topics.map((t) => [t, 1] as const),
  );
  const spec: ProduceSpec = { size, partitions: 1, acks: '1', producers: 1 };
  for (const topic of topics) await produceOnce(target, spec, topic, n);
}

/** `sync`, then `echo 1 > /proc/sys/vm/drop_caches`; false when not allowed (not root). */
export async function dropPageCache(): Promise<boolean> {
  try {
    // Dirty pages are not dropped: write them out first. It also keeps the writeback of the
    // gigabytes written so far from throttling the scenarios that follow.
    await run('sync', []);
    await writeFile('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

export interface LatencyOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly acks?: '1' | 'all';
  /** librdkafka settings for the paced producer (max.in.flight.requests.per.connection=5, ...). */
  readonly clientConfig?: readonly string[];
  /** The topic is a LogAppendTime topic: the latency is also split at the broker's append. */
  readonly logAppendTime?: boolean;
}

/**
 * End-to-end latency on partition 0 of an existing topic: a consumer waiting at the end, then the
 * paced producer (100 B, linger.ms=1) for `seconds`, each in a process of its own.
 */
export async function latency(
  target: BenchTarget,
  topic: string,
  opts: LatencyOptions,
): Promise<LatencyRow> {
  const acks = opts.acks ?? '1';
  const consumer = driver('latency-consume', {
    bootstrap: target.bootstrap,
    topic,
    seconds: opts.seconds,
  });
  await consumer.waitFor('ready');
  await target.requestTimes?.();
  const producer = driver('latency-produce', {
    bootstrap: target.bootstrap,
    topic,
    size: 100,
    acks,
    rate: Math.round(opts.rate),
    seconds: opts.seconds,
    linger: 1,
    'client-config': opts.clientConfig ?? [],
  });
  const p = await producer.result;
  const c = await consumer.result;
  const produceTimes = (await target.requestTimes?.())?.get('Produce');
  const triple = (xs: readonly (number | null)[] | undefined): number[] =>
    (xs ?? []).map((x) => Number(x));
  const rate = Math.round(opts.rate).toLocaleString('en-US');
  const split = opts.logAppendTime === true;
  return {
    name: `end-to-end latency, 100 B, 1p, acks=${acks}, ${rate} rec/s${split ? ', LogAppendTime topic' : ''}`,
    ...(split
      ? { split: { toBrokerMs: triple(c.to_broker_ms), fromBrokerMs: triple(c.from_broker_ms) } }
      : {}),
    ...(produceTimes === undefined ? {} : { brokerProduceMs: produceTimes.ms }),
    targetRate: opts.rate,
    achievedRate: Number(p.rate),
    records: Number(c.records),
    samples: Number(c.samples),
    producerBusy: Number(p.busy),
    consumerBusy: Number(c.busy),
    p50Ms: Number(c.p50_ms),
    p99Ms: Number(c.p99_ms),
    p999Ms: Number(c.p999_ms),
    maxMs: Number(c.max_ms),
  };
}

/** The shape of docs/bench/latest.json. Rates are per second; 1 MB = 10^6 bytes. */
import type { Ceiling, EchoLatency } from './ceilings.ts';
import type { PeerResult } from './peers.ts';
import type { ProfileSummary } from './profile.ts';

export interface ScenarioRun {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recPerSec: number;
  readonly mbPerSec: number;
  /** Records per second of the client processes' own CPU time (one core each). */
  readonly clientCpuRecPerSec: number;
  /** (client CPU per process) / (broker CPU): at least 0.8 means the broker keeps up on one core. */
  readonly cpuKeepUp: number;
  readonly brokerCpuSec: number;
  /** The system (kernel) share of the broker's CPU time. */
  readonly brokerSysShare: number;
  readonly brokerCpuUsPerRecord: number;
  readonly brokerCpuMsPerMB: number;
}

export interface ProduceRow extends ScenarioRun {
  readonly name: string;
  readonly size: number;
  readonly partitions: number;
  readonly acks: string;
  readonly producers: number;
  readonly reps: number;
  /**
   * What the same producer processes generate alone, measured in the same repetition: librdkafka
   * producing to its built-in mock cluster (a C sink in the producer process).
   */
  readonly clientAloneRecPerSec: number;
  /** Throughput / clientAloneRecPerSec: 1 means the broker kept up fully. */
  readonly keepUp: number;
  /** Records per second of every repetition. */
  readonly runs: readonly number[];
}

export interface ConsumeRow extends ScenarioRun {
  readonly name: string;
  readonly size: number;
  readonly reps: number;
  /** Throughput / clientCpuRecPerSec: the consumer process's busy share of the run. */
  readonly keepUp: number;
  readonly runs: readonly number[];
}

export interface LatencyRow {
  readonly name: string;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly records: number;
  /** Records whose latency was taken (every 8th). */
  readonly samples: number;
  /** CPU seconds per second of the producer and consumer processes (1 = a core saturated). */
  readonly producerBusy: number;
  readonly consumerBusy: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /**
   * On a LogAppendTime topic, where the time goes (p50, p99, p99.9 in ms): from the producer's
   * send to the broker's append, and from the append to the consumer's receipt. Millisecond
   * timestamps, so each part is good to about a millisecond.
   */
  readonly split?: {
    readonly toBrokerMs: readonly number[];
    readonly fromBrokerMs: readonly number[];
  };
  /**
   * The broker's own time per Produce request over the same window (SIGUSR2 request times:
   * dispatch to response handed to the socket, the log write included): p50, p99, p99.9, max.
   */
  readonly brokerProduceMs?: readonly number[];
}

export interface WideRow {
  readonly name: string;
  readonly partitions: number;
  readonly createSeconds: number;
  readonly startupMs: number;
  readonly metadataMs: number;
  readonly metadataMsAfterCreate: number;
  readonly rssMiBAfterCreate: number;
  readonly rssMiBAfterRestart: number;
}

/** A broker the scenarios drive: Tributary (proc.ts) or Apache Kafka (apache-kafka.ts). */
export interface BenchTarget {
  readonly bootstrap: string;
  cpu(): { user: number; sys: number };
  memory(): { rss: number; peak: number };
  /** Only Tributary reports its own request times (SIGUSR2). */
  requestTimes?(): Promise<Map<string, { count: number; ms: number[] }>>;
}

/** One figure of Tributary beside Apache Kafka, from the same run. */
export interface VersusRow {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  readonly tributary: number;
  readonly kafka: number;
  /** Which way is better for this metric. */
  readonly better: 'higher' | 'lower';
}

export interface VersusKafka {
  readonly date: string;
  readonly command: string;
  readonly kafkaVersion: string;
  readonly reps: number;
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
  readonly rows: readonly VersusRow[];
  readonly notes: readonly string[];
  readonly seconds: number;
}

export interface BenchReport {
  readonly date: string;
  readonly command: string;
  readonly machine: {
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly loadAverageStart: number;
    readonly loadAverageEnd: number;
  };
  readonly reps: number;
  readonly ceilings: readonly Ceiling[];
  readonly produce: readonly ProduceRow[];
  readonly brokerPeakRssMiB: number;
  readonly consume: readonly ConsumeRow[];
  readonly pageCacheDropped: boolean;
  readonly restartMs: number;
  readonly latency: LatencyRow;
  /** The same rate on a LogAppendTime topic, split at the broker's append. */
  readonly latencySplit: LatencyRow;
  /** The same at a low fixed rate (10,000 records/s): the floor without queueing. */
  readonly latencyLow: LatencyRow;
  /** The machine's latency floor measured beside it: a loopback echo at the same low rate. */
  readonly echo: EchoLatency;
  readonly idle: {
    readonly connections: number;
    readonly rssBeforeMiB: number;
    readonly rssAfterMiB: number;
  };
  readonly wide: WideRow;
  readonly peers: readonly PeerResult[];
  /** Apache Kafka driven with the same load in the same run; null when it is not installed. */
  readonly versusKafka: VersusKafka | null;
  readonly notes: readonly string[];
  readonly profile: {
    readonly scenario: string;
    readonly run: ScenarioRun;
    readonly summary: ProfileSummary;
  } | null;
  readonly seconds: number;
}

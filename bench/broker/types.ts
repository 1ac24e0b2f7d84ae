/** The shape of docs/bench/latest.json. Rates are per second; 1 MB = 10^6 bytes. */
import type { Ceiling } from './ceilings.ts';
import type { PeerResult } from './peers.ts';
import type { SelfTime } from './profile.ts';

export interface ScenarioRun {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recPerSec: number;
  readonly mbPerSec: number;
  /** Records per second the client processes could generate alone: records per CPU-second. */
  readonly clientAloneRecPerSec: number;
  readonly brokerCpuSec: number;
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
  /** Throughput / what the client alone can generate: 1 means the broker kept up fully. */
  readonly keepUp: number;
  /** Records per second of every repetition. */
  readonly runs: readonly number[];
}

export interface ConsumeRow extends ScenarioRun {
  readonly name: string;
  readonly size: number;
  readonly reps: number;
  readonly keepUp: number;
  readonly runs: readonly number[];
}

export interface LatencyRow {
  readonly name: string;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly records: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
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
  readonly idle: {
    readonly connections: number;
    readonly rssBeforeMiB: number;
    readonly rssAfterMiB: number;
  };
  readonly wide: WideRow;
  readonly peers: readonly PeerResult[];
  readonly notes: readonly string[];
  readonly profile: {
    readonly scenario: string;
    readonly run: ScenarioRun;
    readonly top: readonly SelfTime[];
  } | null;
  readonly seconds: number;
}

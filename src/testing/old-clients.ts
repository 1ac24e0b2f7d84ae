/**
 * Helpers for the old-client tests (test/old-clients-*.test.ts): runners for the Python scripts in
 * test/fixtures/old-clients/ (kafka-python pinned to 0.9/0.10, confluent-kafka in modern or 0.9
 * mode), the record values those scripts produce, and a common record shape to compare what
 * different clients read.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describeRun, type RunResult, repoRoot, run } from './broker-process.ts';
import { type KcatRecord, PYTHON, pythonReport } from './clients.ts';

/** The path of a script in test/fixtures/old-clients/. */
export function oldFixture(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'old-clients', name);
}

/** A script's JSON report, and the run (for assertion messages). */
export interface Reported<T> {
  readonly report: T;
  readonly run: RunResult;
  /** The report and the script's stderr, for assertion messages. */
  readonly context: string;
}

async function runScript<T>(script: string, cfg: object, timeoutMs: number): Promise<Reported<T>> {
  const r = await run(PYTHON, ['-u', oldFixture(script), JSON.stringify(cfg)], { timeoutMs });
  const report = pythonReport<T>(r);
  const text = JSON.stringify(report);
  const short = text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  return { report, run: r, context: `${short}\n${describeRun(r)}` };
}

/** kafka-python 2.0.2 with a pinned api_version (kp_old.py). */
export function kafkaPythonOld<T>(cfg: object, timeoutMs = 45_000): Promise<Reported<T>> {
  return runScript<T>('kp_old.py', cfg, timeoutMs);
}

/** confluent-kafka 1.7.0 / librdkafka 2.0.2, modern or (legacy: true) 0.9 mode. */
export function confluentAny<T>(cfg: object, timeoutMs = 45_000): Promise<Reported<T>> {
  return runScript<T>('confluent_any.py', cfg, timeoutMs);
}

export interface ProduceReport {
  readonly offsets: Array<number | null>;
  readonly errors: string[];
  readonly client: string;
}

/** kp_old.py rows: partition, offset, timestamp, timestamp type, key hex, value hex. */
export type KpRow = [number, number, number | null, number | null, string | null, string | null];

export interface KpConsumeReport {
  readonly records: KpRow[];
  readonly committed?: Record<string, number | null>;
  readonly count?: number;
  readonly digest?: string;
  /** assign mode: how long the reading took. */
  readonly seconds?: number;
  readonly errors: string[];
  readonly client: string;
}

/** confluent_any.py rows: as KpRow, plus the headers as [name, value hex] pairs. */
export type ConfluentRow = [
  number,
  number,
  number,
  number,
  string | null,
  string | null,
  Array<[string, string | null]>,
];

export interface ConfluentConsumeReport {
  readonly records: ConfluentRow[];
  readonly errors: Array<{ code: number; name: string; str: string; partition: number }>;
  readonly client: string;
}

/** The value the scripts give record `i` of `tag` (mirrors value_of in the scripts). */
export function recordValue(tag: string, i: number): Buffer {
  const n = 1 + ((i * 37) % 400);
  const seed = createHash('sha256').update(`${tag}:${i}`).digest();
  return Buffer.concat(Array.from({ length: Math.floor(n / 32) + 1 }, () => seed)).subarray(0, n);
}

export function keyOf(tag: string, i: number): Buffer {
  return Buffer.from(`${tag}-${i}`);
}

/** What every client can report about a record, for comparisons across clients. */
export interface SeenRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** null when the client has none to show (magic 0 messages, kafka-python in 0.9 mode). */
  readonly timestamp: number | null;
}

const unhex = (h: string | null) => (h === null ? null : Buffer.from(h, 'hex'));

export function fromKpRows(rows: readonly KpRow[]): SeenRecord[] {
  return rows.map(([partition, offset, timestamp, , key, value]) => ({
    partition,
    offset,
    key: unhex(key),
    value: unhex(value),
    timestamp,
  }));
}

export function fromConfluentRows(rows: readonly ConfluentRow[]): SeenRecord[] {
  return rows.map(([partition, offset, timestamp, type, key, value]) => ({
    partition,
    offset,
    key: unhex(key),
    value: unhex(value),
    timestamp: type === 0 ? null : timestamp,
  }));
}

export function fromKcat(records: readonly KcatRecord[]): SeenRecord[] {
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
  }));
}

const show = (b: Buffer | null) => (b === null ? 'null' : JSON.stringify(b.toString('latin1')));

/**
 * Compares partition, offset, key and value (and timestamps when `timestamps`) in order. Returns
 * a description of the first few differences, or '' when they read the same.
 */
export function diffRecords(
  got: readonly SeenRecord[],
  want: readonly SeenRecord[],
  timestamps = false,
): string {
  const out: string[] = [];
  if (got.length !== want.length) out.push(`${got.length} records, expected ${want.length}`);
  for (let i = 0; i < Math.min(got.length, want.length) && out.length < 6; i++) {
    const g = got[i] as SeenRecord;
    const w = want[i] as SeenRecord;
    const same =
      g.partition === w.partition &&
      g.offset === w.offset &&
      bufEq(g.key, w.key) &&
      bufEq(g.value, w.value) &&
      (!timestamps || g.timestamp === w.timestamp);
    if (!same) {
      out.push(
        `#${i}: got ${g.partition}/${g.offset} key ${show(g.key)} ts ${g.timestamp} ` +
          `value ${g.value?.length ?? -1}B, expected ${w.partition}/${w.offset} ` +
          `key ${show(w.key)} ts ${w.timestamp} value ${w.value?.length ?? -1}B`,
      );
    }
  }
  return out.join('\n');
}

function bufEq(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/** The digest kp_old.py computes in assign mode with digestOnly (offset|key hex|value hex;). */
export function kpDigest(records: Iterable<{ offset: number; key: Buffer; value: Buffer }>) {
  const h = createHash('sha256');
  for (const r of records) {
    h.update(`${r.offset}|${r.key.toString('hex')}|${r.value.toString('hex')};`);
  }
  return h.digest('hex');
}

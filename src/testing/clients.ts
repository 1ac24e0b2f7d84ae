/**
 * Helpers for the real-client tests: kcat runners (with a binary-safe consume format) and a
 * runner for the Python scripts in test/fixtures/clients/ under /usr/bin/python3 (the only
 * interpreter that can import Debian's python3-kafka and python3-confluent-kafka).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ChildRun,
  describeRun,
  INSTALL_TEST_DEPS,
  type RunOptions,
  type RunResult,
  repoRoot,
  run,
  sleep,
} from './broker-process.ts';

export const KCAT = 'kcat';
export const PYTHON = '/usr/bin/python3';

/** librdkafka properties that make a 0.9-era client: no ApiVersions, MessageSet v0, Fetch v0. */
export const KCAT_09 = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0.1'];

/** Short client-side timeouts so that a broker failure shows up as an error, not a hang. */
const KCAT_COMMON = ['-X', 'message.timeout.ms=15000', '-X', 'socket.timeout.ms=10000', '-m', '10'];

export function hasCommand(path: string): boolean {
  return existsSync(path);
}

/**
 * Fails the calling test (or hook) when a client it drives is not installed, naming the client and
 * the install command. A missing client must never turn a test into a green skip: the suite would
 * pass while testing nothing.
 */
export function requireClient(name: string, installed: () => boolean): void {
  if (!installed()) {
    throw new Error(
      `${name} is not installed; install the test clients with: ${INSTALL_TEST_DEPS}`,
    );
  }
}

export function requireKcat(): void {
  requireClient(`kcat (/usr/bin/${KCAT})`, () => hasCommand(`/usr/bin/${KCAT}`));
}

/** confluent-kafka for Python (librdkafka), Debian's python3-confluent-kafka. */
export function requireConfluentKafka(): void {
  requireClient('confluent-kafka (python3-confluent-kafka)', () =>
    hasPythonModule('confluent_kafka'),
  );
}

/** kafka-python, Debian's python3-kafka. */
export function requireKafkaPython(): void {
  requireClient('kafka-python (python3-kafka)', () => hasPythonModule('kafka'));
}

const pythonModules = new Map<string, boolean>();

/** Whether /usr/bin/python3 can import `module` (asked once per process). */
export function hasPythonModule(module: string): boolean {
  let known = pythonModules.get(module);
  if (known === undefined) {
    known =
      hasCommand(PYTHON) &&
      spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 30_000 }).status ===
        0;
    pythonModules.set(module, known);
  }
  return known;
}

export interface KcatRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** null for a NULL key. */
  readonly key: Buffer | null;
  /** null for a NULL value (tombstone). */
  readonly value: Buffer | null;
  /** kcat's `%h`: `k=v,k2=v2` (empty when there are none). */
  readonly headers: string;
}

/** `%p %o %T %K %S %h` on one line, then the key and value bytes (lengths from %K and %S). */
const CONSUME_FORMAT = '%p %o %T %K %S %h\n%k%s\n';

/** Parses the output of `kcat -C -f CONSUME_FORMAT`. Binary keys and values are safe. */
export function parseKcatRecords(out: Buffer): KcatRecord[] {
  const records: KcatRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`kcat output: truncated header at byte ${pos}`);
    const line = out.subarray(pos, nl).toString('utf8');
    const m = /^(\d+) (\d+) (-?\d+) (-?\d+) (-?\d+) ?(.*)$/.exec(line);
    if (m === null) throw new Error(`kcat output: bad header line ${JSON.stringify(line)}`);
    const keyLen = Number(m[4]);
    const valueLen = Number(m[5]);
    pos = nl + 1;
    const key = keyLen < 0 ? null : Buffer.from(out.subarray(pos, pos + keyLen));
    pos += Math.max(keyLen, 0);
    const value = valueLen < 0 ? null : Buffer.from(out.subarray(pos, pos + valueLen));
    pos += Math.max(valueLen, 0);
    if (out[pos] !== 0x0a) throw new Error(`kcat output: record not terminated at byte ${pos}`);
    pos += 1;
    records.push({
      partition: Number(m[1]),
      offset: Number(m[2]),
      timestamp: Number(m[3]),
      key,
      value,
      headers: m[6] ?? '',
    });
  }
  return records;
}

export interface KcatConsumeOptions {
  readonly partition?: number;
  /** kcat's `-o`: `beginning`, `end`, a number, `s@<ms>`, ... Default beginning. */
  readonly offset?: string;
  /** `-c`: stop after this many records. */
  readonly count?: number;
  readonly extra?: readonly string[];
  readonly timeoutMs?: number;
}

/** `kcat -C ... -e`: consumes to the end of the partition(s) and parses the records. */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  options: KcatConsumeOptions = {},
): Promise<{ records: KcatRecord[]; result: RunResult }> {
  const args = ['-C', '-b', bootstrap, '-t', topic, '-o', options.offset ?? 'beginning', '-e'];
  if (options.partition !== undefined) args.push('-p', String(options.partition));
  if (options.count !== undefined) args.push('-c', String(options.count));
  args.push('-f', CONSUME_FORMAT, ...KCAT_COMMON, ...(options.extra ?? []));
  const result = await run(KCAT, args, { timeoutMs: options.timeoutMs ?? 20_000 });
  if (result.timedOut || result.code !== 0) throw new Error(describeRun(result));
  return { records: parseKcatRecords(result.stdout), result };
}

export interface KcatProduceOptions {
  readonly partition?: number;
  /** `-K`: key delimiter in each input line. */
  readonly keyDelimiter?: string;
  /** `-H k=v` for every record. */
  readonly headers?: readonly string[];
  /** `-z` codec. */
  readonly codec?: string;
  readonly extra?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * `kcat -P`: produces one record per input line (or, with `files`, one record per file,
 * byte for byte). Throws with kcat's stderr unless every record was delivered.
 */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  input: string | { files: readonly string[] },
  options: KcatProduceOptions = {},
): Promise<RunResult> {
  const args = ['-P', '-b', bootstrap, '-t', topic, '-p', String(options.partition ?? 0)];
  if (options.keyDelimiter !== undefined) args.push('-K', options.keyDelimiter);
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.codec !== undefined) args.push('-z', options.codec);
  args.push(...KCAT_COMMON, ...(options.extra ?? []));
  const runOptions: RunOptions = { timeoutMs: options.timeoutMs ?? 20_000 };
  if (typeof input === 'string') {
    return checkKcat(await run(KCAT, args, { ...runOptions, input }));
  }
  return checkKcat(await run(KCAT, [...args, ...input.files], runOptions));
}

function checkKcat(r: RunResult): RunResult {
  const failed = /Delivery failed|Failed to produce/i.test(r.stderr);
  if (r.timedOut || r.code !== 0 || failed) throw new Error(describeRun(r));
  return r;
}

/** `kcat -Q -t topic:partition:timestamp`: ListOffsets by timestamp; the offset kcat prints. */
export async function kcatQuery(
  bootstrap: string,
  topic: string,
  partition: number,
  timestamp: number,
): Promise<number> {
  const args = ['-Q', '-b', bootstrap, '-t', `${topic}:${partition}:${timestamp}`, ...KCAT_COMMON];
  const result = await run(KCAT, args, { timeoutMs: 10_000 });
  const m = /\[(\d+)\] offset (-?\d+)/.exec(result.stdout.toString('utf8'));
  if (result.code !== 0 || m === null) throw new Error(describeRun(result));
  return Number(m[2]);
}

/** `kcat -L -J`: the metadata as JSON. */
export async function kcatMetadata(
  bootstrap: string,
  extra: readonly string[] = [],
  timeoutMs = 10_000,
): Promise<{ metadata: KcatMetadata; result: RunResult }> {
  const args = ['-L', '-J', '-b', bootstrap, ...KCAT_COMMON, ...extra];
  const result = await run(KCAT, args, { timeoutMs });
  if (result.timedOut || result.code !== 0) throw new Error(describeRun(result));
  return { metadata: JSON.parse(result.stdout.toString('utf8')) as KcatMetadata, result };
}

export interface KcatMetadata {
  readonly originating_broker?: { id: number; name: string };
  readonly controllerid?: number;
  readonly brokers: ReadonlyArray<{ id: number; name: string }>;
  readonly topics: ReadonlyArray<{
    topic: string;
    error?: string;
    partitions: ReadonlyArray<{
      partition: number;
      error?: string;
      leader: number;
      replicas: ReadonlyArray<{ id: number }>;
      isrs: ReadonlyArray<{ id: number }>;
    }>;
  }>;
}

/** Partitions that `kcat -L` reports with an error or no leader, as `topic/partition: error`. */
export async function leaderless(bootstrap: string): Promise<string[]> {
  const { metadata } = await kcatMetadata(bootstrap);
  return metadata.topics.flatMap((t) =>
    t.partitions
      .filter((p) => p.error !== undefined || p.leader < 0)
      .map((p) => `${t.topic}/${p.partition}: ${p.error ?? `leader ${p.leader}`}`),
  );
}

/** Waits (up to `timeoutMs`) until every partition in the metadata has a leader. */
export async function waitForLeaders(bootstrap: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await leaderless(bootstrap)).length > 0 && performance.now() < deadline) await sleep(100);
}

/** The path of a Python script in test/fixtures/clients/. */
export function fixture(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'clients', name);
}

/** Run a fixture script under /usr/bin/python3. */
export function runPython(script: string, args: readonly string[], options: RunOptions = {}) {
  return run(PYTHON, ['-u', fixture(script), ...args], { timeoutMs: 60_000, ...options });
}

/** Start a fixture script under /usr/bin/python3 and return it running (stdout lines visible). */
export function spawnPython(script: string, args: readonly string[], options: RunOptions = {}) {
  return new ChildRun(PYTHON, ['-u', fixture(script), ...args], { timeoutMs: 60_000, ...options });
}

/**
 * The scripts print one JSON object on their last stdout line (a report). Throws with the
 * script's stderr when it failed or printed no report.
 */
export function pythonReport<T>(r: RunResult): T {
  const lines = r.stdout.toString('utf8').trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (r.timedOut || !last.startsWith('{')) throw new Error(describeRun(r));
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`bad report line: ${last}\n${describeRun(r)}`);
  }
}

/** A deterministic payload of `size` bytes for record `i` (all 256 byte values occur). */
export function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[j] = x >>> 24;
  }
  return b;
}

/** A unique topic name per test, so tests can share a broker. */
export function topicName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

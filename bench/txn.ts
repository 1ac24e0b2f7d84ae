/**
 * Transactional throughput beside idempotent non-transactional throughput, in one run against
 * one single-node broker process (default settings, storage on disk), driven by librdkafka
 * (confluent-kafka under /usr/bin/python3, bench/txn_client.py, a separate process):
 *
 *   npx tsc -p . && node build/bench/txn.js [--records 200000] [--partitions 3] [--size 100]
 *       [--per-txn 100,1000] [--reps 1] [--seed 1] [--unsynced] [--kafka]
 *       [--out docs/bench/txn-latest.json]
 *
 * Scenarios, each on a fresh topic of --partitions partitions, record i to partition i % P:
 * - idempotent: enable.idempotence, acks=all, --records records, flush at the end;
 * - txn K (for each K of --per-txn): the same records as transactions of K records, each begun,
 *   produced, flushed and committed (commit_transaction) before the next; every one spans all
 *   the partitions, so each commit is one EndTxn and one marker per partition.
 * An unmeasured warm-up of both kinds (a tenth of --records) runs first, and an unmeasured probe
 * last: 50 transactions with librdkafka's debug log, counting the AddPartitionsToTxn answers
 * CONCURRENT_TRANSACTIONS (the previous transaction's markers not yet written). After each
 * scenario a read_committed consumer counts the topic: it must hold every record, once (a sanity
 * check, printed; the run exits 1 if it fails). With --reps R every scenario runs R times,
 * interleaved, and the table shows medians.
 *
 * --unsynced runs everything again on a second broker with tributary.acks.all.fsync=false (no
 * fdatasync before acks=all answers), --kafka on Apache Kafka 3.9 (one KRaft node, from the jars
 * of scripts/install-test-deps.sh), one after the other, never at the same time.
 *
 * Prints a Markdown table and writes the figures as JSON to --out (default
 * docs/bench/txn-latest.json when docs/bench/ exists; --out - writes none).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BrokerProcess, repoRoot, run, runOk } from '../src/testing/broker-process.ts';
import { PYTHON, pythonReport, requireConfluentKafka } from '../src/testing/clients.ts';
import { KAFKA_3 } from '../src/testing/reference-clients.ts';
import { KafkaBroker, kafkaMissing } from './broker/apache-kafka.ts';
import { cpuSeconds, freePort, killAll, median } from './broker/proc.ts';

const ROOT = repoRoot();
const CLIENT = join(ROOT, 'bench', 'txn_client.py');
/** Transactions of the probe. */
const PROBE_TXNS = 50;

interface Options {
  readonly records: number;
  readonly partitions: number;
  readonly size: number;
  readonly perTxn: readonly number[];
  readonly reps: number;
  readonly seed: number;
  readonly unsynced: boolean;
  readonly kafka: boolean;
  readonly out: string | undefined;
}

/** A broker under test: where to connect, whose CPU to read, what it printed. */
interface Target {
  readonly name: string;
  readonly bootstrap: string;
  readonly pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** What txn_client.py prints for a produce mode (the txn fields only for transactions). */
interface ProduceOut {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly errors: number;
  readonly first_errors: readonly string[];
  readonly transactions?: number;
  /** p50, p99 */
  readonly flush_ms?: readonly number[];
  /** p50, p99, max */
  readonly commit_ms?: readonly number[];
  /** p50, p99 */
  readonly flush_commit_ms?: readonly number[];
}

interface ProbeOut {
  readonly transactions: number;
  readonly concurrent_answers: number;
  readonly transactions_with_concurrent: number;
}

interface CountOut {
  readonly records: number;
  readonly distinct: number;
  readonly ended: number;
  readonly errors: readonly string[];
}

interface Row {
  readonly target: string;
  readonly scenario: string;
  readonly rep: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly transactions: number;
  readonly txnPerSec: number;
  readonly flushMs: readonly number[];
  readonly commitMs: readonly number[];
  readonly flushCommitMs: readonly number[];
  readonly brokerCpuUsPerRecord: number;
  readonly clientCpuUsPerRecord: number;
  readonly readCommitted: CountOut;
  readonly ok: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '200000' },
      partitions: { type: 'string', default: '3' },
      size: { type: 'string', default: '100' },
      'per-txn': { type: 'string', default: '100,1000' },
      reps: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      unsynced: { type: 'boolean', default: false },
      kafka: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const perTxn = (values['per-txn'] ?? '')
    .split(',')
    .filter((s) => s !== '')
    .map(Number);
  const records = Number(values.records);
  if (perTxn.length === 0) throw new Error('--per-txn needs at least one size');
  for (const k of perTxn) {
    if (!(k > 0) || records % k !== 0) throw new Error(`--records must be a multiple of ${k}`);
  }
  if (!(Number(values.size) >= 8)) throw new Error('--size must be at least 8 bytes');
  const dflt = existsSync(join(ROOT, 'docs', 'bench'))
    ? join(ROOT, 'docs', 'bench', 'txn-latest.json')
    : undefined;
  return {
    records,
    partitions: Number(values.partitions),
    size: Number(values.size),
    perTxn,
    reps: Number(values.reps),
    seed: Number(values.seed),
    unsynced: values.unsynced ?? false,
    kafka: values.kafka ?? false,
    out: values.out === '-' ? undefined : (values.out ?? dflt),
  };
}

async function client<T>(mode: string, args: Record<string, string | number>): Promise<T> {
  const argv = ['-u', CLIENT, mode];
  for (const [k, v] of Object.entries(args)) argv.push(`--${k}`, String(v));
  return pythonReport<T>(await run(PYTHON, argv, { timeoutMs: 600_000 }));
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const args = ['bin/tributary.js', 'topics', 'create', topic, '--partitions', String(partitions)];
  args.push('--replication-factor', '1', '--bootstrap-server', bootstrap);
  await runOk(process.execPath, args, { timeoutMs: 60_000, cwd: ROOT });
}

/** One scenario on a fresh topic: the producer's figures, the broker's CPU, the check. */
async function scenario(
  target: Target,
  o: Options,
  perTxn: number,
  rep: number,
  records: number,
): Promise<Row> {
  const name = perTxn === 0 ? 'idempotent' : `txn ${perTxn}`;
  const topic = `txn-bench-${perTxn === 0 ? 'idem' : `txn${perTxn}`}-${rep < 0 ? 'warm' : rep}`;
  await createTopic(target.bootstrap, topic, o.partitions);
  const common = {
    bootstrap: target.bootstrap,
    topic,
    partitions: o.partitions,
    size: o.size,
    count: records,
    seed: o.seed,
  };
  const cpu0 = cpuSeconds(target.pid);
  const out =
    perTxn === 0
      ? await client<ProduceOut>('idempotent', common)
      : await client<ProduceOut>('txn', { ...common, 'per-txn': perTxn, 'txn-id': `${topic}-p` });
  const cpu = cpuSeconds(target.pid) - cpu0;
  const readCommitted = await client<CountOut>('count', {
    bootstrap: target.bootstrap,
    topic,
    partitions: o.partitions,
  });
  const ok =
    out.errors === 0 &&
    readCommitted.records === out.records &&
    readCommitted.distinct === out.records &&
    readCommitted.ended === o.partitions &&
    readCommitted.errors.length === 0;
  const transactions = out.transactions ?? 0;
  return {
    target: target.name,
    scenario: name,
    rep,
    records: out.records,
    seconds: out.seconds,
    recordsPerSec: out.records / out.seconds,
    mbPerSec: out.bytes / out.seconds / 1e6,
    transactions,
    txnPerSec: transactions / out.seconds,
    flushMs: out.flush_ms ?? [],
    commitMs: out.commit_ms ?? [],
    flushCommitMs: out.flush_commit_ms ?? [],
    // Broker CPU over the producer's whole run (connecting included), per record.
    brokerCpuUsPerRecord: (cpu / out.records) * 1e6,
    clientCpuUsPerRecord: (out.cpu / out.records) * 1e6,
    readCommitted,
    ok,
  };
}

async function probe(target: Target, o: Options, perTxn: number): Promise<ProbeOut> {
  const topic = 'txn-bench-probe';
  await createTopic(target.bootstrap, topic, o.partitions);
  return client<ProbeOut>('probe', {
    bootstrap: target.bootstrap,
    topic,
    partitions: o.partitions,
    size: o.size,
    count: PROBE_TXNS * perTxn,
    'per-txn': perTxn,
    'txn-id': `${topic}-p`,
    seed: o.seed,
  });
}

interface Measured {
  readonly target: string;
  readonly rows: readonly Row[];
  readonly probe: ProbeOut;
  readonly brokerStderr: string;
}

/** Warm-up, every scenario --reps times (interleaved), the probe; then stops the target. */
async function measure(target: Target, o: Options): Promise<Measured> {
  const rows: Row[] = [];
  const smallest = Math.min(...o.perTxn);
  try {
    // Unmeasured: the broker's JIT, and __transaction_state created by the first
    // InitProducerId, so neither falls on the first measured scenario.
    const warm = Math.max(smallest, Math.floor(o.records / 10 / smallest) * smallest);
    await scenario(target, o, 0, -1, warm);
    await scenario(target, o, smallest, -1, warm);
    for (let rep = 0; rep < o.reps; rep++) {
      for (const k of [0, ...o.perTxn]) {
        const row = await scenario(target, o, k, rep, o.records);
        process.stderr.write(
          `${target.name} rep ${rep} ${row.scenario}: ${Math.round(row.recordsPerSec)} records/s${row.ok ? '' : ' (read_committed MISMATCH)'}\n`,
        );
        rows.push(row);
      }
    }
    const probed = await probe(target, o, smallest);
    return { target: target.name, rows, probe: probed, brokerStderr: target.stderr().trim() };
  } finally {
    await target.stop();
  }
}

async function tributary(name: string, overrides: Record<string, string>): Promise<Target> {
  const broker = await BrokerProcess.start({ overrides });
  return {
    name,
    bootstrap: broker.bootstrap,
    pid: broker.pid,
    stderr: () => broker.stderr,
    async stop() {
      await broker.stop();
      await broker.cleanup();
    },
  };
}

async function apacheKafka(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-txn-kafka-'));
  const opts = { version: KAFKA_3, port: await freePort(), controllerPort: await freePort(), dir };
  const kafka = await KafkaBroker.start(opts, true);
  return {
    name: `kafka ${KAFKA_3}`,
    bootstrap: kafka.bootstrap,
    pid: kafka.pid,
    stderr: () => '',
    async stop() {
      await kafka.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Summary {
  readonly target: string;
  readonly scenario: string;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly txnPerSec: number;
  readonly flushMs: readonly number[];
  readonly commitMs: readonly number[];
  readonly flushCommitMs: readonly number[];
  readonly brokerCpuUsPerRecord: number;
  readonly clientCpuUsPerRecord: number;
  readonly ok: boolean;
}

/** Medians over the repetitions, per target and scenario. */
function summarise(rows: readonly Row[]): Summary[] {
  const keys = [...new Set(rows.map((r) => `${r.target}\u0000${r.scenario}`))];
  return keys.map((key) => {
    const rs = rows.filter((r) => `${r.target}\u0000${r.scenario}` === key);
    const first = rs[0] as Row;
    const med = (f: (r: Row) => number) => median(rs.map(f));
    const lat = (f: (r: Row) => readonly number[]) =>
      f(first).map((_, i) => median(rs.map((r) => f(r)[i] ?? Number.NaN)));
    return {
      target: first.target,
      scenario: first.scenario,
      recordsPerSec: med((r) => r.recordsPerSec),
      mbPerSec: med((r) => r.mbPerSec),
      txnPerSec: med((r) => r.txnPerSec),
      flushMs: lat((r) => r.flushMs),
      commitMs: lat((r) => r.commitMs),
      flushCommitMs: lat((r) => r.flushCommitMs),
      brokerCpuUsPerRecord: med((r) => r.brokerCpuUsPerRecord),
      clientCpuUsPerRecord: med((r) => r.clientCpuUsPerRecord),
      ok: rs.every((r) => r.ok),
    };
  });
}

function table(summary: readonly Summary[], reps: number): string {
  const int = (x: number) => Math.round(x).toLocaleString('en');
  const ms = (xs: readonly number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  const median = reps > 1 ? ` (median of ${reps})` : '';
  const lines = [
    `| broker | scenario${median} | records/s | MB/s | txn/s | flush ms p50 / p99 | commit ms p50 / p99 / max | broker CPU µs/record | client CPU µs/record | read_committed |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const s of summary) {
    const txn = s.txnPerSec === 0 ? '' : int(s.txnPerSec);
    lines.push(
      `| ${s.target} | ${s.scenario} | ${int(s.recordsPerSec)} | ${s.mbPerSec.toFixed(1)} | ${txn} | ${ms(s.flushMs)} | ${ms(s.commitMs)} | ${s.brokerCpuUsPerRecord.toFixed(2)} | ${s.clientCpuUsPerRecord.toFixed(2)} | ${s.ok ? 'all, once' : 'MISMATCH'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * What a transaction costs beyond its records: the wall time and broker CPU per transaction
 * above what the idempotent producer spent on as many records, on the same broker.
 */
function costs(summary: readonly Summary[], perTxn: readonly number[]): string[] {
  const lines: string[] = [];
  for (const target of new Set(summary.map((s) => s.target))) {
    const idem = summary.find((s) => s.target === target && s.scenario === 'idempotent');
    if (idem === undefined) continue;
    for (const k of perTxn) {
      const t = summary.find((s) => s.target === target && s.scenario === `txn ${k}`);
      if (t === undefined) continue;
      const extraMs = (1 / t.txnPerSec - k / idem.recordsPerSec) * 1000;
      const extraCpuUs = (t.brokerCpuUsPerRecord - idem.brokerCpuUsPerRecord) * k;
      const share = ((100 * t.recordsPerSec) / idem.recordsPerSec).toFixed(1);
      lines.push(
        `${target}, txn ${k}: ${share}% of idempotent records/s; each transaction takes ${extraMs.toFixed(2)} ms more wall time and ${Math.round(extraCpuUs)} µs more broker CPU than ${k} idempotent records`,
      );
    }
  }
  return lines;
}

function loadAverages(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

async function main(): Promise<void> {
  const o = options();
  requireConfluentKafka();
  if (o.kafka) {
    const missing = kafkaMissing(KAFKA_3);
    if (missing !== null) throw new Error(`--kafka: ${missing}`);
  }
  const loadBefore = loadAverages();
  const measured: Measured[] = [];
  measured.push(await measure(await tributary('tributary', {}), o));
  if (o.unsynced) {
    const unsynced = { 'tributary.acks.all.fsync': 'false' };
    measured.push(await measure(await tributary('tributary, no fsync', unsynced), o));
  }
  if (o.kafka) measured.push(await measure(await apacheKafka(), o));
  const loadAfter = loadAverages();
  const rows = measured.flatMap((m) => m.rows);
  const summary = summarise(rows);
  const smallest = Math.min(...o.perTxn);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`${table(summary, o.reps)}\n`);
  for (const line of costs(summary, o.perTxn)) say(line);
  for (const m of measured) {
    say(
      `${m.target}, probe of ${m.probe.transactions} transactions of ${smallest}: ${m.probe.concurrent_answers} AddPartitionsToTxn answers were CONCURRENT_TRANSACTIONS, in ${m.probe.transactions_with_concurrent} transactions (librdkafka registers again 20 ms later)`,
    );
  }
  for (const r of rows.filter((x) => !x.ok)) {
    say(
      `MISMATCH ${r.target} ${r.scenario} rep ${r.rep}: produced ${r.records}, read_committed ${JSON.stringify(r.readCommitted)}`,
    );
  }
  say(`load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}`);
  for (const m of measured.filter((x) => x.brokerStderr !== '')) {
    say(`${m.target} stderr (last 3000 characters):\n${m.brokerStderr.slice(-3000)}`);
  }
  const report = {
    date: new Date().toISOString(),
    command: `node build/bench/txn.js ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    loadBefore,
    loadAfter,
    options: { ...o, out: undefined },
    summary,
    probes: measured.map((m) => ({ target: m.target, perTxn: smallest, ...m.probe })),
    rows,
    brokerStderr: measured.map((m) => ({ target: m.target, text: m.brokerStderr })),
  };
  if (o.out !== undefined) {
    writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
    say(`written to ${o.out}`);
  }
  if (!rows.every((r) => r.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  // Apache Kafka is not a BrokerProcess (whose children die with this process): end it here.
  killAll();
  process.exit(2);
});

/**
 * Issue 19's cleaner benchmark against a broker child process, with librdkafka as the client
 * (confluent-kafka, bench/compaction_client.py): produce throughput and p99 latency on one topic
 * with the cleaner idle, then while the cleaner compacts a large topic, in the same run; the
 * cleaning rate beside the disk's sequential ceiling.
 *
 *   npx tsc -p . && node build/bench/compaction-broker.js [--mib 2048] [--keys 100000]
 *       [--idle-seconds 20] [--size 1024] [--inflight 64] [--segment-mib 128]
 *       [--broker-config k=v]...   (e.g. log.cleaner.io.max.bytes.per.second=20000000)
 *       [--control-seconds 0] [--warmup-seconds 10] [--quiet-steal 0.5]
 *       [--windows-out file.csv]   (each second of each phase: its steal, records, p99)
 *
 * 1. A broker (log.cleaner.backoff.ms 200, otherwise defaults: one cleaner thread, a 128 MiB
 *    dedupe buffer, no I/O rate limit but the busy rate of tributary.log.cleaner.busy.*). Topic `compacted` is created with cleanup.policy=delete,
 *    so that the cleaner leaves it alone, and filled by a producer with --mib MiB of keyed
 *    records (100-byte values over --keys keys, acks=all); topic `other` is created.
 * 2. Idle: after --warmup-seconds of the producer not counted (the phase right after the fill ran
 *    slower than every later idle phase, in every run), a producer writes --size-byte records to
 *    `other` for --idle-seconds, acks=all, at most --inflight records in flight; throughput and
 *    latency percentiles (produce() to delivery).
 * 3. Cleaning: the same producer starts again; `compacted` is switched to cleanup.policy=compact;
 *    the producer stops when the broker logs the cleaning of `compacted-0` done, so the figures
 *    cover the cleaning and nothing else. For phases 2 to 4 the broker's own Produce time
 *    (dispatch to the response handed to the socket, from its SIGUSR2 request times) is printed
 *    too, apart from the client's end-to-end latency.
 * 4. Idle again, as in 2: the machine is shared, and a load that changes during the run shows as
 *    a difference between the two idle phases; the cleaning phase is compared with their mean.
 * 5. With --control-seconds N > 0, a control: N s of the producer beside a plain busy loop at
 *    nice 19 (`nice -n 19 node -e 'for(;;){}'`, no I/O, nothing of the broker's), then N s idle:
 *    what any thread that keeps a CPU busy costs produce on this machine, whatever its priority.
 *    Then the same with the loop in a session of its own whose autogroup has nice 19 (Linux
 *    groups a session's threads for scheduling): what a cleaner process of its own could cost.
 * 6. Host steal: the machine's steal time (/proc/stat) is sampled every 250 ms; each phase's
 *    share is printed, and its p99 over the seconds of it whose steal stayed at most
 *    --quiet-steal percent (default 0.5), from the client's per-second latency histograms. On a
 *    shared host the other guests' bursts come and go within a phase; the same rule applied to
 *    every phase compares the cleaner with the cleaner idle, not with the neighbours.
 * 7. The disk: dd writes and then reads a file of min(--mib, 1024) MiB in the data directory
 *    with O_DIRECT (the device, not the page cache).
 * Prints a Markdown table, with the load average at start and end (the machine is shared).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BrokerProcess, repoRoot } from '../src/testing/broker-process.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '2048' },
    keys: { type: 'string', default: '100000' },
    'idle-seconds': { type: 'string', default: '20' },
    size: { type: 'string', default: '1024' },
    inflight: { type: 'string', default: '64' },
    'segment-mib': { type: 'string', default: '128' },
    'broker-config': { type: 'string', multiple: true, default: [] },
    'control-seconds': { type: 'string', default: '0' },
    'warmup-seconds': { type: 'string', default: '10' },
    'quiet-steal': { type: 'string', default: '0.5' },
    'windows-out': { type: 'string' },
  },
});
const MIB = Number(values.mib);
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot(), 'bench', 'compaction_client.py');

interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  readonly done: Promise<number>;
  stderr: string;
}

function start(cmd: string, args: readonly string[]): Child {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const child: Child = {
    proc,
    lines: [],
    stderr: '',
    done: new Promise((resolve) => proc.once('exit', (code) => resolve(code ?? -1))),
  };
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    child.lines.push(...parts);
  });
  proc.stderr?.on('data', (d: Buffer) => {
    child.stderr += d.toString();
  });
  return child;
}

async function report<T>(c: Child): Promise<T> {
  const code = await c.done;
  const last = c.lines[c.lines.length - 1] ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`client failed (${code}): ${last}\n${c.stderr.slice(-2000)}`);
  }
  return JSON.parse(last) as T;
}

function client(mode: string, bootstrap: string, ...args: string[]): Child {
  return start(PYTHON, ['-u', SCRIPT, mode, '--bootstrap', bootstrap, ...args]);
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Latency {
  records: number;
  seconds: number;
  mib_per_sec: number;
  records_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: string[];
  /** Latency base of the histogram buckets (bucket b: ratio**b to ratio**(b+1) microseconds). */
  bucket_ratio: number;
  /** Per second of wall-clock time (Unix seconds): [bucket, count] pairs. */
  windows: [number, [number, number][]][];
}

/**
 * The machine's steal time (/proc/stat: CPU time the hypervisor gave to other guests while this
 * one wanted to run), sampled every 250 ms: on a shared host it comes and goes in bursts of
 * seconds, and a burst inside one phase alone decides that phase's p99.
 */
class StealSampler {
  readonly #samples: { atMs: number; steal: number; total: number }[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 250);
  }

  #sample(): void {
    const cpu = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
    const ticks = cpu.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    this.#samples.push({ atMs: Date.now(), steal: ticks[7] ?? 0, total });
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Steal as a share of all CPU time between two wall-clock instants (the samples around them). */
  share(fromMs: number, toMs: number): number {
    const s = this.#samples;
    let a = s[0];
    let b = s[s.length - 1];
    for (const x of s) {
      if (x.atMs <= fromMs) a = x;
      if (x.atMs >= toMs) {
        b = x;
        break;
      }
    }
    if (a === undefined || b === undefined || b.total <= a.total) return 0;
    return (b.steal - a.steal) / (b.total - a.total);
  }
}

interface QuietFigures {
  /** Seconds of the phase with a delivery, and those of them the host left alone. */
  seconds: number;
  quietSeconds: number;
  /** Steal over the whole phase, as a share of CPU time. */
  steal: number;
  /** p99 over the quiet seconds (to the histogram's 2%). */
  p99Ms: number;
}

/** The p99 of a latency histogram, in ms (to the buckets' resolution). */
function p99Of(buckets: readonly [number, number][], ratio: number): number {
  const sorted = [...buckets].sort((x, y) => x[0] - y[0]);
  const n = sorted.reduce((a, [, c]) => a + c, 0);
  const rank = Math.floor(0.99 * n);
  let seen = 0;
  for (const [b, c] of sorted) {
    seen += c;
    if (seen > rank) return ratio ** (b + 0.5) / 1000;
  }
  return 0;
}

/**
 * The phase's p99 over the seconds whose steal (over that second and the one before it, since a
 * record delivered in a second was sent in it or just before) stayed at most --quiet-steal
 * percent: the same rule for every phase, so that a burst of the host's other guests does not
 * decide the comparison.
 */
function quietFigures(
  l: Latency,
  steal: StealSampler,
  rows: string[],
  phase: string,
): QuietFigures {
  const limit = Number(values['quiet-steal']) / 100;
  const merged = new Map<number, number>();
  let quietSeconds = 0;
  for (const [sec, buckets] of l.windows) {
    const share = steal.share((sec - 1) * 1000, (sec + 1) * 1000);
    const n = buckets.reduce((a, [, c]) => a + c, 0);
    rows.push(
      `${phase},${sec},${(100 * share).toFixed(2)},${n},${p99Of(buckets, l.bucket_ratio).toFixed(2)}`,
    );
    if (share > limit) continue;
    quietSeconds++;
    for (const [b, c] of buckets) merged.set(b, (merged.get(b) ?? 0) + c);
  }
  const p99Ms = p99Of([...merged], l.bucket_ratio);
  const first = l.windows[0]?.[0] ?? 0;
  const last = l.windows[l.windows.length - 1]?.[0] ?? 0;
  return {
    seconds: l.windows.length,
    quietSeconds,
    steal: steal.share(first * 1000, (last + 1) * 1000),
    p99Ms,
  };
}

function latencyArgs(bootstrap: string, seconds: number): Child {
  return client(
    'latency',
    bootstrap,
    '--topic',
    'other',
    '--size',
    String(values.size),
    '--inflight',
    String(values.inflight),
    '--seconds',
    String(seconds),
  );
}

async function dd(args: readonly string[]): Promise<string> {
  const c = start('dd', args);
  await c.done;
  return c.stderr.trim().split('\n').pop() ?? '';
}

/** MB/s from dd's last line (`... copied, 1.2 s, 850 MB/s`). */
function ddRate(line: string): string {
  return line.split(',').pop()?.trim() ?? line;
}

async function diskCeiling(dir: string): Promise<{ write: string; read: string; mib: number }> {
  const mib = Math.min(MIB, 1024);
  const file = join(dir, 'dd-ceiling');
  const w = await dd([
    'if=/dev/zero',
    `of=${file}`,
    'bs=1M',
    `count=${mib}`,
    'oflag=direct',
    'conv=fdatasync',
  ]);
  const r = await dd([`if=${file}`, 'of=/dev/null', 'bs=1M', 'iflag=direct']);
  await rm(file, { force: true });
  return { write: ddRate(w), read: ddRate(r), mib };
}

interface Control {
  readonly busy: Latency;
  readonly idle: Latency;
}

/**
 * N s of the producer beside a nice-19 busy loop, then N s without it. `isolated`: the loop runs
 * in a session of its own whose autogroup gets nice 19 too (Linux), as a cleaner process of its
 * own could.
 */
async function loopPhases(bootstrap: string, seconds: number, isolated: boolean): Promise<Control> {
  const args = ['-n', '19', process.execPath, '-e', 'for(;;){}'];
  const proc = spawn('nice', args, { stdio: 'ignore', detached: isolated });
  const done = new Promise((resolve) => proc.once('exit', resolve));
  try {
    if (isolated) {
      await new Promise((r) => setTimeout(r, 200));
      await writeFile(`/proc/${proc.pid}/autogroup`, '19');
    }
    const busy = await report<Latency>(latencyArgs(bootstrap, seconds));
    proc.kill('SIGKILL');
    await done;
    const idle = await report<Latency>(latencyArgs(bootstrap, seconds));
    return { busy, idle };
  } finally {
    proc.kill('SIGKILL');
  }
}

/** The control phases (see the file comment), when asked for. */
async function controlPhases(
  bootstrap: string,
): Promise<{ group: Control; isolated: Control } | undefined> {
  const seconds = Number(values['control-seconds']);
  if (!(seconds > 0)) return undefined;
  const group = await loopPhases(bootstrap, seconds, false);
  const isolated = await loopPhases(bootstrap, seconds, true);
  return { group, isolated };
}

/**
 * The broker's own Produce time (dispatch to response handed to the socket) since the last call:
 * SIGUSR2 prints the request times and starts counting afresh (src/main.ts). Separates the
 * broker's share of a phase's latency from the client's and the network's.
 */
async function brokerProduceTime(broker: BrokerProcess): Promise<string> {
  const from = broker.stdout.length;
  broker.signal('SIGUSR2');
  await until('the request times', () => /request time/.test(broker.stdout.slice(from)), 5_000);
  await new Promise((r) => setTimeout(r, 100));
  const m = /request time Produce: n=\d+ (.*)/.exec(broker.stdout.slice(from));
  return m?.[1] ?? 'no Produce request';
}

const CLEANED =
  /log cleaner: cleaned compacted-0 \[(\d+), (\d+)\): (\d+) bytes \((\d+) records\) to (\d+) bytes \((\d+) records\) in ([\d.]+) s/;

async function main(): Promise<void> {
  const loadStart = loadavg();
  const steal = new StealSampler();
  const broker = await BrokerProcess.start({
    overrides: {
      'log.cleaner.backoff.ms': '200',
      'num.partitions': '1',
      ...Object.fromEntries(
        (values['broker-config'] ?? []).map((kv) => [
          kv.split('=')[0],
          kv.slice(kv.indexOf('=') + 1),
        ]),
      ),
    },
  });
  try {
    const bootstrap = broker.bootstrap;
    const segBytes = String(Number(values['segment-mib']) * 1024 * 1024);
    await report(
      client(
        'create',
        bootstrap,
        '--topic',
        'compacted',
        '--topic-config',
        'cleanup.policy=delete',
        '--topic-config',
        `segment.bytes=${segBytes}`,
      ),
    );
    await report(client('create', bootstrap, '--topic', 'other'));
    const fillArgs = ['--topic', 'compacted', '--mib', String(MIB), '--keys', String(values.keys)];
    const filled = await report<{ records: number; bytes: number; seconds: number }>(
      client('fill', bootstrap, ...fillArgs),
    );
    await report<Latency>(latencyArgs(bootstrap, Number(values['warmup-seconds'])));
    await brokerProduceTime(broker);
    const idle = await report<Latency>(latencyArgs(bootstrap, Number(values['idle-seconds'])));
    const idleBroker = await brokerProduceTime(broker);
    const busyRun = latencyArgs(bootstrap, 0);
    await until('the producer', () => busyRun.lines.some((l) => l.includes('ready')), 20_000);
    await brokerProduceTime(broker);
    const t0 = performance.now();
    await report(
      client(
        'alter',
        bootstrap,
        '--topic',
        'compacted',
        '--topic-config',
        'cleanup.policy=compact',
        '--topic-config',
        `segment.bytes=${segBytes}`,
      ),
    );
    await until('the cleaning', () => CLEANED.test(broker.stderr), 3_600_000);
    const wallSecs = (performance.now() - t0) / 1000;
    busyRun.proc.stdin?.end('stop\n');
    const busy = await report<Latency>(busyRun);
    const busyBroker = await brokerProduceTime(broker);
    const idleAfter = await report<Latency>(latencyArgs(bootstrap, Number(values['idle-seconds'])));
    const idleAfterBroker = await brokerProduceTime(broker);
    const control = await controlPhases(bootstrap);
    const m = CLEANED.exec(broker.stderr) as RegExpExecArray;
    const [readBytes, readRecords, writtenBytes, writtenRecords, secs] = [3, 4, 5, 6, 7].map((i) =>
      Number(m[i]),
    ) as [number, number, number, number, number];
    await broker.stop();
    const disk = await diskCeiling(broker.dataDir);
    const loadEnd = loadavg();
    const mb = (n: number) => (n / 1e6).toFixed(0);
    const fmt = (l: Latency) =>
      `${l.records_per_sec.toFixed(0)} records/s (${l.mib_per_sec.toFixed(2)} MiB/s), ` +
      `p50 ${l.p50_ms.toFixed(2)} ms, p99 ${l.p99_ms.toFixed(2)} ms, max ${l.max_ms.toFixed(1)} ms` +
      ` over ${l.seconds.toFixed(1)} s${l.errors.length > 0 ? `, errors: ${l.errors.join('; ')}` : ''}`;
    console.log('| what | result |');
    console.log('| --- | --- |');
    console.log(`| load average at start | ${loadStart.map((x) => x.toFixed(2)).join(', ')} |`);
    console.log(
      `| broker settings | ${(values['broker-config'] ?? []).join(', ') || 'defaults'} |`,
    );
    console.log(
      `| compacted topic | ${mb(filled.bytes)} MB, ${filled.records} records over ${values.keys} keys, filled in ${filled.seconds.toFixed(0)} s |`,
    );
    console.log(
      `| cleaning | ${mb(readBytes)} MB (${readRecords} records) to ${mb(writtenBytes)} MB (${writtenRecords} records) in ${secs.toFixed(1)} s: ${(readBytes / 1e6 / secs).toFixed(1)} MB/s (${wallSecs.toFixed(1)} s from the config change) |`,
    );
    console.log(
      `| disk, sequential (dd, O_DIRECT, ${disk.mib} MiB) | write ${disk.write}, read ${disk.read} |`,
    );
    console.log(`| produce, cleaner idle (before) | ${fmt(idle)} |`);
    console.log(`| produce, cleaner running | ${fmt(busy)} |`);
    console.log(`| produce, cleaner idle (after) | ${fmt(idleAfter)} |`);
    console.log(`| broker's Produce time, cleaner idle (before) | ${idleBroker} |`);
    console.log(`| broker's Produce time, cleaner running | ${busyBroker} |`);
    console.log(`| broker's Produce time, cleaner idle (after) | ${idleAfterBroker} |`);
    const rate = (idle.records_per_sec + idleAfter.records_per_sec) / 2;
    const p99 = (idle.p99_ms + idleAfter.p99_ms) / 2;
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
    console.log(
      `| running / idle (mean of both) | throughput ${pct(busy.records_per_sec, rate)}, p99 ${pct(busy.p99_ms, p99)} |`,
    );
    console.log(
      `| running / idle (before; after) | throughput ${pct(busy.records_per_sec, idle.records_per_sec)}; ${pct(busy.records_per_sec, idleAfter.records_per_sec)}, p99 ${pct(busy.p99_ms, idle.p99_ms)}; ${pct(busy.p99_ms, idleAfter.p99_ms)} |`,
    );
    if (control !== undefined) {
      for (const [name, c] of [
        ['a nice-19 busy loop', control.group],
        ['a nice-19 busy loop in its own session, autogroup nice 19', control.isolated],
      ] as const) {
        console.log(`| control: produce beside ${name} | ${fmt(c.busy)} |`);
        console.log(`| control: produce, idle after it | ${fmt(c.idle)} |`);
        console.log(
          `| control / idle after it | throughput ${pct(c.busy.records_per_sec, c.idle.records_per_sec)}, p99 ${pct(c.busy.p99_ms, c.idle.p99_ms)} |`,
        );
      }
    }
    const rows = ['phase,second,steal_percent,records,p99_ms'];
    const quiet = [
      quietFigures(idle, steal, rows, 'idle-before'),
      quietFigures(busy, steal, rows, 'cleaning'),
      quietFigures(idleAfter, steal, rows, 'idle-after'),
    ] as const;
    if (values['windows-out'] !== undefined) {
      await writeFile(values['windows-out'], `${rows.join('\n')}\n`);
    }
    const limit = values['quiet-steal'];
    for (const [name, q] of [
      ['cleaner idle (before)', quiet[0]],
      ['cleaner running', quiet[1]],
      ['cleaner idle (after)', quiet[2]],
    ] as const) {
      console.log(
        `| host steal, ${name} | ${(100 * q.steal).toFixed(1)}% of CPU time; ${q.quietSeconds} of ${q.seconds} s at most ${limit}%: p99 over those ${q.p99Ms.toFixed(2)} ms |`,
      );
    }
    const quietIdleP99 = (quiet[0].p99Ms + quiet[2].p99Ms) / 2;
    console.log(
      `| running / idle, seconds without steal (mean of both) | p99 ${pct(quiet[1].p99Ms, quietIdleP99)} |`,
    );
    console.log(`| load average at end | ${loadEnd.map((x) => x.toFixed(2)).join(', ')} |`);
  } finally {
    steal.stop();
    await broker.cleanup();
  }
}

await main();

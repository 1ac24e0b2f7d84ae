/**
 * What scraping /metrics costs the broker: a broker child process with metrics.listener on and
 * TOPICS topics of PARTITIONS partitions (10,000 in all by default), left idle; its CPU time is
 * read from /proc/<pid>/stat (utime + stime) over SECONDS with no scrape, then over SECONDS with
 * a GET /metrics every second (as Prometheus would, from this process), for ROUNDS rounds
 * alternating the two. The difference is the scrape's cost as a percentage of one core; the
 * scrape's size and duration (seen by the client) are reported beside it, with the load average
 * at the start and the end (the machine is shared).
 *
 *   npx tsc -p . && node build/bench/metrics-scrape.js [--topics 100] [--partitions 100]
 *     [--seconds 60] [--rounds 1] [--settle-seconds 15]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Admin } from '../src/admin/index.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';

const { values } = parseArgs({
  options: {
    topics: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '1' },
    'settle-seconds': { type: 'string', default: '15' },
  },
});
const TOPICS = Number(values.topics);
const PARTITIONS = Number(values.partitions);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const SETTLE_SECONDS = Number(values['settle-seconds']);
const CREATE_CONCURRENCY = 8;
const SCRAPE_INTERVAL_MS = 1000;
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU seconds the process has used (user + system), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

async function createTopics(bootstrap: string): Promise<number> {
  const admin = new Admin({ bootstrapServers: [bootstrap], requestTimeoutMs: 120_000 });
  const started = performance.now();
  try {
    const names = Array.from({ length: TOPICS }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += CREATE_CONCURRENCY) {
      await Promise.all(
        names.slice(i, i + CREATE_CONCURRENCY).map((name) =>
          admin.createTopic({
            name,
            partitions: PARTITIONS,
            replicationFactor: 1,
            configs: new Map(),
          }),
        ),
      );
    }
  } finally {
    await admin.close();
  }
  return (performance.now() - started) / 1000;
}

interface Window {
  readonly cpuPercent: number;
  readonly wallSeconds: number;
}

/** The broker's CPU over `seconds`, as % of one core, while `during` runs. */
async function measure(pid: number, seconds: number, during: () => Promise<void>) {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await during();
  const rest = seconds * 1000 - (performance.now() - t0);
  if (rest > 0) await sleep(rest);
  const wallSeconds = (performance.now() - t0) / 1000;
  return { cpuPercent: ((cpuSeconds(pid) - cpu0) / wallSeconds) * 100, wallSeconds };
}

interface Scrape {
  readonly ms: number;
  readonly bytes: number;
  readonly lines: number;
}

async function scrape(url: string): Promise<Scrape> {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return { ms, bytes: Buffer.byteLength(text), lines: text.split('\n').length - 1 };
}

/** A scrape every second, on the second, for `seconds`. */
async function scrapeEverySecond(url: string, seconds: number, into: Scrape[]): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    const due = t0 + i * SCRAPE_INTERVAL_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    into.push(await scrape(url));
  }
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

const loadStart = load();
const broker = await BrokerProcess.start({
  readyTimeoutMs: 120_000,
  overrides: { 'metrics.listener': 'http://127.0.0.1:0' },
});
try {
  const url = `${/metrics on (http:\/\/\S+?)(?:,|\s|$)/.exec(broker.stdout)?.[1]}/metrics`;
  log(`creating ${TOPICS} topics of ${PARTITIONS} partitions`);
  const createSeconds = await createTopics(broker.bootstrap);
  const first = await scrape(url);
  log(`first scrape: ${first.lines} lines, ${first.bytes} bytes, ${Math.round(first.ms)} ms`);
  log(`settling ${SETTLE_SECONDS} s`);
  await sleep(SETTLE_SECONDS * 1000);
  const idle: Window[] = [];
  const scraping: Window[] = [];
  const scrapes: Scrape[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    log(`round ${r + 1}: ${SECONDS} s idle`);
    idle.push(await measure(broker.pid, SECONDS, async () => {}));
    log(`round ${r + 1}: ${SECONDS} s with a scrape every second`);
    scraping.push(
      await measure(broker.pid, SECONDS, () => scrapeEverySecond(url, SECONDS, scrapes)),
    );
  }
  const mean = (ws: readonly Window[]) => ws.reduce((a, w) => a + w.cpuPercent, 0) / ws.length;
  const ms = scrapes.map((s) => s.ms);
  const result = {
    topics: TOPICS,
    partitions: TOPICS * PARTITIONS,
    createSeconds: round1(createSeconds),
    seconds: SECONDS,
    rounds: ROUNDS,
    idleCpuPercent: idle.map((w) => round2(w.cpuPercent)),
    scrapingCpuPercent: scraping.map((w) => round2(w.cpuPercent)),
    scrapeCostPercentOfCore: round2(mean(scraping) - mean(idle)),
    scrapes: scrapes.length,
    scrapeKiB: Math.round((scrapes.at(-1)?.bytes ?? 0) / 1024),
    scrapeLines: scrapes.at(-1)?.lines ?? 0,
    scrapeMsMedian: round1(quantile(ms, 0.5)),
    scrapeMsP90: round1(quantile(ms, 0.9)),
    scrapeMsMax: round1(Math.max(...ms)),
    loadAverageStart: loadStart,
    loadAverageEnd: load(),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await broker.cleanup();
}

/**
 * The console's topic list with many partitions: a broker child process with TOPICS topics of
 * PARTITIONS partitions each (10,000 in all by default), the console as a child process against
 * it, then GET /topics timed end to end (Metadata of every topic, the page rendered from the
 * sampler's last log end offsets and sizes, the HTML sent), once cold (the first sample taken
 * on the way) and REPS times warm.
 *
 *   npx tsc -p . && node build/bench/console-topics.js [--topics 100] [--partitions 100] [--reps 10]
 */
import { parseArgs } from 'node:util';
import { Admin } from '../src/admin/index.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { ConsoleProcess } from '../src/testing/console-process.ts';

const { values } = parseArgs({
  options: {
    topics: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '100' },
    reps: { type: 'string', default: '10' },
  },
});
const TOPICS = Number(values.topics);
const PARTITIONS = Number(values.partitions);
const REPS = Number(values.reps);
const CREATE_CONCURRENCY = 8;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
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

async function timeGet(url: string): Promise<{ ms: number; bytes: number; rows: number }> {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}\n${text.slice(0, 2000)}`);
  const rows = text.split('href="/topics/bench-').length - 1;
  return { ms, bytes: Buffer.byteLength(text), rows };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const broker = await BrokerProcess.start({ readyTimeoutMs: 120_000 });
let console_: ConsoleProcess | undefined;
try {
  log(`creating ${TOPICS} topics of ${PARTITIONS} partitions`);
  const createSeconds = await createTopics(broker.bootstrap);
  console_ = await ConsoleProcess.start(broker.bootstrap, ['--sample-interval-ms', '5000']);
  const cold = await timeGet(`${console_.url}/topics`);
  if (cold.rows !== TOPICS) throw new Error(`expected ${TOPICS} rows, the page has ${cold.rows}`);
  const warm: number[] = [];
  for (let i = 0; i < REPS; i++) warm.push((await timeGet(`${console_.url}/topics`)).ms);
  const result = {
    topics: TOPICS,
    partitions: TOPICS * PARTITIONS,
    createSeconds: Math.round(createSeconds * 10) / 10,
    coldMs: Math.round(cold.ms),
    warmMedianMs: Math.round(median(warm)),
    warmMaxMs: Math.round(Math.max(...warm)),
    pageKiB: Math.round(cold.bytes / 1024),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await console_?.stop();
  await broker.cleanup();
}

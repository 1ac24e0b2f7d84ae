/**
 * Start-up time of a 3-broker embedded cluster (memory storage): the median of 20 sequential
 * startCluster({ brokers: 3 }) → stop() cycles in one process, after one warm-up cycle. Start
 * counts until every broker has joined (startCluster resolves once each has its first metadata
 * from the controller); a first topic (RF 3) ready for clients is measured separately.
 *
 *   npx tsc -p . && node build/bench/embedded-cluster.js
 */
import { startCluster } from '../src/index.ts';

const RUNS = 20;
const startMs: number[] = [];
const topicMs: number[] = [];
const stopMs: number[] = [];

async function cycle(record: boolean): Promise<void> {
  const t0 = performance.now();
  const cluster = await startCluster({ brokers: 3 });
  const t1 = performance.now();
  await cluster.createTopic('bench', { partitions: 1, replicationFactor: 3 });
  while ((await cluster.partitionState('bench', 0))?.isr.length !== 3) {
    await new Promise((r) => setTimeout(r, 1));
  }
  const t2 = performance.now();
  await cluster.stop();
  if (!record) return;
  startMs.push(t1 - t0);
  topicMs.push(t2 - t1);
  stopMs.push(performance.now() - t2);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

await cycle(false);
for (let i = 0; i < RUNS; i++) await cycle(true);
const row = (name: string, v: readonly number[]) =>
  `${name.padEnd(7)} median ${quantile(v, 0.5).toFixed(1)} ms  p90 ${quantile(v, 0.9).toFixed(1)} ms  max ${Math.max(...v).toFixed(1)} ms`;
console.log(`${RUNS} cycles of a 3-broker memory cluster`);
console.log(row('start', startMs));
console.log(row('topic', topicMs));
console.log(row('stop', stopMs));
await new Promise((r) => setTimeout(r, 10));
console.log(`handles left: ${process.getActiveResourcesInfo().join(', ') || 'none'}`);

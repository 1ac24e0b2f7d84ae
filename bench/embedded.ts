/**
 * Start-up time of the embedded memory broker: the median of 100 sequential
 * startBroker() → stop() cycles in one process (the module graph is loaded once, before the
 * first measured start, as in a test suite), plus the one-time import cost.
 *
 *   npx tsc -p . && node build/bench/embedded.js
 */
const importStarted = performance.now();
const { startBroker } = await import('../src/index.ts');
const importMs = performance.now() - importStarted;

const RUNS = 100;
const startMs: number[] = [];
const stopMs: number[] = [];
// One warm-up start so lazily initialised pieces (zstd wasm, worker) do not count as start-up.
await (await startBroker()).stop();
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const broker = await startBroker();
  const t1 = performance.now();
  await broker.stop();
  startMs.push(t1 - t0);
  stopMs.push(performance.now() - t1);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const row = (name: string, v: readonly number[]) =>
  `${name.padEnd(8)} median ${quantile(v, 0.5).toFixed(2)} ms  p90 ${quantile(v, 0.9).toFixed(2)} ms  max ${Math.max(...v).toFixed(2)} ms`;
console.log(`import   ${importMs.toFixed(1)} ms (once per process)`);
console.log(row('start', startMs));
console.log(row('stop', stopMs));
await new Promise((r) => setTimeout(r, 10));
console.log(`handles left: ${process.getActiveResourcesInfo().join(', ') || 'none'}`);

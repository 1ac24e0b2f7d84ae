/**
 * The long transaction soak (src/testing/txn-soak.ts), for docs/benchmarks.md:
 *
 *   node build/bench/txn-soak.js --seconds 600 --writers 3 --partitions 6 --kills 20 [--cluster 3]
 *
 * Prints the figures as one JSON line; exits 1 on any anomaly.
 */
import { runTxnSoak } from '../src/testing/txn-soak.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const report = await runTxnSoak({
  seconds: arg('seconds', 600),
  writers: arg('writers', 3),
  partitions: arg('partitions', 6),
  kills: arg('kills', 20),
  cluster: arg('cluster', 0),
  seed: arg('seed', Date.now() % 100_000),
  log: (m) => process.stderr.write(`${m}\n`),
});
process.stdout.write(`${JSON.stringify(report)}\n`);
if (!report.ok) process.exitCode = 1;

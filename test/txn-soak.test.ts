/**
 * A short run of the transaction soak (src/testing/txn-soak.ts): two confluent-kafka writers run
 * list-append transactions for 30 s against a broker killed with kill -9 twice; read_committed
 * afterwards shows no aborted read, torn transaction, lost write, duplicate or non-monotonic
 * offset. `node build/bench/txn-soak.js --seconds 600` is the long run (docs/benchmarks.md).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { requireConfluentKafka } from '../src/testing/clients.ts';
import { runTxnSoak } from '../src/testing/txn-soak.ts';

test('list-append transactions through broker crashes: no anomaly', {
  timeout: 240_000,
}, async (t) => {
  requireConfluentKafka();
  const report = await runTxnSoak({
    seconds: 30,
    writers: 2,
    partitions: 4,
    kills: 2,
    seed: Date.now() % 100_000,
    log: (m) => t.diagnostic(m),
  });
  const { abortedReads, torn, lost, duplicated, nonMonotonic, ...figures } = report;
  t.diagnostic(JSON.stringify(figures));
  assert.ok(report.committed > 20, `transactions committed (${report.committed})`);
  assert.deepEqual(
    { abortedReads, torn, lost, duplicated, nonMonotonic },
    { abortedReads: [], torn: [], lost: [], duplicated: [], nonMonotonic: [] },
  );
});

test('the same on a 3-broker cluster, killing random brokers (coordinators and leaders)', {
  timeout: 300_000,
}, async (t) => {
  requireConfluentKafka();
  const report = await runTxnSoak({
    seconds: 30,
    writers: 2,
    partitions: 4,
    kills: 3,
    cluster: 3,
    seed: Date.now() % 100_000,
    log: (m) => t.diagnostic(m),
  });
  const { abortedReads, torn, lost, duplicated, nonMonotonic, ...figures } = report;
  t.diagnostic(JSON.stringify(figures));
  assert.ok(report.committed > 20, `transactions committed (${report.committed})`);
  assert.deepEqual(
    { abortedReads, torn, lost, duplicated, nonMonotonic },
    { abortedReads: [], torn: [], lost: [], duplicated: [], nonMonotonic: [] },
  );
});

/**
 * startCluster({ brokers: 3 }) with real clients: kafkajs and @platformatic/kafka, each in a child
 * process (src/testing/embedded-cluster-driver.ts) that starts the cluster and drives one
 * idempotent acks=all producer and one group consumer on an RF 3, min.insync.replicas=2 topic
 * through a kill of the leader, its restart, the isolation of the next leader (with an acks=all
 * write sent straight to it once it is out of the ISR) and the heal. The child prints a report,
 * stops everything and must exit on its own; this file checks the report and the exit.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChildRun, describeRun, repoRoot } from '../src/testing/broker-process.ts';

const FIXTURE = join(repoRoot(), 'build', 'src', 'testing', 'embedded-cluster-driver.js');
/** REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS(_AFTER_APPEND), or none. */
const NOT_ACKNOWLEDGED = /^(error (7|6|19|20)|no answer)/;

interface Report {
  readonly events: readonly string[];
  readonly probe: string;
  readonly ackedWhileIsolated: number;
  readonly missingBrokerLookups?: number;
  readonly acked: number;
  readonly failed: number;
  readonly errors: readonly string[];
  readonly lost: readonly number[];
  readonly unread: readonly number[];
  readonly logOutOfOrder: number;
  readonly probeInLog: boolean;
  readonly finalIsr: readonly number[];
  readonly leaked: readonly string[];
}

async function runClient(client: 'kafkajs' | 'platformatic'): Promise<Report> {
  const child = new ChildRun(process.execPath, ['--enable-source-maps', FIXTURE, client], {
    timeoutMs: 240_000,
  });
  const r = await child.done;
  // The child stops the cluster and its clients and is then left to end by itself: no
  // process.exit, so a stray timer or socket shows as a timeout here.
  assert.equal(r.timedOut, false, `the process exits on its own after stop(); ${describeRun(r)}`);
  assert.equal(r.code, 0, describeRun(r));
  const line = r.stdout
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('report '));
  assert.ok(line !== undefined, `a report; ${describeRun(r)}`);
  return JSON.parse(line.slice('report '.length)) as Report;
}

function checkReport(report: Report): void {
  const ctx = JSON.stringify(report);
  assert.deepEqual(report.lost, [], `no acknowledged record is missing from the log; ${ctx}`);
  assert.equal(report.logOutOfOrder, -1, `the log holds each record once, in order; ${ctx}`);
  assert.deepEqual(report.unread, [], `the consumer read every acknowledged record; ${ctx}`);
  assert.match(report.probe, NOT_ACKNOWLEDGED, `the isolated leader does not acknowledge; ${ctx}`);
  assert.equal(report.probeInLog, false, `its unacknowledged write is gone after the heal; ${ctx}`);
  assert.deepEqual([...report.finalIsr].sort(), [1, 2, 3], `all back in the ISR; ${ctx}`);
  assert.deepEqual(report.leaked, [], `nothing left open after stop(); ${ctx}`);
  assert.ok(report.acked >= 300, ctx);
}

describe('startCluster({ brokers: 3 }) with real clients through kill, restart and isolation', () => {
  // Whether a client moves on while the old leader is still isolated depends on which broker it
  // asks for metadata (the isolated one answers with its stale view, as in Kafka's ZooKeeper
  // mode): the report says how many it acknowledged meanwhile; the checks hold either way.
  it('kafkajs: idempotent acks=all producer and a group consumer', {
    timeout: 250_000,
  }, async () => {
    checkReport(await runClient('kafkajs'));
  });

  it('@platformatic/kafka: idempotent acks=all producer and a group consumer', {
    timeout: 250_000,
  }, async (t) => {
    const report = await runClient('platformatic');
    t.diagnostic(
      `lookups of a coordinator missing from the client's metadata answered by the guard: ${String(report.missingBrokerLookups)}`,
    );
    checkReport(report);
  });
});

/**
 * Transactions on a 3-broker cluster (a real ZooKeeper, brokers as child processes) through the
 * loss of a broker mid-transaction. A confluent-kafka transactional producer
 * (test/fixtures/clients/txn_pause.py) writes to every partition of an RF=3 topic
 * (min.insync.replicas 2) and waits, its partitions added to the transaction; the test kills
 * (kill -9) one broker, then lets the producer write a second round and end the transaction:
 *
 * - the leader of one of the partitions (one the transaction coordinator does not lead): the
 *   producer goes on with the new leader and commits;
 * - the transaction coordinator's broker: another broker takes over `__transaction_state`, finds
 *   the transaction Ongoing with its partitions, and the producer commits (or aborts) through it.
 *
 * - the coordinator's broker again, at the moment it answers EndTxn(commit) (a producer spoken
 *   with the wire client): the decision is durable on the other replicas, and the new coordinator
 *   writes the markers and completes the commit.
 *
 * Afterwards the coordinator reports CompleteCommit/CompleteAbort; a read_committed read of every
 * partition (the wire client at the leader, and confluent-kafka's consumer) holds each record of
 * a committed transaction exactly once and none of an aborted one; the last stable offset of each
 * partition is its high watermark (no marker lost). The same holds once the killed broker is back
 * in the ISR (leadership may have moved back to it).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, errorName } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { FindCoordinatorResponse } from '../src/protocol/messages/find-coordinator-response.ts';
import { describeRun } from '../src/testing/broker-process.ts';
import {
  requireConfluentKafka,
  requireKcat,
  runPython,
  spawnPython,
} from '../src/testing/clients.ts';
import {
  describeLoaded,
  RawTxnProducer,
  readCommitted,
  stableOffsets,
} from '../src/testing/txn-crash.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const PARTITIONS = 3;
const PER_PARTITION = 5;

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;

before(async () => {
  requireConfluentKafka();
  requireKcat();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3, {
    'min.insync.replicas': '2',
    'transaction.state.log.replication.factor': '3',
    'transaction.state.log.min.isr': '2',
    'transaction.state.log.num.partitions': '4',
  });
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
});

/** Runs `fn` with a fresh connection to broker `id`. */
async function withBroker<T>(id: number, fn: (c: WireClient) => Promise<T>): Promise<T> {
  const c = await WireClient.connect('127.0.0.1', cluster.broker(id).port, 'cluster-txn');
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The broker FindCoordinator (key type 1) names for `txnId`, asked of a running broker. */
function coordinatorOf(txnId: string, not = -1): Promise<number> {
  return until(`a coordinator for ${txnId} other than ${not}`, async () => {
    for (const id of cluster.runningIds) {
      const res = await withBroker(id, (c) =>
        c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, {
          key: txnId,
          keyType: 1,
          coordinatorKeys: [],
        }),
      );
      if (res.errorCode === ErrorCode.NONE && res.nodeId !== not) return res.nodeId;
    }
    return undefined;
  });
}

/** DescribeTransactions of `txnId` at its coordinator, once it shows `state`. */
function untilState(txnId: string, state: string, timeoutMs = 30_000) {
  return until(
    `${txnId} in ${state}`,
    async () => {
      const id = await coordinatorOf(txnId);
      const s = await withBroker(id, (c) => describeLoaded(c, txnId, 5_000));
      return s.errorCode === ErrorCode.NONE && s.state === state ? { id, ...s } : undefined;
    },
    timeoutMs,
  );
}

/** The leader of `topic-partition` as a running broker sees it, once it is not `not`. */
async function leaderOf(topic: string, partition: number, not = -1): Promise<number> {
  return until(`a leader of ${topic}-${partition} other than ${not}`, async () => {
    for (const id of cluster.runningIds) {
      const p = await cluster.partition(id, topic, partition).catch(() => undefined);
      if (p !== undefined && p.leader >= 0 && p.leader !== not) return p.leader;
    }
    return undefined;
  });
}

/**
 * Every partition read with read_committed at its leader holds exactly `expected` (`p:value`
 * pairs), each once, and its last stable offset is its high watermark; confluent-kafka's
 * read_committed consumer agrees and ends at the high watermark.
 */
async function verify(topic: string, expected: readonly [number, string][]): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const want = expected.filter(([x]) => x === p).map(([, v]) => v);
    await until(
      `read_committed of ${topic}-${p} at its leader`,
      async () => {
        const leader = await leaderOf(topic, p);
        return withBroker(leader, async (c) => {
          const read = await readCommitted(c, topic, p);
          assert.deepEqual([...read.values].sort(), [...want].sort(), `${topic}-${p}`);
          assert.equal(read.lastStableOffset, read.highWatermark, `${topic}-${p}: LSO at the HW`);
          const offsets = await stableOffsets(c, topic, p);
          assert.equal(
            offsets.lastStableOffset,
            offsets.highWatermark,
            `${topic}-${p}: ListOffsets`,
          );
          return true;
        });
      },
      20_000,
    );
  }
  const r = await runPython(
    'txn_client.py',
    ['consume', cluster.bootstrap, topic, 'read_committed', String(PARTITIONS), '2'],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, describeRun(r));
  const events = String(r.stdout)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as {
          ev: string;
          p?: number;
          v?: string;
          positions?: Record<string, number>;
          high?: Record<string, number>;
        },
    );
  const got = events.filter((e) => e.ev === 'record').map((e) => `${e.p}:${e.v}`);
  assert.deepEqual(got.sort(), expected.map(([p, v]) => `${p}:${v}`).sort(), 'confluent-kafka');
  const end = events.find((e) => e.ev === 'end');
  for (let p = 0; p < PARTITIONS; p++) {
    assert.equal(end?.positions?.[p], end?.high?.[p], `${topic}-${p}: consumer at the end`);
  }
}

interface Case {
  readonly topic: string;
  readonly txnId: string;
  readonly victim: 'leader' | 'coordinator';
  readonly outcome: 'commit' | 'abort';
}

async function runCase(c: Case, log: (m: string) => void): Promise<void> {
  const { topic, txnId, victim, outcome } = c;
  await cluster.createTopic(topic, PARTITIONS, 3);
  await cluster.waitForIsr(topic, 3);
  const producer = spawnPython(
    'txn_pause.py',
    [cluster.bootstrap, topic, txnId, String(PARTITIONS), String(PER_PARTITION), outcome],
    { timeoutMs: 120_000 },
  );
  let killed = -1;
  try {
    await producer.waitFor((lines) => lines.some((l) => l.includes('"produced"')), 60_000);
    const coordinator = await coordinatorOf(txnId);
    const open = await withBroker(coordinator, (w) => describeLoaded(w, txnId));
    assert.equal(open.state, 'Ongoing', errorName(open.errorCode));
    const all = Array.from({ length: PARTITIONS }, (_, p) => `${topic}-${p}`);
    assert.deepEqual(open.partitions, all, 'every partition added before the kill');

    const leaders = await cluster.leaders(topic);
    assert.ok(leaders !== undefined);
    if (victim === 'leader') {
      // A partition the coordinator does not lead, if there is one.
      const index = leaders.partitions.findIndex((p) => p.leader !== coordinator);
      const p = Math.max(index, 0);
      killed = leaders.partitions[p]?.leader ?? -1;
      log(`coordinator ${coordinator}; killing broker ${killed}, leader of ${topic}-${p}`);
      await cluster.broker(killed).kill();
      const next = await leaderOf(topic, p, killed);
      log(`${topic}-${p} is led by ${next}`);
    } else {
      killed = coordinator;
      log(`killing broker ${killed}, coordinator of ${txnId}`);
      await cluster.broker(killed).kill();
      const next = await coordinatorOf(txnId, killed);
      // The new coordinator loaded the open transaction from the replicated __transaction_state.
      const taken = await until(`${txnId} loaded by broker ${next}`, async () => {
        const s = await withBroker(next, (w) => describeLoaded(w, txnId, 5_000));
        return s.errorCode === ErrorCode.NONE ? s : undefined;
      });
      assert.equal(taken.state, 'Ongoing', `at the new coordinator ${next}`);
      assert.deepEqual(taken.partitions, all);
      assert.equal(taken.producerId, open.producerId);
      log(`broker ${next} took over ${txnId}`);
    }

    producer.kill('SIGUSR1');
    const r = await producer.done;
    assert.equal(r.code, 0, describeRun(r));
    const ended = String(r.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { ev: string; values?: [number, string][] })
      .find((e) => e.ev === 'ended');
    const values = ended?.values ?? [];
    assert.equal(values.length, 2 * PARTITIONS * PER_PARTITION, 'both rounds were sent');

    const done = await untilState(txnId, outcome === 'commit' ? 'CompleteCommit' : 'CompleteAbort');
    log(`${txnId}: ${done.state} at broker ${done.id}`);
    const expected = outcome === 'commit' ? values : [];
    await verify(topic, expected);

    // The killed broker comes back and catches up (the markers included); the same holds.
    await cluster.broker(killed).restart({ samePort: true });
    await cluster.waitForIsr(topic, 3);
    await verify(topic, expected);
  } finally {
    producer.kill();
    if (killed >= 0 && !cluster.broker(killed).running) {
      await cluster.broker(killed).restart({ samePort: true });
    }
  }
}

describe('transactions on a 3-broker cluster through kill -9 of a broker', () => {
  it('the leader of a partition in the transaction is killed; the commit holds', {
    timeout: 90_000,
  }, async (t) => {
    await runCase(
      { topic: 'txn-leader-kill', txnId: 'leader-kill', victim: 'leader', outcome: 'commit' },
      (m) => t.diagnostic(m),
    );
  });

  it('the coordinator is killed; the new one takes the transaction over and commits it', {
    timeout: 90_000,
  }, async (t) => {
    await runCase(
      {
        topic: 'txn-coord-commit',
        txnId: 'coord-commit',
        victim: 'coordinator',
        outcome: 'commit',
      },
      (m) => t.diagnostic(m),
    );
  });

  it('the coordinator is killed; the new one aborts the transaction', {
    timeout: 90_000,
  }, async (t) => {
    await runCase(
      { topic: 'txn-coord-abort', txnId: 'coord-abort', victim: 'coordinator', outcome: 'abort' },
      (m) => t.diagnostic(m),
    );
  });
  it('the coordinator is killed as it answers EndTxn(commit); the new one completes the commit', {
    timeout: 90_000,
  }, async (t) => {
    const topic = 'txn-coord-endtxn';
    const txnId = 'coord-endtxn';
    await cluster.createTopic(topic, PARTITIONS, 3);
    await cluster.waitForIsr(topic, 3);
    const coordinator = await coordinatorOf(txnId);
    const clients = new Map<number, WireClient>();
    const clientOf = async (id: number) => {
      let c = clients.get(id);
      if (c === undefined) {
        c = await WireClient.connect('127.0.0.1', cluster.broker(id).port, 'cluster-txn');
        clients.set(id, c);
      }
      return c;
    };
    try {
      const coord = await clientOf(coordinator);
      const p = new RawTxnProducer(coord, txnId, 60_000);
      await p.init();
      const all = Array.from({ length: PARTITIONS }, (_, x) => x);
      assert.equal(await p.addPartitions(topic, all), ErrorCode.NONE);
      const values: [number, string][] = [];
      for (const x of all) {
        const batch = Array.from({ length: PER_PARTITION }, (_, j) => `raw:${x}:${j}`);
        // Produce goes to the partition's leader; the transactional requests to the coordinator.
        p.client = await clientOf(await leaderOf(topic, x));
        const r = await p.produce(topic, x, batch);
        assert.equal(r.errorCode, ErrorCode.NONE, `produce to ${topic}-${x}`);
        values.push(...batch.map((v): [number, string] => [x, v]));
      }
      p.client = coord;
      const answer = await p.endOnce(true);
      const killing = cluster.broker(coordinator).kill();
      assert.equal(answer, ErrorCode.NONE, errorName(answer));
      await killing;
      const next = await coordinatorOf(txnId, coordinator);
      const first = await until(`${txnId} loaded by broker ${next}`, async () => {
        const s = await withBroker(next, (w) => describeLoaded(w, txnId, 5_000));
        return s.errorCode === ErrorCode.NONE ? s : undefined;
      });
      t.diagnostic(
        `killed broker ${coordinator}; broker ${next} loaded ${txnId} in ${first.state}`,
      );
      assert.match(first.state, /^(PrepareCommit|CompleteCommit)$/, 'the commit was decided');
      await untilState(txnId, 'CompleteCommit');
      await verify(topic, values);
      await cluster.broker(coordinator).restart({ samePort: true });
      await cluster.waitForIsr(topic, 3);
      await verify(topic, values);
    } finally {
      for (const c of clients.values()) await c.close();
      if (!cluster.broker(coordinator).running) {
        await cluster.broker(coordinator).restart({ samePort: true });
      }
    }
  });
});

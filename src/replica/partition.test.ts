import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { asTopicId, newTopicId } from '../common/ids.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { buildRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { setBaseOffset, setPartitionLeaderEpoch } from '../protocol/records/batch-header.ts';
import { LogManager } from '../storage/log-manager.ts';
import { type CommittedIsr, Partition, type ProposeIsr } from './partition.ts';
import { resolvePartitionConfig } from './partition-config.ts';

const T0 = 1_700_000_000_000;
const LOCAL = 1;
const LEADER = 2;

async function setup(overrides: ReadonlyMap<string, string> = new Map(), proposeIsr?: ProposeIsr) {
  const fs = new MemoryFileSystem();
  const clock = new ManualClock(T0);
  const config = resolvePartitionConfig(BrokerConfig.from(new Map()), overrides);
  const logs = await LogManager.open({
    logDirs: ['/data'],
    clock,
    fs,
    defaultConfig: config.log,
    nodeId: LOCAL,
  });
  const topicId = newTopicId();
  const log = await logs.create('t', 0, config.log, topicId);
  const moves: number[] = [];
  const partition = new Partition({
    topic: 't',
    partition: 0,
    topicId: asTopicId(topicId),
    log,
    localBrokerId: LOCAL,
    config,
    checkpointedHighWatermark: undefined,
    clock,
    acksAllFsync: true,
    onChange: (p) => moves.push(p.highWatermark),
    ...(proposeIsr === undefined ? {} : { proposeIsr }),
  });
  return { logs, log, partition, moves };
}

/** Broker 1 leads at epoch 1 with follower 2 out of the ISR, at partition epoch 5. */
const LEADING_WITHOUT_2 = {
  leader: 1,
  leaderEpoch: 1,
  replicas: [1, 2, 3],
  isr: [1, 3],
  partitionEpoch: 5,
} as const;

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A batch as a leader wrote it: offsets and leader epoch assigned, producer fields kept. */
function leaderBatch(base: number, epoch: number, count: number, producerId = -1, seq = -1) {
  const batch = buildRecordBatchSync({
    producerId,
    producerEpoch: 0,
    baseSequence: seq,
    now: T0,
    records: Array.from({ length: count }, (_, i) => ({
      key: null,
      value: Buffer.from(`v${base + i}`),
    })),
  });
  setBaseOffset(batch, 0, base);
  setPartitionLeaderEpoch(batch, 0, epoch);
  return batch;
}

describe('Partition', () => {
  it('as follower appends the leader batches as they are; producer state and epochs follow', async () => {
    const { logs, log, partition } = await setup();
    assert.equal(
      partition.makeFollower({ leader: LEADER, leaderEpoch: 3, replicas: [2, 1], isr: [2, 1] }),
      true,
    );
    await partition.appendAsFollower(leaderBatch(0, 3, 2, 77, 0));
    await partition.appendAsFollower(leaderBatch(2, 5, 3, 77, 2));
    assert.equal(log.logEndOffset, 5);
    assert.equal(log.leaderEpochCache.latestEpoch(), 5);
    assert.deepEqual(log.leaderEpochCache.endOffsetFor(3), { epoch: 3, endOffset: 2 });
    // The next batch of producer 77 in sequence is new; a retry of the last one is a duplicate.
    const next = { producerId: 77, producerEpoch: 0, baseSequence: 5, lastOffsetDelta: 0 };
    assert.equal(log.producers.check(next).kind, 'append');
    const retry = { producerId: 77, producerEpoch: 0, baseSequence: 2, lastOffsetDelta: 2 };
    assert.deepEqual(log.producers.check(retry), {
      kind: 'duplicate',
      firstOffset: 2,
      lastOffset: 4,
    });
    // The follower's high watermark is the leader's, capped by what it holds.
    partition.updateHighWatermarkAsFollower(100);
    assert.equal(partition.highWatermark, 5);
    // Truncation (a diverged follower) takes producer state, epochs and the HW back with the log.
    await partition.truncateTo(2);
    assert.equal(log.logEndOffset, 2);
    assert.equal(partition.highWatermark, 2);
    assert.equal(log.leaderEpochCache.latestEpoch(), 3);
    assert.equal(log.producers.check(retry).kind, 'append', 'the cut batch is forgotten');
    await logs.close();
  });

  it('never goes back in leader epoch, and moves its high watermark only as the ISR allows', async () => {
    const { logs, partition, moves } = await setup();
    assert.equal(
      partition.makeLeader({ leader: 1, leaderEpoch: 4, replicas: [1, 2], isr: [1, 2] }),
      true,
    );
    assert.equal(
      partition.makeFollower({ leader: 2, leaderEpoch: 3, replicas: [1, 2], isr: [1, 2] }),
      false,
      'a stale LeaderAndIsr is ignored',
    );
    assert.equal(partition.isLeader, true);
    const out = await partition.appendAsLeader(leaderBatch(0, 0, 3), 1);
    assert.equal(out.errorCode, 0);
    assert.equal(partition.highWatermark, 0, 'follower 2 is in the ISR and has fetched nothing');
    partition.updateFollowerFetchState(2, 2);
    assert.equal(partition.highWatermark, 2);
    partition.updateFollowerFetchState(2, 3);
    assert.equal(partition.highWatermark, 3);
    // The write wakes waiting fetches (followers read new data) at HW 0; the fetches move it.
    assert.deepEqual(moves, [0, 2, 3]);
    await logs.close();
  });

  it('skips a LeaderAndIsr of its leader epoch that predates an ISR change it committed', async () => {
    const proposals: number[][] = [];
    const { logs, partition } = await setup(new Map(), (_p, isr, partitionEpoch) => {
      proposals.push([...isr]);
      return Promise.resolve({ isr, partitionEpoch: partitionEpoch + 1 });
    });
    const state = LEADING_WITHOUT_2;
    assert.equal(partition.makeLeader(state), true);
    await partition.appendAsLeader(leaderBatch(0, 0, 3), 1);
    partition.updateFollowerFetchState(3, 3);
    partition.updateFollowerFetchState(2, 3);
    await settle();
    assert.deepEqual(proposals, [[1, 3, 2]], 'the caught-up follower is proposed into the ISR');
    assert.deepEqual(partition.isr, [1, 3, 2]);
    assert.equal(partition.partitionEpoch, 6);
    // A new controller's first LeaderAndIsr, built from what it read before that change landed.
    assert.equal(partition.makeLeader(state), false, 'an older partition epoch is skipped');
    assert.deepEqual(partition.isr, [1, 3, 2], 'the committed ISR stays');
    assert.equal(partition.makeLeader({ ...state, isr: [1, 3, 2], partitionEpoch: 6 }), true);
    await logs.close();
  });

  it('after a proposal the state moved past, waits for the LeaderAndIsr instead of proposing on every fetch', async () => {
    const proposals: number[][] = [];
    const answers: (CommittedIsr | null | Error)[] = [null];
    const { logs, partition } = await setup(new Map(), (_p, isr) => {
      proposals.push([...isr]);
      const answer = answers.shift();
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer ?? null);
    });
    const state = LEADING_WITHOUT_2;
    partition.makeLeader(state);
    await partition.appendAsLeader(leaderBatch(0, 0, 3), 1);
    partition.updateFollowerFetchState(3, 3);
    for (let i = 0; i < 5; i++) {
      partition.updateFollowerFetchState(2, 3);
      await settle();
    }
    assert.deepEqual(proposals, [[1, 3, 2]], 'proposed once, not again at a stale version');
    // The LeaderAndIsr ends the wait; then a store that cannot be reached is tried again on the
    // next fetch, and a newer ISR of this epoch from the store is taken as the committed one.
    partition.makeLeader({ ...state, leaderEpoch: 2, partitionEpoch: 7 });
    answers.push(new Error('the store is unreachable'), { isr: [1, 2, 3], partitionEpoch: 9 });
    partition.updateFollowerFetchState(2, 3);
    await settle();
    partition.updateFollowerFetchState(2, 3);
    await settle();
    assert.deepEqual(proposals, [
      [1, 3, 2],
      [1, 3, 2],
      [1, 3, 2],
    ]);
    assert.deepEqual(partition.isr, [1, 2, 3]);
    assert.equal(partition.partitionEpoch, 9);
    await logs.close();
  });

  it('as leader refuses a v2 record set of more than one batch, as Kafka does', async () => {
    const { logs, log, partition } = await setup();
    partition.makeLeader({ leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
    const two = Buffer.concat([leaderBatch(0, 0, 1, 9, 0), leaderBatch(0, 0, 1, 9, 1)]);
    const out = await partition.appendAsLeader(two, 1);
    assert.equal(out.errorCode, ErrorCode.INVALID_RECORD);
    assert.equal(out.errorMessage, 'Compressed outer record has more than one batch');
    assert.equal(log.logEndOffset, 0, 'nothing of it is appended');
    const one = await partition.appendAsLeader(leaderBatch(0, 0, 2, 9, 0), -1);
    assert.equal(one.errorCode, 0);
    assert.equal(partition.highWatermark, 2);
    await logs.close();
  });

  it('answers NOT_LEADER_OR_FOLLOWER to a produce while it follows', async () => {
    const { logs, partition } = await setup();
    partition.makeFollower({ leader: LEADER, leaderEpoch: 0, replicas: [2, 1], isr: [2] });
    const out = await partition.appendAsLeader(leaderBatch(0, 0, 1), 1);
    assert.equal(out.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await logs.close();
  });

  it('refuses acks=all below min.insync.replicas', async () => {
    const { logs, partition } = await setup(new Map([['min.insync.replicas', '2']]));
    partition.makeLeader({ leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
    const out = await partition.appendAsLeader(leaderBatch(0, 0, 1), -1);
    assert.equal(out.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal((await partition.appendAsLeader(leaderBatch(0, 0, 1), 1)).errorCode, 0);
    await logs.close();
  });
});

/**
 * The data plane of replication between two real brokers in this process, with the control
 * plane played by the test (it hands each broker its LeaderAndIsr directly, as the controller
 * will): a follower fetches from its leader over TCP, the leader tracks it, moves the high
 * watermark and brings it into the ISR; acks=all waits for it; a leader that falls behind the
 * ISR shrinks it; and a deposed leader with batches nobody else has truncates them by the
 * leader-epoch protocol and ends byte-identical to the new leader.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { PartitionLeadership } from '../src/cluster/replica-control.ts';
import { asTopicId } from '../src/common/ids.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import type { CommittedIsr, Partition } from '../src/replica/partition.ts';
import type { ReplicationOptions } from '../src/replica/replica-manager.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const LAG_MAX_MS = 400;

function batch(value: string): Buffer {
  return buildRecordBatchSync({
    now: Date.now(),
    records: [{ key: null, value: Buffer.from(value) }],
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function bytesOf(p: Partition): Promise<Buffer> {
  const read = await p.log.read(p.log.logStartOffset, 1 << 24, {
    maxOffset: p.log.writtenEndOffset,
  });
  return Buffer.concat(read.records);
}

describe('replication between two brokers', () => {
  const addresses = new Map<number, { host: string; port: number }>();
  /** ISR changes the leaders committed, as the controller would record them. */
  const committed: { broker: number; isr: readonly number[] }[] = [];
  const brokers: InProcessBroker[] = [];

  function replication(id: number): ReplicationOptions {
    return {
      leaderAddress: (brokerId) => addresses.get(brokerId),
      fetcher: {
        localBrokerId: id,
        partitionBytesMax: 1 << 20,
        responseBytesMax: 10 << 20,
        waitMaxMs: 100,
        minBytes: 1,
        backoffMs: 50,
        syncBeforeNextFetch: true,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 5000,
      },
      proposeIsr: (_p, isr, partitionEpoch): Promise<CommittedIsr> => {
        committed.push({ broker: id, isr });
        return Promise.resolve({ isr, partitionEpoch: partitionEpoch + 1 });
      },
      lagTimeMaxMs: LAG_MAX_MS,
      log: () => undefined,
    };
  }

  before(async () => {
    for (const id of [0, 1]) {
      const b = await InProcessBroker.start({
        storage: 'memory',
        config: { 'broker.id': id },
        replication: replication(id),
      });
      brokers.push(b);
      addresses.set(id, { host: b.host, port: b.port });
    }
  });

  after(async () => {
    for (const b of brokers) await b.stop();
  });

  const part = (id: number): Partition => {
    const p = brokers[id]?.broker.context.partitions.get('r', 0);
    assert.ok(p !== undefined);
    return p;
  };

  async function lead(
    id: number,
    state: Omit<PartitionLeadership, 'topic' | 'topicId' | 'partition'>,
  ): Promise<void> {
    const b = brokers[id];
    assert.ok(b !== undefined);
    const leaderTopic = brokers[0]?.broker.context.metadata.get('r');
    assert.ok(leaderTopic !== undefined);
    const failed = await b.broker.context.partitions.applyLeadership(
      [{ topic: 'r', topicId: asTopicId(leaderTopic.topicId), partition: 0, ...state }],
      new Map(),
    );
    assert.equal(failed.size, 0);
  }

  it('a follower catches up, joins the ISR, and acks=all waits for it', async () => {
    await brokers[0]?.createTopic('r', 1);
    const leader = part(0);
    for (let i = 0; i < 3; i++)
      assert.equal((await leader.appendAsLeader(batch(`a${i}`), 1)).errorCode, 0);
    await lead(0, { leader: 0, leaderEpoch: 1, replicas: [0, 1], isr: [0] });
    assert.equal(leader.highWatermark, 3, 'the ISR is the leader alone: the HW is its log end');
    await lead(1, { leader: 0, leaderEpoch: 1, replicas: [0, 1], isr: [0] });
    const follower = part(1);
    await until('the follower to catch up', () => follower.log.logEndOffset === 3);
    await until('the ISR to grow', () => leader.isr.length === 2);
    assert.deepEqual(committed.at(-1), { broker: 0, isr: [0, 1] });
    const acked = await leader.appendAsLeader(batch('all'), -1, 5000);
    assert.equal(acked.errorCode, 0);
    assert.ok(follower.log.logEndOffset >= 4, 'acks=all was answered once the follower had it');
    assert.equal(leader.highWatermark, 4);
    await until('the follower HW', () => follower.highWatermark === 4);
    assert.deepEqual(await bytesOf(follower), await bytesOf(leader), 'the logs are byte-identical');
  });

  it('a follower that stops fetching leaves the ISR after replica.lag.time.max.ms', async () => {
    const leader = part(0);
    const follower = part(1);
    await brokers[1]?.broker.context.partitions.stopReplicas('r', [0], false);
    const timedOut = await leader.appendAsLeader(batch('lonely'), -1, 200);
    assert.equal(timedOut.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    await until('the ISR to shrink', () => leader.isr.length === 1, LAG_MAX_MS * 10);
    assert.deepEqual(leader.isr, [0]);
    assert.equal(leader.highWatermark, leader.log.logEndOffset, 'the HW moves on without it');
    assert.ok(follower.isStopped);
  });

  it('a deposed leader truncates what it alone had, by leader epoch, and ends identical', async () => {
    // Broker 1 follows again and catches up at epoch 2.
    await lead(0, { leader: 0, leaderEpoch: 2, replicas: [0, 1], isr: [0] });
    await lead(1, { leader: 0, leaderEpoch: 2, replicas: [0, 1], isr: [0] });
    const oldLeader = part(0);
    await until(
      'broker 1 to catch up',
      () => part(1).log.logEndOffset === oldLeader.log.logEndOffset,
    );
    const shared = oldLeader.log.logEndOffset;
    // Broker 1 takes over at epoch 3 while broker 0, not told yet, takes two acks=1 batches.
    await lead(1, { leader: 1, leaderEpoch: 3, replicas: [0, 1], isr: [1] });
    const newLeader = part(1);
    for (const v of ['lost-1', 'lost-2'])
      assert.equal((await oldLeader.appendAsLeader(batch(v), 1)).errorCode, 0);
    assert.equal(oldLeader.log.logEndOffset, shared + 2);
    assert.equal((await newLeader.appendAsLeader(batch('kept'), 1)).errorCode, 0);
    // Broker 0 learns it follows now: it must cut its two batches, then fetch the new one.
    await lead(0, { leader: 1, leaderEpoch: 3, replicas: [0, 1], isr: [1] });
    await until(
      'the old leader to converge',
      () => oldLeader.log.logEndOffset === newLeader.log.logEndOffset,
    );
    assert.equal(oldLeader.log.logEndOffset, shared + 1);
    assert.deepEqual(await bytesOf(oldLeader), await bytesOf(newLeader), 'byte-identical logs');
    assert.equal(oldLeader.log.leaderEpochCache.latestEpoch(), 3);
    await until('the ISR to take broker 0 back', () => newLeader.isr.length === 2);
  });
});

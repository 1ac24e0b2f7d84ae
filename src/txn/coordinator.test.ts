/**
 * The transaction coordinator's state machine over an in-memory `__transaction_state` and a
 * recording marker writer, on a manual clock: epochs and fencing, the commit and abort paths with
 * their markers, aborts of timed-out and fenced transactions, retries of markers, the records in
 * Kafka's format, and a new coordinator resuming from the log.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { readRecordBatch } from '../protocol/records/batch-builder.ts';
import { MemoryCoordinatorLog } from '../storage/memory-coordinator-log.ts';
import {
  type MarkerWriter,
  TransactionCoordinator,
  type TxnCoordinatorConfig,
  type TxnMarker,
} from './coordinator.ts';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from './records.ts';

const E = ErrorCode;
const config: TxnCoordinatorConfig = {
  maxTimeoutMs: 900_000,
  idExpirationMs: 7 * 24 * 3600_000,
  abortTimedOutIntervalMs: 10_000,
  removeExpiredIntervalMs: 3600_000,
  markerRetryBackoffMs: 100,
};

class RecordingMarkers implements MarkerWriter {
  readonly written: { marker: TxnMarker; topic: string; partition: number }[] = [];
  /** Errors to answer before succeeding, per `topic-partition`. */
  readonly failures = new Map<string, number[]>();
  readonly gone = new Set<string>();

  async write(
    marker: TxnMarker,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<Map<string, number>> {
    await Promise.resolve();
    const out = new Map<string, number>();
    for (const p of partitions) {
      const k = `${p.topic}-${p.partition}`;
      const next = this.failures.get(k)?.shift();
      if (next !== undefined) {
        out.set(k, next);
        continue;
      }
      this.written.push({ marker, ...p });
      out.set(k, E.NONE);
    }
    return out;
  }

  topicExists(topic: string): boolean {
    return !this.gone.has(topic);
  }
}

async function settle(clock?: ManualClock, ms = 0): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  if (clock !== undefined && ms > 0) {
    await clock.advanceAsync(ms);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }
}

async function setup(log = new MemoryCoordinatorLog(1), markers = new RecordingMarkers()) {
  const clock = new ManualClock();
  let next = 1000;
  const coordinator = new TransactionCoordinator({
    log,
    markers,
    nextProducerId: async () => next++,
    clock,
    config,
  });
  coordinator.startup();
  await coordinator.onElection(0, 5);
  return { coordinator, clock, log, markers };
}

/** Every state written to `__transaction_state`, decoded. */
async function written(log: MemoryCoordinatorLog) {
  const out: { id: string | null; status: string | null; epoch: number }[] = [];
  for (const batch of log.batches[0] ?? []) {
    const b = await readRecordBatch(batch, 0);
    for (const r of b.records) {
      const v = r.value === null ? null : decodeTxnValue(r.value);
      out.push({
        id: r.key === null ? null : decodeTxnKey(r.key),
        status: v?.status ?? null,
        epoch: v?.producerEpoch ?? -1,
      });
    }
  }
  return out;
}

const tp = (topic: string, partition: number) => ({ topic, partition });

describe('transaction coordinator', () => {
  it('the records are byte for byte what Kafka writes', () => {
    assert.deepEqual([...encodeTxnKey('txn')], [0, 0, 0, 3, 0x74, 0x78, 0x6e]);
    const value = {
      producerId: 7,
      producerEpoch: 2,
      timeoutMs: 60_000,
      status: 'Ongoing' as const,
      partitions: new Map([['t', [0, 3]]]),
      lastUpdateMs: 1000,
      startMs: 900,
    };
    const bytes = encodeTxnValue(value);
    // version 0 | pid | epoch | timeout | status | [topic [partitions]] | last update | start
    assert.equal(bytes.length, 2 + 8 + 2 + 4 + 1 + 4 + (2 + 1 + 4 + 8) + 8 + 8);
    assert.equal(bytes.readInt8(16), 1, 'Ongoing is 1');
    assert.deepEqual(decodeTxnValue(bytes), value);
  });

  it('bumps the epoch on every InitProducerId, fencing older producers', async () => {
    const { coordinator } = await setup();
    const first = await coordinator.initProducerId('a', 60_000, null);
    assert.deepEqual(first, { errorCode: E.NONE, producerId: 1000, producerEpoch: 0 });
    const second = await coordinator.initProducerId('a', 60_000, null);
    assert.deepEqual(second, { errorCode: E.NONE, producerId: 1000, producerEpoch: 1 });
    assert.equal(await coordinator.addPartitions('a', 1000, 0, [tp('t', 0)]), E.PRODUCER_FENCED);
    assert.equal(
      await coordinator.addPartitions('a', 999, 1, [tp('t', 0)]),
      E.INVALID_PRODUCER_ID_MAPPING,
    );
    assert.equal(
      await coordinator.addPartitions('b', 1000, 1, [tp('t', 0)]),
      E.INVALID_PRODUCER_ID_MAPPING,
    );
  });

  it('refuses a timeout above transaction.max.timeout.ms', async () => {
    const { coordinator } = await setup();
    const r = await coordinator.initProducerId('a', 900_001, null);
    assert.equal(r.errorCode, E.INVALID_TRANSACTION_TIMEOUT);
  });

  it('commits: Ongoing, PrepareCommit, markers to every partition, CompleteCommit', async () => {
    const { coordinator, log, markers } = await setup();
    const { producerId, producerEpoch } = await coordinator.initProducerId('a', 60_000, null);
    assert.equal(
      await coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 0), tp('t', 1)]),
      E.NONE,
    );
    // Adding what is already there writes nothing.
    const before = (await written(log)).length;
    assert.equal(
      await coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 1)]),
      E.NONE,
    );
    assert.equal((await written(log)).length, before);
    assert.equal(await coordinator.endTxn('a', producerId, producerEpoch, true), E.NONE);
    await settle();
    assert.deepEqual(
      markers.written.map((w) => [
        w.topic,
        w.partition,
        w.marker.commit,
        w.marker.coordinatorEpoch,
      ]),
      [
        ['t', 0, true, 5],
        ['t', 1, true, 5],
      ],
    );
    assert.deepEqual(
      (await written(log)).map((w) => w.status),
      ['Empty', 'Ongoing', 'PrepareCommit', 'CompleteCommit'],
    );
    // A retried commit succeeds; an abort of the committed one is refused.
    assert.equal(await coordinator.endTxn('a', producerId, producerEpoch, true), E.NONE);
    assert.equal(
      await coordinator.endTxn('a', producerId, producerEpoch, false),
      E.INVALID_TXN_STATE,
    );
    // The next transaction starts from Complete.
    assert.equal(
      await coordinator.addPartitions('a', producerId, producerEpoch, [tp('u', 0)]),
      E.NONE,
    );
    const d = coordinator.describe('a');
    assert.ok('ok' in d);
    assert.deepEqual([...d.ok.partitions], [['u', [0]]]);
  });

  it('answers CONCURRENT_TRANSACTIONS until the markers are written, retrying them', async () => {
    const markers = new RecordingMarkers();
    markers.failures.set('t-0', [E.NOT_LEADER_OR_FOLLOWER, E.REQUEST_TIMED_OUT]);
    const { coordinator, clock } = await setup(undefined, markers);
    const { producerId, producerEpoch } = await coordinator.initProducerId('a', 60_000, null);
    await coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 0)]);
    assert.equal(await coordinator.endTxn('a', producerId, producerEpoch, false), E.NONE);
    await settle();
    assert.equal(
      await coordinator.endTxn('a', producerId, producerEpoch, false),
      E.CONCURRENT_TRANSACTIONS,
    );
    // The next transaction's first AddPartitionsToTxn waits for the markers (retried twice)
    // instead of answering CONCURRENT_TRANSACTIONS at once.
    const next = coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 0)]);
    await settle(clock, 100);
    await settle(clock, 100);
    assert.equal(markers.written.length, 1);
    assert.equal(markers.written[0]?.marker.commit, false);
    assert.equal(await next, E.NONE);
    assert.equal(await coordinator.endTxn('a', producerId, producerEpoch, true), E.NONE);
  });

  it('an AddPartitionsToTxn waits for the markers at most 2 s, then CONCURRENT_TRANSACTIONS', async () => {
    const markers = new RecordingMarkers();
    markers.failures.set(
      't-0',
      Array.from({ length: 100 }, () => E.NOT_LEADER_OR_FOLLOWER),
    );
    const { coordinator, clock } = await setup(undefined, markers);
    const { producerId, producerEpoch } = await coordinator.initProducerId('a', 60_000, null);
    await coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 0)]);
    assert.equal(await coordinator.endTxn('a', producerId, producerEpoch, true), E.NONE);
    const next = coordinator.addPartitions('a', producerId, producerEpoch, [tp('t', 0)]);
    for (let i = 0; i < 21; i++) await settle(clock, 100);
    assert.equal(await next, E.CONCURRENT_TRANSACTIONS);
  });

  it('a new producer of the id aborts the open transaction with a bumped epoch', async () => {
    const { coordinator, markers } = await setup();
    const old = await coordinator.initProducerId('a', 60_000, null);
    await coordinator.addPartitions('a', old.producerId, old.producerEpoch, [tp('t', 0)]);
    const retry = await coordinator.initProducerId('a', 60_000, null);
    assert.equal(retry.errorCode, E.CONCURRENT_TRANSACTIONS);
    await settle();
    assert.deepEqual(
      markers.written.map((w) => [w.marker.commit, w.marker.producerEpoch]),
      [[false, 1]],
    );
    const fresh = await coordinator.initProducerId('a', 60_000, null);
    assert.deepEqual(fresh, { errorCode: E.NONE, producerId: old.producerId, producerEpoch: 2 });
    // The old producer is fenced.
    assert.equal(
      await coordinator.endTxn('a', old.producerId, old.producerEpoch, true),
      E.PRODUCER_FENCED,
    );
  });

  it('aborts a transaction open past its timeout, fencing its producer', async () => {
    const { coordinator, clock, markers } = await setup();
    const p = await coordinator.initProducerId('a', 15_000, null);
    await coordinator.addPartitions('a', p.producerId, p.producerEpoch, [tp('t', 2)]);
    await settle(clock, 10_000);
    assert.equal(markers.written.length, 0, 'not yet timed out');
    await settle(clock, 10_000);
    assert.deepEqual(
      markers.written.map((w) => [w.partition, w.marker.commit, w.marker.producerEpoch]),
      [[2, false, 1]],
    );
    const d = coordinator.describe('a');
    assert.ok('ok' in d);
    assert.equal(d.ok.state, 'CompleteAbort');
    assert.equal(
      await coordinator.endTxn('a', p.producerId, p.producerEpoch, true),
      E.PRODUCER_FENCED,
    );
  });

  it('KIP-360: a producer recovers with its id and epoch; a stale one is fenced', async () => {
    const { coordinator } = await setup();
    const p = await coordinator.initProducerId('a', 60_000, null);
    const bumped = await coordinator.initProducerId('a', 60_000, p);
    assert.deepEqual(bumped, { errorCode: E.NONE, producerId: p.producerId, producerEpoch: 1 });
    // The same request again (its answer lost): the same epoch.
    const again = await coordinator.initProducerId('a', 60_000, p);
    assert.deepEqual(again, bumped);
    const stale = await coordinator.initProducerId('a', 60_000, {
      producerId: 42,
      producerEpoch: 0,
    });
    assert.equal(stale.errorCode, E.PRODUCER_FENCED);
  });

  it('a new coordinator resumes from the log and finishes a decided transaction', async () => {
    const markers = new RecordingMarkers();
    markers.failures.set(
      't-0',
      Array.from({ length: 1000 }, () => E.NOT_LEADER_OR_FOLLOWER),
    );
    const { coordinator, log } = await setup(undefined, markers);
    const p = await coordinator.initProducerId('a', 60_000, null);
    await coordinator.addPartitions('a', p.producerId, p.producerEpoch, [tp('t', 0)]);
    assert.equal(await coordinator.endTxn('a', p.producerId, p.producerEpoch, true), E.NONE);
    // The coordinator loses the partition before the markers could be written.
    coordinator.onResignation(0, 6);
    coordinator.shutdown();
    assert.equal(Object.hasOwn(coordinator.describe('a'), 'error'), true);
    const after = new RecordingMarkers();
    const { coordinator: next } = await setup(log, after);
    await settle();
    assert.deepEqual(
      after.written.map((w) => [w.topic, w.partition, w.marker.commit]),
      [['t', 0, true]],
    );
    const d = next.describe('a');
    assert.ok('ok' in d);
    assert.equal(d.ok.state, 'CompleteCommit');
    assert.equal(d.ok.producerEpoch, p.producerEpoch);
  });

  it('answers NOT_COORDINATOR for a partition it does not lead, and lists what it has', async () => {
    const clock = new ManualClock();
    const coordinator = new TransactionCoordinator({
      log: new MemoryCoordinatorLog(1),
      markers: new RecordingMarkers(),
      nextProducerId: async () => 1,
      clock,
      config,
    });
    assert.equal((await coordinator.initProducerId('a', 1000, null)).errorCode, E.NOT_COORDINATOR);
    await coordinator.onElection(0, 0);
    await coordinator.initProducerId('a', 1000, null);
    assert.deepEqual(
      coordinator.list({ states: [], producerIds: [], durationMs: -1 }).transactions,
      [{ transactionalId: 'a', producerId: 1, state: 'Empty' }],
    );
    assert.deepEqual(
      coordinator.list({ states: ['Ongoing'], producerIds: [], durationMs: -1 }).transactions,
      [],
    );
  });

  it('expires idle transactional ids with a tombstone', async () => {
    const { coordinator, clock, log } = await setup();
    await coordinator.initProducerId('a', 1000, null);
    await settle(clock, config.idExpirationMs + config.removeExpiredIntervalMs + 1);
    const states = await written(log);
    assert.deepEqual(states.at(-1), { id: 'a', status: null, epoch: -1 });
    const d = coordinator.describe('a');
    assert.ok('error' in d && d.error === E.TRANSACTIONAL_ID_NOT_FOUND);
  });
});

/**
 * Crash loop: an idempotent acks=all confluent-kafka producer writes numbered records to four
 * partitions while the broker is killed with SIGKILL at random moments (seeded; the seed is
 * printed) and restarted on the same directory and port, 30 times. The producer keeps running
 * across the restarts (librdkafka reconnects and retries); if it ever dies it is started again as
 * a new run. A consumer in a group commits synchronously as it reads, through the same loop.
 * Afterwards an independent reader (kcat, assigned to each partition) must find every
 * acknowledged record exactly once, at its acknowledged offset, in producer order, and a fresh
 * consumer's committed() must return at least the last offsets the group consumer saw committed.
 *
 * TRIBUTARY_CRASH_SEED and TRIBUTARY_CRASH_KILLS repeat a run or make it longer.
 */

import { strict as assert } from 'node:assert';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryFileSystem } from '../src/common/memory-fs.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { InitProducerIdResponse } from '../src/protocol/messages/init-producer-id-response.ts';
import type { ListOffsetsResponse } from '../src/protocol/messages/list-offsets-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { replayStart } from '../src/storage/producer-state.ts';
import { BrokerProcess, ChildRun, describeRun, sleep } from '../src/testing/broker-process.ts';
import {
  kcatConsume,
  PYTHON,
  requireConfluentKafka,
  requireKcat,
  topicName,
} from '../src/testing/clients.ts';
import {
  type AckedRecord,
  type CrashVerdict,
  checkLog,
  crashFixture,
  parseAcks,
  parseCommits,
  restartOnSamePort,
  seededRandom,
} from '../src/testing/crash.ts';
import { FaultFileSystem } from '../src/testing/fault-fs.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const PARTITIONS = 4;
const {
  TRIBUTARY_CRASH_KILLS: killsEnv,
  TRIBUTARY_CRASH_SEED: seedEnv,
  TRIBUTARY_CRASH_SEGMENT_BYTES: segmentEnv,
} = process.env;
const KILLS = Number(killsEnv ?? 30);
const SEED = Number(seedEnv ?? Math.floor(Math.random() * 2 ** 31));
const MIN_UP_MS = 300;
const MAX_UP_MS = 1500;
/** Small segments, so that rolls, multi-segment recovery and producer state across them count. */
const SEGMENT_BYTES = Number(segmentEnv ?? 256 * 1024);

/** The producer runs: run r's records are `<r>:<n>`; a new run starts only if one dies. */
class Producers {
  readonly runs: ChildRun[] = [];
  readonly #bootstrap: () => string;
  readonly #topic: string;

  constructor(bootstrap: () => string, topic: string) {
    this.#bootstrap = bootstrap;
    this.#topic = topic;
  }

  get current(): ChildRun | undefined {
    return this.runs[this.runs.length - 1];
  }

  /** Starts a run unless the current one is still running. */
  ensure(): void {
    if (this.current?.running === true) return;
    const args = [crashFixture('producer.py'), this.#bootstrap(), this.#topic];
    args.push(String(PARTITIONS), String(this.runs.length));
    this.runs.push(new ChildRun(PYTHON, ['-u', ...args], { timeoutMs: 600_000 }));
  }

  acks(): AckedRecord[] {
    return this.runs.flatMap((r) => parseAcks(r.lines));
  }

  /** Failed deliveries and fatal errors: none are expected, as no record can time out. */
  failures(): string[] {
    return this.runs.flatMap((r) => r.lines.filter((l) => /^(err|fatal) /.test(l)));
  }

  ackCount(): number {
    let n = 0;
    for (const r of this.runs) for (const l of r.lines) if (l.startsWith('ack ')) n++;
    return n;
  }
}

/** The group consumer; started again if it dies. */
class GroupConsumer {
  readonly runs: ChildRun[] = [];
  readonly #args: string[];

  constructor(bootstrap: string, group: string, topic: string) {
    this.#args = ['-u', crashFixture('group.py'), 'consume', bootstrap, group, topic];
  }

  ensure(): void {
    if (this.runs[this.runs.length - 1]?.running === true) return;
    this.runs.push(new ChildRun(PYTHON, this.#args, { timeoutMs: 600_000 }));
  }

  lines(): string[] {
    return this.runs.flatMap((r) => [...r.lines]);
  }
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function summary(v: CrashVerdict, extra: string): string {
  return (
    `acknowledged ${v.acked}, lost ${v.lost.length}, duplicated ${v.duplicatedAcked.length} ` +
    `(any record: ${v.duplicated}), moved ${v.moved.length}, reordered ${v.reordered.length}, ` +
    `in the log unacknowledged ${v.unacked}; ${extra}`
  );
}

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.cleanup();
});

test(`crash loop: kill -9 the broker ${KILLS} times under an idempotent acks=all producer and a committing group`, {
  timeout: 180_000 + KILLS * 10_000,
}, async (t) => {
  requireConfluentKafka();
  requireKcat();
  console.log(`crash loop: seed ${SEED}, ${KILLS} kills`);
  t.diagnostic(`seed ${SEED} (TRIBUTARY_CRASH_SEED=${SEED} repeats the schedule), ${KILLS} kills`);
  const random = seededRandom(SEED);
  const broker = await BrokerProcess.start({
    overrides: {
      'num.partitions': String(PARTITIONS),
      'group.initial.rebalance.delay.ms': '0',
      'offsets.topic.num.partitions': '3',
      'log.segment.bytes': String(SEGMENT_BYTES),
      'offsets.topic.segment.bytes': String(16 * 1024),
    },
    readyTimeoutMs: 30_000,
  });
  brokers.push(broker);
  const topic = topicName('crash-loop');
  const group = topicName('crash-group');
  const producers = new Producers(() => broker.bootstrap, topic);
  const consumer = new GroupConsumer(broker.bootstrap, group, topic);
  const started = performance.now();
  try {
    producers.ensure();
    await waitUntil('the first acknowledgements', () => producers.ackCount() >= 100, 30_000);
    consumer.ensure();
    const commits = () => parseCommits(consumer.lines()).count;
    await waitUntil('the first commit', () => commits() > 0, 30_000);

    let inStartup = 0;
    let portRetries = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const acked = producers.ackCount();
      // One kill in five lands while the broker is starting (recovering its logs).
      const during = kill > 1 && random() < 0.2 ? 'startup' : 'running';
      if (during === 'startup') {
        inStartup++;
        const startupMs = broker.startupMs;
        const restarting = broker.restart({ samePort: true }).then(
          () => 'ready',
          () => 'killed',
        );
        await sleep(Math.floor(random() * startupMs));
        await broker.kill();
        await restarting;
      } else {
        if (!broker.running) portRetries += await restartOnSamePort(broker);
        producers.ensure();
        consumer.ensure();
        await sleep(MIN_UP_MS + Math.floor(random() * (MAX_UP_MS - MIN_UP_MS)));
        await broker.kill();
      }
      const ms = Math.round(performance.now() - started);
      t.diagnostic(`kill ${kill} (${during}) at ${ms} ms: ${acked} acked, ${commits()} commits`);
      await sleep(Math.floor(random() * 200));
    }
    portRetries += await restartOnSamePort(broker);
    producers.ensure();
    consumer.ensure();
    t.diagnostic(`${inStartup} of ${KILLS} kills while the broker was starting`);
    t.diagnostic(`restarts retried for EADDRINUSE: ${portRetries}`);
    // The clients must get going again after the last restart.
    const ackedAtEnd = producers.ackCount();
    await waitUntil(
      'acknowledgements after the last restart',
      () => producers.ackCount() >= ackedAtEnd + 500,
      60_000,
    );
    const commitsAtEnd = commits();
    await waitUntil('a commit after the last restart', () => commits() > commitsAtEnd, 60_000);
  } finally {
    for (const r of [...producers.runs, ...consumer.runs]) r.kill('SIGTERM');
  }
  const producerResults = await Promise.all(producers.runs.map((r) => r.done));
  const consumerResults = await Promise.all(consumer.runs.map((r) => r.done));
  await checkCommitted(t, broker, group, topic, consumer);
  await checkRecords(t, broker, topic, producers);
  const failures = producers.failures();
  t.diagnostic(`failed deliveries: ${failures.length}`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failed deliveries`);
  const last = producerResults[producerResults.length - 1];
  assert.ok(last !== undefined && last.code === 0, last && describeRun(last));
  t.diagnostic(
    `producer runs: ${producers.runs.length}, group consumer runs: ${consumer.runs.length}` +
      ` (${consumerResults.map((r) => r.code ?? r.signal).join(', ')})`,
  );
});

async function checkCommitted(
  t: { diagnostic(m: string): void },
  broker: BrokerProcess,
  group: string,
  topic: string,
  consumer: GroupConsumer,
): Promise<void> {
  const { last, count, regressions } = parseCommits(consumer.lines());
  const args = [crashFixture('group.py'), 'committed', broker.bootstrap, group, topic];
  const r = await new ChildRun(PYTHON, ['-u', ...args, String(PARTITIONS)], { timeoutMs: 60_000 })
    .done;
  const out = r.stdout.toString('utf8').trim().split('\n').pop() ?? '';
  assert.ok(r.code === 0 && out.startsWith('{'), describeRun(r));
  const fetched = JSON.parse(out) as Record<string, number>;
  const behind: string[] = [];
  for (const [p, o] of last) {
    const got = fetched[String(p)] ?? -1;
    if (got < o) behind.push(`p${p}: committed ${o}, fetched ${got}`);
  }
  t.diagnostic(
    `group: ${count} commits acknowledged, last ${JSON.stringify(Object.fromEntries(last))}, ` +
      `fetched ${out}, behind ${behind.length}, regressions ${regressions.length}`,
  );
  assert.ok(count > 0, 'no commit was acknowledged');
  assert.deepEqual(behind, [], broker.describe());
  assert.deepEqual(regressions, [], 'an acknowledged commit went backwards');
}

async function checkRecords(
  t: { diagnostic(m: string): void },
  broker: BrokerProcess,
  topic: string,
  producers: Producers,
): Promise<void> {
  const log = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const { records } = await kcatConsume(broker.bootstrap, topic, {
      partition: p,
      timeoutMs: 60_000,
    });
    for (const r of records) {
      log.push({ partition: r.partition, offset: r.offset, value: r.value?.toString() ?? '' });
    }
  }
  const verdict = checkLog(log, producers.acks());
  const line = summary(verdict, `${log.length} records in the log`);
  console.log(`crash loop (seed ${SEED}): ${line}`);
  t.diagnostic(line);
  const ctx = (what: string[]) => `${what.slice(0, 20).join('\n')}\n${broker.describe()}`;
  assert.ok(verdict.acked > 0, 'nothing was acknowledged');
  assert.deepEqual(verdict.lost, [], ctx(verdict.lost));
  assert.deepEqual(verdict.duplicatedAcked, [], ctx(verdict.duplicatedAcked));
  assert.deepEqual(verdict.moved, [], ctx(verdict.moved));
  assert.deepEqual(verdict.reordered, [], ctx(verdict.reordered));
  assert.equal(verdict.duplicated, 0, 'a record (acknowledged or not) is in the log twice');
}

/** One idempotent batch of one 300-byte record: three of them do not fit a 1024-byte segment. */
function idempotentBatch(producerId: number, seq: number): Buffer {
  return buildRecordBatchSync({
    records: [{ key: Buffer.from('k'), value: Buffer.alloc(300, seq) }],
    producerId,
    producerEpoch: 0,
    baseSequence: seq,
  });
}

async function produceOne(c: WireClient, topic: string, records: Buffer) {
  const res = await c.request<ProduceResponse>(ApiKey.Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const p = res.responses[0]?.partitionResponses[0];
  return { errorCode: p?.errorCode, baseOffset: p?.baseOffset };
}

async function logEnd(c: WireClient, topic: string): Promise<number | undefined> {
  const res = await c.request<ListOffsetsResponse>(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      {
        name: topic,
        partitions: [
          { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
        ],
      },
    ],
  });
  return res.topics[0]?.partitions[0]?.offset;
}

async function connectTo(broker: BrokerProcess): Promise<WireClient> {
  return WireClient.connect('127.0.0.1', broker.port, 'crash-regression');
}

// Regression: after a restart the idempotent-producer state was rebuilt from the active segment
// only. A retry of a batch written just before a roll was then refused as out of order, and if
// the active segment was empty (the kill tore the first write into a new segment), a retry of the
// last batch of the previous segment was appended a second time.
test('a retried batch from before a segment roll is deduplicated after kill -9', async () => {
  const broker = await BrokerProcess.start({ readyTimeoutMs: 30_000 });
  brokers.push(broker);
  const topic = 'rolled';
  let c = await connectTo(broker);
  const created = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [
      {
        name: topic,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'segment.bytes', value: '1024' }],
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]?.errorCode, 0);
  const init = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  });
  const pid = init.producerId;
  const batch = (seq: number) => idempotentBatch(pid, seq);
  // Segments: [0, 1] [2, 3] [4 ...
  for (let seq = 0; seq < 4; seq++) {
    assert.deepEqual(await produceOne(c, topic, batch(seq)), { errorCode: 0, baseOffset: seq });
  }
  await c.close();
  await broker.kill();
  await broker.restart();
  c = await connectTo(broker);
  // Batch 1 (previous segment) is still one of the producer's last five batches.
  assert.deepEqual(await produceOne(c, topic, batch(1)), { errorCode: 0, baseOffset: 1 });
  assert.deepEqual(await produceOne(c, topic, batch(3)), { errorCode: 0, baseOffset: 3 });
  assert.deepEqual(await produceOne(c, topic, batch(4)), { errorCode: 0, baseOffset: 4 });
  await c.close();
  await broker.kill();
  // The kill tore the first write into the new segment: recovery leaves it empty.
  const active = join(broker.dataDir, `${topic}-0`, `${String(4).padStart(20, '0')}.log`);
  await truncate(active, 20);
  await broker.restart();
  c = await connectTo(broker);
  assert.equal(await logEnd(c, topic), 4);
  assert.deepEqual(await produceOne(c, topic, batch(3)), { errorCode: 0, baseOffset: 3 });
  assert.equal(await logEnd(c, topic), 4, 'batch 3 was appended twice');
  assert.deepEqual(await produceOne(c, topic, batch(4)), { errorCode: 0, baseOffset: 4 });
  assert.equal(await logEnd(c, topic), 5);
  await c.close();
});

test('the producer-state rebuild replays at least a segment of history before the active one', () => {
  const segs = (...sizes: number[]) => sizes.map((size, i) => ({ baseOffset: i * 100, size }));
  assert.equal(replayStart(segs(5000), 4096), 0);
  assert.equal(replayStart(segs(5000, 5000, 10), 4096 * 1024), 0);
  const mib = 1024 * 1024;
  assert.equal(replayStart(segs(mib, mib, mib, 0), 1000), 200);
  assert.equal(replayStart(segs(mib, mib, mib, 0), 2 * mib), 100);
  assert.equal(replayStart(segs(4 * mib, mib / 2, mib / 2, 7), 1000), 100);
  assert.equal(replayStart([], 1000), 0);
});

// Regression: the producer state kept a batch whose write failed (the log rolled it back), so the
// client's retry was answered as a duplicate, with offsets the log did not hold: acknowledged and
// lost. And a duplicate was acknowledged at once, even when acks=all and the original had not
// been fsynced.
test('an idempotent batch whose write failed is appended when retried, not taken as a duplicate', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const harness = await InProcessBroker.start({ fs, dataDir: '/data' });
  const c = await harness.connect();
  try {
    await harness.createTopic('faulty', 1);
    const batch = (seq: number) => idempotentBatch(1234, seq);
    assert.deepEqual(await produceOne(c, 'faulty', batch(0)), { errorCode: 0, baseOffset: 0 });
    fs.addFault({ ops: ['write'], path: 'faulty-0', kind: 'ENOSPC' });
    assert.deepEqual(await produceOne(c, 'faulty', batch(1)), {
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
      baseOffset: -1,
    });
    assert.equal(await logEnd(c, 'faulty'), 1);
    assert.deepEqual(await produceOne(c, 'faulty', batch(1)), { errorCode: 0, baseOffset: 1 });
    assert.equal(await logEnd(c, 'faulty'), 2, 'the retried batch is not in the log');
    assert.deepEqual(await produceOne(c, 'faulty', batch(1)), { errorCode: 0, baseOffset: 1 });
    // The write of batch 2 succeeds, its fsync fails: the retry is a duplicate, answered only
    // after an fsync that covers it.
    fs.addFault({ ops: ['fdatasync'], path: 'faulty-0', kind: 'EIO' });
    assert.deepEqual(await produceOne(c, 'faulty', batch(2)), {
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
      baseOffset: -1,
    });
    const syncs = fs.calls.get('fdatasync') ?? 0;
    assert.deepEqual(await produceOne(c, 'faulty', batch(2)), { errorCode: 0, baseOffset: 2 });
    assert.ok((fs.calls.get('fdatasync') ?? 0) > syncs, 'duplicate acknowledged without an fsync');
    assert.deepEqual(await produceOne(c, 'faulty', batch(3)), { errorCode: 0, baseOffset: 3 });
  } finally {
    await harness.stop();
  }
});

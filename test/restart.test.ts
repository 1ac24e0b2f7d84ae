/**
 * Restarts: a clean stop (SIGTERM) and start on the same data directory keeps every record;
 * a kill -9 in the middle of an idempotent acks=all produce loses no acknowledged record and
 * duplicates none, once the broker is started again on the same directory.
 */
import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { BrokerProcess, sleep } from '../src/testing/broker-process.ts';
import {
  type KcatRecord,
  kcatConsume,
  kcatProduce,
  pythonReport,
  spawnPython,
  topicName,
} from '../src/testing/clients.ts';

const brokers: BrokerProcess[] = [];

after(async () => {
  for (const b of brokers) await b.cleanup();
});

test('produce, SIGTERM, start again on the same directory, consume everything', async () => {
  const broker = await BrokerProcess.start({ overrides: { 'num.partitions': '2' } });
  brokers.push(broker);
  const topic = topicName('restart');
  const lines = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${tag}-${i}:${tag} value ${i} ${'x'.repeat(i % 97)}`);
  const p0 = lines('p0', 500);
  const p1 = lines('p1', 300);
  await kcatProduce(broker.bootstrap, topic, `${p0.join('\n')}\n`, { keyDelimiter: ':' });
  await kcatProduce(broker.bootstrap, topic, `${p1.join('\n')}\n`, {
    keyDelimiter: ':',
    partition: 1,
    codec: 'zstd',
  });
  const status = await broker.stop();
  assert.deepEqual(status, { code: 0, signal: null }, `clean stop: ${broker.describe()}`);

  await broker.restart();
  for (const [partition, want] of [p0, p1].entries()) {
    const { records } = await kcatConsume(broker.bootstrap, topic, { partition });
    assert.equal(records.length, want.length, `partition ${partition}: ${broker.describe()}`);
    for (const [i, r] of records.entries()) {
      const [k, v] = (want[i] as string).split(':') as [string, string];
      assert.equal(r.offset, i);
      assert.equal(r.key?.toString(), k);
      assert.equal(r.value?.toString(), v);
    }
  }
  // The log keeps growing from where it was.
  await kcatProduce(broker.bootstrap, topic, 'after:restart\n', { keyDelimiter: ':' });
  const tail = await kcatConsume(broker.bootstrap, topic, { partition: 0, offset: '500' });
  assert.deepEqual(
    tail.records.map((r) => [r.offset, r.key?.toString(), r.value?.toString()]),
    [[500, 'after', 'restart']],
  );
});

interface CrashReport {
  acked: number;
  undelivered: number;
  errors: string[];
}

const PARTITIONS = 2;

/** Checks one partition's log: each record once, in production order, acknowledged ones in place. */
function checkPartition(
  partition: number,
  records: readonly KcatRecord[],
  acked: ReadonlyMap<number, { partition: number; offset: number }>,
): number {
  const seen = new Map<number, number>(); // record index -> offset in the log
  let previous = -1;
  for (const r of records) {
    const i = Number(r.value?.subarray(4, 12).toString());
    assert.equal(i % PARTITIONS, partition, `record ${i} in partition ${partition}`);
    assert.ok(!seen.has(i), `record ${i} twice: offsets ${seen.get(i)} and ${r.offset}`);
    assert.ok(i > previous, `p${partition}: record ${i} at offset ${r.offset} after ${previous}`);
    seen.set(i, r.offset);
    previous = i;
  }
  let count = 0;
  for (const [i, a] of acked) {
    if (a.partition !== partition) continue;
    count++;
    assert.equal(seen.get(i), a.offset, `acknowledged record ${i} at p${partition} @${a.offset}`);
  }
  return count;
}

test('kill -9 during an idempotent acks=all produce: every acknowledged record is there once and in order', async (t) => {
  const broker = await BrokerProcess.start({ overrides: { 'num.partitions': String(PARTITIONS) } });
  brokers.push(broker);
  const topic = topicName('crash');
  const total = 60_000;
  const args = [broker.bootstrap, topic, String(total), String(PARTITIONS)];
  const producer = spawnPython('crash_producer.py', args, { timeoutMs: 55_000 });
  const acks = () => producer.lines.filter((l) => l.startsWith('ack ')).length;
  const killedAt: number[] = [];
  let report: CrashReport | undefined;
  let producerFailure = '';
  try {
    // Two crashes: after 5,000 and after 25,000 acknowledgements. Each time the broker comes
    // back on the same port and directory, so the running producer reconnects and retries.
    for (const at of [5000, 25_000]) {
      await producer.waitFor((l) => l.length >= at, 20_000);
      await broker.kill();
      killedAt.push(acks());
      await sleep(300);
      await broker.restart({ samePort: true });
    }
    const r = await producer.done;
    try {
      report = pythonReport<CrashReport>(r);
    } catch (err) {
      producerFailure = String(err);
    }
  } finally {
    producer.kill();
  }

  const acked = new Map<number, { partition: number; offset: number }>();
  for (const line of producer.lines) {
    const m = /^ack (\d+) (\d+) (\d+)$/.exec(line);
    if (m !== null) acked.set(Number(m[3]), { partition: Number(m[1]), offset: Number(m[2]) });
  }
  let inLog = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const { records } = await kcatConsume(broker.bootstrap, topic, {
      partition,
      timeoutMs: 30_000,
    });
    const checked = checkPartition(partition, records, acked);
    t.diagnostic(`partition ${partition}: ${records.length} records, ${checked} acknowledged`);
    inLog += records.length;
  }
  t.diagnostic(`killed after ${killedAt.join(' and ')} acknowledgements; ${acked.size} in all`);
  assert.ok(
    killedAt.every((n) => n > 0 && n < total),
    'the kills did not land mid-stream',
  );
  // After the restarts the producer should have finished the stream without errors.
  const ctx = `${producerFailure}\n${JSON.stringify(report)}\n${broker.describe()}`;
  assert.ok(report !== undefined, `producer did not finish: ${ctx}`);
  assert.deepEqual(report.errors, [], ctx);
  assert.equal(report.acked, total, ctx);
  assert.equal(inLog, total, ctx);
});

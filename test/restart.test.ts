/**
 * Restarts: a clean stop (SIGTERM) and start on the same data directory keeps every record;
 * a kill -9 in the middle of an idempotent acks=all produce loses no acknowledged record and
 * duplicates none, once the broker is started again on the same directory.
 */
import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { BrokerProcess, sleep } from '../src/testing/broker-process.ts';
import {
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

test('kill -9 during an idempotent acks=all produce: every acknowledged record is there once and in order', async (t) => {
  const broker = await BrokerProcess.start();
  brokers.push(broker);
  const topic = topicName('crash');
  const total = 60_000;
  const producer = spawnPython('crash_producer.py', [broker.bootstrap, topic, String(total)], {
    timeoutMs: 55_000,
  });
  let report: CrashReport | undefined;
  let producerFailure = '';
  let ackedBeforeKill = 0;
  try {
    await producer.waitFor((l) => l.length >= 5000, 20_000);
    await broker.kill();
    ackedBeforeKill = producer.lines.filter((l) => l.startsWith('ack ')).length;
    await sleep(300);
    // Same port, so the running producer reconnects and carries on with its retries.
    await broker.restart({ samePort: true });
    const r = await producer.done;
    try {
      report = pythonReport<CrashReport>(r);
    } catch (err) {
      producerFailure = String(err);
    }
  } finally {
    producer.kill();
  }

  const acked = new Map<number, number>(); // record index -> acknowledged offset
  for (const line of producer.lines) {
    const m = /^ack (\d+) (\d+)$/.exec(line);
    if (m !== null) acked.set(Number(m[2]), Number(m[1]));
  }
  const { records } = await kcatConsume(broker.bootstrap, topic, {
    partition: 0,
    timeoutMs: 30_000,
  });
  const seen = new Map<number, number>(); // record index -> offset in the log
  let previous = -1;
  for (const r of records) {
    const i = Number(r.value?.subarray(4, 12).toString());
    assert.ok(!seen.has(i), `record ${i} twice: offsets ${seen.get(i)} and ${r.offset}`);
    assert.ok(i > previous, `record ${i} at offset ${r.offset} after record ${previous}`);
    seen.set(i, r.offset);
    previous = i;
  }
  for (const [i, offset] of acked) {
    assert.equal(seen.get(i), offset, `acknowledged record ${i} at offset ${offset}`);
  }
  t.diagnostic(
    `${ackedBeforeKill} acknowledged before kill -9, ${acked.size} in all, ${records.length} in the log`,
  );
  assert.ok(ackedBeforeKill > 0 && ackedBeforeKill < total, 'the kill did not land mid-stream');
  // After the restart the producer should have finished the stream without errors.
  const ctx = `${producerFailure}\n${JSON.stringify(report)}\n${broker.describe()}`;
  assert.ok(report !== undefined, `producer did not finish: ${ctx}`);
  assert.deepEqual(report.errors, [], ctx);
  assert.equal(report.acked, total, ctx);
  assert.equal(records.length, total, ctx);
});

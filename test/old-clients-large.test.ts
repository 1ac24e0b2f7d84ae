/**
 * A large topic (20 MB, half uncompressed, half gzip) read through kafka-python in 0.9 mode
 * (Fetch v1: every byte down-converted to MessageSet v0) while a modern client (confluent-kafka)
 * keeps producing one record every few milliseconds to the other partition. The old consumer must
 * get everything, byte for byte, and the modern producer all its acks; the producer's ack
 * latencies and the broker's peak RSS are reported, not asserted (they depend on the machine).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, run } from '../src/testing/broker-process.ts';
import { kcatConsume, kcatProduce, payload, topicName } from '../src/testing/clients.ts';
import {
  confluentAny,
  type KpConsumeReport,
  kafkaPythonOld,
  kpDigest,
  type ProduceReport,
} from '../src/testing/old-clients.ts';

const RECORDS = 20_000;
const VALUE_BYTES = 1000;

/** Record i: key `big-i`, a ~1000-byte base64 value (text, so gzip has something to do). */
function record(i: number) {
  const value = payload(i, (VALUE_BYTES * 3) / 4).toString('base64');
  return { offset: i, key: Buffer.from(`big-${i}`), value: Buffer.from(value) };
}

describe('a 20 MB topic through a 0.9 consumer while a modern client produces', () => {
  let broker: BrokerProcess;
  const topic = topicName('old-large');
  const records = Array.from({ length: RECORDS }, (_, i) => record(i));

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': '2' } });
    const half = RECORDS / 2;
    const lines = records.map((r) => `${r.key}:${r.value}\n`);
    const opts = { keyDelimiter: ':', timeoutMs: 40_000 };
    await kcatProduce(broker.bootstrap, topic, lines.slice(0, half).join(''), opts);
    await kcatProduce(broker.bootstrap, topic, lines.slice(half).join(''), {
      ...opts,
      codec: 'gzip',
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('the old consumer gets every record, the modern producer every ack', async (t) => {
    const old = kafkaPythonOld<KpConsumeReport>(
      {
        mode: 'assign',
        bootstrap: broker.bootstrap,
        topic,
        api: [0, 9],
        expect: RECORDS,
        digestOnly: true,
        timeoutS: 50,
      },
      55_000,
    );
    const count = 500;
    const modern = confluentAny<ProduceReport & { latencyMs: Record<string, number> }>(
      {
        mode: 'produce',
        bootstrap: broker.bootstrap,
        topic,
        partition: 1,
        codec: 'lz4',
        tag: 'live',
        count,
        paceMs: 10,
      },
      55_000,
    );
    const [o, m] = await Promise.all([old, modern]);
    t.diagnostic(
      `old consumer: ${o.report.count} records in ${o.report.seconds ?? '?'} s; modern producer ` +
        `ack latency ms ${JSON.stringify(m.report.latencyMs)}; broker ${await peakRss()}`,
    );
    assert.deepEqual(m.report.errors, [], m.context);
    assert.deepEqual(
      m.report.offsets,
      Array.from({ length: count }, (_, i) => i),
      m.context,
    );
    assert.deepEqual(o.report.errors, [], o.context);
    assert.equal(o.report.count, RECORDS, o.context);
    assert.equal(o.report.digest, kpDigest(records), `byte for byte: ${o.context}`);
    const back = await kcatConsume(broker.bootstrap, topic, { partition: 1 });
    assert.equal(back.records.length, count);
  });
});

/** The broker child's peak resident set (VmHWM), found among this process's children. */
async function peakRss(): Promise<string> {
  const ps = await run('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]);
  for (const line of ps.stdout.toString().split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m === null || !/main\.js|tributary/.test(m[2] ?? '')) continue;
    try {
      const status = readFileSync(`/proc/${m[1]}/status`, 'utf8');
      return `peak RSS ${/VmHWM:\s*(\d+ kB)/.exec(status)?.[1] ?? '?'}`;
    } catch {
      return 'peak RSS unknown';
    }
  }
  return 'peak RSS unknown';
}

/**
 * confluent-kafka for Python (librdkafka 2.0.2) under /usr/bin/python3: an idempotent acks=all
 * producer writing 100,000 records across partitions, a consumer with assign() reading them all
 * back byte for byte and in order, and offsets_for_times.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun } from '../src/testing/broker-process.ts';
import { pythonReport, runPython, topicName } from '../src/testing/clients.ts';

interface ProduceReport {
  client: string;
  delivered: number;
  undelivered: number;
  errorCount: number;
  errors: string[];
  problems: string[];
  perPartition: number[];
  seconds: number;
}

interface ConsumeReport {
  consumed: number;
  problems: string[];
  errors: string[];
  perPartition: number[];
}

interface TimesReport {
  produceErrors: string[];
  undelivered: number;
  answers: { timestamp: number; want: number; got: number; error: string | null }[];
  batch: number[][];
  batchWant: number[][];
  stampsOk: boolean;
  stamps: number[];
}

const COUNT = 100_000;
const PARTITIONS = 4;

describe('confluent-kafka (Python)', () => {
  let broker: BrokerProcess;
  const topic = topicName('confluent');

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': String(PARTITIONS) } });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('idempotent acks=all producer: 100,000 records, every delivery report OK', async () => {
    const args = ['produce', broker.bootstrap, topic, String(COUNT), String(PARTITIONS)];
    const r = await runPython('confluent_client.py', args, { timeoutMs: 50_000 });
    const rep = pythonReport<ProduceReport>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}\n${broker.describe()}`;
    assert.equal(rep.errorCount, 0, `delivery errors: ${ctx}`);
    assert.equal(rep.undelivered, 0, ctx);
    assert.equal(rep.delivered, COUNT, ctx);
    assert.deepEqual(rep.problems, [], ctx);
    assert.deepEqual(rep.perPartition, Array(PARTITIONS).fill(COUNT / PARTITIONS), ctx);
  });

  test('consumer with assign() reads all 100,000 back byte-identical and in order', async () => {
    const args = ['consume', broker.bootstrap, topic, String(COUNT), String(PARTITIONS)];
    const r = await runPython('confluent_client.py', args, { timeoutMs: 50_000 });
    const rep = pythonReport<ConsumeReport>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}\n${broker.describe()}`;
    assert.deepEqual(rep.problems, [], ctx);
    assert.equal(rep.consumed, COUNT, ctx);
    assert.deepEqual(rep.perPartition, Array(PARTITIONS).fill(COUNT / PARTITIONS), ctx);
  });

  test('offsets_for_times: earliest offset with timestamp >= target, -1 past the end', async () => {
    const r = await runPython('confluent_client.py', ['times', broker.bootstrap, topicName('ts')], {
      timeoutMs: 40_000,
    });
    const rep = pythonReport<TimesReport>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}\n${broker.describe()}`;
    assert.deepEqual(rep.produceErrors, [], ctx);
    assert.equal(rep.undelivered, 0, ctx);
    for (const a of rep.answers) {
      assert.equal(a.error, null, `offsets_for_times(${a.timestamp}) error: ${ctx}`);
      assert.equal(a.got, a.want, `offsets_for_times(${a.timestamp}): ${ctx}`);
    }
    assert.deepEqual(rep.batch, rep.batchWant, `one request, several partitions: ${ctx}`);
    assert.ok(rep.stampsOk, `CreateTime timestamps not preserved: ${ctx}`);
  });
});

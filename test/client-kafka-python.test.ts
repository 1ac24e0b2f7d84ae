/**
 * kafka-python 2.0.2 in auto mode (it probes the broker's version) under /usr/bin/python3:
 * produce with keys and headers, then consume with assign(), for each codec it can use.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun } from '../src/testing/broker-process.ts';
import { pythonReport, runPython, topicName } from '../src/testing/clients.ts';

interface Report {
  client: string;
  apiVersion: number[] | null;
  produced: number;
  offsetsInOrder: boolean;
  produceErrors: string[];
  consumed: number;
  problems: string[];
}

const COUNT = 2000;

describe('kafka-python (auto mode)', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`produce (${codec}) and consume with assign(): byte-identical, in order`, async (t) => {
      const args = [broker.bootstrap, topicName(`kp-${codec}`), String(COUNT), codec];
      const r = await runPython('kafka_python_client.py', args, { timeoutMs: 50_000 });
      const rep = pythonReport<Report>(r);
      const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}\n${broker.describe()}`;
      t.diagnostic(`${rep.client}, negotiated api_version ${JSON.stringify(rep.apiVersion)}`);
      assert.deepEqual(rep.produceErrors, [], ctx);
      assert.equal(rep.produced, COUNT, ctx);
      assert.ok(rep.offsetsInOrder, `offsets not 0..n-1 in send order: ${ctx}`);
      assert.deepEqual(rep.problems, [], ctx);
      assert.equal(rep.consumed, COUNT, ctx);
    });
  }
});

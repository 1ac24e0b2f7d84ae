/**
 * kafka-node 5.0.0 (npm; a pure-JavaScript Kafka 0.9-0.11 client) as a child process
 * (src/testing/kafka-node-child.ts): Produce v2 with MessageSet v1, uncompressed and gzip, then a
 * ConsumerGroup (JoinGroup/SyncGroup v0, Fetch v2) reads everything back and commits
 * (OffsetCommit v2, OffsetFetch v1). kcat in 0.9 and modern mode read the same records. Snappy is
 * not tested: kafka-node needs the optional native `snappy` module, whose install script npm does
 * not run here.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { KCAT_09, kcatConsume, topicName } from '../src/testing/clients.ts';
import { diffRecords, fromKcat, type SeenRecord } from '../src/testing/old-clients.ts';

const CHILD = fileURLToPath(new URL('../src/testing/kafka-node-child.js', import.meta.url));
const COUNT = 50;

interface ChildReport {
  error?: string;
  produced?: Array<number | string>;
  rows?: Array<[number, string | null, string | null]>;
  committed?: unknown;
}

describe('kafka-node 5.0.0', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('produce (none, gzip), ConsumerGroup reads all and commits; kcat 0.9 and modern agree', async () => {
    const topic = topicName('old-kafka-node');
    const cfg = { bootstrap: broker.bootstrap, topic, count: COUNT, group: `${topic}-g` };
    const r = await run(process.execPath, [CHILD, JSON.stringify(cfg)], { timeoutMs: 45_000 });
    const ctx = `${describeRun(r)}\n${broker.describe()}`;
    const report = JSON.parse(r.stdout.toString().trim().split('\n').at(-1) ?? '{}') as ChildReport;
    assert.equal(report.error, undefined, ctx);
    assert.deepEqual(report.produced, [0, COUNT], `base offsets of the two sends: ${ctx}`);

    const want: SeenRecord[] = [];
    for (const attributes of [0, 1]) {
      for (let i = 0; i < COUNT; i++) {
        want.push({
          partition: 0,
          offset: want.length,
          key: Buffer.from(`kn${attributes}-${i}`),
          value: Buffer.from(`kafka-node ${attributes} ${i}`),
          timestamp: null,
        });
      }
    }
    const unhex = (h: string | null) => (h === null ? null : Buffer.from(h, 'hex'));
    const seen = (report.rows ?? []).map(([offset, key, value]) => ({
      partition: 0,
      offset,
      key: unhex(key),
      value: unhex(value),
      timestamp: null,
    }));
    seen.sort((a, b) => a.offset - b.offset);
    assert.equal(diffRecords(seen, want), '', ctx);
    assert.deepEqual(report.committed, { [topic]: { 0: 2 * COUNT } }, ctx);

    for (const extra of [KCAT_09, []]) {
      const k = await kcatConsume(broker.bootstrap, topic, { partition: 0, extra });
      assert.equal(diffRecords(fromKcat(k.records), want), '', describeRun(k.result));
    }
  });
});

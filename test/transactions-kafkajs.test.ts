/**
 * A kafkajs transactional producer (in a child process: src/testing/kafkajs-txn-child.ts)
 * against a broker child process: its committed transactions are read by a read_committed
 * consumer and its aborted ones are not; the group offsets it sends with each transaction
 * (sendOffsets, TxnOffsetCommit) count only for the committed ones.
 */
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GroupOffsets } from '../src/admin/group.ts';
import { Admin } from '../src/admin/index.ts';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { requireConfluentKafka, runPython } from '../src/testing/clients.ts';

const CHILD = fileURLToPath(new URL('../src/testing/kafkajs-txn-child.js', import.meta.url));

let broker: BrokerProcess;

before(async () => {
  requireConfluentKafka();
  broker = await BrokerProcess.start({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
});

after(async () => {
  await broker?.cleanup();
});

it('kafkajs commits and aborts; only committed records and offsets count', {
  timeout: 120_000,
}, async () => {
  const topic = 'kjs-txn';
  const group = 'kjs-group';
  const cfg = {
    bootstrap: broker.bootstrap,
    topic,
    transactionalId: 'kjs-1',
    transactions: 6,
    perTransaction: 5,
    abortEvery: 3,
    group,
  };
  const r = await run(process.execPath, [CHILD, JSON.stringify(cfg)], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, describeRun(r));
  const evs = r.stdout
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { ev: string; i: number; committed: boolean; offset: number });
  const txns = evs.filter((e) => e.ev === 'txn');
  assert.equal(txns.length, 6, describeRun(r));
  const committed = txns.filter((t) => t.committed);
  const read = await runPython('txn_client.py', [
    'consume',
    broker.bootstrap,
    topic,
    'read_committed',
    '1',
    '3',
  ]);
  const values = read.stdout
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('{"ev": "record"'))
    .map((l) => (JSON.parse(l) as { v: string }).v);
  const expected = committed.flatMap((t) => Array.from({ length: 5 }, (_, j) => `${t.i}:${j}`));
  assert.deepEqual(values, expected);
  // The last transaction (i = 5) was aborted: the group's offset is the one of i = 4.
  const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
  try {
    const offsets = await new GroupOffsets(admin.client, group).fetchAll();
    assert.equal(offsets.get(topic)?.get(0), committed.at(-1)?.offset);
  } finally {
    await admin.close();
  }
});

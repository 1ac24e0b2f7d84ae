/**
 * A kafkajs transactional producer (in a child process: src/testing/kafkajs-txn-child.ts)
 * against a broker child process: its committed transactions are read by a read_committed
 * consumer and its aborted ones are not; the group offsets it sends with each transaction
 * (sendOffsets, TxnOffsetCommit) count only for the committed ones. A kafkajs
 * consume-transform-produce loop (src/testing/kafkajs-ctp-child.ts) killed with kill -9 twenty
 * times at random moments still writes every input record to its output exactly once, in order.
 */
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GroupOffsets } from '../src/admin/group.ts';
import { Admin } from '../src/admin/index.ts';
import { BrokerProcess, ChildRun, describeRun, run } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  requireConfluentKafka,
  requireKcat,
  runPython,
} from '../src/testing/clients.ts';
import { sleep, until } from '../src/testing/zk-cluster.ts';

const CHILD = fileURLToPath(new URL('../src/testing/kafkajs-txn-child.js', import.meta.url));
const CTP_CHILD = fileURLToPath(new URL('../src/testing/kafkajs-ctp-child.js', import.meta.url));

let broker: BrokerProcess;

before(async () => {
  requireConfluentKafka();
  requireKcat();
  broker = await BrokerProcess.start({
    overrides: {
      'group.initial.rebalance.delay.ms': '0',
      'group.min.session.timeout.ms': '1000',
    },
  });
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

/** The records a read_committed confluent-kafka consumer reads from each partition of `topic`. */
async function readCommitted(topic: string, partitions: number): Promise<string[][]> {
  const r = await runPython('txn_client.py', [
    'consume',
    broker.bootstrap,
    topic,
    'read_committed',
    String(partitions),
    '3',
  ]);
  assert.equal(r.code, 0, describeRun(r));
  const out: string[][] = Array.from({ length: partitions }, () => []);
  for (const line of r.stdout.toString().split('\n')) {
    if (!line.startsWith('{"ev": "record"')) continue;
    const e = JSON.parse(line) as { p: number; v: string };
    out[e.p]?.push(e.v);
  }
  return out;
}

it('a kafkajs consume-transform-produce loop killed with kill -9 twenty times keeps exactly once', {
  timeout: 300_000,
}, async (t) => {
  const input = 'kjs-ctp-in';
  const output = 'kjs-ctp-out';
  const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
  try {
    for (const name of [input, output]) {
      await admin.createTopic({ name, partitions: 3, replicationFactor: 1, configs: new Map() });
    }
  } finally {
    await admin.close();
  }
  // Small input batches (3 records) make small transactions: about a thousand of them, so that
  // most kills land in the middle of the work.
  const total = 3000;
  const lines: string[][] = [[], [], []];
  for (let i = 0; i < total; i++) lines[i % 3]?.push(`v${i}`);
  for (let p = 0; p < 3; p++) {
    await kcatProduce(broker.bootstrap, input, `${lines[p]?.join('\n')}\n`, {
      partition: p,
      extra: ['-X', 'batch.num.messages=3'],
    });
  }
  const cfg = {
    bootstrap: broker.bootstrap,
    input,
    output,
    group: 'kjs-ctp-group',
    transactionalId: 'kjs-ctp',
    idleMs: 3000,
  };
  const start = () =>
    new ChildRun(process.execPath, [CTP_CHILD, JSON.stringify(cfg)], {
      timeoutMs: 120_000,
    });
  const kills = 20;
  let committedBeforeLast = 0;
  for (let k = 0; k < kills; k++) {
    const child = start();
    // Once it has its partitions, at a random moment: before its first transaction, between two,
    // or in the middle of one.
    await child
      .waitFor((lines) => lines.some((l) => l.startsWith('{"ev":"assigned"')), 60_000)
      .catch(() => undefined);
    await sleep(Math.floor(Math.random() * 1000));
    child.kill('SIGKILL');
    await child.done;
    committedBeforeLast += child.lines.filter((l) => l.startsWith('{"ev":"committed"')).length;
  }
  const last = start();
  await until(
    'the last loop went idle after reading everything',
    () => (last.lines.some((l) => l.startsWith('{"ev":"idle"')) ? true : undefined),
    180_000,
  );
  const status = await last.done;
  assert.equal(status.code, 0, describeRun(status));
  const got = await readCommitted(output, 3);
  for (let p = 0; p < 3; p++) {
    assert.deepEqual(got[p], lines[p], `partition ${p}: every input record once, in order`);
  }
  t.diagnostic(`${kills} kills; ${committedBeforeLast} transactions committed before the last run`);
});

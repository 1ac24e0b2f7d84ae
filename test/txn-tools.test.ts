/**
 * Transactions as operators see them, checked against Apache Kafka 3.9's own tools:
 *
 * - an open transaction (confluent-kafka, left hanging) is listed and described the same way by
 *   `tributary transactions list|describe` and Kafka's kafka-transactions (ListTransactions,
 *   DescribeTransactions), and the partition's producers by `tributary producers describe` and
 *   `kafka-transactions describe-producers` (DescribeProducers), with the open transaction's
 *   first offset;
 * - the aborted-transaction index (`.txnindex`) and the producer state snapshot (`.snapshot`) are
 *   read by Kafka's DumpLogSegments, with the entries Kafka would write (an aborted transaction's
 *   lastStableOffset is the first offset of a transaction still open, or the offset after its
 *   marker);
 * - with both files deleted, the broker rebuilds them from the log when it starts: read_committed
 *   still skips the aborted records, and DumpLogSegments reads the same entries again.
 */
import { strict as assert } from 'node:assert';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, type ChildRun, describeRun, run } from '../src/testing/broker-process.ts';
import { requireConfluentKafka, runPython, spawnPython } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { until } from '../src/testing/zk-cluster.ts';

const TOPIC = 'txn-files';
const MAIN = new URL('../src/main.js', import.meta.url).href;

/** Tributary's CLI, as `tributary ARGS`; its stdout (it must exit 0). */
async function cli(args: readonly string[]): Promise<string> {
  const script = `const { main } = await import(${JSON.stringify(MAIN)});\nawait main(process.argv.slice(1));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script, ...args], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout.toString();
}

/** Kafka's DumpLogSegments on the files of the partition whose names end with `suffix`. */
async function dump(dir: string, suffix: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(suffix)).map((f) => join(dir, f));
  assert.ok(files.length > 0, `no ${suffix} file in ${dir}`);
  const out = await kafkaTool('dumpLogSegments', ['--files', files.join(',')]);
  return out.split('\n').filter((l) => /^(version|producerId):/.test(l));
}

function events(stdout: Buffer): { ev: string; p?: number; o?: number; v?: string }[] {
  return String(stdout)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { ev: string });
}

describe('transactions seen through Kafka 3.9 tools', () => {
  let broker: BrokerProcess;
  let hang: ChildRun | undefined;

  before(async () => {
    requireConfluentKafka();
    broker = await BrokerProcess.start({
      overrides: {
        'num.partitions': '1',
        'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
      },
    });
  });

  after(async () => {
    hang?.kill();
    await broker?.cleanup();
  });

  const produce = async (id: string) => {
    // Two transactions of 3 records: the first committed, the second aborted.
    const r = await runPython('txn_client.py', [
      'produce',
      broker.bootstrap,
      TOPIC,
      id,
      '2',
      '3',
      '2',
      '1',
    ]);
    assert.equal(r.code, 0, describeRun(r));
  };

  it('an open transaction: listed, described, its producer shown, by Tributary and by Kafka', {
    timeout: 180_000,
  }, async () => {
    await produce('p-first'); // offsets 0-2, marker 3; aborted 4-6, marker 7
    hang = spawnPython('txn_client.py', ['hang', broker.bootstrap, TOPIC, 'p-hang', '20000'], {
      timeoutMs: 120_000,
    });
    await hang.waitFor((lines) => lines.some((l) => l.includes('"written"')), 30_000);
    await produce('p-second'); // 9-11, marker 12; aborted 13-15, marker 16; "hanging" at 8

    const listed = JSON.parse(
      await cli(['transactions', 'list', '--bootstrap-server', broker.bootstrap, '--json']),
    ) as {
      transactionalId: string;
      state: string;
      producerId: number;
    }[];
    const hanging = listed.find((t) => t.transactionalId === 'p-hang');
    assert.equal(hanging?.state, 'Ongoing', JSON.stringify(listed));
    const kafkaList = await kafkaTool('transactions', [
      '--bootstrap-server',
      broker.bootstrap,
      'list',
    ]);
    assert.match(kafkaList, /p-hang\s+0\s+\d+\s+Ongoing/, kafkaList);
    assert.match(kafkaList, /p-first\s+0\s+\d+\s+CompleteAbort/, kafkaList);

    const described = JSON.parse(
      await cli([
        'transactions',
        'describe',
        'p-hang',
        '--bootstrap-server',
        broker.bootstrap,
        '--json',
      ]),
    ) as {
      state: string;
      producerId: number;
      timeoutMs: number;
      partitions: { topic: string; partition: number }[];
    };
    assert.equal(described.state, 'Ongoing');
    assert.equal(described.timeoutMs, 20000);
    assert.deepEqual(described.partitions, [{ topic: TOPIC, partition: 0 }]);
    const kafkaDescribe = await kafkaTool('transactions', [
      '--bootstrap-server',
      broker.bootstrap,
      'describe',
      '--transactional-id',
      'p-hang',
    ]);
    assert.match(
      kafkaDescribe,
      new RegExp(`\\b${described.producerId}\\b.*Ongoing\\s+20000\\s+.*${TOPIC}-0`),
      kafkaDescribe,
    );

    const producers = JSON.parse(
      await cli([
        'producers',
        'describe',
        TOPIC,
        '0',
        '--bootstrap-server',
        broker.bootstrap,
        '--json',
      ]),
    ) as { producerId: number; currentTxnStartOffset: number }[];
    assert.equal(producers.length, 3, JSON.stringify(producers));
    const open = producers.filter((p) => p.currentTxnStartOffset >= 0);
    assert.deepEqual(open, [
      { ...open[0], producerId: described.producerId, currentTxnStartOffset: 8 },
    ]);
    const kafkaProducers = await kafkaTool('transactions', [
      '--bootstrap-server',
      broker.bootstrap,
      'describe-producers',
      '--topic',
      TOPIC,
      '--partition',
      '0',
    ]);
    assert.match(
      kafkaProducers,
      new RegExp(`^${described.producerId}\\s.*\\s8\\s*$`, 'm'),
      kafkaProducers,
    );
    assert.equal(kafkaProducers.trim().split('\n').length, 4, kafkaProducers);

    // The producer dies; the coordinator aborts its transaction once it times out (marker at 17).
    hang.kill();
    await until(
      'the coordinator aborted the hanging transaction',
      async () => {
        const d = JSON.parse(
          await cli([
            'transactions',
            'describe',
            'p-hang',
            '--bootstrap-server',
            broker.bootstrap,
            '--json',
          ]),
        ) as { state: string };
        return d.state === 'CompleteAbort' ? true : undefined;
      },
      60_000,
    );
  });

  it('.txnindex and .snapshot are read by Kafka, and rebuilt from the log when deleted', {
    timeout: 180_000,
  }, async () => {
    const dir = join(broker.dataDir, `${TOPIC}-0`);
    await broker.stop();
    const txnIndex = await dump(dir, '.txnindex');
    // The first abort had no other transaction open (LSO: after its marker); the second had the
    // hanging one open since offset 8; the hanging one was aborted last.
    const entries = txnIndex.map((l) => {
      const m =
        /^version: 0 producerId: (\d+) firstOffset: (\d+) lastOffset: (\d+) lastStableOffset: (\d+)$/.exec(
          l,
        );
      assert.ok(m !== null, l);
      return m.slice(2).map(Number);
    });
    assert.deepEqual(entries, [
      [4, 7, 8],
      [13, 16, 8],
      [8, 17, 18],
    ]);
    const snapshot = await dump(dir, '.snapshot');
    assert.equal(snapshot.length, 3, snapshot.join('\n'));
    for (const line of snapshot) assert.match(line, /currentTxnFirstOffset: OptionalLong.empty/);

    for (const f of await readdir(dir)) {
      if (f.endsWith('.txnindex') || f.endsWith('.snapshot')) await rm(join(dir, f));
    }
    await broker.restart();
    const read = await runPython('txn_client.py', [
      'consume',
      broker.bootstrap,
      TOPIC,
      'read_committed',
      '1',
      '3',
    ]);
    assert.equal(read.code, 0, describeRun(read));
    const values = events(read.stdout)
      .filter((e) => e.ev === 'record')
      .map((e) => `${e.o}:${e.v}`);
    assert.deepEqual(values, ['0:0:0', '1:0:1', '2:0:2', '9:0:0', '10:0:1', '11:0:2']);
    await broker.stop();
    assert.deepEqual(await dump(dir, '.txnindex'), txnIndex, 'the rebuilt index');
    assert.equal((await dump(dir, '.snapshot')).length, 3);
  });
});

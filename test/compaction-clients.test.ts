/**
 * Log compaction with real clients, the broker as a child process, compaction asked for at the
 * broker level (log.cleanup.policy=compact, topics auto-created by kcat):
 * - kcat writes 1,000,000 records over 10,000 keys; a confluent-kafka consumer reads them all
 *   with the cleaner off (the expected latest record of every key, with offset, headers and
 *   timestamp); the broker restarts with the cleaner on; after cleaning, the consumer from the
 *   beginning sees exactly one record per key, the latest, unchanged; the partition's log bytes
 *   are within 2x of a topic holding only those records; and the same after another restart.
 * - confluent-kafka transactions update 50 keys 201 times, one in three aborted (the last one
 *   too): after cleaning, read_uncommitted sees no aborted update, only the latest committed
 *   value of every key at its original offset, and read_committed the same.
 * - kill -9 at random moments while the cleaner works, 20 times, with acknowledged updates
 *   between kills: the broker always starts, and every key reads back its last acknowledged
 *   value.
 */
import { strict as assert } from 'node:assert';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BrokerProcess, describeRun, sleep } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  pythonReport,
  requireConfluentKafka,
  requireKcat,
  runPython,
  topicName,
} from '../src/testing/clients.ts';

interface Latest {
  offset: number;
  value: string | null;
  headers: [string, string][];
  timestamp: number;
}

interface LatestReport {
  count: number;
  increasing: boolean;
  high: number;
  keys: Record<string, Latest>;
}

async function latest(
  bootstrap: string,
  topic: string,
  isolation = 'read_committed',
): Promise<LatestReport> {
  const r = await runPython('compaction_client.py', ['latest', bootstrap, topic, isolation], {
    timeoutMs: 300_000,
  });
  return pythonReport<LatestReport>(r);
}

/** Bytes of the partition's segment files (.log). */
async function logBytes(dataDir: string, topic: string): Promise<number> {
  const dir = join(dataDir, `${topic}-0`);
  let total = 0;
  for (const name of await readdir(dir)) {
    if (name.endsWith('.log')) total += (await stat(join(dir, name))).size;
  }
  return total;
}

const COMPACTED = {
  'log.cleanup.policy': 'compact',
  'log.cleaner.backoff.ms': '100',
  'log.cleaner.min.cleanable.ratio': '0.01',
  'log.roll.ms': '1000',
  'log.segment.bytes': String(4 * 1024 * 1024),
};

describe('compaction with kcat and confluent-kafka', () => {
  test('1,000,000 updates of 10,000 keys: the latest of each survives, offsets, headers and timestamps intact', async (t) => {
    requireKcat();
    requireConfluentKafka();
    const keys = 10_000;
    const total = 1_000_000;
    const topic = topicName('compacted');
    const ref = topicName('live');
    let broker = await BrokerProcess.start({
      overrides: { ...COMPACTED, 'log.cleaner.enable': 'false' },
    });
    const dataDir = broker.dataDir;
    try {
      const line = (i: number) => `k${i % keys}:v${i}-${'x'.repeat(i % 23)}\n`;
      const lines: string[] = [];
      for (let i = 0; i < total; i++) lines.push(line(i));
      const opts = { keyDelimiter: ':', headers: ['src=kcat'], timeoutMs: 300_000 };
      await kcatProduce(broker.bootstrap, topic, lines.join(''), opts);
      // A later record rolls the segment holding the last updates (log.roll.ms), so that every
      // update can be cleaned; the live-data reference holds the same last records.
      await sleep(1200);
      await kcatProduce(broker.bootstrap, topic, 'roll:tail\n', opts);
      await kcatProduce(broker.bootstrap, ref, lines.slice(total - keys).join(''), opts);
      await kcatProduce(broker.bootstrap, ref, 'roll:tail\n', opts);

      const before = await latest(broker.bootstrap, topic);
      assert.equal(before.count, total + 1);
      assert.equal(Object.keys(before.keys).length, keys + 1);
      assert.ok(before.increasing);
      assert.equal(before.keys['k0']?.offset, total - keys);
      assert.deepEqual(before.keys['k0']?.headers, [['src', 'kcat']]);
      const fullBytes = await logBytes(dataDir, topic);

      await broker.stop();
      broker = await BrokerProcess.start({ dataDir, overrides: COMPACTED });
      await broker.waitForStderr(new RegExp(`cleaned ${topic}-0 \\[\\d+, ${total}\\)`), 240_000);
      const after = await latest(broker.bootstrap, topic);
      assert.ok(after.increasing, 'offsets increase');
      assert.equal(after.count, keys + 1, 'one record per key');
      assert.deepEqual(after.keys, before.keys, 'the latest record of every key, unchanged');
      const liveBytes = await logBytes(dataDir, ref);
      const cleanedBytes = await logBytes(dataDir, topic);
      t.diagnostic(
        `log bytes: ${fullBytes} before cleaning, ${cleanedBytes} after, live data ${liveBytes}`,
      );
      assert.ok(cleanedBytes <= 2 * liveBytes, `${cleanedBytes} within 2x of ${liveBytes}`);

      await broker.stop();
      broker = await BrokerProcess.start({ dataDir, overrides: COMPACTED });
      const restarted = await latest(broker.bootstrap, topic);
      assert.deepEqual(restarted.keys, before.keys, 'the same after a restart');
      assert.equal(restarted.count, keys + 1);
    } finally {
      await broker.stop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('transactions on a compacted topic: aborted updates go, the latest committed value of each key stays', async () => {
    requireKcat();
    requireConfluentKafka();
    const topic = topicName('txn-compacted');
    // Markers go 500 ms after their transaction's data (delete.retention.ms), so that cleanings
    // after that run on a log without them; any dirty byte makes the log due (one small record
    // beside 200 markers is under the suite's ratio of 0.01).
    const broker = await BrokerProcess.start({
      overrides: {
        ...COMPACTED,
        'log.cleaner.delete.retention.ms': '500',
        'log.cleaner.min.cleanable.ratio': '0',
      },
    });
    try {
      const opts = { keyDelimiter: ':', timeoutMs: 60_000 };
      await kcatProduce(broker.bootstrap, topic, 'seed:0\n', opts); // offset 0
      const [txns, keys, abortEvery] = [201, 50, 3];
      const r = await runPython(
        'txn_client.py',
        [
          'produce-keyed',
          broker.bootstrap,
          topic,
          'compacting',
          ...[txns, keys, abortEvery].map(String),
        ],
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
      // Transaction i holds offsets 1 + i * 51 .. (its 50 records, then its marker); the last
      // one (200) aborted, so 199 is the last committed. Then a record of key "roll" every
      // 1.2 s rolls a segment (log.roll.ms) and makes the log dirty again: cleanings remove the
      // aborted data, then the markers, then run on the log without them.
      const end = 1 + txns * (keys + 1);
      const rounds = 5;
      for (let i = 0; i < rounds; i++) {
        await sleep(1200);
        await kcatProduce(broker.bootstrap, topic, `roll:${i}\n`, opts);
      }
      await broker.waitForStderr(
        new RegExp(`cleaned ${topic}-0 \\[\\d+, ${end + rounds - 1}\\)`),
        60_000,
      );
      const want = (k: number) => ({ offset: 1 + 199 * (keys + 1) + k, value: '199' });
      for (const isolation of ['read_uncommitted', 'read_committed']) {
        const report = await latest(broker.bootstrap, topic, isolation);
        assert.ok(report.increasing);
        // "seed", the 50 keys, and two of "roll": the last, in the active segment, does not
        // supersede the one before it in the cleaned part.
        assert.equal(report.count, 1 + keys + 2, `${isolation}: one record per key`);
        for (let k = 0; k < keys; k++) {
          const got = report.keys[`k${k}`];
          assert.deepEqual({ offset: got?.offset, value: got?.value }, want(k), `k${k}`);
        }
      }
    } finally {
      await broker.cleanup();
    }
  });

  test('kill -9 during cleaning, 20 times: the broker starts and no acknowledged latest value is lost', async (t) => {
    requireKcat();
    requireConfluentKafka();
    const keys = 1000;
    const perRound = 20_000;
    const topic = topicName('killed');
    const overrides = {
      ...COMPACTED,
      'log.roll.ms': '300',
      'log.segment.bytes': String(256 * 1024),
      // Slow enough that a cleaning is usually under way when the kill comes.
      'log.cleaner.io.max.bytes.per.second': String(2 * 1024 * 1024),
    };
    let broker = await BrokerProcess.start({ overrides });
    const dataDir = broker.dataDir;
    const expected = new Map<string, string>();
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let cleanings = 0;
    try {
      for (let round = 0; round < 20; round++) {
        const lines: string[] = [];
        for (let i = 0; i < perRound; i++) {
          const key = `k${i % keys}`;
          const value = `r${round}-${i}`;
          lines.push(`${key}:${value}\n`);
          expected.set(key, value);
        }
        await kcatProduce(broker.bootstrap, topic, lines.join(''), {
          keyDelimiter: ':',
          timeoutMs: 120_000,
        });
        await sleep(300 + Math.floor(random() * 1500));
        cleanings += (broker.stderr.match(/log cleaner: cleaned/g) ?? []).length;
        broker.signal('SIGKILL');
        await broker.stop();
        broker = await BrokerProcess.start({ dataDir, overrides });
      }
      const report = await latest(broker.bootstrap, topic);
      assert.ok(report.increasing);
      assert.equal(Object.keys(report.keys).length, keys);
      for (const [key, value] of expected) {
        assert.equal(report.keys[key]?.value, value, `latest value of ${key}`);
      }
      t.diagnostic(
        `${cleanings} cleanings completed across the kills; ${report.count} records left of ${20 * perRound}`,
      );
      assert.ok(cleanings > 0, 'the cleaner ran between kills');
      assert.ok(report.count < 20 * perRound, 'compaction made progress');
    } finally {
      await broker.stop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * __consumer_offsets is compacted (issue 19): a confluent-kafka group member commits offsets on
 * three partitions as fast as it can for 20 s (thousands of commits, dozens of 16 KiB segments of
 * __consumer_offsets); afterwards the cleaner has brought the partition's log down to a few
 * segments (bounded by the live groups and partitions, not by the commits made), and the group's
 * committed offsets are the last ones committed, after cleaning and after a restart. The long run
 * with documented figures is bench/offsets-bound.ts (docs/benchmarks.md).
 *
 * __transaction_state likewise: a confluent-kafka transactional producer runs hundreds of
 * transactions (one in five aborted) under one transactional id, each writing its state changes
 * to __transaction_state; the cleaner brings that log down to a few segments, and afterwards (and
 * after a restart) read_committed sees exactly the committed transactions and the id still works.
 */
import { strict as assert } from 'node:assert';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, describeRun, repoRoot, run } from '../src/testing/broker-process.ts';
import { requireConfluentKafka, runPython } from '../src/testing/clients.ts';
import { until } from '../src/testing/zk-cluster.ts';

const SEGMENT_BYTES = 16_384;
/**
 * Files a bounded log may keep once writes stop: the cleaned head; up to two segments the last
 * round cleaned but did not merge yet (a round groups segments by their sizes before cleaning,
 * as Kafka's, so each full segment it takes becomes a small one of its own; the next round
 * merges them); one dirty segment under min.cleanable.dirty.ratio; the active one.
 */
const MAX_FILES = 5;
const TOPIC = 'offsets-input';
const GROUP = 'committer';
const PARTITIONS = 3;

/** Bytes of the .log files of a partition directory, and their count. */
async function logBytes(dir: string): Promise<{ bytes: number; segments: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.log'));
  const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
  return { bytes: sizes.reduce((a, b) => a + b, 0), segments: names.length };
}

/**
 * Waits for the cleaner to bring the partition log in `dir` (which was written at least
 * `written` bytes, over four segments' worth) down to three segments' worth of bytes, in at most
 * MAX_FILES files; answers what is left.
 */
async function bounded(dir: string, written: number): Promise<string> {
  assert.ok(written > 4 * SEGMENT_BYTES, `${written} bytes written`);
  const settled = await until(
    `the cleaner to bound ${dir}`,
    async () => {
      // Both at once: in the middle of a cleaning round the groups already swapped in are
      // small while the old segments of the others are still there.
      const size = await logBytes(dir);
      return size.bytes <= 3 * SEGMENT_BYTES && size.segments <= MAX_FILES ? size : undefined;
    },
    60_000,
  );
  assert.ok(settled.segments <= MAX_FILES, `${settled.segments} segments left`);
  return `${settled.bytes} bytes in ${settled.segments} segments`;
}

async function committed(bootstrap: string): Promise<{ partition: number; offset: number }[]> {
  const r = await runPython('offsets_committer.py', [
    'fetch',
    bootstrap,
    GROUP,
    TOPIC,
    String(PARTITIONS),
  ]);
  assert.equal(r.code, 0, describeRun(r));
  const lines = r.stdout.toString().trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '[]');
}

describe('__consumer_offsets compaction', () => {
  let broker: BrokerProcess;

  before(async () => {
    requireConfluentKafka();
    broker = await BrokerProcess.start({
      overrides: {
        'offsets.topic.num.partitions': '1',
        'offsets.topic.segment.bytes': String(SEGMENT_BYTES),
        'log.cleaner.backoff.ms': '200',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  it('a group committing thousands of times leaves a few segments and its last offsets', {
    timeout: 180_000,
  }, async (t) => {
    const created = await runPython('offsets_committer.py', [
      'fetch',
      broker.bootstrap,
      'x',
      'x',
      '1',
    ]);
    assert.equal(created.code, 0, describeRun(created)); // __consumer_offsets exists from here
    const cli = join(repoRoot(), 'bin', 'tributary.js');
    const topic = await run(process.execPath, [
      cli,
      'topics',
      'create',
      TOPIC,
      '--partitions',
      String(PARTITIONS),
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    assert.equal(topic.code, 0, describeRun(topic));
    const r = await runPython(
      'offsets_committer.py',
      ['commit', broker.bootstrap, GROUP, TOPIC, String(PARTITIONS), '20', '5'],
      { timeoutMs: 90_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    const lines = r.stdout.toString().trim().split('\n');
    const { commits, last } = JSON.parse(lines[lines.length - 1] ?? '{}') as {
      commits: number;
      last: number;
    };
    assert.ok(commits >= 500, `only ${commits} commits`);
    // Each commit wrote a batch of three offset records (well over 100 bytes): without cleaning
    // the log would hold commits * 100 bytes at least.
    const settled = await bounded(join(broker.dataDir, '__consumer_offsets-0'), commits * 100);
    t.diagnostic(`${commits} commits; __consumer_offsets-0 left with ${settled}`);
    const expected = Array.from({ length: PARTITIONS }, (_, partition) => ({
      partition,
      offset: last,
    }));
    assert.deepEqual(await committed(broker.bootstrap), expected, 'after cleaning');
    await broker.restart({ samePort: true });
    assert.deepEqual(await committed(broker.bootstrap), expected, 'after a restart');
  });
});

describe('__transaction_state compaction', () => {
  let broker: BrokerProcess;

  before(async () => {
    requireConfluentKafka();
    broker = await BrokerProcess.start({
      overrides: {
        'transaction.state.log.num.partitions': '1',
        'transaction.state.log.segment.bytes': String(SEGMENT_BYTES),
        'log.cleaner.backoff.ms': '200',
      },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  /** The values read_committed sees in `topic` (one partition), from the start. */
  async function committedValues(topic: string): Promise<string[]> {
    const r = await runPython(
      'txn_client.py',
      ['consume', broker.bootstrap, topic, 'read_committed', '1', '3'],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ev: string; v?: string })
      .filter((e) => e.ev === 'record')
      .map((e) => e.v as string);
  }

  it('hundreds of transactions of one id leave a few segments and the same outcomes', {
    timeout: 240_000,
  }, async (t) => {
    const topic = 'txn-state-input';
    const cli = join(repoRoot(), 'bin', 'tributary.js');
    const created = await run(process.execPath, [
      cli,
      'topics',
      'create',
      topic,
      '--partitions',
      '1',
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    assert.equal(created.code, 0, describeRun(created));
    const txns = 600;
    const produce = async (id: string) => {
      const r = await runPython(
        'txn_client.py',
        ['produce', broker.bootstrap, topic, id, String(txns), '1', '5', '1'],
        { timeoutMs: 180_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
    };
    await produce('bounded');
    // Each transaction writes at least three states (ongoing, prepare, complete) of well over
    // 50 bytes each: without cleaning the log would hold txns * 150 bytes at least.
    const settled = await bounded(join(broker.dataDir, '__transaction_state-0'), txns * 150);
    t.diagnostic(`${txns} transactions; __transaction_state-0 left with ${settled}`);
    const expected = Array.from({ length: txns }, (_, i) => i)
      .filter((i) => i % 5 !== 4)
      .map((i) => `${i}:0`);
    assert.deepEqual(await committedValues(topic), expected, 'after cleaning');
    await broker.restart({ samePort: true });
    assert.deepEqual(await committedValues(topic), expected, 'after a restart');
    // The id's state survived cleaning and the restart: the same id runs more transactions.
    await produce('bounded');
    const again = await committedValues(topic);
    assert.equal(again.length, 2 * expected.length);
  });
});

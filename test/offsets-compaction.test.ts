/**
 * __consumer_offsets is compacted (issue 19): a confluent-kafka group member commits offsets on
 * three partitions as fast as it can for 20 s (thousands of commits, dozens of 16 KiB segments of
 * __consumer_offsets); afterwards the cleaner has brought the partition's log down to a few
 * segments (bounded by the live groups and partitions, not by the commits made), and the group's
 * committed offsets are the last ones committed, after cleaning and after a restart. The long run
 * with documented figures is bench/offsets-bound.ts (docs/benchmarks.md).
 */
import { strict as assert } from 'node:assert';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, describeRun, repoRoot, run } from '../src/testing/broker-process.ts';
import { requireConfluentKafka, runPython } from '../src/testing/clients.ts';
import { until } from '../src/testing/zk-cluster.ts';

const SEGMENT_BYTES = 16_384;
const TOPIC = 'offsets-input';
const GROUP = 'committer';
const PARTITIONS = 3;

/** Bytes of the .log files of a partition directory, and their count. */
async function logBytes(dir: string): Promise<{ bytes: number; segments: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.log'));
  const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
  return { bytes: sizes.reduce((a, b) => a + b, 0), segments: names.length };
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
    const dir = join(broker.dataDir, '__consumer_offsets-0');
    // Each commit wrote a batch of three offset records (well over 100 bytes): without cleaning
    // the log would hold commits * 100 bytes at least.
    const written = commits * 100;
    assert.ok(written > 4 * SEGMENT_BYTES, `the commits wrote ${written} bytes`);
    const settled = await until(
      'the cleaner to bound __consumer_offsets',
      async () => {
        const size = await logBytes(dir);
        return size.bytes <= 3 * SEGMENT_BYTES ? size : undefined;
      },
      60_000,
    );
    t.diagnostic(
      `${commits} commits; __consumer_offsets-0 left with ${settled.bytes} bytes in ${settled.segments} segments`,
    );
    assert.ok(settled.segments <= 4, `${settled.segments} segments left`);
    const expected = Array.from({ length: PARTITIONS }, (_, partition) => ({
      partition,
      offset: last,
    }));
    assert.deepEqual(await committed(broker.bootstrap), expected, 'after cleaning');
    await broker.restart({ samePort: true });
    assert.deepEqual(await committed(broker.bootstrap), expected, 'after a restart');
  });
});

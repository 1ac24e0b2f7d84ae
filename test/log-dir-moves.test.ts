/**
 * JBOD on a single broker process with two log dirs: AlterReplicaLogDirs moves a partition from
 * one dir to the other and back, several times, while an idempotent acks=all producer
 * (confluent-kafka, a separate process) writes to it; every acknowledged record is then read
 * back (kcat) once and in order. DescribeLogDirs shows where the partition is (and its future
 * replica while a move runs); after a restart the partition is found in its new dir. Errors of
 * AlterReplicaLogDirs follow Kafka: LOG_DIR_NOT_FOUND, UNKNOWN_TOPIC_OR_PARTITION.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import type { AlterReplicaLogDirsResponse } from '../src/protocol/messages/alter-replica-log-dirs-response.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { DescribeLogDirsResponse } from '../src/protocol/messages/describe-log-dirs-response.ts';
import type { IncrementalAlterConfigsResponse } from '../src/protocol/messages/incremental-alter-configs-response.ts';
import { BrokerProcess, runOk, sleep } from '../src/testing/broker-process.ts';
import {
  KCAT,
  kcatConsume,
  pythonReport,
  requireConfluentKafka,
  requireKcat,
  spawnPython,
  topicName,
} from '../src/testing/clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function startJbod(extra: Record<string, string> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'tributary-jbod-'));
  const dirs = [join(root, 'a'), join(root, 'b')] as const;
  const broker = await BrokerProcess.start({
    dataDir: root,
    overrides: { 'log.dirs': dirs.join(','), 'num.partitions': '1', ...extra },
  });
  cleanups.push(async () => {
    await broker.cleanup();
    await rm(root, { recursive: true, force: true });
  });
  return { broker, dirs, root };
}

async function alter(
  c: WireClient,
  version: number,
  path: string,
  topic: string,
  partitions: number[],
): Promise<number[]> {
  const res = await c.request<AlterReplicaLogDirsResponse>(ApiKey.AlterReplicaLogDirs, version, {
    dirs: [{ path, topics: [{ name: topic, partitions }] }],
  });
  return res.results.flatMap((r) => r.partitions.map((p) => p.errorCode));
}

interface Placement {
  readonly current: string | undefined;
  readonly future: string | undefined;
}

async function placement(c: WireClient, topic: string, partition: number): Promise<Placement> {
  const res = await c.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 4, {
    topics: [{ topic, partitions: [partition] }],
  });
  let current: string | undefined;
  let future: string | undefined;
  for (const r of res.results) {
    for (const t of r.topics) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) {
        if (p.partitionIndex !== partition) continue;
        if (p.isFutureKey) future = r.logDir;
        else current = r.logDir;
      }
    }
  }
  return { current, future };
}

async function waitForPlacement(
  c: WireClient,
  topic: string,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const p = await placement(c, topic, 0);
    if (p.current === dir && p.future === undefined) return;
    if (performance.now() > deadline) {
      throw new Error(`${topic}-0 not moved to ${dir}: ${JSON.stringify(p)}`);
    }
    await sleep(50);
  }
}

test('a partition moves between two log dirs and back while written to: nothing acknowledged is lost', async (t) => {
  requireKcat();
  requireConfluentKafka();
  // Small segments: a move copies many of them, and retention-free rolling happens meanwhile.
  // The copy is throttled (and sliced small) so that each move takes a while: the producer
  // writes during the copy, not only around it.
  const { broker, dirs, root } = await startJbod({
    'log.segment.bytes': '65536',
    'replica.fetch.max.bytes': '65536',
    'replica.alter.log.dirs.io.max.bytes.per.second': '1000000',
  });
  const topic = topicName('moves');
  await runOk(KCAT, ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0'], { input: 'seed\n' });
  const c = await WireClient.connect('127.0.0.1', broker.port);
  cleanups.push(async () => c.close());
  const start = await placement(c, topic, 0);
  assert.ok(start.current !== undefined, 'the partition is in one of the dirs');
  const home = start.current;
  const other = dirs.find((d) => d !== home) as string;

  const stopFile = join(root, 'stop');
  const producer = spawnPython('steady_producer.py', [broker.bootstrap, topic, stopFile], {
    timeoutMs: 120_000,
  });
  const acks = () => producer.lines.filter((l) => l.startsWith('ack ')).length;
  const movedDuring: number[] = [];
  const during: number[] = [];
  try {
    await producer.waitFor(() => acks() >= 3000, 30_000);
    // Five moves: there and back twice, then there again.
    for (let round = 0; round < 5; round++) {
      const target = round % 2 === 0 ? other : home;
      const before = acks();
      assert.deepEqual(await alter(c, round % 3, target, topic, [0]), [ErrorCode.NONE]);
      await waitForPlacement(c, topic, target, 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${broker.describe()}`);
      });
      during.push(acks() - before);
      // The producer keeps going: more acknowledgements after the move than before it.
      await producer.waitFor(() => acks() >= before + 1000, 30_000);
      movedDuring.push(acks() - before);
    }
  } finally {
    await writeFile(stopFile, '');
  }
  const report = pythonReport<{ produced: number; acked: number; errors: string[] }>(
    await producer.done,
  );
  t.diagnostic(`produced ${report.produced}, acked ${report.acked}`);
  t.diagnostic(`acknowledged during each move ${during}, by its end ${movedDuring}`);
  assert.ok(
    during.some((n) => n > 0),
    'records were acknowledged while a move was copying',
  );
  assert.deepEqual(report.errors, []);
  assert.equal(report.acked, report.produced);

  const acked = new Map<number, number>();
  for (const line of producer.lines) {
    const m = /^ack 0 (\d+) (\d+)$/.exec(line);
    if (m !== null) acked.set(Number(m[2]), Number(m[1]));
  }
  const check = async (): Promise<void> => {
    const { records } = await kcatConsume(broker.bootstrap, topic, {
      partition: 0,
      timeoutMs: 60_000,
    });
    const data = records.filter((r) => r.value?.subarray(0, 4).toString() === 'rec-');
    assert.equal(data.length, report.produced, 'every record once');
    for (const [n, r] of data.entries()) {
      const i = Number(r.value?.subarray(4, 12).toString());
      assert.equal(i, n, `record ${i} at position ${n} (offset ${r.offset})`);
      assert.equal(acked.get(i), r.offset, `acknowledged record ${i} at its offset`);
    }
  };
  await check();

  // After a restart the partition is where the last move put it (the other dir), and whole.
  await broker.stop();
  await broker.restart();
  const c2 = await WireClient.connect('127.0.0.1', broker.port);
  cleanups.push(async () => c2.close());
  assert.deepEqual(await placement(c2, topic, 0), { current: other, future: undefined });
  const names = async (d: string) => (await readdir(d)).filter((n) => n.startsWith(topic));
  assert.deepEqual(await names(other), [`${topic}-0`]);
  assert.deepEqual(await names(home), []);
  await check();
});

test('a move interrupted by a restart resumes; errors follow Kafka', async () => {
  requireKcat();
  // A throttle of 1 byte/s: the copy stops after its first slice, so the move is still under way
  // when the broker restarts.
  const { broker, dirs } = await startJbod({
    'replica.alter.log.dirs.io.max.bytes.per.second': '1',
    'replica.fetch.max.bytes': '1024',
  });
  const topic = topicName('resume');
  const lines = Array.from({ length: 2000 }, (_, i) => `v${i}-${'y'.repeat(50)}`);
  // Many small batches: the throttled copy stops after the first of them.
  const batching = ['-X', 'batch.num.messages=20', '-X', 'linger.ms=0'];
  await runOk(KCAT, ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', ...batching], {
    input: `${lines.join('\n')}\n`,
  });
  const c = await WireClient.connect('127.0.0.1', broker.port);
  const home = (await placement(c, topic, 0)).current as string;
  const other = dirs.find((d) => d !== home) as string;

  assert.deepEqual(await alter(c, 1, join(other, 'nope'), topic, [0]), [
    ErrorCode.LOG_DIR_NOT_FOUND,
  ]);
  assert.deepEqual(await alter(c, 1, other, 'no-such-topic', [0]), [
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ]);
  assert.deepEqual(await alter(c, 2, other, topic, [0]), [ErrorCode.NONE]);
  const during = await placement(c, topic, 0);
  assert.deepEqual(during, { current: home, future: other }, 'the future replica is listed');
  const res = await c.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 4, {
    topics: null,
  });
  const futureRow = res.results
    .find((r) => r.logDir === other)
    ?.topics.find((x) => x.name === topic)?.partitions[0];
  if (futureRow === undefined) assert.fail(`no future row: ${JSON.stringify(res.results)}`);
  assert.equal(futureRow.isFutureKey, true);
  assert.ok(futureRow.offsetLag > 0, `the future lags: ${JSON.stringify(futureRow)}`);
  await c.close();
  assert.ok(
    (await readdir(other)).some((n) => /^.+-0\.[0-9a-f]{32}-future$/.test(n)),
    'a future log dir in Kafka naming',
  );

  // Restart with the throttle lifted: the move resumes and completes.
  await broker.stop();
  await broker.restart();
  const c2 = await WireClient.connect('127.0.0.1', broker.port);
  cleanups.push(async () => c2.close());
  // The throttle is a dynamic broker config: lifting it (the cluster default) takes effect live.
  const altered = await c2.request<IncrementalAlterConfigsResponse>(
    ApiKey.IncrementalAlterConfigs,
    0,
    {
      resources: [
        {
          resourceType: 4,
          resourceName: '',
          configs: [
            {
              name: 'replica.alter.log.dirs.io.max.bytes.per.second',
              configOperation: 0,
              value: '100000000',
            },
          ],
        },
      ],
      validateOnly: false,
    },
  );
  assert.deepEqual(
    altered.responses.map((r) => r.errorCode),
    [0],
  );
  await waitForPlacement(c2, topic, other, 30_000);
  const { records } = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    lines,
  );
  assert.ok(!existsSync(join(home, `${topic}-0`)), 'the old copy is gone');
});

/**
 * A failed log dir in a 3-broker ZooKeeper cluster (real ZooKeeper started by the test). The
 * brokers run in this process, each on its own fault-injecting file system (FaultFileSystem over
 * node:fs, as test/disk-faults.test.ts) with two log dirs; the producer (confluent-kafka,
 * idempotent, acks=all) and the consumer (kcat) are separate processes. Every write to one log dir
 * of the leader of a partition then fails with EIO: that dir goes offline there, only its
 * partitions go with it (the leader keeps leading the partitions of its other dir), the broker
 * tells the controller (/log_dir_event_notification), and their leadership moves to another
 * broker. Every acknowledged record is then read back once and in order.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { nodeFileSystem } from '../src/common/fs.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { DescribeLogDirsResponse } from '../src/protocol/messages/describe-log-dirs-response.ts';
import {
  kcatConsume,
  pythonReport,
  requireConfluentKafka,
  requireKcat,
  spawnPython,
} from '../src/testing/clients.ts';
import { FaultFileSystem } from '../src/testing/fault-fs.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import { FAST_CLUSTER_CONFIG, until } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let zookeeper: ZooKeeperServer;
let root: string;
const brokers = new Map<number, { broker: InProcessBroker; fs: FaultFileSystem; dirs: string[] }>();

before(async () => {
  requireKcat();
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
  root = await mkdtemp(join(tmpdir(), 'tributary-jbod-cluster-'));
});

after(async () => {
  for (const { broker } of brokers.values()) await broker.stop().catch(() => undefined);
  await zookeeper?.stop();
  await rm(root, { recursive: true, force: true });
});

async function startBroker(id: number, connect: string): Promise<void> {
  const dirs = [join(root, `b${id}`, 'a'), join(root, `b${id}`, 'b')].map((d) => resolve(d));
  const fs = new FaultFileSystem(nodeFileSystem);
  const broker = await InProcessBroker.start({
    fs,
    dataDir: join(root, `b${id}`),
    config: {
      ...FAST_CLUSTER_CONFIG,
      'broker.id': id,
      'zookeeper.connect': connect,
      'log.dirs': dirs.join(','),
    },
  });
  brokers.set(id, { broker, fs, dirs });
}

/** The partitions (of `topic`) in each log dir of broker `id`, and the dirs' error codes. */
async function logDirs(id: number, topic: string) {
  const entry = brokers.get(id);
  assert.ok(entry !== undefined);
  const c = await entry.broker.connect();
  try {
    const res = await c.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 4, {
      topics: null,
    });
    return res.results.map((r) => ({
      dir: r.logDir,
      errorCode: r.errorCode,
      partitions: r.topics
        .filter((t) => t.name === topic)
        .flatMap((t) => t.partitions.map((p) => p.partitionIndex))
        .sort(),
    }));
  } finally {
    await c.close();
  }
}

interface Leadership {
  readonly leader: number;
  readonly isr: readonly number[];
}

/** Each partition's leader and ISR, as broker `id`'s metadata cache has them. */
function leadership(id: number, topic: string, partitions: number): Leadership[] {
  const cache = brokers.get(id)?.broker.broker.context.metadata;
  const out: Leadership[] = [];
  for (let p = 0; p < partitions; p++) {
    const s = cache?.partition(topic, p);
    out.push({ leader: s?.leader ?? -1, isr: [...(s?.isr ?? [])] });
  }
  return out;
}

test('a failed log dir on a leader takes only its partitions offline there; their leadership moves, nothing acknowledged is lost', async (t) => {
  const connect = await zookeeper.freshChroot();
  for (const id of [1, 2, 3]) await startBroker(id, connect);
  const first = brokers.get(1)?.broker as InProcessBroker;
  const bootstrap = [...brokers.values()].map((b) => b.broker.bootstrap).join(',');
  const topic = 'jbod-failover';
  const partitions = 4;
  await first.createTopic(topic, partitions, { 'min.insync.replicas': '2' });
  await until('every partition led with a full ISR', () => {
    const l = leadership(1, topic, partitions);
    return l.every((x) => x.leader > 0 && x.isr.length === 3) ? l : undefined;
  });

  // The victim: the leader of partition 0, and the log dir holding it there.
  const before = leadership(1, topic, partitions);
  const victim = before[0]?.leader as number;
  // The controller's view can be ahead of the victim's disks: wait until the victim
  // has created its replica of every partition (replication 3 on 3 brokers).
  const placed = await until('the victim holding every partition', async () => {
    const dirs = await logDirs(victim, topic);
    const held = dirs.reduce((n, d) => n + d.partitions.length, 0);
    return held === partitions ? dirs : undefined;
  });
  const failing = placed.find((d) => d.partitions.includes(0));
  const surviving = placed.find((d) => d !== failing);
  assert.ok(failing !== undefined && surviving !== undefined);
  t.diagnostic(`broker ${victim}: ${JSON.stringify(placed)}`);

  const stopFile = join(root, 'stop');
  const producer = spawnPython('steady_producer.py', [bootstrap, topic, stopFile, '0'], {
    timeoutMs: 120_000,
  });
  const acks = () => producer.lines.filter((l) => l.startsWith('ack ')).length;
  try {
    await producer.waitFor(() => acks() >= 2000, 30_000);
    const victimFs = brokers.get(victim)?.fs as FaultFileSystem;
    victimFs.addFault({
      ops: ['write', 'fdatasync'],
      path: `${failing.dir}/`,
      kind: 'EIO',
      times: Number.POSITIVE_INFINITY,
    });
    // Partition 0 gets a new leader, without the victim in its ISR.
    const moved = await until(
      'partition 0 led elsewhere',
      () => {
        const l = leadership(1, topic, partitions)[0];
        return l !== undefined && l.leader > 0 && l.leader !== victim && !l.isr.includes(victim)
          ? l
          : undefined;
      },
      30_000,
    );
    t.diagnostic(`partition 0: leader ${victim} -> ${moved.leader}, isr ${moved.isr}`);
    const acked = acks();
    await producer.waitFor(() => acks() >= acked + 1000, 30_000);
  } finally {
    await writeFile(stopFile, '');
  }
  const report = pythonReport<{ produced: number; acked: number; errors: string[] }>(
    await producer.done,
  );
  t.diagnostic(`produced ${report.produced}, acked ${report.acked}`);
  assert.deepEqual(report.errors, []);
  assert.equal(report.acked, report.produced);

  // Only the failed dir's partitions went offline on the victim: the dir reports
  // KAFKA_STORAGE_ERROR; the partitions of its other dir are still served there.
  const after = await logDirs(victim, topic);
  assert.equal(after.find((d) => d.dir === failing.dir)?.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  assert.deepEqual(
    after.find((d) => d.dir === surviving.dir),
    { ...surviving, errorCode: 0 },
  );
  const now = leadership(1, topic, partitions);
  for (let p = 0; p < partitions; p++) {
    const onFailed = failing.partitions.includes(p);
    const state = now[p] as Leadership;
    if (onFailed) {
      assert.ok(state.leader !== victim && !state.isr.includes(victim), `p${p}: ${state.leader}`);
    } else if (before[p]?.leader === victim) {
      assert.equal(state.leader, victim, `p${p} stays led by ${victim}`);
    }
  }

  // Every acknowledged record once, in order, at its offset.
  const ackedAt = new Map<number, number>();
  for (const line of producer.lines) {
    const m = /^ack 0 (\d+) (\d+)$/.exec(line);
    if (m !== null) ackedAt.set(Number(m[2]), Number(m[1]));
  }
  const { records } = await kcatConsume(bootstrap, topic, { partition: 0, timeoutMs: 60_000 });
  let previous = -1;
  const seen = new Set<number>();
  for (const r of records) {
    const i = Number(r.value?.subarray(4, 12).toString());
    assert.ok(!seen.has(i), `record ${i} twice`);
    assert.ok(i > previous, `record ${i} after ${previous}`);
    seen.add(i);
    previous = i;
    if (ackedAt.has(i)) assert.equal(ackedAt.get(i), r.offset, `record ${i} at its offset`);
  }
  for (const i of ackedAt.keys()) assert.ok(seen.has(i), `acknowledged record ${i} is there`);
  assert.equal(records.length, report.produced);
});

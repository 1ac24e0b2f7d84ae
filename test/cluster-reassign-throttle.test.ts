/**
 * Throttled and cancelled reassignments on a real cluster (a real ZooKeeper, broker processes
 * whose leader.replication.throttled.rate and follower.replication.throttled.rate are 1 MB/s):
 * a new replica of a partition holding 6 MB, listed in the topic's throttled-replicas configs,
 * catches up no faster than the rate allows while ListPartitionReassignments shows it being added;
 * a second one is cancelled half-way, which puts the old assignment back and deletes the
 * half-copied replica. kcat reads every record back afterwards.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, type RunOptions, run } from '../src/testing/broker-process.ts';
import { kcatConsume, kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'heavy';
const RATE = 1_000_000;
const RECORDS = 6_000;
const RECORD_BYTES = 1_000;
const MAIN = new URL('../src/main.js', import.meta.url).href;
const CLI = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let scratch: string;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', CLI, ...args], {
    timeoutMs: 120_000,
    ...options,
  });
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await tributary([...args, '--bootstrap-server', cluster.bootstrap]);
  assert.equal(r.code, 0, `tributary ${args.join(' ')}\n${describeRun(r)}\n${cluster.describe()}`);
  return r.stdout.toString();
}

before(async () => {
  requireKcat();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3, {
    'leader.replication.throttled.rate': String(RATE),
    'follower.replication.throttled.rate': String(RATE),
    // Two one-second samples: the rate is judged over at least a second, not over ten.
    'replication.quota.window.num': '2',
  });
  scratch = await mkdtemp(join(tmpdir(), 'tributary-throttle-'));
  await until('three brokers in the metadata', async () =>
    (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
  );
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function fill(partition: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < RECORDS; i++) lines.push(`${partition}:${i}:`.padEnd(RECORD_BYTES, 'x'));
  await kcatProduce(cluster.bootstrap, TOPIC, `${lines.join('\n')}\n`, {
    partition,
    timeoutMs: 60_000,
    extra: ['-X', 'linger.ms=20'],
  });
}

/** The partition's replicas as the brokers agree on them (each running broker's metadata). */
async function replicasOf(partition: number): Promise<number[]> {
  return until(`one view of ${TOPIC}-${partition}`, async () => {
    const views = await Promise.all(
      cluster.runningIds.map((id) => cluster.partition(id, TOPIC, partition)),
    );
    const first = views[0]?.replicas.join(',');
    return views.every((v) => v?.replicas.join(',') === first) ? views[0]?.replicas : undefined;
  });
}

async function planFor(partition: number, replicas: readonly number[]): Promise<string> {
  const file = join(scratch, `plan-${partition}-${replicas.join('-')}.json`);
  await writeFile(
    file,
    JSON.stringify({ version: 1, partitions: [{ topic: TOPIC, partition, replicas }] }),
  );
  return file;
}

describe('replication throttles and cancellation', () => {
  it('a throttled reassignment keeps to its rate; a cancelled one restores the old replicas', {
    timeout: 240_000,
  }, async (t) => {
    await cluster.createTopic(TOPIC, 2, 1);
    await fill(0);
    await fill(1);
    const [leader0] = await replicasOf(0);
    const [leader1] = await replicasOf(1);
    const added0 = cluster.runningIds.find((id) => id !== leader0) as number;
    const added1 = cluster.runningIds.find((id) => id !== leader1) as number;
    // Kafka's tool lists the existing replicas as leader-throttled and the new ones as
    // follower-throttled; the brokers' rates do the rest.
    await ok([
      'configs',
      'alter',
      '--topic',
      TOPIC,
      '--add-config',
      `leader.replication.throttled.replicas=[0:${leader0},1:${leader1}],follower.replication.throttled.replicas=[0:${added0},1:${added1}]`,
    ]);

    // A throttled copy of 6 MB.
    const grow = await planFor(0, [leader0 as number, added0]);
    const started = Date.now();
    await ok(['reassign', 'execute', '--plan', grow]);
    const listed = JSON.parse(await ok(['reassign', 'list', '--json'])) as {
      partition: number;
      adding: number[];
    }[];
    assert.deepEqual(
      listed.map((r) => [r.partition, r.adding]),
      [[0, [added0]]],
      'the reassignment is listed while it runs',
    );
    await ok(['reassign', 'verify', '--plan', grow, '--wait']);
    const seconds = (Date.now() - started) / 1000;
    const bytes = RECORDS * RECORD_BYTES;
    const rate = bytes / seconds;
    t.diagnostic(
      `${bytes} bytes copied in ${seconds.toFixed(1)} s: ${Math.round(rate)} B/s (limit ${RATE})`,
    );
    // The first second may take a full second's worth before the rate is judged; beyond that
    // the copy cannot go faster than the limit.
    assert.ok(
      rate <= RATE * 1.25,
      `copied at ${Math.round(rate)} B/s, above the ${RATE} B/s throttle`,
    );
    assert.deepEqual(await replicasOf(0), [leader0, added0]);

    // verify removed the plan's throttles once it completed (as Kafka's tool does): they are
    // set again for a second move, cancelled half-way.
    const left = await ok(['configs', 'describe', '--topic', TOPIC]);
    assert.doesNotMatch(left, /replication\.throttled\.replicas/, 'the throttles were cleared');
    await ok([
      'configs',
      'alter',
      '--topic',
      TOPIC,
      '--add-config',
      `leader.replication.throttled.replicas=[1:${leader1}],follower.replication.throttled.replicas=[1:${added1}]`,
    ]);
    const move = await planFor(1, [leader1 as number, added1]);
    await ok(['reassign', 'execute', '--plan', move]);
    await sleep(2_000);
    const inProgress = await tributary([
      'reassign',
      'verify',
      '--plan',
      move,
      '--bootstrap-server',
      cluster.bootstrap,
    ]);
    assert.equal(inProgress.code, 1, describeRun(inProgress));
    assert.match(inProgress.stdout.toString(), /still in progress/);
    const cancelled = await ok(['reassign', 'cancel', '--plan', move]);
    assert.match(cancelled, /Successfully cancelled partition reassignments for heavy-1/);
    assert.deepEqual(await replicasOf(1), [leader1], 'the old assignment is back');
    assert.equal((await ok(['reassign', 'list', '--json'])).trim(), '[]');
    const dir = cluster.broker(added1).dataDir;
    await until(`the half-copied replica on broker ${added1} deleted`, async () => {
      const names = await readdir(dir).catch(() => [] as string[]);
      return names.some((n) => n === `${TOPIC}-1`) ? undefined : true;
    });

    // Every record of both partitions is there, once, in order.
    const log = await kcatConsume(cluster.bootstrap, TOPIC, { timeoutMs: 60_000 });
    for (const partition of [0, 1]) {
      const values = log.records
        .filter((r) => r.partition === partition)
        .map((r) => Number(r.value?.toString().split(':')[1]));
      assert.equal(values.length, RECORDS, `partition ${partition} has every record`);
      assert.ok(
        values.every((v, i) => v === i),
        `partition ${partition} in order`,
      );
    }
  });
});

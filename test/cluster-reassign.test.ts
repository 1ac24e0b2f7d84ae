/**
 * Scaling out and in on a real cluster (a real ZooKeeper, broker processes): a fourth broker joins
 * a 3-broker cluster; `tributary reassign generate` and `execute` spread a 12-partition RF 3 topic
 * over the four while an idempotent acks=all confluent-kafka producer and a group of two
 * confluent-kafka members run; `verify --wait` reports completion; then `tributary brokers drain`
 * moves every replica off broker 1. Throughout, no acknowledged record is lost or read out of
 * order, no client sees a non-retriable error, and the replicas hold the same bytes.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { decodeTopicAssignment, encodeReassignment } from '../src/cluster/zk-layout.ts';
import {
  ChildRun,
  describeRun,
  type RunOptions,
  repoRoot,
  run,
} from '../src/testing/broker-process.ts';
import { kcatConsume, PYTHON, requireConfluentKafka, requireKcat } from '../src/testing/clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'spread';
const GROUP = 'spread-group';
const PARTITIONS = 12;
const RATE = 150;
const SCRIPT = join(repoRoot(), 'test', 'fixtures', 'cluster', 'steady_clients.py');
const MAIN = new URL('../src/main.js', import.meta.url).href;
const CLI = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

interface ClientEvent {
  readonly ev: string;
  readonly i?: number;
  readonly p?: number;
  readonly o?: number;
  readonly err?: string | null;
  readonly error?: string;
  readonly retriable?: boolean;
  readonly sent?: number;
  readonly unflushed?: number;
}

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let scratch: string;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', CLI, ...args], {
    timeoutMs: 120_000,
    ...options,
  });
}

async function ok(args: readonly string[]) {
  const r = await tributary([...args, '--bootstrap-server', cluster.bootstrap]);
  assert.equal(r.code, 0, `tributary ${args.join(' ')}\n${describeRun(r)}\n${cluster.describe()}`);
  return r.stdout.toString();
}

function events(child: ChildRun): ClientEvent[] {
  return child.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ClientEvent);
}

before(async () => {
  requireKcat();
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3);
  scratch = await mkdtemp(join(tmpdir(), 'tributary-reassign-'));
  await until('three brokers in the metadata', async () =>
    (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
  );
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** Each partition's replicas, as broker `id` answers. */
async function replicasOf(id: number): Promise<Map<number, number[]>> {
  const md = await cluster.metadata(id, TOPIC);
  const t = md.topics.find((x) => x.topic === TOPIC);
  return new Map((t?.partitions ?? []).map((p) => [p.partition, p.replicas.map((r) => r.id)]));
}

describe('reassignment while clients run', () => {
  it('spreads a topic onto a new broker, then drains one, losing nothing', {
    timeout: 300_000,
  }, async (t) => {
    await cluster.createTopic(TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' });
    await cluster.waitForIsr(TOPIC, 3);

    const producerStop = join(scratch, 'stop-producer');
    const membersStop = join(scratch, 'stop-members');
    const producer = new ChildRun(
      PYTHON,
      [
        '-u',
        SCRIPT,
        'producer',
        cluster.bootstrap,
        TOPIC,
        String(PARTITIONS),
        String(RATE),
        producerStop,
      ],
      { timeoutMs: 280_000 },
    );
    const members = ['m1', 'm2'].map(
      (name) =>
        new ChildRun(
          PYTHON,
          ['-u', SCRIPT, 'member', cluster.bootstrap, TOPIC, GROUP, name, membersStop],
          {
            timeoutMs: 280_000,
          },
        ),
    );
    const clients = [producer, ...members];
    const everything = () =>
      `${clients.map((c) => `${c.command}\n${c.lines.slice(-8).join('\n')}\nstderr: ${c.stderr.slice(-1500)}`).join('\n')}\n${cluster.describe()}`;
    const deliveries = () => events(producer).filter((e) => e.ev === 'delivery');
    try {
      await until(
        'the producer acknowledging and the members reading',
        () =>
          deliveries().length >= RATE &&
          members.every((m) => events(m).some((e) => e.ev === 'record'))
            ? true
            : undefined,
        60_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });

      // A fourth broker joins; the plan spreads the topic over all four.
      await cluster.startBroker(4);
      await until('four brokers in the metadata', async () =>
        (await cluster.metadata(1)).brokers.length === 4 ? true : undefined,
      );
      const planFile = join(scratch, 'spread.json');
      const generated = await ok([
        'reassign',
        'generate',
        '--topics',
        TOPIC,
        '--brokers',
        '1,2,3,4',
        '--output',
        planFile,
      ]);
      assert.match(generated, /^Proposed partition reassignment configuration$/m);
      const plan = JSON.parse(await readFile(planFile, 'utf8')) as {
        partitions: { topic: string; partition: number; replicas: number[] }[];
      };
      assert.equal(plan.partitions.length, PARTITIONS);
      const perBroker = new Map<number, number>();
      for (const p of plan.partitions)
        for (const r of p.replicas) perBroker.set(r, (perBroker.get(r) ?? 0) + 1);
      assert.deepEqual([...perBroker.values()], [9, 9, 9, 9], 'the plan is balanced');

      const executed = await ok(['reassign', 'execute', '--plan', planFile]);
      assert.match(executed, /Successfully started partition reassignments for /);
      const verified = await ok(['reassign', 'verify', '--plan', planFile, '--wait']);
      assert.doesNotMatch(verified, /in progress|rather than/);
      t.diagnostic(`after the spread: ${JSON.stringify([...(await replicasOf(4))])}`);
      for (const id of cluster.runningIds) {
        const now = await replicasOf(id);
        for (const p of plan.partitions)
          assert.deepEqual(
            now.get(p.partition),
            p.replicas,
            `broker ${id} sees partition ${p.partition} moved`,
          );
      }
      assert.equal((await ok(['reassign', 'list', '--json'])).trim(), '[]');
      await cluster.waitForIsr(TOPIC, 3);

      // Drain broker 1: a plan that leaves it without replicas.
      const drainFile = join(scratch, 'drain.json');
      await ok(['brokers', 'drain', '1', '--output', drainFile, '--execute']);
      await ok(['reassign', 'verify', '--plan', drainFile, '--wait']);
      // verify asked one broker; the others' metadata follows the controller's UpdateMetadata.
      for (const id of cluster.runningIds) {
        await until(
          `broker ${id} to see nothing left on broker 1`,
          async () =>
            [...(await replicasOf(id))].every(([, r]) => !r.includes(1)) ? true : undefined,
          10_000,
        );
      }
      await cluster.waitForIsr(TOPIC, 3);
      const sentBefore = deliveries().length;
      await until(
        'more acknowledgements after the drain',
        () => (deliveries().length > sentBefore + RATE ? true : undefined),
        30_000,
      );

      // Stop the producer, then let the members read everything.
      await writeFile(producerStop, '');
      await until(
        'the producer flushed',
        () => (events(producer).some((e) => e.ev === 'done') ? true : undefined),
        60_000,
      );
      const acked = deliveries()
        .filter((e) => e.err === null)
        .map((e) => e.i as number);
      const failed = deliveries().filter((e) => e.err !== null);
      assert.deepEqual(failed.slice(0, 5), [], `no delivery failed\n${everything()}`);
      const done = events(producer).find((e) => e.ev === 'done');
      assert.equal(done?.unflushed, 0);
      const wanted = new Set(acked);
      await until(
        'the group read every acknowledged record',
        () => {
          const read = new Set(
            members.flatMap((m) =>
              events(m)
                .filter((e) => e.ev === 'record')
                .map((e) => e.i as number),
            ),
          );
          return [...wanted].every((i) => read.has(i)) ? true : undefined;
        },
        90_000,
      ).catch((err: unknown) => {
        const read = new Set(
          members.flatMap((m) =>
            events(m)
              .filter((e) => e.ev === 'record')
              .map((e) => e.i as number),
          ),
        );
        const missing = [...wanted].filter((i) => !read.has(i));
        throw new Error(
          `${String(err)}: ${missing.length} missing, e.g. ${missing.slice(0, 10)}\n${everything()}`,
        );
      });
      // The log itself: per partition every acknowledged record once, in the order sent.
      const log = await kcatConsume(cluster.bootstrap, TOPIC, { timeoutMs: 60_000 });
      const byPartition = new Map<number, number[]>();
      for (const r of log.records) {
        const list = byPartition.get(r.partition) ?? [];
        list.push(Number(r.value?.toString()));
        byPartition.set(r.partition, list);
      }
      for (const [p, values] of byPartition) {
        for (let k = 1; k < values.length; k++) {
          assert.ok(
            (values[k] as number) > (values[k - 1] as number),
            `partition ${p} in order, once: ${values.slice(Math.max(0, k - 3), k + 3)}`,
          );
        }
      }
      const inLog = new Set([...byPartition.values()].flat());
      assert.deepEqual(
        acked.filter((i) => !inLog.has(i)),
        [],
        'every acknowledged record is in the log',
      );
      const errors = members.flatMap((m) =>
        events(m).filter((e) => e.ev === 'consume-error' && e.retriable !== true),
      );
      assert.deepEqual(errors, [], 'no member saw a non-retriable error');
      t.diagnostic(`${acked.length} records acknowledged, all read`);
      await writeFile(membersStop, '');
      await Promise.all(members.map((m) => m.done));
      await producer.done;
    } finally {
      await writeFile(producerStop, '').catch(() => undefined);
      await writeFile(membersStop, '').catch(() => undefined);
      for (const c of clients) c.kill();
    }
  });
});

describe('a reassignment asked in /admin/reassign_partitions (ZooKeeper-era tools)', () => {
  it('is carried out, survives a controller failover half-way, and its znode goes', {
    timeout: 180_000,
  }, async () => {
    const legacy = 'legacy';
    await cluster.createTopic(legacy, 1, 2);
    await cluster.waitForIsr(legacy, 2);
    const before = await cluster.ledPartition(legacy, 0);
    const absent = cluster.runningIds.find((id) => !before.replicas.includes(id)) as number;
    // The broker being added is down: the reassignment waits for it (Kafka does not check the
    // liveness of what the znode asks for).
    await cluster.broker(absent).stop();
    const session = await ZooKeeperClient.connect({
      connectString: cluster.connect,
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 5_000,
    });
    try {
      const target = [...before.replicas, absent];
      await session.create(
        '/admin/reassign_partitions',
        encodeReassignment([{ topic: legacy, partition: 0, replicas: target }]),
        'persistent',
      );
      const assignment = async () =>
        decodeTopicAssignment(legacy, (await session.getData(`/brokers/topics/${legacy}`)).data);
      await until('adding_replicas recorded in the topic znode', async () =>
        (await assignment()).addingReplicas.get(0)?.join(',') === String(absent) ? true : undefined,
      );
      // The controller dies half-way; its successor resumes from ZooKeeper.
      const md = await cluster.metadata(before.leader);
      const controller = md.controllerid as number;
      if (controller !== absent && cluster.broker(controller).running) {
        await cluster.broker(controller).kill();
        await cluster.broker(controller).restart();
      }
      await cluster.broker(absent).restart();
      await until(
        'the reassignment done and its znode gone',
        async () => {
          const a = await assignment();
          const stat = await session.exists('/admin/reassign_partitions');
          return stat === null &&
            a.addingReplicas.size === 0 &&
            a.partitions[0]?.join(',') === target.join(',')
            ? true
            : undefined;
        },
        60_000,
      );
      await cluster.waitForIsr(legacy, 3);
    } finally {
      await session.close();
    }
  });
});

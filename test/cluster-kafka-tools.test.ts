/**
 * Kafka 3.9's own cluster tools against a 3-broker Tributary cluster (a real ZooKeeper): a fourth
 * broker joins, kafka-reassign-partitions --generate proposes a plan over the four,
 * --execute (with --throttle) starts it, --verify waits for it and clears the throttles, and
 * kafka-leader-election gives every partition back to its preferred replica. kafka-topics
 * --describe shows the result as Tributary's own CLI does.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'tooled';

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let scratch: string;

before(async () => {
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3);
  scratch = await mkdtemp(join(tmpdir(), 'tributary-cluster-tools-'));
  await until('three brokers in the metadata', async () =>
    (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
  );
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const b = () => ['--bootstrap-server', cluster.bootstrap];

describe('Kafka 3.9 cluster tools against a Tributary cluster', () => {
  it('kafka-reassign-partitions generate, execute --throttle, verify; kafka-leader-election', {
    timeout: 240_000,
  }, async (t) => {
    await kafkaTool('topics', [
      ...b(),
      '--create',
      '--topic',
      TOPIC,
      '--partitions',
      '6',
      '--replication-factor',
      '2',
    ]);
    await cluster.waitForIsr(TOPIC, 2);
    await cluster.startBroker(4);
    await until('four brokers', async () =>
      (await cluster.metadata(1)).brokers.length === 4 ? true : undefined,
    );
    const topicsFile = join(scratch, 'topics.json');
    await writeFile(topicsFile, JSON.stringify({ version: 1, topics: [{ topic: TOPIC }] }));
    const generated = await kafkaTool('reassignPartitions', [
      ...b(),
      '--generate',
      '--topics-to-move-json-file',
      topicsFile,
      '--broker-list',
      '1,2,3,4',
    ]);
    const proposed = generated.split('Proposed partition reassignment configuration')[1]?.trim();
    assert.ok(proposed !== undefined, generated);
    const plan = JSON.parse(proposed) as { partitions: { replicas: number[] }[] };
    assert.equal(plan.partitions.length, 6);
    assert.ok(
      plan.partitions.some((p) => p.replicas.includes(4)),
      'the plan uses broker 4',
    );
    const planFile = join(scratch, 'plan.json');
    await writeFile(planFile, proposed);

    const executed = await kafkaTool('reassignPartitions', [
      ...b(),
      '--execute',
      '--reassignment-json-file',
      planFile,
      '--throttle',
      '10000000',
    ]);
    t.diagnostic(executed.trim().split('\n').at(-1) ?? '');
    assert.match(executed, /Successfully started partition reassignments? for/);
    let verified = '';
    await until(
      'kafka-reassign-partitions --verify reports completion',
      async () => {
        verified = await kafkaTool('reassignPartitions', [
          ...b(),
          '--verify',
          '--reassignment-json-file',
          planFile,
        ]);
        return /still in progress/.test(verified) ? undefined : true;
      },
      60_000,
    );
    assert.doesNotMatch(verified, /rather than|failed/i, verified);
    assert.match(verified, /Clearing broker-level throttles on brokers/);
    assert.match(verified, /Clearing topic-level throttles on topic tooled/);

    const described = await kafkaTool('topics', [...b(), '--describe', '--topic', TOPIC]);
    for (const [partition, p] of plan.partitions.entries()) {
      assert.match(
        described,
        new RegExp(
          `Partition: ${partition}\\s+Leader: \\d+\\s+Replicas: ${p.replicas.join(',')}\\s`,
        ),
        described,
      );
    }

    // Preferred leaders everywhere (some may already lead: those need no election).
    await sleep(500);
    const elected = await kafkaTool('leaderElection', [
      ...b(),
      '--election-type',
      'preferred',
      '--all-topic-partitions',
    ]);
    // With every leader preferred already (the controller's auto rebalance may have been first)
    // Kafka's tool prints nothing, as against Kafka (ElectLeaders of all partitions lists only
    // those elected); what counts is where the leaders are after it.
    assert.doesNotMatch(elected, /Error|failed/i, elected);
    const after = await kafkaTool('topics', [...b(), '--describe', '--topic', TOPIC]);
    for (const [partition, p] of plan.partitions.entries()) {
      assert.match(
        after,
        new RegExp(`Partition: ${partition}\\s+Leader: ${p.replicas[0]}\\s`),
        after,
      );
    }
  });
});

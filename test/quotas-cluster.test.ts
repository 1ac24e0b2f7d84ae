/**
 * Client quotas in a 2-broker cluster on a real ZooKeeper: a quota set with Kafka 3.9's
 * kafka-configs through broker 1 lands in Kafka's znode (/config/clients/<client-id>) with a
 * version 2 /config/changes notification, and broker 2, which leads the topic, throttles a
 * confluent-kafka producer by it without a restart; broker 2 describes it; removed through
 * broker 2, broker 1 no longer describes it and the producer runs free. A user's quota and its
 * SCRAM credentials share its znode.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { pythonReport, requireConfluentKafka, spawnPython } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'quoted';
const QUOTA = 100_000;

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let session: ZooKeeperClient;

interface Report {
  bytes: number;
  seconds: number;
  throttles: number;
}

async function produce(clientId: string, seconds: number): Promise<Report> {
  const args = [
    'produce',
    cluster.broker(2).bootstrap,
    TOPIC,
    clientId,
    String(seconds),
    '1000',
    '0',
  ];
  const child = spawnPython('quota_client.py', args, { timeoutMs: 120_000 });
  return pythonReport<Report>(await child.done);
}

async function znode(path: string): Promise<unknown> {
  return JSON.parse((await session.getData(path)).data.toString('utf8'));
}

/** quota.window.num of the brokers (samples of 1 s). */
const WINDOW = 4;

const via = (id: number) => ['--bootstrap-server', cluster.broker(id).bootstrap];
const entity = ['--entity-type', 'clients', '--entity-name', 'capped'];

before(async () => {
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 2, {
    'offsets.topic.replication.factor': '2',
    'default.replication.factor': '1',
    // Quota windows of 4 samples of 1 s (Kafka's default is 11): the same rule in less time.
    'quota.window.num': String(WINDOW),
  });
  await until('two brokers in the metadata', async () =>
    (await cluster.metadata(1)).brokers.length === 2 ? true : undefined,
  );
  session = await ZooKeeperClient.connect({
    connectString: cluster.connect,
    sessionTimeoutMs: 10_000,
    connectionTimeoutMs: 5_000,
  });
  await kafkaTool('topics', [...via(1), '--create', '--topic', TOPIC, '--replica-assignment', '2']);
  await until('the topic led by broker 2', async () =>
    (await cluster.partition(2, TOPIC, 0))?.leader === 2 ? true : undefined,
  );
});

after(async () => {
  await session?.close();
  await cluster?.stop();
  await zookeeper?.stop();
});

describe('client quotas in a ZooKeeper cluster', () => {
  it('a quota set through broker 1 throttles on broker 2; removed through broker 2, it is gone', {
    timeout: 180_000,
  }, async () => {
    await kafkaTool('configs', [
      ...via(1),
      '--alter',
      '--add-config',
      `producer_byte_rate=${QUOTA}`,
      ...entity,
    ]);
    assert.deepEqual(await znode('/config/clients/capped'), {
      version: 1,
      config: { producer_byte_rate: String(QUOTA) },
    });
    const changes = (await session.getChildren('/config/changes')).sort();
    assert.deepEqual(await znode(`/config/changes/${changes[changes.length - 1]}`), {
      version: 2,
      entity_path: 'clients/capped',
    });
    const described = await kafkaTool('configs', [...via(2), '--describe', ...entity]);
    assert.match(described, new RegExp(`client-id 'capped' are producer_byte_rate=${QUOTA}\\.0`));
    const capped = await produce('capped', 2 * WINDOW);
    assert.ok(capped.throttles > 0, `broker 2 did not throttle: ${JSON.stringify(capped)}`);
    // Two windows' worth at most (a first burst may take a whole window at once).
    assert.ok(capped.bytes / capped.seconds < 1.6 * QUOTA, JSON.stringify(capped));

    await kafkaTool('configs', [
      ...via(2),
      '--alter',
      '--delete-config',
      'producer_byte_rate',
      ...entity,
    ]);
    const gone = await kafkaTool('configs', [...via(1), '--describe', ...entity]);
    assert.doesNotMatch(gone, /producer_byte_rate/);
    await until(
      'broker 2 no longer throttles',
      async () => {
        const free = await produce('capped', 4);
        return free.throttles === 0 && free.bytes / free.seconds > 3 * QUOTA ? true : undefined;
      },
      30_000,
    );
  });

  it("a user's quota and SCRAM credentials share /config/users/<user>", async () => {
    await kafkaTool('configs', [
      ...via(1),
      '--alter',
      '--add-config',
      'SCRAM-SHA-256=[iterations=4096,password=pw]',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
    await kafkaTool('configs', [
      ...via(2),
      '--alter',
      '--add-config',
      'consumer_byte_rate=5000',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
    const data = (await znode('/config/users/bob')) as { config: Record<string, string> };
    assert.equal(data.config['consumer_byte_rate'], '5000');
    assert.match(data.config['SCRAM-SHA-256'] ?? '', /iterations=4096/);
    const users = await kafkaTool('configs', [
      ...via(1),
      '--describe',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
    assert.match(users, /Quota configs for user-principal 'bob' are consumer_byte_rate=5000\.0/);
    assert.match(
      users,
      /SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-256=iterations=4096/,
    );
  });
});

/**
 * Apache Kafka 3.9 reads the cluster Tributary writes into a real ZooKeeper: ZkStore registers a
 * broker, wins the controller election, creates a topic with configs and partition states,
 * changes the ISR and a config, allocates producer ids and marks a topic for deletion; then
 * test/java/src/ZkClusterRead.java, with Kafka's own KafkaZkClient (what its brokers, controller
 * and ZooKeeper-era tools use), must see exactly that.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Coordination } from '../src/cluster/coordination.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { ZkStore } from '../src/cluster/zk-store.ts';
import type { TopicId } from '../src/common/ids.ts';
import { describeRun } from '../src/testing/broker-process.ts';
import { javaSource, KAFKA_3, runJava } from '../src/testing/reference-clients.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let server: ZooKeeperServer;
let session: Coordination | undefined;

before(async () => {
  server = await ZooKeeperServer.start();
});

after(async () => {
  await session?.close();
  await server?.stop();
});

const TOPIC_ID = 'ZOLr9CLNQjSW70hyIHx6BQ' as TopicId;

async function writeCluster(connectString: string): Promise<void> {
  session = await ZooKeeperClient.connect({
    connectString,
    sessionTimeoutMs: 10_000,
    connectionTimeoutMs: 5_000,
  });
  const store = await ZkStore.open({ coordination: session, registrationWaitMs: 1_000 });
  await store.clusterId('Sfr7YvlkRHSHrmSrwq9mug');
  await store.registerBroker({
    id: 1,
    rack: 'rack-a',
    endpoints: [
      { listenerName: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
      { listenerName: 'REPLICATION', host: '127.0.0.1', port: 9093 },
    ],
  });
  const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
  const assignment = [
    [1, 2],
    [2, 1],
  ];
  await store.createTopic('orders', TOPIC_ID, assignment, new Map([['retention.ms', '1000']]));
  const states = new Map([
    [0, { leader: 1, leaderEpoch: 0, isr: [1, 2], controllerEpoch: 1 }],
    [1, { leader: 2, leaderEpoch: 0, isr: [2, 1], controllerEpoch: 1 }],
  ]);
  await store.createPartitionStates('orders', states, fence);
  await store.proposeIsr(
    'orders',
    0,
    { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: 1 },
    0,
  );
  await store.setTopicConfigs('orders', new Map([['cleanup.policy', 'compact']]));
  await store.createTopic('old', 'AAAAAAAAAAAAAAAAAAAAAg' as TopicId, [[1]], new Map());
  await store.markTopicForDeletion('old');
}

test('Kafka 3.9 reads what ZkStore wrote, through its own ZooKeeper client', async () => {
  const connectString = await server.freshChroot();
  await writeCluster(connectString);
  const r = await runJava(KAFKA_3, javaSource('ZkClusterRead.java'), [connectString, 'orders']);
  assert.equal(r.code, 0, describeRun(r));
  const lines = r.stdout.toString('utf8').trim().split('\n');
  assert.deepEqual(
    lines.filter((l) => !l.startsWith('state ')),
    [
      'cluster_id Sfr7YvlkRHSHrmSrwq9mug',
      'controller 1',
      'controller_epoch 1',
      'broker 1 PLAINTEXT/PLAINTEXT/127.0.0.1:9092,REPLICATION/PLAINTEXT/127.0.0.1:9093 rack=rack-a',
      `topic orders id=${TOPIC_ID} {0=[1, 2], 1=[2, 1]}`,
      'config orders {cleanup.policy=compact}',
      'deletions [old]',
    ],
    describeRun(r),
  );
  assert.deepEqual(
    lines.filter((l) => l.startsWith('state ')).sort(),
    [
      'state orders-0 leader=1 epoch=0 isr=[1] controller_epoch=1 zk_version=1',
      'state orders-1 leader=2 epoch=0 isr=[2, 1] controller_epoch=1 zk_version=0',
    ],
    describeRun(r),
  );
});

/**
 * ZkStore against Debian's real ZooKeeper server (one standalone server for the file, a chroot
 * per test): Kafka's layout as the server stores it, the controller election and its fencing,
 * including the zkVersion 0 case that a multi must send as a real 0, registration across a
 * previous run's session, and the topic, partition-state, config and producer-id flows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrokerIdTakenError } from '../src/cluster/broker-store.ts';
import { ControllerMovedError, type PartitionState } from '../src/cluster/controller-store.ts';
import type { Coordination } from '../src/cluster/coordination.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { ZkPaths } from '../src/cluster/zk-layout.ts';
import { ZkStore } from '../src/cluster/zk-store.ts';
import { newTopicId } from '../src/common/ids.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let server: ZooKeeperServer;
const sessions: Coordination[] = [];

before(async () => {
  server = await ZooKeeperServer.start();
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await server?.stop();
});

async function connect(connectString: string): Promise<Coordination> {
  const session = await ZooKeeperClient.connect({
    connectString,
    sessionTimeoutMs: 4_000,
    connectionTimeoutMs: 5_000,
  });
  sessions.push(session);
  return session;
}

async function store(
  connectString: string,
  registrationWaitMs = 300,
): Promise<{ store: ZkStore; zk: Coordination }> {
  const zk = await connect(connectString);
  return { store: await ZkStore.open({ coordination: zk, registrationWaitMs }), zk };
}

async function json(zk: Coordination, path: string): Promise<unknown> {
  return JSON.parse((await zk.getData(path)).data.toString('utf8'));
}

const ENDPOINTS = [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }];
const state = (leader: number, isr: number[], leaderEpoch = 0): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  controllerEpoch: 1,
});

describe('ZkStore on a real ZooKeeper', () => {
  test('registration and cluster id as Kafka lays them out', async () => {
    const chroot = await server.freshChroot();
    const { store: s, zk } = await store(chroot);
    assert.equal(await s.clusterId('cid'), 'cid');
    const epoch = await s.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    const stat = await zk.exists('/brokers/ids/1');
    assert.equal(stat?.czxid, epoch);
    assert.equal(stat?.ephemeralOwner, zk.sessionId);
    const reg = (await json(zk, '/brokers/ids/1')) as Record<string, unknown>;
    assert.equal(reg['version'], 5);
    assert.equal(reg['host'], '127.0.0.1');
    assert.equal((await s.brokers()).get(1)?.epoch, epoch);
    assert.deepEqual(await json(zk, '/cluster/id'), { version: '1', id: 'cid' });
  });

  test('a live duplicate id is refused; a closed previous run is waited out', async () => {
    const chroot = await server.freshChroot();
    const first = await store(chroot);
    await first.store.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    const second = await store(chroot, 300);
    await assert.rejects(
      second.store.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS }),
      BrokerIdTakenError,
    );
    const third = await store(chroot, 5_000);
    setTimeout(() => void first.zk.close(), 300);
    await third.store.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    assert.equal((await third.zk.exists('/brokers/ids/1'))?.ephemeralOwner, third.zk.sessionId);
  });

  test('election, then a zombie controller is fenced', async () => {
    const chroot = await server.freshChroot();
    const a = await store(chroot);
    const b = await store(chroot);
    await a.store.createTopic('t', newTopicId(), [[1, 2]], new Map());
    const won = await a.store.elect(1, () => {});
    assert.deepEqual(won.won, { epoch: 1, epochZkVersion: 1 });
    assert.deepEqual((await b.store.elect(2, () => {})).controllerId, 1);
    const fence = won.won?.epochZkVersion ?? -1;
    await a.store.createPartitionStates('t', new Map([[0, state(1, [1, 2])]]), fence);
    await b.zk.delete('/controller');
    assert.deepEqual((await b.store.elect(2, () => {})).won, { epoch: 2, epochZkVersion: 2 });
    const update = new Map([[0, { state: state(2, [2], 1), version: 0 }]]);
    await assert.rejects(a.store.updatePartitionStates('t', update, fence), ControllerMovedError);
    assert.equal((await b.store.partitionStates('t', [0])).get(0)?.leader, 1);
    assert.equal(((await json(b.zk, '/controller')) as Record<string, unknown>)['brokerid'], 2);
  });

  test('a fence at zkVersion 0 is a real 0: stale at version 0 is refused', async () => {
    const chroot = await server.freshChroot();
    const { store: s, zk } = await store(chroot);
    await s.createTopic('t', newTopicId(), [[1]], new Map());
    await zk.create(ZkPaths.controllerEpoch, Buffer.from('0'));
    await s.createPartitionStates('t', new Map([[0, state(1, [1])]]), 0);
    await zk.setData(ZkPaths.controllerEpoch, Buffer.from('1'));
    const update = new Map([[0, { state: state(1, [1], 1), version: 0 }]]);
    await assert.rejects(s.updatePartitionStates('t', update, 0), ControllerMovedError);
    assert.equal((await s.partitionStates('t', [0])).get(0)?.leaderEpoch, 0);
  });

  test('topics, states, ISR changes, configs, deletion and producer ids', async () => {
    const chroot = await server.freshChroot();
    const { store: s, zk } = await store(chroot);
    const id = newTopicId();
    await s.createTopic(
      't',
      id,
      [
        [1, 2],
        [2, 1],
      ],
      new Map([['retention.ms', '1']]),
    );
    assert.deepEqual(await s.topic('t'), {
      name: 't',
      topicId: id,
      assignment: [
        [1, 2],
        [2, 1],
      ],
      adding: new Map(),
      removing: new Map(),
    });
    const fence = (await s.elect(1, () => {})).won?.epochZkVersion ?? -1;
    await s.createPartitionStates(
      't',
      new Map([
        [0, state(1, [1, 2])],
        [1, state(2, [2, 1])],
      ]),
      fence,
    );
    assert.deepEqual(await s.proposeIsr('t', 0, state(1, [1]), 0), {
      ...state(1, [1]),
      version: 1,
    });
    assert.deepEqual(
      await s.proposeIsr('t', 0, state(1, [1, 2]), 0),
      { ...state(1, [1]), version: 1 },
      'at a stale version nothing is written; the answer is the state there now',
    );
    assert.deepEqual(await s.isrChanges(), [{ topic: 't', partition: 0 }]);
    const written = await s.updatePartitionStates(
      't',
      new Map([[1, { state: state(1, [1], 1), version: 0 }]]),
      fence,
    );
    assert.deepEqual(written, new Map([[1, 1]]));
    await s.setTopicConfigs('t', new Map([['retention.ms', '2']]));
    assert.deepEqual((await s.configChanges(-1)).topics, ['t']);
    assert.deepEqual(await json(zk, '/config/topics/t'), {
      version: 1,
      config: { 'retention.ms': '2' },
    });
    await s.markTopicForDeletion('t');
    assert.deepEqual(await s.topicsToDelete(), ['t']);
    await s.deleteTopic('t', fence);
    assert.equal(await zk.exists('/brokers/topics/t'), null);
    assert.equal(await zk.exists('/config/topics/t'), null);
    assert.equal(await zk.exists('/admin/delete_topics/t'), null);
    const other = await store(chroot);
    const starts = await Promise.all([
      s.allocateProducerIds(1, 1000),
      other.store.allocateProducerIds(2, 1000),
      s.allocateProducerIds(1, 1000),
      other.store.allocateProducerIds(2, 1000),
    ]);
    assert.deepEqual(
      [...starts].sort((x, y) => x - y),
      [0, 1000, 2000, 3000],
    );
  });

  test('watches: a registration, a new topic, a deletion mark', async () => {
    const chroot = await server.freshChroot();
    const { store: s } = await store(chroot);
    const fired: string[] = [];
    await s.brokers(() => fired.push('brokers'));
    await s.topics(() => fired.push('topics'));
    await s.topicsToDelete(() => fired.push('delete'));
    await s.registerBroker({ id: 3, rack: null, endpoints: ENDPOINTS });
    await s.createTopic('w', newTopicId(), [[3]], new Map());
    await s.markTopicForDeletion('w');
    for (let i = 0; i < 50 && fired.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(fired.sort(), ['brokers', 'delete', 'topics']);
  });
});

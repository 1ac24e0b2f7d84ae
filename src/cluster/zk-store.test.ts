import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { type Clock, systemClock } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import { newTopicId, type TopicId } from '../common/ids.ts';
import { BrokerIdTakenError, TopicExistsError } from './broker-store.ts';
import { ControllerMovedError, type PartitionState } from './controller-store.ts';
import {
  type Coordination,
  CoordinationError,
  type CoordinationErrorCode,
  type CreateMode,
  type Op,
  type OpResult,
  type SessionState,
  type Stat,
  type Watcher,
} from './coordination.ts';
import { MemoryZooKeeper } from './memory-coordination.ts';
import { encodeTopicAssignment, PERSISTENT_PATHS, ZkPaths } from './zk-layout.ts';
import { ZkMetadataStore, ZkStore } from './zk-store.ts';

// -------------------------------------------------------------------------------------------
// The tests run on the project's in-memory coordination (contract-tested against a real ZooKeeper
// server), each session wrapped so that a test can make chosen calls fail: before they reach the
// tree, or after it applied them (an answer lost with the connection). test/zk-store-zookeeper
// runs the same flows on a real server.

/** Coordination calls that fail as the test says, in order, then behave. */
class FaultyCoordination implements Coordination {
  readonly #inner: Coordination;
  /** The next failures; `call` limits one to calls of that name (create, multi, ...). */
  readonly failures: { code: CoordinationErrorCode; afterApplying: boolean; call?: string }[] = [];

  constructor(inner: Coordination) {
    this.#inner = inner;
  }

  get sessionId(): string {
    return this.#inner.sessionId;
  }

  get state(): SessionState {
    return this.#inner.state;
  }

  async #call<T>(name: string, call: () => Promise<T>): Promise<T> {
    const index = this.failures.findIndex((f) => f.call === undefined || f.call === name);
    const failure = index < 0 ? undefined : this.failures.splice(index, 1)[0];
    if (failure === undefined) return call();
    if (failure.afterApplying) await call();
    throw new CoordinationError(failure.code, `injected ${failure.code} on ${name}`);
  }

  create(path: string, data: Buffer, mode?: CreateMode): Promise<string> {
    return this.#call('create', () => this.#inner.create(path, data, mode));
  }

  delete(path: string, version?: number): Promise<void> {
    return this.#call('delete', () => this.#inner.delete(path, version));
  }

  exists(path: string, watch?: Watcher): Promise<Stat | null> {
    return this.#call('exists', () => this.#inner.exists(path, watch));
  }

  getData(path: string, watch?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    return this.#call('getData', () => this.#inner.getData(path, watch));
  }

  setData(path: string, data: Buffer, version?: number): Promise<Stat> {
    return this.#call('setData', () => this.#inner.setData(path, data, version));
  }

  getChildren(path: string, watch?: Watcher): Promise<string[]> {
    return this.#call('getChildren', () => this.#inner.getChildren(path, watch));
  }

  multi(ops: readonly Op[]): Promise<OpResult[]> {
    return this.#call('multi', () => this.#inner.multi(ops));
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    return this.#inner.onStateChange(listener);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** An in-memory ZooKeeper with a wall clock the test can move (znodes' ctime follows it). */
class TestZooKeeper {
  #wallOffsetMs = 0;
  readonly clock: Clock = {
    ...systemClock,
    nowMs: () => systemClock.nowMs() + this.#wallOffsetMs,
    // Kept referenced: the system clock's timers do not keep a test's event loop alive.
    schedule: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(timer) };
    },
  };
  readonly server = new MemoryZooKeeper(this.clock);

  async connect(): Promise<FaultyCoordination> {
    const options = { connectString: '127.0.0.1:2181', sessionTimeoutMs: 4000 };
    return new FaultyCoordination(
      await this.server.connect({ ...options, connectionTimeoutMs: 1 }),
    );
  }

  read(path: string): { readonly data: Buffer; readonly stat: Stat } | undefined {
    return this.server.read(path);
  }

  children(path: string): string[] {
    return this.server.children(path) ?? [];
  }

  expire(sessionId: string): void {
    this.server.expireSession(sessionId);
  }

  advanceWallClock(ms: number): void {
    this.#wallOffsetMs += ms;
  }
}

const ENDPOINTS = [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }];

async function open(zk: TestZooKeeper, registrationWaitMs = 50): Promise<ZkStore> {
  return (await session(zk, registrationWaitMs)).store;
}

async function session(
  zk: TestZooKeeper,
  registrationWaitMs = 50,
): Promise<{ store: ZkStore; coordination: FaultyCoordination }> {
  const coordination = await zk.connect();
  const store = await ZkStore.open({ coordination, registrationWaitMs, clock: zk.clock });
  return { store, coordination };
}

function json(zk: TestZooKeeper, path: string): unknown {
  const node = zk.read(path);
  assert.ok(node !== undefined, `${path} exists`);
  return JSON.parse(node.data.toString('utf8'));
}

function watched(): { fired: () => number; watch: () => void } {
  let count = 0;
  return { fired: () => count, watch: () => count++ };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const state = (leader: number, isr: number[], leaderEpoch = 0): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  controllerEpoch: 1,
});

async function withTopic(store: ZkStore, name = 't', partitions = 2): Promise<TopicId> {
  const id = newTopicId();
  const assignment = Array.from({ length: partitions }, (_, p) => [p % 2, (p + 1) % 2]);
  await store.createTopic(name, id, assignment, new Map());
  return id;
}

describe('ZkStore: cluster id and registration', () => {
  it('creates the persistent paths Kafka expects', async () => {
    const zk = new TestZooKeeper();
    await open(zk);
    for (const path of PERSISTENT_PATHS) assert.ok(zk.read(path), path);
  });

  it('the first proposed cluster id is the cluster id', async () => {
    const zk = new TestZooKeeper();
    assert.equal(await (await open(zk)).clusterId('first'), 'first');
    assert.equal(await (await open(zk)).clusterId('second'), 'first');
    assert.deepEqual(json(zk, '/cluster/id'), { version: '1', id: 'first' });
  });

  it('registers an ephemeral broker znode whose czxid is the broker epoch', async () => {
    const zk = new TestZooKeeper();
    const { store, coordination } = await session(zk);
    const epoch = await store.registerBroker({ id: 1, rack: 'r1', endpoints: ENDPOINTS });
    const node = zk.read('/brokers/ids/1');
    assert.equal(node?.stat.czxid, epoch);
    assert.equal(node?.stat.ephemeralOwner, coordination.sessionId);
    const registered = json(zk, '/brokers/ids/1') as Record<string, unknown>;
    assert.equal(registered['version'], 5);
    assert.deepEqual(registered['endpoints'], ['PLAINTEXT://127.0.0.1:9092']);
    assert.deepEqual(
      await store.brokers(),
      new Map([[1, { id: 1, rack: 'r1', endpoints: ENDPOINTS, epoch }]]),
    );
  });

  it('the brokers watch fires when a broker registers', async () => {
    const zk = new TestZooKeeper();
    const a = await open(zk);
    const w = watched();
    assert.equal((await a.brokers(w.watch)).size, 0);
    await (await open(zk)).registerBroker({ id: 2, rack: null, endpoints: ENDPOINTS });
    await tick();
    assert.equal(w.fired(), 1);
  });

  it('a broker id held by another live session is refused after the wait', async () => {
    const zk = new TestZooKeeper();
    await (await open(zk)).registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    const second = await open(zk, 30);
    await assert.rejects(
      second.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS }),
      BrokerIdTakenError,
    );
  });

  it("a restarted broker waits for its previous run's registration to expire", async () => {
    const zk = new TestZooKeeper();
    const previous = await session(zk);
    await previous.store.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    const restarted = await session(zk);
    setTimeout(() => zk.expire(previous.coordination.sessionId), 10);
    const epoch = await restarted.store.registerBroker({ id: 1, rack: null, endpoints: ENDPOINTS });
    assert.equal(zk.read('/brokers/ids/1')?.stat.ephemeralOwner, restarted.coordination.sessionId);
    assert.equal(zk.read('/brokers/ids/1')?.stat.czxid, epoch);
  });

  it('a registration whose answer was lost is recognised as its own', async () => {
    const zk = new TestZooKeeper();
    const { store, coordination } = await session(zk);
    coordination.failures.push({ code: 'CONNECTIONLOSS', afterApplying: true });
    const epoch = await store.registerBroker({ id: 4, rack: null, endpoints: ENDPOINTS });
    assert.equal(zk.read('/brokers/ids/4')?.stat.czxid, epoch);
  });
});

describe('ZkStore: controller election and fencing', () => {
  it('one broker wins; the epoch moves up and the fence is /controller_epoch version', async () => {
    const zk = new TestZooKeeper();
    const a = await session(zk);
    const b = await session(zk);
    const won = await a.store.elect(1, () => {});
    assert.deepEqual(won, { controllerId: 1, won: { epoch: 1, epochZkVersion: 1 } });
    assert.deepEqual(await b.store.elect(2, () => {}), { controllerId: 1, won: null });
    assert.equal(zk.read('/controller_epoch')?.data.toString(), '1');
    const controller = json(zk, '/controller') as Record<string, unknown>;
    assert.equal(controller['brokerid'], 1);
    assert.equal(typeof controller['timestamp'], 'string');
    assert.equal(await b.store.controllerId(), 1);
  });

  it('when the controller goes, the watch fires and the next broker wins the next epoch', async () => {
    const zk = new TestZooKeeper();
    const a = await session(zk);
    const b = await session(zk);
    await a.store.elect(1, () => {});
    const w = watched();
    await b.store.elect(2, w.watch);
    zk.expire(a.coordination.sessionId);
    await tick();
    assert.equal(w.fired(), 1);
    const next = await b.store.elect(2, () => {});
    assert.deepEqual(next.won, { epoch: 2, epochZkVersion: 2 });
  });

  it("a zombie controller's writes fail with ControllerMovedError and change nothing", async () => {
    const zk = new TestZooKeeper();
    const a = await session(zk);
    const b = await session(zk);
    await withTopic(a.store);
    const first = await a.store.elect(1, () => {});
    const fence = first.won?.epochZkVersion ?? -1;
    await a.store.createPartitionStates('t', new Map([[0, state(0, [0, 1])]]), fence);
    // An operator deletes /controller (Kafka's way to move it); broker 2 wins; 1 did not notice.
    await b.coordination.delete('/controller');
    await b.store.elect(2, () => {});
    const update = new Map([[0, { state: state(1, [1], 1), version: 0 }]]);
    await assert.rejects(a.store.updatePartitionStates('t', update, fence), ControllerMovedError);
    await assert.rejects(
      a.store.createPartitionStates('t', new Map([[1, state(1, [1])]]), fence),
      ControllerMovedError,
    );
    await assert.rejects(a.store.deleteTopic('t', fence), ControllerMovedError);
    const states = await b.store.partitionStates('t', [0, 1]);
    assert.equal(states.get(0)?.leader, 0);
    assert.equal(states.get(1), null);
  });

  it('an election whose answer was lost is still won', async () => {
    const zk = new TestZooKeeper();
    const a = await session(zk);
    await a.store.elect(1, () => {});
    await a.coordination.delete('/controller');
    a.coordination.failures.push({ code: 'CONNECTIONLOSS', afterApplying: true, call: 'multi' });
    const again = await a.store.elect(1, () => {});
    assert.deepEqual(again.won, { epoch: 2, epochZkVersion: 2 });
    assert.equal(a.coordination.failures.length, 0);
  });
});

describe('ZkStore: topics', () => {
  it('creates the assignment with its topic id and the config znode', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const id = newTopicId();
    await store.createTopic('orders', id, [[1, 2]], new Map([['retention.ms', '1000']]));
    assert.deepEqual(json(zk, '/brokers/topics/orders'), {
      version: 3,
      partitions: { '0': [1, 2] },
      adding_replicas: {},
      removing_replicas: {},
      topic_id: id,
    });
    assert.deepEqual(json(zk, '/config/topics/orders'), {
      version: 1,
      config: { 'retention.ms': '1000' },
    });
    assert.deepEqual(await store.topicConfigs('orders'), new Map([['retention.ms', '1000']]));
    assert.deepEqual(await store.topic('orders'), {
      name: 'orders',
      topicId: id,
      assignment: [[1, 2]],
      adding: new Map(),
      removing: new Map(),
    });
  });

  it('a taken name, or one still marked for deletion, is TopicExistsError', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store, 'a');
    await assert.rejects(withTopic(store, 'a'), TopicExistsError);
    await store.markTopicForDeletion('a');
    await assert.rejects(withTopic(store, 'a'), TopicExistsError);
  });

  it('a topic written without an id (by an old tool) gets one, kept from then on', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const old = Buffer.from('{"version":1,"partitions":{"0":[1]}}');
    await (await zk.connect()).create('/brokers/topics/legacy', old);
    const first = await store.topics();
    const id = first.get('legacy')?.topicId;
    assert.ok(id !== undefined);
    assert.equal((json(zk, '/brokers/topics/legacy') as Record<string, unknown>)['topic_id'], id);
    assert.equal((await store.topics()).get('legacy')?.topicId, id);
  });

  it('the topics watch fires on a new topic; a topic watch on its new partitions', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const all = watched();
    await store.topics(all.watch);
    await withTopic(store, 'a', 1);
    await tick();
    assert.equal(all.fired(), 1);
    const one = watched();
    assert.equal((await store.topic('a', one.watch))?.assignment.length, 1);
    await store.addPartitions('a', [[1, 0]]);
    await tick();
    assert.equal(one.fired(), 1);
    assert.deepEqual((await store.topic('a'))?.assignment, [
      [0, 1],
      [1, 0],
    ]);
  });

  it('a watch on an absent topic fires when it is created', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const w = watched();
    assert.equal(await store.topic('later', w.watch), null);
    await withTopic(store, 'later');
    await tick();
    assert.equal(w.fired(), 1);
  });

  it('deletion: marked, listed, then every znode of the topic goes in one fenced multi', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store, 'gone');
    const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
    await store.createPartitionStates(
      'gone',
      new Map([
        [0, state(0, [0])],
        [1, state(1, [1])],
      ]),
      fence,
    );
    const w = watched();
    assert.deepEqual(await store.topicsToDelete(w.watch), []);
    await store.markTopicForDeletion('gone');
    await store.markTopicForDeletion('gone');
    await tick();
    assert.equal(w.fired(), 1);
    assert.deepEqual(await store.topicsToDelete(), ['gone']);
    await store.deleteTopic('gone', fence);
    for (const path of [
      '/brokers/topics/gone',
      '/config/topics/gone',
      '/admin/delete_topics/gone',
    ]) {
      assert.equal(zk.read(path), undefined, path);
    }
    await store.deleteTopic('gone', fence);
    await assert.rejects(store.markTopicForDeletion('gone'), (e: unknown) => {
      return e instanceof TributaryError && e.code === 'BRK_NOT_FOUND';
    });
  });
});

describe('ZkStore: partition states', () => {
  it('creates states as Kafka writes them and reads them with their versions', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store);
    const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
    const versions = await store.createPartitionStates(
      't',
      new Map([[0, state(0, [0, 1])]]),
      fence,
    );
    assert.deepEqual(versions, new Map([[0, 0]]));
    assert.deepEqual(json(zk, '/brokers/topics/t/partitions/0/state'), {
      controller_epoch: 1,
      leader: 0,
      version: 1,
      leader_epoch: 0,
      isr: [0, 1],
    });
    const read = await store.partitionStates('t', [0, 1]);
    assert.deepEqual(read.get(0), { ...state(0, [0, 1]), version: 0 });
    assert.equal(read.get(1), null);
    // The second partition's parent znodes are created with it.
    await store.createPartitionStates('t', new Map([[1, state(1, [1])]]), fence);
    assert.equal((await store.partitionStates('t', [1])).get(1)?.leader, 1);
  });

  it('updates conditionally: a state that moved meanwhile gets null', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store);
    const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
    const fresh = new Map([
      [0, state(0, [0, 1])],
      [1, state(1, [1, 0])],
    ]);
    await store.createPartitionStates('t', fresh, fence);
    const result = await store.updatePartitionStates(
      't',
      new Map([
        [0, { state: state(1, [1], 1), version: 0 }],
        [1, { state: state(0, [0], 1), version: 7 }],
      ]),
      fence,
    );
    assert.deepEqual(
      result,
      new Map([
        [0, 1],
        [1, null],
      ]),
    );
    assert.equal((await store.partitionStates('t', [1])).get(1)?.leader, 1);
  });

  it('an update whose answer was lost is recognised by its data', async () => {
    const zk = new TestZooKeeper();
    const { store, coordination } = await session(zk);
    await withTopic(store);
    const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
    await store.createPartitionStates('t', new Map([[0, state(0, [0, 1])]]), fence);
    coordination.failures.push({ code: 'CONNECTIONLOSS', afterApplying: true });
    const update = new Map([[0, { state: state(0, [0], 1), version: 0 }]]);
    assert.deepEqual(await store.updatePartitionStates('t', update, fence), new Map([[0, 1]]));
  });

  it("a leader's ISR change is conditional and notifies the controller", async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store);
    const fence = (await store.elect(1, () => {})).won?.epochZkVersion ?? -1;
    await store.createPartitionStates('t', new Map([[0, state(0, [0, 1])]]), fence);
    const w = watched();
    assert.deepEqual(await store.isrChanges(w.watch), []);
    assert.deepEqual(await store.proposeIsr('t', 0, state(0, [0]), 0), {
      ...state(0, [0]),
      version: 1,
    });
    // At a version that moved meanwhile nothing is written: the answer is what is there now.
    assert.deepEqual(await store.proposeIsr('t', 0, state(0, [0, 1]), 0), {
      ...state(0, [0]),
      version: 1,
    });
    assert.equal(await store.proposeIsr('t', 1, state(0, [0]), 0), null, 'no such partition');
    await tick();
    assert.equal(w.fired(), 1);
    const [name] = zk.children('/isr_change_notification');
    assert.equal(name, 'isr_change_0000000000');
    assert.deepEqual(json(zk, `/isr_change_notification/${name}`), {
      version: 1,
      partitions: [{ topic: 't', partition: 0 }],
    });
    assert.deepEqual(await store.isrChanges(), [{ topic: 't', partition: 0 }]);
    assert.equal(zk.children('/isr_change_notification').length, 0);
  });
});

describe('ZkStore: configs and producer ids', () => {
  it('a config change replaces the znode and leaves a notification for every broker', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store, 'c');
    const start = await store.configChanges(-1);
    assert.deepEqual(start, { topics: [], brokers: [], quotas: [], last: -1 });
    const w = watched();
    await store.configChanges(start.last, w.watch);
    await store.setTopicConfigs('c', new Map([['cleanup.policy', 'compact']]));
    await tick();
    assert.equal(w.fired(), 1);
    assert.deepEqual(json(zk, '/config/topics/c'), {
      version: 1,
      config: { 'cleanup.policy': 'compact' },
    });
    assert.deepEqual(json(zk, '/config/changes/config_change_0000000000'), {
      version: 2,
      entity_path: 'topics/c',
    });
    const next = await store.configChanges(start.last);
    assert.deepEqual(next, { topics: ['c'], brokers: [], quotas: [], last: 0 });
    assert.deepEqual(await store.configChanges(next.last), {
      topics: [],
      brokers: [],
      quotas: [],
      last: 0,
    });
    await assert.rejects(store.setTopicConfigs('none', new Map()), TributaryError);
  });

  it("client quotas keep Kafka's znodes, beside a user's SCRAM credentials", async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await store.setUserConfigs('al ice', new Map([['SCRAM-SHA-256', 'salt=x']]));
    const seen = await store.configChanges(-1);
    await store.setQuotaConfigs('users/al%20ice', new Map([['producer_byte_rate', '1000']]));
    await store.setQuotaConfigs(
      'users/<default>/clients/c%2A',
      new Map([['consumer_byte_rate', '2000']]),
    );
    assert.deepEqual(json(zk, '/config/users/al%20ice'), {
      version: 1,
      config: { 'SCRAM-SHA-256': 'salt=x', producer_byte_rate: '1000' },
    });
    assert.deepEqual(json(zk, '/config/users/<default>/clients/c%2A'), {
      version: 1,
      config: { consumer_byte_rate: '2000' },
    });
    const names = zk.children('/config/changes').sort();
    assert.deepEqual(json(zk, `/config/changes/${names[names.length - 1]}`), {
      version: 2,
      entity_path: 'users/<default>/clients/c%2A',
    });
    const changes = await store.configChanges(seen.last);
    assert.deepEqual(changes.quotas, ['users/al%20ice', 'users/<default>/clients/c%2A']);
    assert.deepEqual(
      [...(await store.quotaConfigs())].map(([k, v]) => [k, Object.fromEntries(v)]).sort(),
      [
        ['users/<default>/clients/c%2A', { consumer_byte_rate: '2000' }],
        ['users/al%20ice', { producer_byte_rate: '1000' }],
      ],
    );
    // Removing the quota keeps the credentials.
    await store.setQuotaConfigs('users/al%20ice', new Map());
    assert.deepEqual(json(zk, '/config/users/al%20ice'), {
      version: 1,
      config: { 'SCRAM-SHA-256': 'salt=x' },
    });
  });

  it('notifications older than 15 minutes that were seen are purged', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    await withTopic(store, 'c');
    await store.setTopicConfigs('c', new Map());
    const seen = await store.configChanges(-1);
    zk.advanceWallClock(16 * 60 * 1000);
    await store.configChanges(seen.last);
    assert.equal(zk.children('/config/changes').length, 0);
  });

  it('producer id blocks follow each other and are unique across brokers', async () => {
    const zk = new TestZooKeeper();
    const a = await open(zk);
    const b = await open(zk);
    assert.equal(await a.allocateProducerIds(1, 1000), 0);
    assert.deepEqual(json(zk, '/latest_producer_id_block'), {
      version: 1,
      broker: 1,
      block_start: '0',
      block_end: '999',
    });
    const starts = await Promise.all([
      a.allocateProducerIds(1, 1000),
      b.allocateProducerIds(2, 1000),
      a.allocateProducerIds(1, 1000),
      b.allocateProducerIds(2, 1000),
    ]);
    assert.deepEqual(
      [...starts].sort((x, y) => x - y),
      [1000, 2000, 3000, 4000],
    );
  });
});

describe('ZkMetadataStore', () => {
  it('maps the single-node store interface onto the znodes', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const meta = new ZkMetadataStore(store, 3);
    const topicId = newTopicId();
    const configs = new Map([['retention.ms', '5']]);
    await meta.createTopic({ name: 'm', topicId, assignment: [[3]], configs });
    await assert.rejects(
      meta.createTopic({ name: 'm', topicId: newTopicId(), assignment: [[3]], configs }),
      (e: unknown) => e instanceof TributaryError && e.code === 'BRK_ALREADY_EXISTS',
    );
    await meta.addPartitions('m', [[3]]);
    await meta.setTopicConfigs('m', new Map([['retention.ms', '6']]));
    assert.deepEqual(await meta.topics(), [
      { name: 'm', topicId, assignment: [[3], [3]], configs: new Map([['retention.ms', '6']]) },
    ]);
    assert.equal(await meta.allocateProducerIds(10), 0);
    assert.equal(await meta.allocateProducerIds(10), 10);
    await assert.rejects(meta.deleteTopic('m', newTopicId()), TributaryError);
    await meta.deleteTopic('m', topicId);
    assert.ok(zk.read('/admin/delete_topics/m'));
  });

  it('a topic whose assignment has a gap is reported, not silently renumbered', async () => {
    const zk = new TestZooKeeper();
    const store = await open(zk);
    const bad = encodeTopicAssignment({
      topicId: newTopicId(),
      partitions: [[1]],
      addingReplicas: new Map(),
      removingReplicas: new Map(),
    });
    const raw = await zk.connect();
    await raw.create(ZkPaths.topic('ok'), bad);
    await raw.create(ZkPaths.topic('gap'), Buffer.from('{"version":3,"partitions":{"1":[1]}}'));
    await assert.rejects(store.topics(), /partition 0 is missing/);
  });
});

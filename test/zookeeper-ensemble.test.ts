/**
 * The ZooKeeper client on a 3-node ensemble (three JVMs, so a file of its own): kill -9 of the
 * ensemble's leader costs the client its connection, not its session; the ephemeral znode stays
 * and a watch set before the failover still fires after it.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { CoordinationError } from '../src/cluster/coordination.ts';
import { recorder, waitUntil } from '../src/cluster/coordination-contract.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { serverMode, ZooKeeperEnsemble } from '../src/testing/zookeeper.ts';

let ensemble: ZooKeeperEnsemble;

before(async () => {
  ensemble = await ZooKeeperEnsemble.start();
});

after(async () => {
  await ensemble?.stop();
});

/** Every client a test opened: closed after it, passed or failed, so none outlives the test. */
const opened = new Set<ZooKeeperClient>();

afterEach(async () => {
  await Promise.all([...opened].map((client) => client.close()));
  opened.clear();
});

async function open(connectString: string): Promise<ZooKeeperClient> {
  const client = await ZooKeeperClient.connect({
    connectString,
    sessionTimeoutMs: 4_000,
    connectionTimeoutMs: 10_000,
  });
  opened.add(client);
  return client;
}

/** Retries a write that a failover may answer with CONNECTIONLOSS (it may have been applied). */
async function retried<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const lost = error instanceof CoordinationError && error.code === 'CONNECTIONLOSS';
      if (!lost || attempt === 50) throw error;
    }
  }
}

/** One failover: kill -9 the leader, write through the new one, restart the killed member. */
async function failover(zk: ZooKeeperClient, writer: ZooKeeperClient, round: number) {
  const changed = recorder(10_000);
  await zk.getData('/state', changed.watcher);
  const leader = await ensemble.leader();
  const killedAt = performance.now();
  await leader.kill();
  await retried(() => writer.setData('/state', Buffer.from(`round ${round}`)));
  const firstWriteMs = performance.now() - killedAt;
  assert.deepEqual(await changed.first, { type: 'dataChanged', path: '/state' });
  await waitUntil(() => zk.state === 'connected', 10_000, 'the client is connected again');
  // The killed member comes back on its ports and data and follows the new leader.
  await ensemble.restart(leader);
  assert.equal(await serverMode(leader.port), 'follower');
  return firstWriteMs;
}

test('kill -9 of the ensemble leader keeps the session, its ephemeral znode and its watch', async (t) => {
  const connectString = await ensemble.freshChroot();
  const zk = await open(connectString);
  const writer = await open(connectString);
  const sessionId = zk.sessionId;
  await zk.create('/brokers', Buffer.alloc(0));
  await zk.create('/brokers/1', Buffer.from('b1'), 'ephemeral');
  await zk.create('/state', Buffer.from('before'));
  const states: string[] = [];
  zk.onStateChange((state) => states.push(state));

  // Twice: the second failover finds a session that already moved servers once.
  for (const round of [1, 2]) {
    const firstWriteMs = await failover(zk, writer, round);
    t.diagnostic(`round ${round}: first write ${Math.round(firstWriteMs)} ms after the kill`);
    assert.ok(firstWriteMs < 8_000, `first write ${Math.round(firstWriteMs)} ms after the kill`);
    assert.equal(zk.sessionId, sessionId, 'the same session');
    assert.ok(!states.includes('expired'), `states: ${states.join(',')}`);
    const owner = await retried(() => writer.exists('/brokers/1'));
    assert.equal(owner?.ephemeralOwner, sessionId, 'the ephemeral znode survived the failover');
    assert.deepEqual(await retried(() => zk.getChildren('/brokers')), ['1']);
  }
  t.diagnostic(`states: ${states.join(',')}`);
  await zk.close();
  await writer.close();
});

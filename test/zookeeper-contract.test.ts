/**
 * The coordination contract (src/cluster/coordination-contract.ts) and the ZooKeeper client's own
 * behaviour (sessions across lost connections, expiry, connect timeout, pipelining, large data)
 * against Debian's real ZooKeeper server: one standalone server for the file, a chroot per test.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Coordination } from '../src/cluster/coordination.ts';
import {
  coordinationContract,
  recorder,
  rejectsWith,
  waitUntil,
} from '../src/cluster/coordination-contract.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { requireZooKeeper, ZooKeeperServer } from '../src/testing/zookeeper.ts';

let server: ZooKeeperServer;

before(async () => {
  server = await ZooKeeperServer.start();
});

after(async () => {
  await server?.stop();
});

/** Every client a test opened: closed after it, passed or failed, so none outlives the test. */
const opened = new Set<ZooKeeperClient>();

afterEach(async () => {
  await Promise.all([...opened].map((client) => client.close()));
  opened.clear();
});

async function open(connectString: string, sessionTimeoutMs = 4_000): Promise<ZooKeeperClient> {
  const client = await ZooKeeperClient.connect({
    connectString,
    sessionTimeoutMs,
    connectionTimeoutMs: 5_000,
  });
  opened.add(client);
  return client;
}

/**
 * Expires a session at once: a second connection takes it over and ends it with CloseSession,
 * while the owner, its connection dropped, waits to reconnect (else it could take the session
 * back first); when it does, the server tells it the session has expired.
 */
async function expire(session: Coordination): Promise<void> {
  assert.ok(session instanceof ZooKeeperClient);
  session.dropConnection(300);
  const thief = await ZooKeeperClient.connect({
    connectString: server.connectString,
    sessionTimeoutMs: session.sessionTimeoutMs,
    connectionTimeoutMs: 5_000,
    credentials: { sessionId: session.sessionId, password: session.sessionPassword },
  });
  assert.equal(thief.sessionId, session.sessionId);
  await thief.close();
  await waitUntil(() => session.state === 'expired', 10_000, 'the owner sees its session expired');
}

describe('ZooKeeperClient on a real server: the coordination contract', () => {
  for (const contractCase of coordinationContract) {
    test(contractCase.name, async () => {
      const connectString = await server.freshChroot();
      const chroot = connectString.slice(connectString.indexOf('/'));
      await contractCase.run({
        chroot,
        connect: (sessionTimeoutMs) => open(connectString, sessionTimeoutMs),
        connectElsewhere: async () => open(await server.freshChroot()),
        connectRoot: () => open(server.connectString),
        expire,
        cutOff: (session, ms) => {
          assert.ok(session instanceof ZooKeeperClient);
          session.dropConnection(ms);
        },
      });
    });
  }
});

describe('ZooKeeperClient on a real server: sessions, connections, limits', () => {
  test('a lost connection keeps the session, its ephemerals and its watches (SetWatches)', async () => {
    const connectString = await server.freshChroot();
    const zk = await open(connectString, 4_000);
    const writer = await open(connectString);
    await zk.create('/broker', Buffer.from('1'), 'ephemeral');
    await zk.create('/state', Buffer.from('a'));
    const changed = recorder();
    await zk.getData('/state', changed.watcher);
    const created = recorder();
    await zk.exists('/later', created.watcher);
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    const sessionId = zk.sessionId;
    zk.dropConnection(500);
    assert.equal(zk.state, 'disconnected');
    // Changed while the client is away: the server fires the watches when they are set again.
    await writer.setData('/state', Buffer.from('b'));
    await writer.create('/later', Buffer.alloc(0));
    const whileAway = zk.getData('/broker');
    assert.deepEqual(await changed.first, { type: 'dataChanged', path: '/state' });
    assert.deepEqual(await created.first, { type: 'created', path: '/later' });
    assert.equal((await whileAway).data.toString(), '1', 'a request made while away is served');
    assert.deepEqual(states, ['disconnected', 'connected']);
    assert.equal(zk.sessionId, sessionId);
    assert.equal((await writer.exists('/broker'))?.ephemeralOwner, sessionId);
    await zk.close();
    await writer.close();
  });

  test('away longer than the session timeout: expired, its ephemerals gone', async () => {
    const connectString = await server.freshChroot();
    const zk = await open(connectString, 1_500);
    // As short a session, idle but for its pings all along: it must outlive the other.
    const other = await open(connectString, 1_500);
    await other.create('/idle', Buffer.alloc(0), 'ephemeral');
    await zk.create('/broker', Buffer.from('1'), 'ephemeral');
    const gone = recorder(6_000);
    await other.exists('/broker', gone.watcher);
    const started = performance.now();
    // No CloseSession: the server expires the session once 1.5 s pass without a frame.
    zk.dropConnection(3_000);
    assert.deepEqual(await gone.first, { type: 'deleted', path: '/broker' });
    const goneAfterMs = performance.now() - started;
    // The server counts the timeout from the last ping it had (up to a third of it before the
    // drop) and expires in tick-sized buckets (500 ms here).
    assert.ok(goneAfterMs >= 900 && goneAfterMs < 3_500, `gone after ${goneAfterMs} ms`);
    await waitUntil(() => zk.state === 'expired', 5_000, 'the client learns it on reconnecting');
    await rejectsWith(zk.exists('/'), 'SESSIONEXPIRED');
    assert.equal(other.state, 'connected');
    assert.equal((await other.exists('/idle'))?.ephemeralOwner, other.sessionId);
    await zk.close();
    await other.close();
  });

  test('requests are pipelined and answered in order', async () => {
    const zk = await open(await server.freshChroot());
    await zk.create('/n', Buffer.from('0'));
    const writes = Array.from({ length: 300 }, (_, i) =>
      zk.setData('/n', Buffer.from(String(i + 1)), i),
    );
    const reads = Array.from({ length: 300 }, () => zk.getData('/n'));
    const stats = await Promise.all(writes);
    assert.deepEqual(
      stats.map((stat) => stat.version),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    for (const read of await Promise.all(reads)) assert.equal(read.data.toString(), '300');
    await zk.close();
  });

  test('a znode near jute.maxbuffer round-trips; a larger request is refused unsent', async () => {
    const zk = await open(await server.freshChroot());
    const big = Buffer.alloc(1_000_000, 7);
    await zk.create('/big', big);
    assert.ok((await zk.getData('/big')).data.equals(big));
    await rejectsWith(zk.setData('/big', Buffer.alloc(2 * 1024 * 1024)), 'BADARGUMENTS');
    assert.equal((await zk.exists('/big'))?.dataLength, 1_000_000, 'the session goes on');
    await zk.close();
  });
});

test('a missing ZooKeeper fails the test with the install command', () => {
  assert.throws(
    () => requireZooKeeper('/nonexistent/zookeeper.jar'),
    /not installed; install it with: sh scripts\/install-test-deps\.sh/,
  );
  requireZooKeeper();
});

/**
 * The coordination contract (src/cluster/coordination-contract.ts) and the ZooKeeper client's own
 * behaviour (sessions across lost connections, expiry, connect timeout, pipelining, large data)
 * against Debian's real ZooKeeper server: one standalone server for the file, a chroot per test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Coordination } from '../src/cluster/coordination.ts';
import { coordinationContract, waitUntil } from '../src/cluster/coordination-contract.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let server: ZooKeeperServer;

before(async () => {
  server = await ZooKeeperServer.start();
});

after(async () => {
  await server?.stop();
});

function open(connectString: string, sessionTimeoutMs = 4_000): Promise<ZooKeeperClient> {
  return ZooKeeperClient.connect({ connectString, sessionTimeoutMs, connectionTimeoutMs: 5_000 });
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
      });
    });
  }
});

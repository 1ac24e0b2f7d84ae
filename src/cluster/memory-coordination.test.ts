import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coordinationContract, recorder, rejectsWith } from './coordination-contract.ts';
import { MemoryZooKeeper } from './memory-coordination.ts';

describe('MemoryZooKeeper: the coordination contract', () => {
  let chroots = 0;
  for (const contractCase of coordinationContract) {
    test(contractCase.name, async () => {
      const server = new MemoryZooKeeper();
      const admin = await server.connect({
        connectString: 'memory',
        sessionTimeoutMs: 6_000,
        connectionTimeoutMs: 1_000,
      });
      const newChroot = async () => {
        chroots += 1;
        await admin.create(`/test-${chroots}`, Buffer.alloc(0));
        return `/test-${chroots}`;
      };
      const connectTo = (chroot: string, sessionTimeoutMs = 6_000) =>
        server.connect({
          connectString: `memory${chroot}`,
          sessionTimeoutMs,
          connectionTimeoutMs: 1_000,
        });
      const chroot = await newChroot();
      await contractCase.run({
        chroot,
        connect: (sessionTimeoutMs) => connectTo(chroot, sessionTimeoutMs),
        connectElsewhere: async () => connectTo(await newChroot()),
        connectRoot: () => connectTo(''),
        expire: async (session) => server.expireSession(session.sessionId),
        cutOff: (session, ms) => {
          server.disconnectSession(session.sessionId);
          setTimeout(() => server.reconnectSession(session.sessionId), ms);
          // Ref'd, as a real client's socket is: the test's own polls run on unref'd timers.
          setTimeout(() => undefined, ms + 1_000);
        },
      });
      await admin.close();
      const leftover = server.sessionIds;
      if (leftover.length > 0) throw new Error(`sessions left open: ${leftover.join(', ')}`);
    });
  }
});

describe('MemoryZooKeeper: connections lost and found', () => {
  const options = { connectString: 'memory', sessionTimeoutMs: 6_000, connectionTimeoutMs: 1_000 };

  test('a disconnected session keeps its znodes; its calls wait and its watches miss nothing', async () => {
    const server = new MemoryZooKeeper();
    const zk = await server.connect(options);
    const writer = await server.connect(options);
    await zk.create('/e', Buffer.from('1'), 'ephemeral');
    const events = recorder();
    await zk.getData('/e', events.watcher);
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    server.disconnectSession(zk.sessionId);
    assert.equal(zk.state, 'disconnected');
    await writer.setData('/e', Buffer.from('2'));
    let served = false;
    const waiting = zk.getData('/e').then((result) => {
      served = true;
      return result;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(served, false, 'no answer while disconnected');
    assert.equal(events.events.length, 0, 'no event while disconnected');
    server.reconnectSession(zk.sessionId);
    assert.deepEqual(await events.first, { type: 'dataChanged', path: '/e' });
    assert.equal((await waiting).data.toString(), '2');
    assert.deepEqual(states, ['disconnected', 'connected']);
    assert.equal((await writer.exists('/e'))?.ephemeralOwner, zk.sessionId);
    await zk.close();
    await writer.close();
  });

  test('a session that expires while disconnected fails the calls that waited', async () => {
    const server = new MemoryZooKeeper();
    const zk = await server.connect(options);
    await zk.create('/e', Buffer.alloc(0), 'ephemeral');
    server.disconnectSession(zk.sessionId);
    const waiting = zk.exists('/e');
    server.expireSession(zk.sessionId);
    await rejectsWith(waiting, 'SESSIONEXPIRED');
    const other = await server.connect(options);
    assert.equal(await other.exists('/e'), null);
    await other.close();
    await zk.close();
    assert.deepEqual(server.sessionIds, []);
  });
});

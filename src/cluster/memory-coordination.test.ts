import { describe, test } from 'node:test';
import { coordinationContract } from './coordination-contract.ts';
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
      });
      await admin.close();
      const leftover = server.sessionIds;
      if (leftover.length > 0) throw new Error(`sessions left open: ${leftover.join(', ')}`);
    });
  }
});

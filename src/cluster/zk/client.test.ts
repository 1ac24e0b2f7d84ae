/**
 * The ZooKeeper client against scripted fake servers on 127.0.0.1, for what a real server does
 * not do on demand: never answer, send an oversized or malformed frame, refuse a session. The
 * behaviour against a real server is in test/zookeeper-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { CoordinationError } from '../coordination.ts';
import { ZooKeeperClient } from './client.ts';
import { JuteError, JuteReader, JuteWriter } from './jute.ts';
import { fromServerPath, parseConnectString, toServerPath, validatePath } from './paths.ts';

const sockets = new WeakMap<Server, Set<Socket>>();

async function fakeServer(onConnection: (socket: Socket) => void): Promise<Server> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    onConnection(socket);
  });
  sockets.set(server, open);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

async function closeServer(server: Server): Promise<void> {
  for (const socket of sockets.get(server) ?? []) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A ConnectResponse frame granting session 0x42 for timeoutMs (0: the session has expired). */
function connectResponse(timeoutMs: number): Buffer {
  return new JuteWriter().int(0).int(timeoutMs).long(0x42).buffer(Buffer.alloc(16, 1)).frame();
}

const options = (port: number, connectionTimeoutMs: number) => ({
  connectString: `127.0.0.1:${port}/chroot`,
  sessionTimeoutMs: 3_000,
  connectionTimeoutMs,
});

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CoordinationError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe('ZooKeeperClient against fake servers', () => {
  test('no server listening: CONNECTIONLOSS once connectionTimeoutMs has passed', async () => {
    const server = await fakeServer(() => {});
    const port = portOf(server);
    await closeServer(server);
    const started = performance.now();
    await rejectsWithCode(ZooKeeperClient.connect(options(port, 400)), 'CONNECTIONLOSS');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 1_500, `gave up after ${elapsed} ms`);
  });

  test('a server that never answers the ConnectRequest: CONNECTIONLOSS in time', async () => {
    const server = await fakeServer(() => {});
    const started = performance.now();
    await rejectsWithCode(ZooKeeperClient.connect(options(portOf(server), 400)), 'CONNECTIONLOSS');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 1_500, `gave up after ${elapsed} ms`);
    await closeServer(server);
  });

  test('a resumed session the server no longer knows: SESSIONEXPIRED', async () => {
    const server = await fakeServer((socket) =>
      socket.once('data', () => socket.write(connectResponse(0))),
    );
    const credentials = { sessionId: '0000000000000042', password: Buffer.alloc(16, 1) };
    await rejectsWithCode(
      ZooKeeperClient.connect({ ...options(portOf(server), 1_000), credentials }),
      'SESSIONEXPIRED',
    );
    await closeServer(server);
  });

  test('a frame claiming more than the maximum size drops the connection, unallocated', async () => {
    let connections = 0;
    const server = await fakeServer((socket) => {
      connections += 1;
      socket.once('data', () => {
        socket.write(connectResponse(3_000));
        // The first request is answered by a frame header claiming 2 GiB, and nothing more.
        if (connections === 1)
          socket.once('data', () => socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff])));
      });
    });
    const zk = await ZooKeeperClient.connect(options(portOf(server), 1_000));
    assert.equal(zk.sessionId, '0000000000000042');
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    await rejectsWithCode(zk.getData('/x'), 'CONNECTIONLOSS');
    assert.equal(states[0], 'disconnected');
    await zk.close();
    await closeServer(server);
  });

  test('a server gone silent (no ping answered) is left after 2/3 of the session timeout', async () => {
    let pings = 0;
    const server = await fakeServer((socket) => {
      socket.once('data', () => {
        socket.write(connectResponse(900));
        socket.on('data', () => {
          pings += 1;
        });
      });
    });
    const zk = await ZooKeeperClient.connect(options(portOf(server), 1_000));
    const started = performance.now();
    const disconnected = new Promise<number>((resolve) =>
      zk.onStateChange((state) => {
        if (state === 'disconnected') resolve(performance.now() - started);
      }),
    );
    const afterMs = await disconnected;
    // 600 ms without a frame, seen on a check every 100 ms; the slack is for a loaded machine.
    assert.ok(afterMs >= 550 && afterMs < 1_400, `left after ${afterMs} ms`);
    assert.ok(pings >= 1, 'pinged at a third of the timeout');
    await zk.close();
    await closeServer(server);
  });

  test('a response out of xid order drops the connection', async () => {
    const server = await fakeServer((socket) => {
      socket.once('data', () => {
        socket.write(connectResponse(3_000));
        const reply = new JuteWriter().int(999).long(1).int(0).frame();
        socket.once('data', () => socket.write(reply));
      });
    });
    const zk = await ZooKeeperClient.connect(options(portOf(server), 1_000));
    await rejectsWithCode(zk.delete('/x'), 'CONNECTIONLOSS');
    await zk.close();
    assert.equal(zk.state, 'closed');
    await rejectsWithCode(zk.exists('/x'), 'CLOSED');
    await closeServer(server);
  });
});

describe('jute', () => {
  test('reads what it wrote', () => {
    const writer = new JuteWriter(1)
      .int(-5)
      .long(2n ** 40n)
      .bool(true)
      .string('zk')
      .buffer(null);
    writer.strings(['a', 'bc']);
    const frame = writer.frame();
    assert.equal(frame.readInt32BE(0), frame.length - 4);
    const reader = new JuteReader(frame.subarray(4));
    assert.equal(reader.int(), -5);
    assert.equal(reader.long(), 2 ** 40);
    assert.equal(reader.bool(), true);
    assert.equal(reader.string(), 'zk');
    assert.equal(reader.buffer(), null);
    assert.deepEqual(reader.strings(), ['a', 'bc']);
    assert.equal(reader.remaining, 0);
  });

  test('refuses lengths and counts the frame cannot hold, before allocating', () => {
    const huge = new JuteWriter().int(0x7fffffff).frame().subarray(4);
    assert.throws(() => new JuteReader(huge).buffer(), JuteError);
    assert.throws(() => new JuteReader(huge).strings(), JuteError);
    assert.throws(
      () => new JuteReader(new JuteWriter().int(-2).frame().subarray(4)).buffer(),
      JuteError,
    );
    assert.throws(() => new JuteReader(Buffer.alloc(3)).int(), JuteError);
    const unsafe = new JuteWriter()
      .long(2n ** 60n)
      .frame()
      .subarray(4);
    assert.throws(() => new JuteReader(unsafe).long(), JuteError);
  });
});

describe('connect strings and paths', () => {
  test('servers and chroot', () => {
    assert.deepEqual(parseConnectString('127.0.0.1:2181,localhost:2182/kafka/a'), {
      servers: [
        { host: '127.0.0.1', port: 2181 },
        { host: 'localhost', port: 2182 },
      ],
      chroot: '/kafka/a',
    });
    assert.equal(parseConnectString('h:1/').chroot, '');
    assert.throws(() => parseConnectString('h:x'), CoordinationError);
    assert.throws(() => parseConnectString('/chroot'), CoordinationError);
    assert.throws(() => parseConnectString('h:1/bad/'), CoordinationError);
  });

  test('chroot mapping both ways', () => {
    assert.equal(toServerPath('/c', '/'), '/c');
    assert.equal(toServerPath('/c', '/a'), '/c/a');
    assert.equal(fromServerPath('/c', '/c'), '/');
    assert.equal(fromServerPath('/c', '/c/a'), '/a');
    assert.equal(toServerPath('', '/a'), '/a');
  });

  test('path validation as ZooKeeper does', () => {
    for (const bad of ['', 'a', '/a/', '//a', '/a/./b', '/a/../b', '/a\u0000']) {
      assert.throws(() => validatePath(bad), CoordinationError, JSON.stringify(bad));
    }
    validatePath('/');
    validatePath('/a/b-');
    validatePath('/a/', true);
    assert.throws(() => validatePath('/', true), CoordinationError);
  });
});

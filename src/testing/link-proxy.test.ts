import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { frameClientId, LinkProxy, Links, sourceBroker } from './link-proxy.ts';

/** A request frame header: size, api key, version, correlation id, client id (then nothing). */
function header(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const b = Buffer.alloc(14 + id.length);
  b.writeInt32BE(10 + id.length, 0);
  b.writeInt16BE(1, 4);
  b.writeInt16BE(12, 6);
  b.writeInt32BE(7, 8);
  b.writeInt16BE(id.length, 12);
  id.copy(b, 14);
  return b;
}

test('the client id of a request header, once enough bytes have come', () => {
  const h = header('broker-2-fetcher-1');
  assert.equal(frameClientId(h), 'broker-2-fetcher-1');
  assert.equal(frameClientId(h.subarray(0, 13)), undefined);
  assert.equal(frameClientId(h.subarray(0, 20)), undefined);
  const nullId = Buffer.alloc(14);
  nullId.writeInt16BE(-1, 12);
  assert.equal(frameClientId(nullId), null);
});

test('the broker a client id comes from', () => {
  assert.equal(sourceBroker('broker-2-fetcher-1'), 2);
  assert.equal(sourceBroker('controller-3'), 3);
  assert.equal(sourceBroker('broker-12-shutdown'), 12);
  assert.equal(sourceBroker('rdkafka'), undefined);
  assert.equal(sourceBroker('brokers-2'), undefined);
});

let echo: Server;
const sockets = new Set<Socket>();

before(async () => {
  echo = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
});

after(async () => {
  for (const s of sockets) s.destroy();
  echo.close();
  await once(echo, 'close');
});

/** Connects through the proxy as `clientId`; resolves with what came back, or 'closed'. */
async function roundTrip(
  port: number,
  clientId: string,
): Promise<{ socket: Socket; reply: string }> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const sent = header(clientId);
  socket.write(sent);
  const reply = await new Promise<string>((resolve) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= sent.length) resolve(frameClientId(got) ?? 'null');
    });
    socket.on('close', () => resolve('closed'));
  });
  return { socket, reply };
}

test('a cut link drops the connections across it and refuses new ones until healed', {
  timeout: 10_000,
}, async () => {
  const address = echo.address();
  assert.ok(address !== null && typeof address === 'object');
  const links = new Links();
  const proxy = await LinkProxy.start(1, links, 0, address.port);
  try {
    const fromTwo = await roundTrip(proxy.port, 'broker-2-fetcher-1');
    assert.equal(fromTwo.reply, 'broker-2-fetcher-1');
    const fromThree = await roundTrip(proxy.port, 'controller-3');
    assert.equal(fromThree.reply, 'controller-3');

    links.isolate(2, [1, 2, 3]);
    assert.ok(links.isCut(1, 2) && links.isCut(2, 3) && !links.isCut(1, 3));
    if (!fromTwo.socket.destroyed) await once(fromTwo.socket, 'close');
    assert.equal(fromThree.socket.destroyed, false, 'the link from broker 3 stays');
    assert.equal((await roundTrip(proxy.port, 'broker-2-shutdown')).reply, 'closed');
    assert.equal((await roundTrip(proxy.port, 'controller-3')).reply, 'controller-3');

    links.heal();
    assert.equal((await roundTrip(proxy.port, 'broker-2-fetcher-1')).reply, 'broker-2-fetcher-1');
  } finally {
    proxy.close();
  }
});

import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { adoptForReads, type ReadSink } from './socket-reads.ts';

/** A sink that reads into one buffer of its own and keeps a copy of everything. */
function collecting(): ReadSink & { bytes(): Buffer } {
  const target = Buffer.alloc(7);
  const got: Buffer[] = [];
  return {
    nextBuffer: () => target,
    onRead: (buffer, n) => got.push(Buffer.from(buffer.subarray(0, n))),
    bytes: () => Buffer.concat(got),
  };
}

async function serve(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ pauseOnConnect: true }, onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

function sendAndClose(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port }, () => c.end(data));
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

test('an accepted socket reads into the buffers the sink hands out', async () => {
  const sink = collecting();
  let direct = false;
  let closed: Promise<void> = Promise.resolve();
  const { server, port } = await serve((accepted) => {
    const adopted = adoptForReads(accepted, sink);
    direct = adopted.direct;
    closed = new Promise((resolve) => adopted.socket.on('close', () => resolve()));
  });
  const data = Buffer.from('more bytes than one seven-byte read can take');
  await sendAndClose(port, data);
  await closed;
  assert.equal(direct, true, 'this Node offers the handle (see socket-reads.ts)');
  assert.ok(sink.bytes().equals(data));
  // The adopted socket carried the server's connection count: close() completes.
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('without the internals it relies on, the socket is read the ordinary way', async () => {
  const sink = collecting();
  let direct = true;
  let closed: Promise<void> = Promise.resolve();
  const { server, port } = await serve((accepted) => {
    // As a future Node without `_server` would look.
    delete (accepted as unknown as { _server?: unknown })._server;
    const adopted = adoptForReads(accepted, sink);
    direct = adopted.direct;
    closed = new Promise((resolve) => adopted.socket.on('close', () => resolve()));
  });
  const data = Buffer.from('read through data events');
  await sendAndClose(port, data);
  await closed;
  assert.equal(direct, false);
  assert.ok(sink.bytes().equals(data));
  server.close();
});

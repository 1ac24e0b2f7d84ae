/**
 * Idle connections: opens `count` TCP connections to the broker, each sends one ApiVersions v0
 * request and reads its answer (so the broker has set the connection up), then they stay open.
 */
import { connect, type Socket } from 'node:net';

function apiVersionsV0(correlationId: number): Buffer {
  const clientId = Buffer.from('bench-idle');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function openOne(port: number, id: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => s.write(apiVersionsV0(id)));
    s.once('data', () => resolve(s));
  });
}

/** Opens the connections, 50 at a time; returns them (close with closeAll). */
export async function openIdle(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 50); j++) batch.push(openOne(port, j));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

export function closeAll(sockets: readonly Socket[]): void {
  for (const s of sockets) s.destroy();
}

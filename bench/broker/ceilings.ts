/**
 * The machine's ceilings, measured in the same run as the broker: a sequential write loop of the
 * same number of bytes to the same disk (the broker's log directory), and one Node socket pair on
 * loopback (the receiving end in another process, as a client and a broker are).
 */
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Ceiling {
  readonly name: string;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbPerSec: number;
}

/**
 * Writes `totalBytes` in `chunkBytes` writes to a new file in `dir`, then fsyncs. Two figures:
 * the write loop alone (into the page cache, as acks=1 is) and write + fsync (as acks=all is).
 */
export async function diskWrite(
  dir: string,
  totalBytes: number,
  chunkBytes: number,
): Promise<Ceiling[]> {
  const path = join(dir, 'ceiling.bin');
  const chunk = Buffer.alloc(chunkBytes, 0x78);
  const fh = await open(path, 'w');
  const t0 = performance.now();
  let written = 0;
  while (written < totalBytes) {
    const { bytesWritten } = await fh.write(chunk, 0, chunk.length, null);
    written += bytesWritten;
  }
  const t1 = performance.now();
  await fh.sync();
  const t2 = performance.now();
  await fh.close();
  await rm(path, { force: true });
  const fig = (name: string, ms: number): Ceiling => ({
    name,
    bytes: written,
    seconds: ms / 1000,
    mbPerSec: written / 1e6 / (ms / 1000),
  });
  return [
    fig(`disk: sequential write, ${chunkBytes / 1024} KiB writes`, t1 - t0),
    fig(`disk: sequential write + fsync, ${chunkBytes / 1024} KiB writes`, t2 - t0),
  ];
}

/** Streams `totalBytes` over one loopback TCP connection to a sink in another Node process. */
export async function loopback(totalBytes: number, chunkBytes: number): Promise<Ceiling> {
  const sinkPath = fileURLToPath(new URL('./sink.js', import.meta.url));
  const sink = spawn(process.execPath, [sinkPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve) => {
    sink.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
  });
  const done = new Promise<number>((resolve) => {
    sink.once('exit', () => resolve(Number(out.trim().split('\n').pop())));
  });
  const chunk = Buffer.alloc(chunkBytes, 0x78);
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const t0 = performance.now();
  let sent = 0;
  while (sent < totalBytes) {
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', () => r()));
  }
  socket.end();
  const received = await done;
  const seconds = (performance.now() - t0) / 1000;
  return {
    name: `loopback: Node socket pair, ${chunkBytes / 1024} KiB writes`,
    bytes: received,
    seconds,
    mbPerSec: received / 1e6 / seconds,
  };
}

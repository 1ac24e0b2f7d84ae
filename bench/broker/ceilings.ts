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
import { track } from './proc.ts';

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

async function startSink(
  args: readonly string[],
): Promise<{ port: number; done: Promise<number> }> {
  const sinkPath = fileURLToPath(new URL('./sink.js', import.meta.url));
  const sink = track(
    spawn(process.execPath, [sinkPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
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
  return { port, done };
}

/** Streams `totalBytes` over one loopback TCP connection to a sink in another Node process. */
export async function loopback(totalBytes: number, chunkBytes: number): Promise<Ceiling> {
  const { port, done } = await startSink([]);
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

export interface EchoLatency {
  readonly name: string;
  readonly rate: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/**
 * The machine's latency floor: 100-byte messages at a fixed rate over loopback to an echo in
 * another Node process, round trip timed. Two processes that must each be woken per message, as
 * the producer, the broker and the consumer are.
 */
export async function echoLatency(rate: number, seconds: number): Promise<EchoLatency> {
  const { port, done } = await startSink(['--echo']);
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const size = 100;
  const rtts: number[] = [];
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    const now = performance.now();
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= size) {
      rtts.push(now - pending.readDoubleLE(0));
      pending = pending.subarray(size);
    }
  });
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const msg = Buffer.alloc(size);
      msg.writeDoubleLE(performance.now(), 0);
      socket.write(msg);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = performance.now() + 5000;
  while (rtts.length < total && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  socket.end();
  await done;
  rtts.sort((a, b) => a - b);
  const at = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? NaN;
  return {
    name: `loopback echo between two Node processes, ${size} B, ${rate.toLocaleString('en-US')} msg/s`,
    rate,
    samples: rtts.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: rtts[rtts.length - 1] ?? NaN,
  };
}

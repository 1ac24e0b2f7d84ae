/**
 * Peers a user might pick instead, each driven by its own client, in the same run: Redis Streams
 * (XADD, pipelined, with redis-benchmark) and NATS JetStream (file storage, asynchronous publish
 * with a window of outstanding acks, with the small client in nats.ts, since Debian ships no
 * NATS command-line client). Each server's own CPU time is read from /proc like the broker's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { jetStreamPublish } from './nats.ts';
import { cpuSeconds, memoryMiB, run, sleep, track } from './proc.ts';

export interface PeerResult {
  readonly name: string;
  readonly records: number;
  readonly size: number;
  readonly seconds: number;
  readonly recPerSec: number;
  readonly mbPerSec: number;
  /** The server's user + system CPU per record, in microseconds. */
  readonly serverCpuUsPerRecord: number;
  readonly serverRssMiB: number;
  readonly clientCpuSec: number;
}

export async function which(cmd: string): Promise<string | null> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).trim() || null;
  } catch {
    return null;
  }
}

async function startServer(cmd: string, args: readonly string[]): Promise<ChildProcess> {
  const child = track(spawn(cmd, args, { stdio: 'ignore' }));
  await sleep(700);
  if (child.exitCode !== null) throw new Error(`${cmd} exited at start`);
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** `bash -c 'cmd; times'`: stdout of the command and the CPU seconds of its children. */
async function withChildCpu(
  cmd: string,
  args: readonly string[],
): Promise<{ out: string; cpu: number }> {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = await run('bash', ['-c', `${quoted} && times`]);
  const lines = out.trim().split('\n');
  const children = lines.pop() ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  return { out: lines.join('\n'), cpu: secs.reduce((a, b) => a + b, 0) };
}

/** Redis Streams: XADD of `size`-byte values, pipelined 100 deep over 50 connections. */
export async function redisStreams(
  port: number,
  dir: string,
  records: number,
  size: number,
  aof: boolean,
): Promise<PeerResult> {
  await mkdir(dir, { recursive: true });
  const server = await startServer('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    aof ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--dir',
    dir,
  ]);
  try {
    const pid = server.pid ?? -1;
    const cpu0 = cpuSeconds(pid);
    const value = 'x'.repeat(size);
    const t0 = performance.now();
    const { out, cpu } = await withChildCpu('redis-benchmark', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-n',
      String(records),
      '-P',
      '100',
      '-c',
      '50',
      '-q',
      'XADD',
      'bench',
      '*',
      'v',
      value,
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(pid);
    const m = /([\d.]+) requests per second/.exec(out.split('\r').pop() ?? out);
    const rps = m === null ? records / seconds : Number(m[1]);
    return {
      name: `Redis Streams XADD, pipelined${aof ? ', AOF everysec' : ', no persistence'}`,
      records,
      size,
      seconds: records / rps,
      recPerSec: rps,
      mbPerSec: (rps * size) / 1e6,
      serverCpuUsPerRecord: ((cpu1 - cpu0) / records) * 1e6,
      serverRssMiB: memoryMiB(pid).rss,
      clientCpuSec: cpu,
    };
  } finally {
    await stopServer(server);
  }
}

/** NATS JetStream: a file-storage stream, asynchronous publish with a window of acks. */
export async function natsJetStream(
  port: number,
  dir: string,
  records: number,
  size: number,
): Promise<PeerResult> {
  await mkdir(dir, { recursive: true });
  const server = await startServer('nats-server', [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-js',
    '-sd',
    dir,
  ]);
  try {
    const pid = server.pid ?? -1;
    const cpu0 = cpuSeconds(pid);
    const client0 = process.cpuUsage();
    const seconds = await jetStreamPublish(port, records, size, 2000);
    const client = process.cpuUsage(client0);
    const cpu1 = cpuSeconds(pid);
    return {
      name: 'NATS JetStream publish, file storage, async (window 2000)',
      records,
      size,
      seconds,
      recPerSec: records / seconds,
      mbPerSec: (records * size) / 1e6 / seconds,
      serverCpuUsPerRecord: ((cpu1 - cpu0) / records) * 1e6,
      serverRssMiB: memoryMiB(pid).rss,
      clientCpuSec: (client.user + client.system) / 1e6,
    };
  } finally {
    await stopServer(server);
  }
}

/**
 * Process plumbing for the broker benchmark: start and stop the broker under test, read a
 * process's CPU time and memory from /proc, run the librdkafka driver (bench/kafka_client.py).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every process this benchmark started and that has not exited yet. */
const live = new Set<ChildProcess>();

/** Records a child so that killAll() can end it if the run fails half-way. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Ends every process this run started and that is still running (each by its own pid). */
export function killAll(): void {
  for (const child of live) if (child.exitCode === null) child.kill('SIGKILL');
  live.clear();
}

/** Clock ticks per second of /proc/<pid>/stat times. */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User and system CPU seconds of a live process (all threads). */
export function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
}

/** user + system CPU seconds of a live process (all threads). */
export function cpuSeconds(pid: number): number {
  const { user, sys } = cpuSplit(pid);
  return user + sys;
}

/** Resident set size and its peak (VmHWM), in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m === null ? 0 : Number(m[1]) / 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The machine's 1-minute load average, to say how busy it was. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export interface BrokerOptions {
  readonly port: number;
  readonly logDir: string;
  readonly overrides?: readonly string[];
  readonly nodeFlags?: readonly string[];
}

/** A broker process started from this build (`../src/main.js` beside this bench). */
export class BrokerProcess {
  readonly child: ChildProcess;
  readonly bootstrap: string;
  /** Milliseconds from spawn to the "tributary ready" line. */
  startupMs = 0;
  #output = '';

  private constructor(child: ChildProcess, bootstrap: string) {
    this.child = child;
    this.bootstrap = bootstrap;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(opts: BrokerOptions): Promise<BrokerProcess> {
    const launcher = fileURLToPath(new URL('./launch.js', import.meta.url));
    const args = [
      ...(opts.nodeFlags ?? []),
      launcher,
      'start',
      '--override',
      `listeners=PLAINTEXT://127.0.0.1:${opts.port}`,
      '--override',
      `log.dirs=${opts.logDir}`,
    ];
    for (const o of opts.overrides ?? []) args.push('--override', o);
    const t0 = performance.now();
    const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const broker = new BrokerProcess(child, `127.0.0.1:${opts.port}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`broker not ready:\n${broker.#output}`)),
        300e3,
      );
      const onData = (d: Buffer): void => {
        broker.#output += d.toString();
        if (broker.#output.includes('tributary ready')) {
          clearTimeout(timer);
          broker.startupMs = performance.now() - t0;
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited (${code}) before ready:\n${broker.#output}`));
      });
    });
    return broker;
  }

  cpu(): { user: number; sys: number } {
    return cpuSplit(this.pid);
  }

  /**
   * The broker's own time per request by API since the last call (SIGUSR2: dispatch to the
   * response handed to the socket, src/broker/request-times.ts): p50, p99, p99.9 and max in ms.
   */
  async requestTimes(): Promise<Map<string, { count: number; ms: number[] }>> {
    const from = this.#output.length;
    this.child.kill('SIGUSR2');
    const deadline = performance.now() + 5000;
    while (!this.#output.slice(from).includes('request time')) {
      if (performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The lines of one report are written at once; give the pipe a moment to deliver them all.
    await new Promise((r) => setTimeout(r, 100));
    const out = new Map<string, { count: number; ms: number[] }>();
    const re =
      /request time (\w+): n=(\d+) p50=([\d.]+) p99=([\d.]+) p99\.9=([\d.]+) max=([\d.]+) ms/g;
    for (const m of this.#output.slice(from).matchAll(re)) {
      out.set(m[1] as string, {
        count: Number(m[2]),
        ms: [Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])],
      });
    }
    return out;
  }

  memory(): { rss: number; peak: number } {
    return memoryMiB(this.pid);
  }

  /** SIGTERM (a clean stop, which also writes a --cpu-prof profile) and wait for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30e3);
    await exited;
    clearTimeout(timer);
  }
}

/** The repository root: the nearest folder above this file that holds bench/kafka_client.py. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bench', 'kafka_client.py'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench/kafka_client.py not found above the build');
    dir = up;
  }
  return dir;
}

export const ROOT = repoRoot();
const DRIVER = join(ROOT, 'bench', 'kafka_client.py');
export const PYTHON = '/usr/bin/python3';

/** The JSON object kafka_client.py prints last (fields depend on the mode). */
export interface DriverOut {
  readonly records?: number;
  readonly bytes?: number;
  readonly start?: number;
  readonly end?: number;
  readonly seconds?: number;
  readonly cpu?: number;
  readonly errors?: string[];
  readonly rate?: number;
  readonly samples?: number;
  /** CPU seconds per wall second of the driver process (1 = one core busy all along). */
  readonly busy?: number;
  readonly partitions?: number;
  readonly median_ms?: number;
  readonly p50_ms?: number;
  readonly p99_ms?: number;
  readonly p999_ms?: number;
  readonly max_ms?: number;
  /** Send -> broker append and broker append -> receipt, p50/p99/p99.9 (LogAppendTime topics). */
  readonly to_broker_ms?: readonly (number | null)[];
  readonly from_broker_ms?: readonly (number | null)[];
}

export interface Running {
  readonly child: ChildProcess;
  /** Resolves with the JSON object the driver printed last. */
  readonly result: Promise<DriverOut>;
  /** Resolves when the driver prints a line equal to `line`. */
  waitFor(line: string): Promise<void>;
}

/** Starts the librdkafka driver in one mode; args are `--name value` pairs (arrays repeat). */
export function driver(
  mode: string,
  args: Record<string, string | number | readonly string[]>,
): Running {
  const argv = [DRIVER, mode];
  for (const [k, v] of Object.entries(args)) {
    // An array repeats the option (--client-config a=1 --client-config b=2).
    for (const one of Array.isArray(v) ? v : [v]) argv.push(`--${k}`, String(one));
  }
  const child = track(spawn(PYTHON, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) if (out.split('\n').includes(w.line)) w.resolve();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const result = new Promise<DriverOut>((resolve, reject) => {
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`kafka_client.py ${mode} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as DriverOut);
    });
  });
  return {
    child,
    result,
    waitFor: (line) =>
      new Promise<void>((resolve) => {
        if (out.split('\n').includes(line)) resolve();
        else waiters.push({ line, resolve });
      }),
  };
}

/** Runs a command to completion; resolves with stdout. */
export function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-1000)}`)),
    );
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

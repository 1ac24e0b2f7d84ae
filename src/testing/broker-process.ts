/**
 * Test harness: the broker as a child process, and child-process helpers with timeouts.
 *
 * `BrokerProcess.start()` runs `tributary start` on an ephemeral port (127.0.0.1:0) in a fresh
 * temporary data directory, waits for the ready line and exposes the bootstrap address.
 * `stop()` sends SIGTERM and waits, `kill()` sends SIGKILL, `restart()` starts again on the same
 * directory. stderr is kept so a failing test can show what the broker said.
 *
 * Every child gets a deadline and is killed when it passes, so a stuck client never hangs a suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ready line; the first listener is the bootstrap address (PLAINTEXT unless a test names others). */
const READY = /^tributary ready: listening on [A-Z0-9_]+:\/\/([^:\s,]+):(\d+)/m;

/** Children still running; killed when the test process exits so none outlives a failed suite. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** The repository root: the nearest ancestor of this file with the tributary package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
      if (parsed.name === 'tributary-broker') return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root (package.json "tributary-broker") not found');
    dir = up;
  }
}

/**
 * How to launch the broker: the package's bin when this harness was compiled into build/
 * (the bin imports build/src/main.js), else the main.js compiled next to this harness.
 */
function brokerCommand(): string[] {
  const root = repoRoot();
  const siblingMain = fileURLToPath(new URL('../main.js', import.meta.url));
  if (siblingMain === join(root, 'build', 'src', 'main.js')) {
    return [join(root, 'bin', 'tributary.js')];
  }
  const url = new URL('../main.js', import.meta.url).href;
  const script = `const { main } = await import(${JSON.stringify(url)});
await main(process.argv.slice(1));`;
  return ['--input-type=module', '-e', script];
}

export interface BrokerStartOptions {
  /** Kafka config names and values, passed as `--override name=value`. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** A server.properties file, passed as `--config` (the overrides win over it). */
  readonly configFile?: string;
  /** Use this data directory instead of a fresh temporary one (it is not removed by cleanup). */
  readonly dataDir?: string;
  /** How long to wait for the ready line. */
  readonly readyTimeoutMs?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The broker exited before its ready line: a start refused, with what it printed. */
export class BrokerExitedError extends Error {
  readonly status: ExitStatus;
  readonly stdout: string;
  readonly stderr: string;

  constructor(status: ExitStatus, stdout: string, stderr: string, described: string) {
    super(`broker exited (${status.code ?? status.signal}) before ready\n${described}`);
    this.name = 'BrokerExitedError';
    this.status = status;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** A running (or stopped) broker child process. */
export class BrokerProcess {
  readonly dataDir: string;
  readonly #ownsDir: boolean;
  readonly #overrides: Readonly<Record<string, string>>;
  readonly #configFile: string | undefined;
  readonly #readyTimeoutMs: number;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  #stderr = '';
  #stdout = '';
  #host = '127.0.0.1';
  #port = 0;
  /** Milliseconds from spawn to the ready line, for the last start. */
  startupMs = 0;

  private constructor(dataDir: string, ownsDir: boolean, options: BrokerStartOptions) {
    this.dataDir = dataDir;
    this.#ownsDir = ownsDir;
    this.#overrides = options.overrides ?? {};
    this.#configFile = options.configFile;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  }

  static async start(options: BrokerStartOptions = {}): Promise<BrokerProcess> {
    const owns = options.dataDir === undefined;
    const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tributary-test-')));
    const broker = new BrokerProcess(dir, owns, options);
    try {
      await broker.#launch(0);
    } catch (err) {
      if (owns) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return broker;
  }

  get port(): number {
    return this.#port;
  }

  /** `host:port` of a named listener, from the last ready line (several listeners). */
  listenerAddress(name: string): string {
    const lines = this.#stdout.split('\n').filter((l) => l.startsWith('tributary ready:'));
    const m = new RegExp(`${name}://([^:\\s,]+):(\\d+)`).exec(lines[lines.length - 1] ?? '');
    if (m === null) throw new Error(`no listener ${name} in the ready line`);
    return `${m[1]}:${m[2]}`;
  }

  /** `127.0.0.1:port`, for `bootstrap.servers`, `-b` and `brokers`. */
  get bootstrap(): string {
    return `${this.#host}:${this.#port}`;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The process id of the running broker (for /proc readings in benchmarks). */
  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.running) throw new Error('the broker is not running');
    return pid;
  }

  /** Everything the broker wrote to stderr since it was first started. */
  get stderr(): string {
    return this.#stderr;
  }

  get stdout(): string {
    return this.#stdout;
  }

  /** A short description for assertion messages: the tail of the broker's stderr. */
  describe(): string {
    const tail = this.#stderr.length > 4000 ? `…${this.#stderr.slice(-4000)}` : this.#stderr;
    return `broker ${this.bootstrap} (data ${this.dataDir}) stderr:\n${tail || '(empty)'}`;
  }

  async #launch(port: number): Promise<void> {
    const args = [
      ...brokerCommand(),
      'start',
      ...(this.#configFile === undefined ? [] : ['--config', this.#configFile]),
      '--override',
      `listeners=PLAINTEXT://127.0.0.1:${port}`,
      '--override',
      `log.dirs=${this.dataDir}`,
    ];
    for (const [k, v] of Object.entries(this.#overrides)) args.push('--override', `${k}=${v}`);
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: repoRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    track(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    await this.#waitReady(child);
    this.startupMs = performance.now() - started;
  }

  #waitReady(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      child.stdout?.setEncoding('utf8');
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err === undefined) {
          resolve();
        } else {
          child.kill('SIGKILL');
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        finish(new Error(`broker not ready after ${this.#readyTimeoutMs} ms\n${this.describe()}`));
      }, this.#readyTimeoutMs);
      child.stdout?.on('data', (chunk: string) => {
        this.#stdout += chunk;
        const m = READY.exec(this.#stdout);
        if (m === null) return;
        this.#host = m[1] ?? '127.0.0.1';
        this.#port = Number(m[2]);
        finish();
      });
      // 'close', not 'exit': by then everything the broker printed has been read.
      child.once('close', (code, signal) => {
        const status = { code, signal };
        finish(new BrokerExitedError(status, this.#stdout, this.#stderr, this.describe()));
      });
      child.once('error', (err) => finish(err));
    });
  }

  /** SIGTERM and wait for the exit; SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ExitStatus> {
    const child = this.#child;
    if (child === undefined || !this.running) return this.#exited;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`broker did not exit within ${timeoutMs} ms of SIGTERM\n${this.describe()}`);
    }
    return result;
  }

  /** Sends `signal` (SIGUSR2 prints the request times, ...) to the running broker. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child?.kill(signal);
  }

  /** Resolves with stdout once it matches `pattern`; rejects at the deadline or an exit. */
  waitForStdout(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return this.#waitForOutput(() => this.#stdout, 'stdout', pattern, timeoutMs);
  }

  /** Resolves with stderr once it matches `pattern`; rejects at the deadline or an exit. */
  waitForStderr(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return this.#waitForOutput(() => this.#stderr, 'stderr', pattern, timeoutMs);
  }

  async #waitForOutput(output: () => string, name: string, pattern: RegExp, timeoutMs: number) {
    const deadline = performance.now() + timeoutMs;
    while (!pattern.test(output())) {
      if (!this.running) {
        throw new Error(`broker exited before ${name} showed ${pattern}\n${this.describe()}`);
      }
      if (performance.now() > deadline) {
        throw new Error(
          `broker ${name} did not show ${pattern} in ${timeoutMs} ms\n${this.describe()}`,
        );
      }
      await sleep(20);
    }
    return output();
  }

  /** SIGKILL (kill -9) and wait for the exit. */
  async kill(): Promise<ExitStatus> {
    if (this.running) this.#child?.kill('SIGKILL');
    return this.#exited;
  }

  /**
   * Start again on the same data directory. With `samePort`, listen on the previous port
   * (so clients that were connected can reconnect); otherwise on a new ephemeral port.
   */
  async restart(options: { samePort?: boolean } = {}): Promise<void> {
    if (this.running) await this.stop();
    this.#stderr += '\n--- restart ---\n';
    this.#stdout = '';
    await this.#launch(options.samePort === true ? this.#port : 0);
  }

  /** Stop (SIGKILL if needed) and remove the temporary data directory. Never throws. */
  async cleanup(): Promise<void> {
    try {
      if (this.running) await this.stop(5_000);
    } catch {
      await this.kill();
    }
    if (this.#ownsDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The command that installs every client and server the tests drive. */
export const INSTALL_TEST_DEPS = 'sh scripts/install-test-deps.sh';

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  readonly input?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface RunResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** A one-line description of a finished command with its stderr, for assertion messages. */
export function describeRun(r: RunResult): string {
  const status = r.timedOut
    ? `timed out after ${Math.round(r.ms)} ms`
    : `exit ${r.code ?? r.signal}`;
  const err = r.stderr.length > 3000 ? `…${r.stderr.slice(-3000)}` : r.stderr;
  const out = r.stdout.toString('utf8');
  const outTail = out.length > 1500 ? `…${out.slice(-1500)}` : out;
  return `${r.command}: ${status}\nstderr:\n${err || '(empty)'}\nstdout:\n${outTail || '(empty)'}`;
}

/** A child process whose stdout lines can be watched while it runs. */
export class ChildRun {
  readonly command: string;
  readonly #child: ChildProcess;
  readonly #stdout: Buffer[] = [];
  #stderr = '';
  #lineBuf = '';
  #lines: string[] = [];
  #waiters: Array<() => void> = [];
  #timedOut = false;
  readonly #started = performance.now();
  readonly done: Promise<RunResult>;

  constructor(cmd: string, args: readonly string[], options: RunOptions = {}) {
    this.command = [cmd, ...args].map((a) => (/^[\w@%./:=,+-]+$/.test(a) ? a : `'${a}'`)).join(' ');
    const child = spawn(cmd, args, {
      cwd: options.cwd ?? repoRoot(),
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    track(child);
    const timer = setTimeout(() => {
      this.#timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
    this.done = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        this.#wake();
        resolve({
          command: this.command,
          code,
          signal,
          stdout: Buffer.concat(this.#stdout),
          stderr: this.#stderr,
          timedOut: this.#timedOut,
          ms: performance.now() - this.#started,
        });
      };
      child.once('error', (err) => {
        this.#stderr += `spawn error: ${err.message}\n`;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          this.#stderr += `${cmd} is not installed; install the test clients with: ${INSTALL_TEST_DEPS}\n`;
        }
        finish(null, null);
      });
      child.once('close', finish);
    });
  }

  #onStdout(chunk: Buffer): void {
    this.#stdout.push(chunk);
    this.#lineBuf += chunk.toString('utf8');
    const parts = this.#lineBuf.split('\n');
    this.#lineBuf = parts.pop() ?? '';
    if (parts.length > 0) {
      this.#lines.push(...parts);
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Complete stdout lines seen so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves once `predicate(lines)` holds; rejects on timeout or when the child has exited. */
  async waitFor(predicate: (lines: readonly string[]) => boolean, timeoutMs: number) {
    const deadline = performance.now() + timeoutMs;
    while (!predicate(this.#lines)) {
      if (!this.running) throw new Error(`${this.command} exited first\n${this.#stderr}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.command}: condition not met in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.#child.kill(signal);
  }
}

/** Run a command to completion (killed at `timeoutMs`), collecting stdout and stderr. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}) {
  return new ChildRun(cmd, args, options).done;
}

/** Run a command and throw (with its stderr) unless it exits 0 in time. */
export async function runOk(cmd: string, args: readonly string[], options: RunOptions = {}) {
  const r = await run(cmd, args, options);
  if (r.timedOut || r.code !== 0) throw new Error(describeRun(r));
  return r;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The parts of the embedded cluster (embedded-cluster.ts) that let one broker in a shared process
 * fail alone, as a machine does:
 *
 * - `Link`: a loopback TCP relay in front of one listener of one broker. Every connection to a
 *   broker (a client's, another broker's) arrives through one, so a link can be `paused` (the
 *   connections stay open, no byte moves either way, as to a stopped process), `cut` (every
 *   connection destroyed and the port closed, so new ones are refused as by a dead machine's
 *   kernel) or `up`. Its port outlives the broker behind it: a restarted broker is found at the
 *   same address.
 * - `BrokerClock`: a broker's view of the cluster's clock. Paused, its timers wait (a stopped
 *   process runs nothing); dead, they never fire again (a killed process's timers die with it).
 * - `FencedFileSystem`: a broker's view of its disk. Fenced when the broker is killed: from then
 *   on every call fails, so the dead broker cannot write, flush or mark a clean shutdown; what it
 *   had written stays, as in the page cache of a killed process.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Clock, TimerHandle } from './common/clock.ts';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './common/fs.ts';

export type LinkMode = 'up' | 'paused' | 'cut';

interface Pair {
  readonly inbound: Socket;
  readonly upstream: Socket;
  flowing: boolean;
}

export class Link {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #target: { readonly host: string; readonly port: number } | null = null;
  #mode: LinkMode = 'up';
  #port = 0;
  #closed = false;

  private constructor() {
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', () => undefined);
  }

  static async open(): Promise<Link> {
    const link = new Link();
    await new Promise<void>((resolve, reject) => {
      link.#server.once('error', reject);
      link.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = link.#server.address();
    if (address === null || typeof address === 'string') throw new Error('link has no port');
    link.#port = address.port;
    return link;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): LinkMode {
    return this.#mode;
  }

  /** Where new connections go (a restarted broker listens elsewhere). */
  retarget(port: number): void {
    this.#target = { host: '127.0.0.1', port };
  }

  setMode(mode: LinkMode): void {
    if (mode === this.#mode || this.#closed) return;
    const was = this.#mode;
    this.#mode = mode;
    if (mode === 'cut') this.#server.close();
    else if (was === 'cut') this.#relisten();
    for (const pair of [...this.#pairs]) {
      if (mode === 'cut') this.#drop(pair);
      else if (mode === 'paused') this.#hold(pair);
      else this.#flow(pair);
    }
  }

  /** The same port again (free since this link closed it a moment ago). */
  #relisten(): void {
    this.#server.listen(this.#port, '127.0.0.1');
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pair of [...this.#pairs]) this.#drop(pair);
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(inbound: Socket): void {
    const target = this.#target;
    if (this.#mode === 'cut' || target === null) {
      inbound.destroy();
      return;
    }
    inbound.pause();
    const upstream = tcpConnect({ host: target.host, port: target.port });
    upstream.pause();
    const pair: Pair = { inbound, upstream, flowing: false };
    this.#pairs.add(pair);
    const drop = () => this.#drop(pair);
    inbound.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    inbound.setNoDelay(true);
    upstream.setNoDelay(true);
    if (this.#mode === 'up') this.#flow(pair);
  }

  #flow(pair: Pair): void {
    if (pair.flowing) return;
    pair.flowing = true;
    pair.inbound.pipe(pair.upstream);
    pair.upstream.pipe(pair.inbound);
  }

  /** No byte moves either way; what was in flight waits in the sockets' buffers. */
  #hold(pair: Pair): void {
    if (!pair.flowing) return;
    pair.flowing = false;
    pair.inbound.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.inbound);
    pair.inbound.pause();
    pair.upstream.pause();
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.inbound.destroy();
    pair.upstream.destroy();
  }
}

export type BrokerClockState = 'running' | 'paused' | 'dead';

export class BrokerClock implements Clock {
  readonly #inner: Clock;
  #state: BrokerClockState = 'running';
  /** Timers that fell due while paused, in the order they did. */
  #due: { fn: () => void; cancelled: boolean }[] = [];

  constructor(inner: Clock) {
    this.#inner = inner;
  }

  nowMs(): number {
    return this.#inner.nowMs();
  }

  monotonicMs(): number {
    return this.#inner.monotonicMs();
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer = { fn, cancelled: false };
    if (this.#state === 'dead') return { cancel: () => undefined };
    const inner = this.#inner.schedule(delayMs, () => {
      if (timer.cancelled || this.#state === 'dead') return;
      if (this.#state === 'paused') this.#due.push(timer);
      else fn();
    });
    return {
      cancel: () => {
        timer.cancelled = true;
        inner.cancel();
      },
    };
  }

  pause(): void {
    if (this.#state === 'running') this.#state = 'paused';
  }

  /** Runs the timers that fell due meanwhile, then lets time act again. */
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    const due = this.#due;
    this.#due = [];
    for (const timer of due) if (!timer.cancelled) timer.fn();
  }

  kill(): void {
    this.#state = 'dead';
    this.#due = [];
  }
}

function fencedError(): Error {
  return Object.assign(new Error('EIO: the broker was killed'), { code: 'EIO' });
}

export class FencedFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  #fenced = false;

  constructor(inner: FileSystem) {
    this.#inner = inner;
  }

  fence(): void {
    this.#fenced = true;
  }

  #check(): void {
    if (this.#fenced) throw fencedError();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.#check();
    const handle = await this.#inner.open(path, mode);
    if (this.#fenced) throw fencedError();
    return this.#wrap(handle);
  }

  #wrap(handle: FileHandle): FileHandle {
    const check = () => this.#check();
    const writevSync = handle.writevSync;
    return {
      read: async (buf, bufOffset, length, position) => {
        check();
        return handle.read(buf, bufOffset, length, position);
      },
      write: async (buf, position) => {
        check();
        return handle.write(buf, position);
      },
      writev: async (bufs, position) => {
        check();
        return handle.writev(bufs, position);
      },
      writevSync:
        writevSync === undefined
          ? undefined
          : (bufs, position) => {
              check();
              return writevSync.call(handle, bufs, position);
            },
      fdatasync: async () => {
        check();
        return handle.fdatasync();
      },
      truncate: async (length) => {
        check();
        return handle.truncate(length);
      },
      stat: async () => {
        check();
        return handle.stat();
      },
      // Closing gives a descriptor back; it writes nothing.
      close: () => handle.close(),
    };
  }

  async rename(from: string, to: string): Promise<void> {
    this.#check();
    return this.#inner.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    this.#check();
    return this.#inner.unlink(path);
  }

  async readdir(path: string): Promise<string[]> {
    this.#check();
    return this.#inner.readdir(path);
  }

  async mkdir(path: string): Promise<void> {
    this.#check();
    return this.#inner.mkdir(path);
  }

  async rmdir(path: string): Promise<void> {
    this.#check();
    return this.#inner.rmdir(path);
  }

  async stat(path: string): Promise<FileStat> {
    this.#check();
    return this.#inner.stat(path);
  }

  async syncDir(path: string): Promise<void> {
    this.#check();
    return this.#inner.syncDir(path);
  }
}

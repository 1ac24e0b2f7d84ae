/**
 * File-system seam: the asynchronous operations the storage engine needs, nothing more.
 *
 * Production uses `nodeFileSystem` (descriptors and node:fs callbacks). Tests and the embedded
 * broker's `storage: "memory"` mode use the in-memory implementation in src/common/memory-fs.ts,
 * which can also inject faults. Errors carry Node's `code` strings ('ENOENT', 'ENOSPC', 'EIO', ...)
 * so callers can tell them apart the same way on both implementations.
 *
 * Writes are positional and may be short (like pwrite): callers that need every byte written use
 * `writeFully` / `writevFully` below, which loop.
 */
import * as fsCb from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** 'read': read only, must exist. 'write': read and write, created if absent, never truncated. */
export type OpenMode = 'read' | 'write';

export interface FileStat {
  readonly size: number;
  readonly isDirectory: boolean;
  readonly mtimeMs: number;
}

export interface FileHandle {
  /** Reads up to `length` bytes at `position` into buf[bufOffset..]; returns bytes read (0 = EOF). */
  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number>;
  /** Writes buf at `position`; returns bytes written, which may be fewer than buf.length. */
  write(buf: Buffer, position: number): Promise<number>;
  /** Writes the buffers back to back at `position`; returns bytes written (may be short). */
  writev(bufs: readonly Buffer[], position: number): Promise<number>;
  /**
   * The same on the calling thread, where the implementation offers it: a small write into the
   * page cache costs less than handing it to the thread pool and back (see sync-writes.ts).
   */
  readonly writevSync?: ((bufs: readonly Buffer[], position: number) => number) | undefined;
  fdatasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Creates the directory and its parents; succeeds if it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  stat(path: string): Promise<FileStat>;
  /** Makes a directory's entries (creations, renames, deletions) durable. */
  syncDir(path: string): Promise<void>;
}

/** Errors from the seam look like Node's: an Error with a string `code`. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return errorCode(err) === 'ENOENT';
}

/** Writes all of buf at position, looping over short writes. */
export async function writeFully(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await handle.write(done === 0 ? buf : buf.subarray(done), position + done);
    if (n <= 0) throw shortWriteError();
    done += n;
  }
}

/** Writes all buffers back to back at position, looping over short writes. */
export async function writevFully(
  handle: FileHandle,
  bufs: readonly Buffer[],
  position: number,
): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.length;
  const first = await handle.writev(bufs, position);
  if (first === total) return total;
  if (first <= 0) throw shortWriteError();
  return first + (await writevFully(handle, skipBytes(bufs, first), position + first));
}

/** writevFully on the calling thread; the handle must offer `writevSync`. */
export function writevFullySync(
  handle: FileHandle,
  bufs: readonly Buffer[],
  position: number,
): number {
  const write = handle.writevSync;
  if (write === undefined) throw new TypeError('handle has no synchronous writev');
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = 0;
  let rest: readonly Buffer[] = bufs;
  while (done < total) {
    const n = write.call(handle, rest, position + done);
    if (n <= 0) throw shortWriteError();
    done += n;
    if (done < total) rest = skipBytes(rest, n);
  }
  return total;
}

function skipBytes(bufs: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

function shortWriteError(): Error {
  const err = new Error('write made no progress') as Error & { code: string };
  err.code = 'EIO';
  return err;
}

/** Allocates the buffer a read fills (a pooled one for reads that go out in a response). */
export type ReadAlloc = (length: number) => Buffer;

/** Reads exactly `length` bytes at position (fewer only at end of file). */
export async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
  alloc: ReadAlloc = Buffer.allocUnsafe,
): Promise<Buffer> {
  const buf = alloc(length);
  let done = 0;
  while (done < length) {
    const n = await handle.read(buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Reads a whole file; undefined when it does not exist. */
export async function readWholeFile(fs: FileSystem, path: string): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'read');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    return await readAt(handle, 0, size);
  } finally {
    await handle.close();
  }
}

/**
 * Replaces a file atomically and durably: write `<path>.tmp`, fdatasync, rename over `path`,
 * sync the directory. A crash leaves either the old or the new content, never a mix.
 */
export async function writeFileAtomic(
  fs: FileSystem,
  dir: string,
  name: string,
  data: Buffer,
): Promise<void> {
  const path = `${dir}/${name}`;
  const tmp = `${path}.tmp`;
  const handle = await fs.open(tmp, 'write');
  try {
    await handle.truncate(0);
    await writeFully(handle, data, 0);
    await handle.fdatasync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}

/**
 * A callback-style node:fs call as a promise. The storage engine opens, reads and closes files
 * by the tens of thousands (10,000 partitions open and close at start-up and shutdown), and
 * fs/promises' FileHandle objects cost about half again as much main-thread time per call as
 * descriptors with callbacks (measured: open + fstat + close, 70 against 95-110 us).
 */
function call<T>(start: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    start((err, value) => (err === null ? resolve(value) : reject(err)));
  });
}

/** A file descriptor; closing twice is refused rather than closing a descriptor reused since. */
class NodeFileHandle implements FileHandle {
  #fd: number;

  constructor(fd: number) {
    this.#fd = fd;
  }

  get #open(): number {
    if (this.#fd < 0) {
      const err = new Error('file handle is closed') as Error & { code: string };
      err.code = 'EBADF';
      throw err;
    }
    return this.#fd;
  }

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
    const fd = this.#open;
    return call<number>((done) => fsCb.read(fd, buf, bufOffset, length, position, done));
  }

  write(buf: Buffer, position: number): Promise<number> {
    const fd = this.#open;
    return call<number>((done) => fsCb.write(fd, buf, 0, buf.length, position, done));
  }

  writev(bufs: readonly Buffer[], position: number): Promise<number> {
    if (bufs.length === 1) return this.write(bufs[0] as Buffer, position);
    const fd = this.#open;
    return call<number>((done) => fsCb.writev(fd, bufs as Buffer[], position, done));
  }

  writevSync(bufs: readonly Buffer[], position: number): number {
    const fd = this.#open;
    if (bufs.length === 1) {
      const buf = bufs[0] as Buffer;
      return fsCb.writeSync(fd, buf, 0, buf.length, position);
    }
    return fsCb.writevSync(fd, bufs as Buffer[], position);
  }

  fdatasync(): Promise<void> {
    const fd = this.#open;
    return call<void>((done) => fsCb.fdatasync(fd, (err) => done(err, undefined)));
  }

  truncate(length: number): Promise<void> {
    const fd = this.#open;
    return call<void>((done) => fsCb.ftruncate(fd, length, (err) => done(err, undefined)));
  }

  async stat(): Promise<FileStat> {
    const fd = this.#open;
    const s = await call<fsCb.Stats>((done) => fsCb.fstat(fd, done));
    return { size: s.size, isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
  }

  close(): Promise<void> {
    const fd = this.#open;
    this.#fd = -1;
    return call<void>((done) => fsCb.close(fd, (err) => done(err, undefined)));
  }
}

const WRITE_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT;

/** The real file system: descriptors for files, node:fs/promises for whole-path calls. */
export const nodeFileSystem: FileSystem = {
  async open(path, mode) {
    const flags = mode === 'read' ? fsConstants.O_RDONLY : WRITE_FLAGS;
    const fd = await call<number>((done) => fsCb.open(path, flags, 0o644, done));
    return new NodeFileHandle(fd);
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (path) => fsp.readdir(path),
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  rmdir: (path) => fsp.rmdir(path),
  async stat(path) {
    const s = await fsp.stat(path);
    return { size: s.size, isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
  },
  async syncDir(path) {
    const fh = await fsp.open(path, 'r');
    try {
      await fh.sync();
    } catch (err) {
      // Some file systems refuse fsync on a directory; the data files are still synced.
      if (errorCode(err) !== 'EINVAL' && errorCode(err) !== 'EISDIR') throw err;
    } finally {
      await fh.close();
    }
  },
};

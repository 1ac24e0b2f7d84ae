/**
 * In-memory FileSystem (fs.ts): the embedded broker's memory mode, and the storage tests' disk.
 *
 * MemoryFileSystem keeps POSIX semantics where storage relies on them: an open handle keeps its
 * file alive across unlink and rename; writes past the end zero-fill the gap; truncate can grow a
 * file (sparse: the zeros are not allocated until written); rename replaces the target atomically.
 * Files grow by doubling, so appends are amortised O(1).
 */
import { posix } from 'node:path';
import { systemClock } from './clock.ts';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './fs.ts';

export function fsError(code: string, op: string, path: string): Error {
  const err = new Error(`${code}: ${op} '${path}'`) as Error & { code: string; syscall: string };
  err.code = code;
  err.syscall = op;
  return err;
}

function norm(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Files are stored in fixed pages, allocated on first write: no regrowth copies, sparse holes. */
const PAGE_BYTES = 64 * 1024;

class MemFile {
  pages: (Buffer | undefined)[] = [];
  size = 0;
  mtimeMs = 0;
  /** Content as of the last fdatasync (durability tracking only): pages and size. */
  durablePages: (Buffer | undefined)[] = [];
  durableSize = 0;

  snapshotDurable(): void {
    this.durablePages = this.pages.map((p) => (p === undefined ? undefined : Buffer.from(p)));
    this.durableSize = this.size;
  }

  /**
   * The kernel wrote back part of the unsynced data on its own: the first `length` bytes of the
   * current content become durable (never less than what fdatasync already made durable).
   */
  writebackPrefix(fraction: number): void {
    if (this.size < this.durableSize) {
      if (fraction >= 0.5) this.snapshotDurable();
      return;
    }
    const length = this.durableSize + Math.floor(fraction * (this.size - this.durableSize));
    const copy = new MemFile();
    copy.pages = this.pages.map((p) => (p === undefined ? undefined : Buffer.from(p)));
    copy.size = this.size;
    copy.truncate(length);
    this.durablePages = copy.pages;
    this.durableSize = length;
  }

  restoreFrom(other: MemFile): void {
    this.pages = other.durablePages.map((p) => (p === undefined ? undefined : Buffer.from(p)));
    this.size = other.durableSize;
    this.durablePages = other.durablePages;
    this.durableSize = other.durableSize;
  }

  writeAt(buf: Buffer, position: number): void {
    let src = 0;
    let pos = position;
    while (src < buf.length) {
      const index = Math.floor(pos / PAGE_BYTES);
      const offset = pos - index * PAGE_BYTES;
      let page = this.pages[index];
      if (page === undefined) {
        page = Buffer.alloc(PAGE_BYTES);
        this.pages[index] = page;
      }
      const n = Math.min(PAGE_BYTES - offset, buf.length - src);
      buf.copy(page, offset, src, src + n);
      src += n;
      pos += n;
    }
    if (position + buf.length > this.size) this.size = position + buf.length;
  }

  readAt(buf: Buffer, bufOffset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.size - position));
    let done = 0;
    while (done < n) {
      const pos = position + done;
      const index = Math.floor(pos / PAGE_BYTES);
      const offset = pos - index * PAGE_BYTES;
      const k = Math.min(PAGE_BYTES - offset, n - done);
      const page = this.pages[index];
      if (page === undefined) buf.fill(0, bufOffset + done, bufOffset + done + k);
      else page.copy(buf, bufOffset + done, offset, offset + k);
      done += k;
    }
    return n;
  }

  /** Shrinking zeroes the cut part of the last page and drops the pages after it. */
  truncate(length: number): void {
    if (length < this.size) {
      const keep = Math.ceil(length / PAGE_BYTES);
      this.pages.length = Math.min(this.pages.length, keep);
      const last = this.pages[keep - 1];
      const offset = length - (keep - 1) * PAGE_BYTES;
      if (last !== undefined && offset < PAGE_BYTES) last.fill(0, offset);
    }
    this.size = length;
  }
}

class MemHandle implements FileHandle {
  readonly #file: MemFile;
  readonly #writable: boolean;
  readonly #path: string;
  readonly #now: () => number;
  readonly #trackDurability: boolean;
  #closed = false;

  constructor(
    file: MemFile,
    writable: boolean,
    path: string,
    now: () => number,
    trackDurability: boolean,
  ) {
    this.#file = file;
    this.#writable = writable;
    this.#path = path;
    this.#now = now;
    this.#trackDurability = trackDurability;
  }

  #check(op: string, write: boolean): void {
    if (this.#closed) throw fsError('EBADF', op, this.#path);
    if (write && !this.#writable) throw fsError('EBADF', op, this.#path);
  }

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
    this.#check('read', false);
    return this.#file.readAt(buf, bufOffset, length, position);
  }

  async write(buf: Buffer, position: number): Promise<number> {
    this.#check('write', true);
    this.#file.writeAt(buf, position);
    this.#file.mtimeMs = this.#now();
    return buf.length;
  }

  async writev(bufs: readonly Buffer[], position: number): Promise<number> {
    return this.writevSync(bufs, position);
  }

  writevSync(bufs: readonly Buffer[], position: number): number {
    this.#check('writev', true);
    let pos = position;
    for (const b of bufs) {
      this.#file.writeAt(b, pos);
      pos += b.length;
    }
    this.#file.mtimeMs = this.#now();
    return pos - position;
  }

  async fdatasync(): Promise<void> {
    this.#check('fdatasync', false);
    if (this.#trackDurability) this.#file.snapshotDurable();
  }

  async truncate(length: number): Promise<void> {
    this.#check('ftruncate', true);
    this.#file.truncate(length);
  }

  async stat(): Promise<FileStat> {
    this.#check('fstat', false);
    return { size: this.#file.size, isDirectory: false, mtimeMs: this.#file.mtimeMs };
  }

  async close(): Promise<void> {
    this.#check('close', false);
    this.#closed = true;
  }
}

type DurableEntry = MemFile | 'dir';

/**
 * With `trackDurability`, `crash()` simulates a power loss: each file falls back to its content at
 * its last fdatasync, and a directory to its entries at its last syncDir (a created, renamed or
 * deleted name is durable only once its directory was synced). Directories themselves are
 * durable as soon as mkdir returns (a simplification: storage syncs the directories it creates
 * files in, not their parents' parents).
 */
export class MemoryFileSystem implements FileSystem {
  #files = new Map<string, MemFile>();
  #dirs = new Map<string, Set<string>>([['/', new Set()]]);
  readonly #durableDirs = new Map<string, Map<string, DurableEntry>>([['/', new Map()]]);
  readonly #now: () => number;
  readonly #trackDurability: boolean;

  constructor(opts: { nowMs?: () => number; trackDurability?: boolean } = {}) {
    this.#now = opts.nowMs ?? systemClock.nowMs;
    this.#trackDurability = opts.trackDurability ?? false;
  }

  /**
   * Power loss: everything not made durable by fdatasync / syncDir is lost, except what the
   * kernel wrote back on its own when `writeback` (a random source) is given. Handles opened
   * before stay usable but no longer reach the files (the process that held them is gone).
   */
  crash(writeback?: () => number): void {
    if (!this.#trackDurability) throw new Error('crash() needs trackDurability');
    if (writeback !== undefined) this.#spontaneousWriteback(writeback);
    const files = new Map<string, MemFile>();
    const dirs = new Map<string, Set<string>>();
    const restore = (dir: string): void => {
      const names = new Set<string>();
      dirs.set(dir, names);
      for (const [name, entry] of this.#durableDirs.get(dir) ?? new Map<string, DurableEntry>()) {
        const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
        names.add(name);
        if (entry === 'dir') {
          restore(path);
          continue;
        }
        const file = new MemFile();
        file.restoreFrom(entry);
        files.set(path, file);
        // The durable view must now point at the restored file objects.
        this.#durableDirs.get(dir)?.set(name, file);
      }
    };
    restore('/');
    this.#files = files;
    this.#dirs = dirs;
  }

  /**
   * Before a crash the kernel may already have written back some unsynced state on its own: for
   * each directory (randomly) its current entries, for each file a random prefix of its content.
   */
  #spontaneousWriteback(random: () => number): void {
    for (const dir of this.#dirs.keys()) {
      if (random() < 0.5) this.#snapshotDir(dir);
    }
    for (const file of this.#files.values()) {
      if (random() < 0.5) file.writebackPrefix(random());
    }
  }

  #parentOf(path: string, op: string): Set<string> {
    const parent = this.#dirs.get(posix.dirname(path));
    if (parent === undefined) throw fsError('ENOENT', op, path);
    return parent;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const p = norm(path);
    let file = this.#files.get(p);
    if (file === undefined) {
      if (this.#dirs.has(p)) throw fsError('EISDIR', 'open', p);
      if (mode === 'read') throw fsError('ENOENT', 'open', p);
      const parent = this.#parentOf(p, 'open');
      file = new MemFile();
      file.mtimeMs = this.#now();
      this.#files.set(p, file);
      parent.add(posix.basename(p));
    }
    return new MemHandle(file, mode === 'write', p, this.#now, this.#trackDurability);
  }

  async rename(from: string, to: string): Promise<void> {
    const src = norm(from);
    const dst = norm(to);
    const dstParent = this.#parentOf(dst, 'rename');
    const file = this.#files.get(src);
    if (file !== undefined) {
      if (this.#dirs.has(dst)) throw fsError('EISDIR', 'rename', dst);
      this.#files.delete(src);
      this.#parentOf(src, 'rename').delete(posix.basename(src));
      this.#files.set(dst, file);
      dstParent.add(posix.basename(dst));
      return;
    }
    if (!this.#dirs.has(src)) throw fsError('ENOENT', 'rename', src);
    if (this.#files.has(dst) || (this.#dirs.get(dst)?.size ?? 0) > 0) {
      throw fsError('ENOTEMPTY', 'rename', dst);
    }
    this.#moveTree(src, dst);
    this.#parentOf(src, 'rename').delete(posix.basename(src));
    dstParent.add(posix.basename(dst));
  }

  #moveTree(src: string, dst: string): void {
    const prefix = `${src}/`;
    for (const [p, f] of [...this.#files]) {
      if (p.startsWith(prefix)) {
        this.#files.delete(p);
        this.#files.set(dst + p.slice(src.length), f);
      }
    }
    for (const [p, d] of [...this.#dirs]) {
      if (p === src || p.startsWith(prefix)) {
        this.#dirs.delete(p);
        this.#dirs.set(dst + p.slice(src.length), d);
      }
    }
  }

  async unlink(path: string): Promise<void> {
    const p = norm(path);
    if (!this.#files.delete(p)) throw fsError(this.#dirs.has(p) ? 'EISDIR' : 'ENOENT', 'unlink', p);
    this.#parentOf(p, 'unlink').delete(posix.basename(p));
  }

  async readdir(path: string): Promise<string[]> {
    const p = norm(path);
    const dir = this.#dirs.get(p);
    if (dir === undefined) throw fsError(this.#files.has(p) ? 'ENOTDIR' : 'ENOENT', 'readdir', p);
    return [...dir].sort();
  }

  async mkdir(path: string): Promise<void> {
    const p = norm(path);
    if (this.#dirs.has(p)) return;
    if (this.#files.has(p)) throw fsError('EEXIST', 'mkdir', p);
    const parent = posix.dirname(p);
    if (parent !== p) await this.mkdir(parent);
    this.#dirs.set(p, new Set());
    this.#parentOf(p, 'mkdir').add(posix.basename(p));
    if (this.#trackDurability) {
      this.#durableDirs.set(p, new Map());
      this.#durableDirs.get(posix.dirname(p))?.set(posix.basename(p), 'dir');
    }
  }

  async rmdir(path: string): Promise<void> {
    const p = norm(path);
    const dir = this.#dirs.get(p);
    if (dir === undefined) throw fsError('ENOENT', 'rmdir', p);
    if (dir.size > 0) throw fsError('ENOTEMPTY', 'rmdir', p);
    this.#dirs.delete(p);
    this.#parentOf(p, 'rmdir').delete(posix.basename(p));
  }

  async stat(path: string): Promise<FileStat> {
    const p = norm(path);
    const file = this.#files.get(p);
    if (file !== undefined) return { size: file.size, isDirectory: false, mtimeMs: file.mtimeMs };
    if (this.#dirs.has(p)) return { size: 0, isDirectory: true, mtimeMs: 0 };
    throw fsError('ENOENT', 'stat', p);
  }

  async syncDir(path: string): Promise<void> {
    const p = norm(path);
    const names = this.#dirs.get(p);
    if (names === undefined) throw fsError('ENOENT', 'fsync', path);
    if (this.#trackDurability) this.#snapshotDir(p);
  }

  #snapshotDir(p: string): void {
    const durable = new Map<string, DurableEntry>();
    for (const name of this.#dirs.get(p) ?? []) {
      const child = p === '/' ? `/${name}` : `${p}/${name}`;
      durable.set(name, this.#files.get(child) ?? 'dir');
    }
    this.#durableDirs.set(p, durable);
  }

  /** Test helpers: direct access to a file's bytes (a copy) and replacing them. */
  peek(path: string): Buffer | undefined {
    const file = this.#files.get(norm(path));
    if (file === undefined) return undefined;
    const out = Buffer.alloc(file.size);
    file.readAt(out, 0, file.size, 0);
    return out;
  }

  poke(path: string, data: Buffer): void {
    const file = this.#files.get(norm(path));
    if (file === undefined) throw fsError('ENOENT', 'poke', path);
    file.truncate(0);
    file.writeAt(data, 0);
  }
}

/**
 * A bounded pool of open file handles shared by every partition of a LogManager, least recently
 * used first out. A handle in use (an I/O call in flight) is never closed under its user: the
 * pool may briefly exceed its bound instead. `invalidate` detaches a path (before a rename or
 * delete); its handle closes once its last user is done.
 */
import type { FileHandle, FileSystem, OpenMode } from '../common/fs.ts';

interface Entry {
  readonly path: string;
  readonly mode: OpenMode;
  readonly handle: Promise<FileHandle>;
  /** The handle once open, so later users skip a promise turn. */
  opened: FileHandle | undefined;
  refs: number;
  detached: boolean;
}

export class HandleCache {
  readonly fs: FileSystem;
  readonly maxOpen: number;
  /** Insertion order is recency order: a used entry is moved to the end. */
  readonly #entries = new Map<string, Entry>();
  #opened = 0;

  constructor(fs: FileSystem, maxOpen: number) {
    this.fs = fs;
    this.maxOpen = Math.max(2, maxOpen);
  }

  /** Handles currently open (including detached ones still in use). */
  get openCount(): number {
    return this.#opened;
  }

  /** Runs fn with an open handle for path; 'write' opens (creating) for read and write. */
  async use<T>(path: string, mode: OpenMode, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const entry = this.#acquire(path, mode);
    try {
      const handle = entry.opened ?? (await entry.handle);
      return await fn(handle);
    } finally {
      entry.refs--;
      if (entry.detached && entry.refs === 0) await this.#close(entry);
      else this.#evict();
    }
  }

  /**
   * Runs fn at once with the handle for path when one is open in a mode that serves `mode`;
   * returns `undefined` without calling fn otherwise (the caller then goes through `use`).
   */
  useSync<T>(path: string, mode: OpenMode, fn: (h: FileHandle) => T): { value: T } | undefined {
    const entry = this.#entries.get(path);
    const handle = entry?.opened;
    if (entry === undefined || handle === undefined) return undefined;
    if (mode === 'write' && entry.mode === 'read') return undefined;
    this.#entries.delete(path);
    this.#entries.set(path, entry);
    return { value: fn(handle) };
  }

  #acquire(path: string, mode: OpenMode): Entry {
    let entry = this.#entries.get(path);
    if (entry !== undefined && mode === 'write' && entry.mode === 'read') {
      this.#detach(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      const handle = this.fs.open(path, mode);
      const created: Entry = { path, mode, handle, opened: undefined, refs: 0, detached: false };
      entry = created;
      this.#opened++;
      handle.then(
        (h) => {
          created.opened = h;
        },
        () => {
          // A failed open holds nothing; forget it so the next use retries.
          this.#opened--;
          if (this.#entries.get(path) === entry) this.#entries.delete(path);
        },
      );
    } else {
      this.#entries.delete(path);
    }
    this.#entries.set(path, entry);
    entry.refs++;
    return entry;
  }

  #evict(): void {
    if (this.#entries.size <= this.maxOpen) return;
    for (const entry of this.#entries.values()) {
      if (this.#entries.size <= this.maxOpen) break;
      if (entry.refs === 0) {
        this.#entries.delete(entry.path);
        entry.detached = true;
        void this.#close(entry);
      }
    }
  }

  #detach(entry: Entry): void {
    if (this.#entries.get(entry.path) === entry) this.#entries.delete(entry.path);
    entry.detached = true;
    if (entry.refs === 0) void this.#close(entry);
  }

  async #close(entry: Entry): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await entry.handle;
    } catch {
      return;
    }
    this.#opened--;
    await handle.close().catch(() => undefined);
  }

  /** Detaches path (e.g. before renaming or deleting it); its handle closes when unused. */
  invalidate(path: string): void {
    const entry = this.#entries.get(path);
    if (entry !== undefined) this.#detach(entry);
  }

  /** Detaches every path under a directory prefix. */
  invalidatePrefix(prefix: string): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.path.startsWith(prefix)) this.#detach(entry);
    }
  }

  /** Closes every handle not in use; the rest close when their users finish. */
  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(
      all.map(async (entry) => {
        entry.detached = true;
        if (entry.refs === 0) await this.#close(entry);
      }),
    );
  }
}

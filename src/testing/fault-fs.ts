/**
 * A fault-injecting wrapper over any FileSystem (src/common/fs.ts): fails chosen calls by
 * operation, by path substring, on the Nth matching call, once or persistently, with ENOSPC / EIO
 * (optionally after writing part of the data) or with a short write (fewer bytes written and no
 * error, as pwrite may do).
 */
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../common/fs.ts';
import { fsError } from '../common/memory-fs.ts';

export type FaultOp =
  | 'open'
  | 'read'
  | 'write'
  | 'writev'
  | 'fdatasync'
  | 'truncate'
  | 'rename'
  | 'unlink'
  | 'readdir'
  | 'mkdir'
  | 'rmdir'
  | 'stat'
  | 'syncDir'
  | 'close';

export interface FaultRule {
  /** Operations this rule applies to; all when absent. 'write' also matches writev. */
  readonly ops?: readonly FaultOp[];
  /** Applies only to paths containing this substring. */
  readonly path?: string;
  /** Fire on the Nth matching call (1-based); on every matching call when absent. */
  readonly nth?: number;
  /** How many times it fires once armed (default 1; Infinity = until removed). */
  readonly times?: number;
  /** 'ENOSPC' / 'EIO': fail; 'short': write only part of the data and return the short count. */
  readonly kind: 'ENOSPC' | 'EIO' | 'short';
  /** For write faults: bytes actually written before failing / returning (default half). */
  readonly partialBytes?: number;
}

interface ArmedRule {
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

/** Wraps a FileSystem and injects faults according to the rules added. */
export class FaultFileSystem implements FileSystem {
  readonly inner: FileSystem;
  readonly #rules: ArmedRule[] = [];
  /** Count of calls per operation, for tests that want to pick an N. */
  readonly calls = new Map<FaultOp, number>();
  /** Of the 'writev' calls, those made through writevSync (written from the event loop). */
  syncWriteCalls = 0;

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  addFault(rule: FaultRule): () => void {
    const armed: ArmedRule = { rule, seen: 0, fired: 0 };
    this.#rules.push(armed);
    return () => {
      const i = this.#rules.indexOf(armed);
      if (i >= 0) this.#rules.splice(i, 1);
    };
  }

  clearFaults(): void {
    this.#rules.length = 0;
  }

  /** Returns the rule that fires for this call, if any. */
  match(op: FaultOp, path: string): FaultRule | undefined {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    for (const armed of this.#rules) {
      const { rule } = armed;
      const opMatches =
        rule.ops === undefined ||
        rule.ops.includes(op) ||
        (op === 'writev' && rule.ops.includes('write'));
      if (!opMatches || (rule.path !== undefined && !path.includes(rule.path))) continue;
      armed.seen++;
      if (rule.nth !== undefined && armed.seen < rule.nth) continue;
      if (armed.fired >= (rule.times ?? 1)) continue;
      armed.fired++;
      return rule;
    }
    return undefined;
  }

  #maybeFail(op: FaultOp, path: string): void {
    const rule = this.match(op, path);
    if (rule !== undefined && rule.kind !== 'short') throw fsError(rule.kind, op, path);
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.#maybeFail('open', path);
    return new FaultHandle(this, await this.inner.open(path, mode), path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.#maybeFail('rename', from);
    return this.inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.#maybeFail('unlink', path);
    return this.inner.unlink(path);
  }
  async readdir(path: string): Promise<string[]> {
    this.#maybeFail('readdir', path);
    return this.inner.readdir(path);
  }
  async mkdir(path: string): Promise<void> {
    this.#maybeFail('mkdir', path);
    return this.inner.mkdir(path);
  }
  async rmdir(path: string): Promise<void> {
    this.#maybeFail('rmdir', path);
    return this.inner.rmdir(path);
  }
  async stat(path: string): Promise<FileStat> {
    this.#maybeFail('stat', path);
    return this.inner.stat(path);
  }
  async syncDir(path: string): Promise<void> {
    this.#maybeFail('syncDir', path);
    return this.inner.syncDir(path);
  }
}

/** The bytes a faulted write still writes: `partialBytes`, by default half of them. */
function faultedPrefix(rule: FaultRule, bufs: readonly Buffer[]): Buffer {
  let total = 0;
  for (const b of bufs) total += b.length;
  const partial = Math.min(total, rule.partialBytes ?? Math.floor(total / 2));
  return Buffer.concat(bufs as Buffer[]).subarray(0, partial);
}

class FaultHandle implements FileHandle {
  readonly #fs: FaultFileSystem;
  readonly #inner: FileHandle;
  readonly #path: string;

  constructor(fs: FaultFileSystem, inner: FileHandle, path: string) {
    this.#fs = fs;
    this.#inner = inner;
    this.#path = path;
  }

  #fail(op: FaultOp): void {
    const rule = this.#fs.match(op, this.#path);
    if (rule !== undefined && rule.kind !== 'short') throw fsError(rule.kind, op, this.#path);
  }

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
    this.#fail('read');
    return this.#inner.read(buf, bufOffset, length, position);
  }

  write(buf: Buffer, position: number): Promise<number> {
    return this.writev([buf], position);
  }

  async writev(bufs: readonly Buffer[], position: number): Promise<number> {
    const rule = this.#fs.match('writev', this.#path);
    if (rule === undefined) return this.#inner.writev(bufs, position);
    const prefix = faultedPrefix(rule, bufs);
    if (prefix.length > 0) await this.#inner.write(prefix, position);
    return this.#faultResult(rule, prefix.length);
  }

  /** What a faulted write returns after writing its prefix: the short count, or the error. */
  #faultResult(rule: FaultRule, written: number): number {
    if (rule.kind === 'short') return written;
    throw fsError(rule.kind, 'write', this.#path);
  }

  /** Present when the wrapped handle has it, with the same faults as writev. */
  get writevSync(): ((bufs: readonly Buffer[], position: number) => number) | undefined {
    const inner = this.#inner;
    const innerSync = inner.writevSync;
    if (innerSync === undefined) return undefined;
    return (bufs, position) => {
      this.#fs.syncWriteCalls++;
      const rule = this.#fs.match('writev', this.#path);
      if (rule === undefined) return innerSync.call(inner, bufs, position);
      const prefix = faultedPrefix(rule, bufs);
      if (prefix.length > 0) innerSync.call(inner, [prefix], position);
      return this.#faultResult(rule, prefix.length);
    };
  }

  async fdatasync(): Promise<void> {
    this.#fail('fdatasync');
    return this.#inner.fdatasync();
  }
  async truncate(length: number): Promise<void> {
    this.#fail('truncate');
    return this.#inner.truncate(length);
  }
  async stat(): Promise<FileStat> {
    this.#fail('stat');
    return this.#inner.stat();
  }
  async close(): Promise<void> {
    // Close always releases the handle; a failure is reported after.
    await this.#inner.close();
    this.#fail('close');
  }
}

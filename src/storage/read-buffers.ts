/**
 * Buffers for reads from segment files, reused once the response that carried their bytes has
 * been handed to the kernel.
 *
 * A consumer reading from disk makes the broker read up to a megabyte per partition per fetch.
 * Allocating each read afresh had V8 count hundreds of megabytes per second of external memory
 * and collect garbage several times a second for it (docs/benchmarks.md, consume from disk).
 * Reused buffers cost nothing of that.
 *
 * Reuse is only safe once nothing reads the bytes any more: a `ReadLease` collects the buffers one
 * response used and gives them back in `release()`, which the connection calls after the socket
 * write of that response completed (or failed, or the response was dropped). Buffers come in
 * power-of-two sizes from 64 KiB; idle buffers are kept up to a byte budget, the rest are left to
 * the garbage collector, and reads above the largest size are plain allocations.
 */

const SIZE_MIN_BYTES = 64 * 1024;
const SIZE_MAX_BYTES = 16 * 1024 * 1024;

function sizeClass(n: number): number {
  let size = SIZE_MIN_BYTES;
  while (size < n) size *= 2;
  return size;
}

export class ReadBufferPool {
  /** Idle buffers by size. */
  readonly #idle = new Map<number, Buffer[]>();
  readonly #idleBytesMax: number;
  #idleBytes = 0;
  #allocated = 0;
  #reused = 0;

  /** `idleBytesMax` (tributary.fetch.read.buffers.bytes): most bytes kept for reuse; 0: none. */
  constructor(idleBytesMax: number) {
    this.#idleBytesMax = idleBytesMax;
  }

  /** Buffers allocated and reads served from reused buffers (tests, benchmarks). */
  get stats(): { allocated: number; reused: number; idleBytes: number } {
    return { allocated: this.#allocated, reused: this.#reused, idleBytes: this.#idleBytes };
  }

  lease(): ReadLease {
    return new ReadLease(this);
  }

  /** A whole buffer of at least n bytes; undefined above the largest pooled size. */
  take(n: number): Buffer | undefined {
    if (n > SIZE_MAX_BYTES || this.#idleBytesMax === 0) return undefined;
    const size = sizeClass(n);
    const idle = this.#idle.get(size)?.pop();
    if (idle !== undefined) {
      this.#idleBytes -= size;
      this.#reused++;
      return idle;
    }
    this.#allocated++;
    return Buffer.allocUnsafe(size);
  }

  give(buf: Buffer): void {
    if (this.#idleBytes + buf.length > this.#idleBytesMax) return;
    let list = this.#idle.get(buf.length);
    if (list === undefined) {
      list = [];
      this.#idle.set(buf.length, list);
    }
    list.push(buf);
    this.#idleBytes += buf.length;
  }
}

/** The read buffers of one response. */
export class ReadLease {
  readonly #pool: ReadBufferPool;
  readonly #taken: Buffer[] = [];
  #released = false;

  constructor(pool: ReadBufferPool) {
    this.#pool = pool;
  }

  /** n bytes to read into, valid until `release()`. */
  readonly alloc = (n: number): Buffer => {
    if (this.#released) throw new Error('read lease used after release');
    const whole = this.#pool.take(n);
    if (whole === undefined) return Buffer.allocUnsafe(n);
    this.#taken.push(whole);
    return whole.subarray(0, n);
  };

  /** Gives every buffer back; the bytes read into them must no longer be used. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const b of this.#taken) this.#pool.give(b);
    this.#taken.length = 0;
  }
}

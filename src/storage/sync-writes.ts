/**
 * When a log write goes straight from the event loop (a synchronous pwrite) instead of through
 * libuv's thread pool.
 *
 * A small write into the page cache takes microseconds; handing it to the thread pool costs two
 * thread wake-ups, an eventfd round trip and, on a busy machine, waiting for a core: measured
 * p99 2.6-4.2 ms per write against 0.3-1.8 ms when written in place, and about 10% less broker
 * CPU at 10,000 records/s in small requests (docs/benchmarks.md). Kafka writes its log the same
 * way, from the request handler thread.
 *
 * The risk is the event loop blocking when the kernel stalls a writer (dirty-page throttling, a
 * slow device): every connection would wait. So only writes up to `bytesMax` go in place, and a
 * write slower than `slowMs` sends every write back to the thread pool for `BACKOFF_MS` before
 * the next try. Large writes always go to the thread pool, where the copy into the page cache
 * runs beside the event loop.
 */
import type { Clock } from '../common/clock.ts';

export const SYNC_WRITE_BYTES_MAX_DEFAULT = 128 * 1024;
export const SYNC_WRITE_SLOW_MS_DEFAULT = 5;

/** How long writes stay on the thread pool after one in-place write was slow. */
export const SYNC_WRITE_BACKOFF_MS = 1000;

export interface SyncWriteLimits {
  /** tributary.log.sync.write.bytes.max: larger grouped writes use the thread pool; 0: never. */
  readonly bytesMax: number;
  /** tributary.log.sync.write.slow.ms: an in-place write slower than this backs off. */
  readonly slowMs: number;
}

export class SyncWritePolicy {
  readonly #limits: SyncWriteLimits;
  readonly #clock: Clock;
  /** Monotonic time before which writes use the thread pool. */
  #backoffUntil = Number.NEGATIVE_INFINITY;
  #slowWrites = 0;

  constructor(limits: SyncWriteLimits, clock: Clock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  /** In-place writes that were slower than the limit (each started a back-off). */
  get slowWrites(): number {
    return this.#slowWrites;
  }

  /** Monotonic milliseconds now, or -1 when a write of `bytes` should use the thread pool. */
  begin(bytes: number): number {
    if (bytes > this.#limits.bytesMax) return -1;
    const now = this.#clock.monotonicMs();
    return now < this.#backoffUntil ? -1 : now;
  }

  /** Called after an in-place write that `begin` allowed at `startedMs`. */
  end(startedMs: number): void {
    const now = this.#clock.monotonicMs();
    if (now - startedMs > this.#limits.slowMs) {
      this.#slowWrites++;
      this.#backoffUntil = now + SYNC_WRITE_BACKOFF_MS;
    }
  }
}

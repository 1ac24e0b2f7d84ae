/**
 * Replication throttles (KIP-73): a leader's bytes sent to out-of-sync followers of throttled
 * partitions, and a follower's bytes fetched for its own out-of-sync replicas of them, each kept
 * under a rate (leader.replication.throttled.rate, follower.replication.throttled.rate), so a big
 * reassignment does not starve the clients. Which partitions are throttled is a topic config:
 * leader.replication.throttled.replicas and follower.replication.throttled.replicas, lists of
 * partition:broker (the broker that throttles) or "*".
 *
 * The rate is measured as Kafka's ReplicationQuotaManager does: samples of
 * replication.quota.window.size.seconds, replication.quota.window.num of them kept, the rate
 * being the bytes in the kept samples over the time they span (at least all but one full
 * window, so a first burst is judged over the whole span, not over its own few milliseconds).
 * While the rate is over the limit, throttled partitions get no data; in-sync replicas never
 * wait, whatever the throttle.
 */
import type { Clock } from '../common/clock.ts';

/** A rate this large is no limit (Kafka's default, Long.MAX_VALUE). */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

export interface QuotaWindow {
  /** replication.quota.window.size.seconds, in ms. */
  readonly sampleMs: number;
  /** replication.quota.window.num */
  readonly samples: number;
}

export class ReplicationQuota {
  readonly #clock: Clock;
  readonly #window: QuotaWindow;
  #limit: number;
  /** Bytes per sample, with the start of each (monotonic ms); the oldest first. */
  readonly #starts: number[] = [];
  readonly #bytes: number[] = [];

  constructor(clock: Clock, window: QuotaWindow, bytesPerSecond: number) {
    this.#clock = clock;
    this.#window = window;
    this.#limit = bytesPerSecond;
  }

  /** The limit in bytes per second (a dynamic broker config may change it while running). */
  get limit(): number {
    return this.#limit;
  }

  set limit(bytesPerSecond: number) {
    this.#limit = bytesPerSecond;
  }

  get unlimited(): boolean {
    return this.#limit >= UNLIMITED;
  }

  record(bytes: number): void {
    if (bytes <= 0 || this.unlimited) return;
    const now = this.#clock.monotonicMs();
    this.#expire(now);
    const last = this.#starts.length - 1;
    if (last >= 0 && now < (this.#starts[last] as number) + this.#window.sampleMs) {
      this.#bytes[last] = (this.#bytes[last] as number) + bytes;
      return;
    }
    this.#starts.push(now);
    this.#bytes.push(bytes);
  }

  /** The measured rate, bytes per second. */
  rate(): number {
    const now = this.#clock.monotonicMs();
    this.#expire(now);
    const first = this.#starts[0];
    if (first === undefined) return 0;
    let total = 0;
    for (const b of this.#bytes) total += b;
    const minSpan = (this.#window.samples - 1) * this.#window.sampleMs;
    const spanMs = Math.max(now - first, minSpan, 1);
    return (total * 1000) / spanMs;
  }

  isExceeded(): boolean {
    return !this.unlimited && this.rate() > this.#limit;
  }

  #expire(now: number): void {
    const keepMs = this.#window.samples * this.#window.sampleMs;
    while (this.#starts.length > 0 && (this.#starts[0] as number) + keepMs <= now) {
      this.#starts.shift();
      this.#bytes.shift();
    }
  }
}

/**
 * A parsed throttled-replicas list: true when `partition` on `brokerId` is in it. An empty list
 * throttles nothing; "*" every replica.
 */
export function throttledReplicas(
  value: string | undefined,
): (partition: number, brokerId: number) => boolean {
  const entries = (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return () => false;
  if (entries.includes('*')) return () => true;
  const set = new Set(entries);
  return (partition, brokerId) => set.has(`${partition}:${brokerId}`);
}

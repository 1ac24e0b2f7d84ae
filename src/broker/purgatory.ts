/**
 * Where long-poll fetches wait (Kafka's DelayedFetch): until new data reaches one of the
 * partitions they read, or their wait expires. Bounded by tributary.fetch.purgatory.max: when it
 * is full a fetch is answered at once with what there is, which clients handle as an empty poll.
 */
import type { Clock } from '../common/clock.ts';
import type { TopicPartitionKey } from '../common/ids.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';

export class FetchPurgatory {
  readonly #partitions: ReplicaManager;
  readonly #clock: Clock;
  readonly #waitersMax: number;
  #waiters = 0;
  readonly #pending = new Set<() => void>();

  constructor(partitions: ReplicaManager, clock: Clock, waitersMax: number) {
    this.#partitions = partitions;
    this.#clock = clock;
    this.#waitersMax = waitersMax;
  }

  get waiting(): number {
    return this.#waiters;
  }

  /**
   * Resolves true when data arrives on one of `keys` (topicPartitionKey values) within `timeoutMs`,
   * false on timeout, or at once (false) when the purgatory is full.
   */
  wait(keys: readonly TopicPartitionKey[], timeoutMs: number): Promise<boolean> {
    if (this.#waiters >= this.#waitersMax || timeoutMs <= 0 || keys.length === 0) {
      return Promise.resolve(false);
    }
    this.#waiters++;
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const finish = (woken: boolean) => {
        if (settled) return;
        settled = true;
        this.#waiters--;
        this.#pending.delete(release);
        unsubscribe();
        timer.cancel();
        resolve(woken);
      };
      const release = () => finish(false);
      const unsubscribe = this.#partitions.onData(keys, () => finish(true));
      const timer = this.#clock.schedule(timeoutMs, () => finish(false));
      this.#pending.add(release);
    });
  }

  /** Answers every waiting fetch now (shutdown). */
  releaseAll(): void {
    for (const release of [...this.#pending]) release();
  }
}

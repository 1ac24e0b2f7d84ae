/**
 * Periodic samples of the cluster for the overview and the topic list: every partition's log
 * end offset (one ListOffsets per leader) and size on disk (DescribeLogDirs per broker). Rates
 * are the growth of a topic's summed log end offsets between two samples; the last
 * `historyMax` rates per topic make its sparkline. A sample that fails keeps the previous one
 * and its error is shown.
 */
import {
  type Admin,
  EARLIEST,
  LATEST,
  partitionSizes,
  type TopicMetadata,
} from '../admin/index.ts';

export interface SamplerOptions {
  readonly intervalMs: number;
  /** Rates kept per topic (and for the cluster), the length of a sparkline. */
  readonly historyMax: number;
}

export interface TopicSample {
  /** Sum of the log end offsets of the partitions that answered. */
  readonly endOffsetSum: number;
  readonly endOffsets: ReadonlyMap<number, number>;
  /** Records between the log starts and ends (less where compaction removed some). */
  readonly messages: number;
  readonly bytes: number;
}

export class Sampler {
  readonly #admin: Admin;
  readonly #options: SamplerOptions;
  #topics = new Map<string, TopicSample>();
  #atMs = 0;
  readonly #rates = new Map<string, number[]>();
  readonly #totalRates: number[] = [];
  #lastError: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(admin: Admin, options: SamplerOptions) {
    this.#admin = admin;
    this.#options = options;
  }

  get intervalMs(): number {
    return this.#options.intervalMs;
  }

  /** When the last sample was taken (0: none yet). */
  get sampledAtMs(): number {
    return this.#atMs;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  topic(name: string): TopicSample | undefined {
    return this.#topics.get(name);
  }

  /** The topic's rates, oldest first, in messages a second. */
  rates(name: string): readonly number[] {
    return this.#rates.get(name) ?? [];
  }

  /** The cluster's rates (every topic), oldest first. */
  get totalRates(): readonly number[] {
    return this.#totalRates;
  }

  start(): void {
    const tick = () => {
      this.#running = this.sample()
        .catch(() => undefined)
        .finally(() => {
          this.#running = null;
          if (this.#timer !== null) this.#timer = setTimeout(tick, this.#options.intervalMs);
        });
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Waits for a sample in progress, or takes one when there is none yet. */
  async ready(): Promise<void> {
    if (this.#running !== null) await this.#running;
    if (this.#atMs === 0) await this.sample().catch(() => undefined);
  }

  /** Takes one sample now. */
  async sample(): Promise<void> {
    try {
      const topics = await this.#admin.listTopics();
      const brokers = [...this.#admin.client.cachedMetadata.brokers.keys()];
      const [starts, ends, sizes] = await Promise.all([
        this.#admin.offsetsOfTopics(topics, EARLIEST),
        this.#admin.offsetsOfTopics(topics, LATEST),
        partitionSizes(this.#admin.client, brokers),
      ]);
      this.#record(topics, starts, ends, sizes, Date.now());
      this.#lastError = null;
    } catch (err) {
      this.#lastError = (err as Error).message;
      throw err;
    }
  }

  #record(
    topics: readonly TopicMetadata[],
    starts: ReadonlyMap<string, ReadonlyMap<number, number>>,
    ends: ReadonlyMap<string, ReadonlyMap<number, number>>,
    sizes: ReadonlyMap<string, ReadonlyMap<number, number>>,
    nowMs: number,
  ): void {
    const next = new Map<string, TopicSample>();
    const seconds = (nowMs - this.#atMs) / 1000;
    let total = 0;
    for (const t of topics) {
      const endOffsets = ends.get(t.name) ?? new Map<number, number>();
      let endOffsetSum = 0;
      let messages = 0;
      for (const [p, o] of endOffsets) {
        endOffsetSum += o;
        messages += Math.max(0, o - (starts.get(t.name)?.get(p) ?? o));
      }
      let bytes = 0;
      for (const b of sizes.get(t.name)?.values() ?? []) bytes += b;
      next.set(t.name, { endOffsetSum, endOffsets, messages, bytes });
      const before = this.#topics.get(t.name);
      if (before !== undefined && this.#atMs > 0 && seconds > 0) {
        const rate = Math.max(0, endOffsetSum - before.endOffsetSum) / seconds;
        total += rate;
        push(this.#rates, t.name, rate, this.#options.historyMax);
      }
    }
    for (const name of this.#rates.keys()) if (!next.has(name)) this.#rates.delete(name);
    if (this.#atMs > 0 && seconds > 0) {
      this.#totalRates.push(total);
      if (this.#totalRates.length > this.#options.historyMax) this.#totalRates.shift();
    }
    this.#topics = next;
    this.#atMs = nowMs;
  }
}

function push(m: Map<string, number[]>, key: string, value: number, max: number): void {
  const list = m.get(key) ?? [];
  list.push(value);
  if (list.length > max) list.shift();
  m.set(key, list);
}

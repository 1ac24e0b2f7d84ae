/**
 * What this broker knows of the cluster, read synchronously by every handler: the brokers and
 * their endpoints, the controller, and every topic with its id, configs and, per partition, the
 * leader, leader epoch, replicas and in-sync replicas. Kafka's MetadataCache.
 *
 * One writer: the cache is created together with a MetadataCacheWriter, and only the component
 * that holds the writer (the controller in single-node mode; the metadata listener of the cluster
 * mode) changes it. Readers get immutable images: a topic image is replaced, never mutated, so a
 * handler that holds one sees a consistent topic.
 */
import { assert } from '../common/assert.ts';
import type { BrokerId, TopicId } from '../common/ids.ts';

export interface BrokerEndpoint {
  readonly listenerName: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerRegistration {
  readonly id: BrokerId;
  readonly rack: string | null;
  readonly endpoints: readonly BrokerEndpoint[];
}

/** Kafka's partition state (the `state` znode, LeaderAndIsr): who leads, at which epoch. */
export interface PartitionImage {
  readonly partition: number;
  /** -1 when the partition has no leader (offline). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: TopicId;
  readonly partitionCount: number;
  readonly partitions: readonly PartitionImage[];
  /** The topic's own config overrides. */
  readonly configs: ReadonlyMap<string, string>;
}

export class MetadataCache {
  readonly clusterId: string;
  /** This broker's id. */
  readonly localBrokerId: BrokerId;
  #controllerId = -1;
  readonly #brokers = new Map<number, BrokerRegistration>();
  readonly #topics = new Map<string, TopicImage>();
  readonly #byId = new Map<string, TopicImage>();
  #partitionTotal = 0;
  readonly #listeners = new Set<() => void>();

  private constructor(clusterId: string, localBrokerId: BrokerId) {
    this.clusterId = clusterId;
    this.localBrokerId = localBrokerId;
  }

  /** A new cache and its one writer. */
  static create(
    clusterId: string,
    localBrokerId: BrokerId,
  ): { cache: MetadataCache; writer: MetadataCacheWriter } {
    const cache = new MetadataCache(clusterId, localBrokerId);
    return { cache, writer: new MetadataCacheWriter(cache, cache.#mutators()) };
  }

  get controllerId(): number {
    return this.#controllerId;
  }

  brokers(): IterableIterator<BrokerRegistration> {
    return this.#brokers.values();
  }

  get brokerCount(): number {
    return this.#brokers.size;
  }

  broker(id: number): BrokerRegistration | undefined {
    return this.#brokers.get(id);
  }

  /** A broker's endpoint on `listenerName`, as clients connected there must see it. */
  endpoint(id: number, listenerName: string): BrokerEndpoint | undefined {
    return this.#brokers.get(id)?.endpoints.find((e) => e.listenerName === listenerName);
  }

  topics(): IterableIterator<TopicImage> {
    return this.#topics.values();
  }

  get topicCount(): number {
    return this.#topics.size;
  }

  /** Partitions of every topic. */
  get partitionTotal(): number {
    return this.#partitionTotal;
  }

  get(name: string): TopicImage | undefined {
    return this.#topics.get(name);
  }

  getById(topicId: string): TopicImage | undefined {
    return this.#byId.get(topicId);
  }

  partition(topic: string, partition: number): PartitionImage | undefined {
    return this.#topics.get(topic)?.partitions[partition];
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves true once `ready` holds for the cache (checked now and after every change), false
   * after `timeoutMs` (a schedule of the caller's clock).
   */
  waitFor(
    ready: (cache: MetadataCache) => boolean,
    timeoutMs: number,
    schedule: (ms: number, fn: () => void) => { cancel(): void },
  ): Promise<boolean> {
    if (ready(this)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        off();
        timer.cancel();
        resolve(ok);
      };
      const off = this.onChange(() => {
        if (ready(this)) done(true);
      });
      const timer = schedule(timeoutMs, () => done(false));
    });
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  #mutators(): CacheMutators {
    return {
      setController: (id) => {
        this.#controllerId = id;
        this.#changed();
      },
      putBroker: (b) => {
        this.#brokers.set(b.id, b);
        this.#changed();
      },
      removeBroker: (id) => {
        this.#brokers.delete(id);
        this.#changed();
      },
      putTopic: (t) => {
        checkTopicImage(t);
        const old = this.#topics.get(t.name);
        if (old !== undefined) {
          assert(old.topicId === t.topicId, 'a topic name changes id only through a deletion');
          this.#partitionTotal -= old.partitionCount;
        }
        this.#topics.set(t.name, t);
        this.#byId.set(t.topicId, t);
        this.#partitionTotal += t.partitionCount;
        this.#changed();
      },
      removeTopic: (name) => {
        const old = this.#topics.get(name);
        if (old === undefined) return;
        this.#topics.delete(name);
        this.#byId.delete(old.topicId);
        this.#partitionTotal -= old.partitionCount;
        this.#changed();
      },
    };
  }
}

interface CacheMutators {
  setController(id: number): void;
  putBroker(b: BrokerRegistration): void;
  removeBroker(id: number): void;
  putTopic(t: TopicImage): void;
  removeTopic(name: string): void;
}

/** The one handle that changes a MetadataCache. */
export class MetadataCacheWriter {
  readonly cache: MetadataCache;
  readonly #m: CacheMutators;

  constructor(cache: MetadataCache, mutators: CacheMutators) {
    this.cache = cache;
    this.#m = mutators;
  }

  setController(id: number): void {
    this.#m.setController(id);
  }

  putBroker(b: BrokerRegistration): void {
    this.#m.putBroker(b);
  }

  removeBroker(id: number): void {
    this.#m.removeBroker(id);
  }

  putTopic(t: TopicImage): void {
    this.#m.putTopic(t);
  }

  removeTopic(name: string): void {
    this.#m.removeTopic(name);
  }
}

/** Invariants of a topic image: partitions numbered 0..n-1, ISR within replicas, leader in ISR. */
function checkTopicImage(t: TopicImage): void {
  assert(t.partitions.length === t.partitionCount, 'partition count matches the partitions');
  t.partitions.forEach((p, i) => {
    assert(p.partition === i, 'partitions are numbered from 0 without gaps');
    assert(p.leaderEpoch >= 0, 'a leader epoch is never negative');
    for (const r of p.isr) assert(p.replicas.includes(r), 'the ISR is within the replicas');
    assert(p.leader === -1 || p.isr.includes(p.leader), 'the leader is in the ISR');
  });
}

/**
 * Cluster metadata of a single node without ZooKeeper: topics, their ids, partition counts and
 * config overrides, and the producer-id block counter. Kept in one JSON file in the first log
 * directory and replaced atomically (write a temporary file, fsync, rename, fsync the directory),
 * so a crash leaves either the old or the new state. Writes are serialised; this class is the only
 * writer of that file. With no path it lives in memory (the embedded broker's memory mode).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TributaryError } from '../common/errors.ts';

export const METADATA_FILE_NAME = 'tributary-metadata.json';

export interface TopicMetadata {
  readonly name: string;
  /** Kafka's Uuid string form (base64url, 22 characters). */
  readonly topicId: string;
  readonly partitionCount: number;
  readonly configs: ReadonlyMap<string, string>;
}

interface FileFormat {
  version: 1;
  nextProducerId: number;
  topics: {
    name: string;
    topicId: string;
    partitionCount: number;
    configs: Record<string, string>;
  }[];
}

export function newUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka reserves the all-zero and the metadata-topic ids; random bytes never hit them in practice.
    if (id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

export class LocalMetadataStore {
  readonly #path: string | null;
  readonly #topics = new Map<string, TopicMetadata>();
  readonly #byId = new Map<string, TopicMetadata>();
  #nextProducerId = 0;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string | null) {
    this.#path = path;
  }

  /** Opens the store in `dir` (or in memory when dir is null). */
  static async open(dir: string | null): Promise<LocalMetadataStore> {
    const store = new LocalMetadataStore(dir === null ? null : join(dir, METADATA_FILE_NAME));
    if (store.#path !== null) await store.#load(store.#path);
    return store;
  }

  topics(): IterableIterator<TopicMetadata> {
    return this.#topics.values();
  }

  get topicCount(): number {
    return this.#topics.size;
  }

  get(name: string): TopicMetadata | undefined {
    return this.#topics.get(name);
  }

  getById(topicId: string): TopicMetadata | undefined {
    return this.#byId.get(topicId);
  }

  async createTopic(
    name: string,
    partitionCount: number,
    configs: ReadonlyMap<string, string>,
    topicId: string = newUuid(),
  ): Promise<TopicMetadata> {
    if (this.#topics.has(name))
      throw new TributaryError('BRK_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    const topic: TopicMetadata = {
      name,
      topicId,
      partitionCount,
      configs: new Map(configs),
    };
    this.#put(topic);
    await this.#persist();
    return topic;
  }

  async deleteTopic(name: string): Promise<TopicMetadata> {
    const topic = this.#require(name);
    this.#topics.delete(name);
    this.#byId.delete(topic.topicId);
    await this.#persist();
    return topic;
  }

  async setPartitionCount(name: string, partitionCount: number): Promise<TopicMetadata> {
    const topic = { ...this.#require(name), partitionCount };
    this.#put(topic);
    await this.#persist();
    return topic;
  }

  async setConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<TopicMetadata> {
    const topic = { ...this.#require(name), configs: new Map(configs) };
    this.#put(topic);
    await this.#persist();
    return topic;
  }

  /** Reserves `count` producer ids and returns the first; the reservation is durable. */
  async allocateProducerIds(count: number): Promise<number> {
    const first = this.#nextProducerId;
    this.#nextProducerId += count;
    await this.#persist();
    return first;
  }

  #require(name: string): TopicMetadata {
    const t = this.#topics.get(name);
    if (t === undefined)
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    return t;
  }

  #put(topic: TopicMetadata): void {
    this.#topics.set(topic.name, topic);
    this.#byId.set(topic.topicId, topic);
  }

  async #load(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const data = JSON.parse(text) as FileFormat;
    if (data.version !== 1)
      throw new TributaryError('BRK_STORAGE_CORRUPT', `${path}: unknown version`);
    this.#nextProducerId = data.nextProducerId;
    for (const t of data.topics) {
      this.#put({ ...t, configs: new Map(Object.entries(t.configs)) });
    }
  }

  /** Serialised: each write starts after the previous one finished, and writes the latest state. */
  #persist(): Promise<void> {
    const path = this.#path;
    if (path === null) return Promise.resolve();
    const next = this.#writing.then(() => writeAtomically(path, this.#serialize()));
    this.#writing = next.catch(() => undefined);
    return next;
  }

  #serialize(): string {
    const data: FileFormat = {
      version: 1,
      nextProducerId: this.#nextProducerId,
      topics: [...this.#topics.values()].map((t) => ({
        name: t.name,
        topicId: t.topicId,
        partitionCount: t.partitionCount,
        configs: Object.fromEntries(t.configs),
      })),
    };
    return `${JSON.stringify(data, null, 1)}\n`;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

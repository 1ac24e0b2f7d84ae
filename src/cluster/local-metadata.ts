/**
 * The metadata store of a single node without ZooKeeper: one JSON file in the first log
 * directory, replaced atomically through the FileSystem seam (write a temporary file, fsync,
 * rename, fsync the directory), so a crash leaves either the old or the new state and the crash
 * tests' file systems cover it. Writes are serialised; this class is the only writer of the file.
 *
 * Format 2 keeps each topic's replica assignment; format 1 (partition counts only, written before
 * assignments existed) is read as every partition on the local broker.
 */
import {
  type AccessControlEntry,
  type AclBinding,
  patternKey,
  type ResourcePattern,
} from '../common/acl.ts';
import { TributaryError } from '../common/errors.ts';
import { type FileSystem, readWholeFile, writeFileAtomic } from '../common/fs.ts';
import { asTopicId, type TopicId } from '../common/ids.ts';
import {
  DEFAULT_ENTITY_NAME,
  desanitizeEntityName,
  isQuotaConfigKey,
  sanitizeEntityName,
} from '../config/quota-configs.ts';
import type { AclStore, MetadataStore, TopicRecord } from './metadata-store.ts';

export const METADATA_FILE_NAME = 'tributary-metadata.json';
const FORMAT_VERSION = 2;

interface StoredTopic {
  name: string;
  topicId: string;
  /** Format 1 only. */
  partitionCount?: number;
  /** Format 2. */
  assignment?: number[][];
  configs: Record<string, string>;
}

interface FileFormat {
  version: 1 | 2;
  nextProducerId: number;
  topics: StoredTopic[];
  /** Dynamic broker configs by entity (a broker id, or <default>); absent in older files. */
  brokerConfigs?: Record<string, Record<string, string>>;
  /**
   * Configs of users by user name: SCRAM credentials and the user's own quotas, side by side as
   * in /config/users/<user>; absent in older files.
   */
  userConfigs?: Record<string, Record<string, string>>;
  /** ACLs by resource pattern; absent in older files. */
  acls?: { pattern: ResourcePattern; entries: AccessControlEntry[] }[];
  /**
   * Quotas of the other client quota entities by Kafka's entity path (users/<default>,
   * clients/<c>, users/<u>/clients/<c>, ips/<ip>, sanitized names); absent in older files.
   */
  quotaConfigs?: Record<string, Record<string, string>>;
}

/** The user whose own config map holds an entity's quotas (users/<u>), or null. */
function userOfPath(entityPath: string): string | null {
  const m = /^users\/([^/]+)$/.exec(entityPath);
  if (m === null || m[1] === DEFAULT_ENTITY_NAME) return null;
  return desanitizeEntityName(m[1] as string);
}

function quotasOnly(configs: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...configs].filter(([k]) => isQuotaConfigKey(k)));
}

export class LocalMetadataStore implements MetadataStore, AclStore {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #topics = new Map<string, TopicRecord>();
  readonly #brokerConfigs = new Map<string, Map<string, string>>();
  readonly #userConfigs = new Map<string, Map<string, string>>();
  readonly #quotaConfigs = new Map<string, Map<string, string>>();
  readonly #acls = new Map<string, { pattern: ResourcePattern; entries: AccessControlEntry[] }>();
  #nextProducerId = 0;
  #writing: Promise<void> = Promise.resolve();

  private constructor(fs: FileSystem, dir: string) {
    this.#fs = fs;
    this.#dir = dir;
  }

  /** Opens the store kept in `dir`; `localBrokerId` owns the partitions of a format-1 file. */
  static async open(
    fs: FileSystem,
    dir: string,
    localBrokerId: number,
  ): Promise<LocalMetadataStore> {
    const store = new LocalMetadataStore(fs, dir);
    await fs.mkdir(dir);
    await store.#load(localBrokerId);
    return store;
  }

  topics(): Promise<readonly TopicRecord[]> {
    return Promise.resolve([...this.#topics.values()]);
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    if (this.#topics.has(topic.name)) {
      throw new TributaryError('BRK_ALREADY_EXISTS', `Topic '${topic.name}' already exists.`);
    }
    this.#topics.set(topic.name, { ...topic, configs: new Map(topic.configs) });
    await this.#persist();
  }

  async deleteTopic(name: string, topicId: TopicId): Promise<void> {
    const topic = this.#require(name);
    if (topic.topicId !== topicId) {
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' has another id now.`);
    }
    this.#topics.delete(name);
    await this.#persist();
  }

  async addPartitions(name: string, added: readonly (readonly number[])[]): Promise<void> {
    const topic = this.#require(name);
    this.#topics.set(name, { ...topic, assignment: [...topic.assignment, ...added] });
    await this.#persist();
  }

  async setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    const topic = this.#require(name);
    this.#topics.set(name, { ...topic, configs: new Map(configs) });
    await this.#persist();
  }

  brokerConfigs(entity: string): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.#brokerConfigs.get(entity) ?? []));
  }

  async setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    if (configs.size === 0) this.#brokerConfigs.delete(entity);
    else this.#brokerConfigs.set(entity, new Map(configs));
    await this.#persist();
  }

  userConfigs(user: string): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.#userConfigs.get(user) ?? []));
  }

  async setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void> {
    if (configs.size === 0) this.#userConfigs.delete(user);
    else this.#userConfigs.set(user, new Map(configs));
    await this.#persist();
  }

  users(): Promise<string[]> {
    return Promise.resolve([...this.#userConfigs.keys()].sort());
  }

  quotaConfigs(): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    for (const [user, configs] of this.#userConfigs) {
      const quotas = quotasOnly(configs);
      if (quotas.size > 0) out.set(`users/${sanitizeEntityName(user)}`, quotas);
    }
    for (const [path, quotas] of this.#quotaConfigs)
      if (quotas.size > 0) out.set(path, new Map(quotas));
    return Promise.resolve(out);
  }

  async setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void> {
    const user = userOfPath(entityPath);
    if (user === null) {
      if (quotas.size === 0) this.#quotaConfigs.delete(entityPath);
      else this.#quotaConfigs.set(entityPath, new Map(quotas));
    } else {
      const next = new Map(
        [...(this.#userConfigs.get(user) ?? [])].filter(([k]) => !isQuotaConfigKey(k)),
      );
      for (const [k, v] of quotas) next.set(k, v);
      if (next.size === 0) this.#userConfigs.delete(user);
      else this.#userConfigs.set(user, next);
    }
    await this.#persist();
  }

  acls(): Promise<AclBinding[]> {
    const out: AclBinding[] = [];
    for (const { pattern, entries } of this.#acls.values()) {
      for (const entry of entries) out.push({ pattern, entry });
    }
    return Promise.resolve(out);
  }

  aclsOf(pattern: ResourcePattern): Promise<AccessControlEntry[]> {
    return Promise.resolve([...(this.#acls.get(patternKey(pattern))?.entries ?? [])]);
  }

  async updateAcls(
    pattern: ResourcePattern,
    update: (current: readonly AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<AccessControlEntry[]> {
    const key = patternKey(pattern);
    const next = update(this.#acls.get(key)?.entries ?? []);
    if (next.length === 0) this.#acls.delete(key);
    else this.#acls.set(key, { pattern, entries: [...next] });
    await this.#persist();
    return next;
  }

  async allocateProducerIds(count: number): Promise<number> {
    const first = this.#nextProducerId;
    this.#nextProducerId += count;
    await this.#persist();
    return first;
  }

  #require(name: string): TopicRecord {
    const t = this.#topics.get(name);
    if (t === undefined) {
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    }
    return t;
  }

  async #load(localBrokerId: number): Promise<void> {
    const path = `${this.#dir}/${METADATA_FILE_NAME}`;
    const bytes = await readWholeFile(this.#fs, path);
    if (bytes === undefined) return;
    const data = JSON.parse(bytes.toString('utf8')) as FileFormat;
    if (data.version !== 1 && data.version !== FORMAT_VERSION) {
      throw new TributaryError('BRK_STORAGE_CORRUPT', `${path}: unknown version ${data.version}`);
    }
    this.#nextProducerId = data.nextProducerId;
    for (const [entity, configs] of Object.entries(data.brokerConfigs ?? {})) {
      this.#brokerConfigs.set(entity, new Map(Object.entries(configs)));
    }
    for (const [user, configs] of Object.entries(data.userConfigs ?? {})) {
      this.#userConfigs.set(user, new Map(Object.entries(configs)));
    }
    for (const [path, configs] of Object.entries(data.quotaConfigs ?? {})) {
      this.#quotaConfigs.set(path, new Map(Object.entries(configs)));
    }
    for (const a of data.acls ?? []) this.#acls.set(patternKey(a.pattern), a);
    for (const t of data.topics) {
      const assignment =
        t.assignment ?? Array.from({ length: t.partitionCount ?? 0 }, () => [localBrokerId]);
      this.#topics.set(t.name, {
        name: t.name,
        topicId: asTopicId(t.topicId),
        assignment,
        configs: new Map(Object.entries(t.configs)),
      });
    }
  }

  /** Serialised: each write starts after the previous one finished, and writes the latest state. */
  #persist(): Promise<void> {
    const next = this.#writing.then(() =>
      writeFileAtomic(this.#fs, this.#dir, METADATA_FILE_NAME, this.#serialize()),
    );
    this.#writing = next.catch(() => undefined);
    return next;
  }

  #serialize(): Buffer {
    const data: FileFormat = {
      version: FORMAT_VERSION,
      nextProducerId: this.#nextProducerId,
      topics: [...this.#topics.values()].map((t) => ({
        name: t.name,
        topicId: t.topicId,
        assignment: t.assignment.map((r) => [...r]),
        configs: Object.fromEntries(t.configs),
      })),
      brokerConfigs: Object.fromEntries(
        [...this.#brokerConfigs].map(([entity, configs]) => [entity, Object.fromEntries(configs)]),
      ),
      ...(this.#userConfigs.size === 0
        ? {}
        : {
            userConfigs: Object.fromEntries(
              [...this.#userConfigs].map(([user, configs]) => [user, Object.fromEntries(configs)]),
            ),
          }),
      ...(this.#quotaConfigs.size === 0
        ? {}
        : {
            quotaConfigs: Object.fromEntries(
              [...this.#quotaConfigs].map(([path, configs]) => [path, Object.fromEntries(configs)]),
            ),
          }),
      ...(this.#acls.size === 0 ? {} : { acls: [...this.#acls.values()] }),
    };
    return Buffer.from(`${JSON.stringify(data, null, 1)}\n`, 'utf8');
  }
}

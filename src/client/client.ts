/**
 * A minimal Kafka client: bootstrap, version negotiation per connection, a metadata cache, routing
 * to partition leaders and to the controller, and retries with exponential backoff on retriable
 * errors. One connection per broker, opened on first use and shared by pipelined requests.
 *
 * close() closes every connection; nothing here keeps a timer or socket alive afterwards.
 */
import { ZERO_TOPIC_ID } from '../common/ids.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { ApiVersionsResponse } from '../protocol/messages/api-versions-response.ts';
import { defaultMetadataRequest } from '../protocol/messages/metadata-request.ts';
import type { MetadataResponse } from '../protocol/messages/metadata-response.ts';
import { Connection, type ConnectionOptionsTls } from './connection.ts';
import { ConnectionError, isRetriable, KafkaError } from './errors.ts';
import { type SaslCredentials, saslAuthenticate } from './sasl-client.ts';
import { ApiVersionTable } from './versions.ts';

const API_VERSIONS_REQUEST_VERSION = 3;
const UNSUPPORTED_VERSION = 35;
const NOT_CONTROLLER = 41;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

export interface ClientOptions {
  /** `host:port` of one or more brokers to bootstrap from. */
  readonly bootstrapServers: readonly string[];
  readonly clientId?: string;
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Retries after the first attempt, for retriable errors. */
  readonly retries?: number;
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  /** Software version sent in ApiVersions v3+. */
  readonly softwareVersion?: string;
  /** TLS to the brokers (security.protocol SSL or SASL_SSL). */
  readonly tls?: ConnectionOptionsTls;
  /** SASL login after connecting (security.protocol SASL_PLAINTEXT or SASL_SSL). */
  readonly sasl?: SaslCredentials;
}

export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionMetadata {
  readonly partition: number;
  readonly errorCode: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly errorCode: number;
  readonly internal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: ReadonlyMap<number, BrokerNode>;
  readonly topics: ReadonlyMap<string, TopicMetadata>;
}

/** Where a request goes: any broker, the controller, a node id, or an explicit address. */
export type Target =
  | 'any'
  | 'controller'
  | number
  | { readonly host: string; readonly port: number };

interface Endpoint {
  readonly conn: Connection;
  readonly versions: ApiVersionTable;
}

export interface MetadataOptions {
  /** Ask the broker to create missing topics (when it is configured to). */
  readonly autoCreate?: boolean;
}

export class KafkaClient {
  readonly options: Required<Omit<ClientOptions, 'tls' | 'sasl'>> &
    Pick<ClientOptions, 'tls' | 'sasl'>;
  readonly #endpoints = new Map<string, Promise<Endpoint>>();
  #bootstrapAddress: string | null = null;
  #metadata: ClusterMetadata = {
    clusterId: null,
    controllerId: -1,
    brokers: new Map(),
    topics: new Map(),
  };
  #closed = false;

  constructor(options: ClientOptions) {
    if (options.bootstrapServers.length === 0) throw new Error('no bootstrap servers');
    this.options = {
      clientId: 'tributary-cli',
      requestTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      retries: 5,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 1_000,
      softwareVersion: '0.1.0',
      ...options,
    };
  }

  /** The metadata from the last refresh. */
  get cachedMetadata(): ClusterMetadata {
    return this.#metadata;
  }

  /** Connects to the first reachable bootstrap server and negotiates versions with it. */
  async bootstrap(): Promise<ApiVersionTable> {
    if (this.#bootstrapAddress !== null) {
      return (await this.#endpoint(this.#bootstrapAddress)).versions;
    }
    let last: unknown = new ConnectionError('bootstrap', 'no servers');
    for (const address of this.options.bootstrapServers) {
      try {
        const ep = await this.#endpoint(address);
        this.#bootstrapAddress = address;
        return ep.versions;
      } catch (err) {
        last = err;
        if (!(err instanceof ConnectionError)) throw err;
      }
    }
    throw last;
  }

  /** The versions of the broker behind `target` (connecting when needed). */
  async versions(target: Target = 'any'): Promise<ApiVersionTable> {
    return (await this.#endpoint(await this.#address(target))).versions;
  }

  /**
   * Sends one request to `target` at the highest version both sides support (and at most
   * `maxVersion`); `build` makes the body for that version. Throws KafkaError UNSUPPORTED_VERSION
   * when there is none.
   */
  async request<Res>(
    apiKey: number,
    build: (version: number) => unknown,
    target: Target = 'any',
    timeoutMs?: number,
    maxVersion?: number,
  ): Promise<{ response: Res; version: number }> {
    if (this.#closed) throw new ConnectionError('client', 'client is closed');
    const address = await this.#address(target);
    const ep = await this.#endpoint(address);
    const version = ep.versions.pick(apiKey, maxVersion);
    if (version < 0) {
      const name = apiName(apiKey);
      throw new KafkaError(
        UNSUPPORTED_VERSION,
        name,
        `the broker at ${address} does not support ${name}`,
      );
    }
    const response = await ep.conn.send<Res>(apiKey, version, build(version), timeoutMs);
    return { response, version };
  }

  /** Like request(), for a request with no response (Produce acks=0). */
  async requestOneWay(
    apiKey: number,
    build: (version: number) => unknown,
    target: Target,
  ): Promise<number> {
    const ep = await this.#endpoint(await this.#address(target));
    const version = ep.versions.pick(apiKey);
    if (version < 0) throw new KafkaError(UNSUPPORTED_VERSION, apiName(apiKey));
    await ep.conn.sendOneWay(apiKey, version, build(version));
    return version;
  }

  /**
   * Refreshes metadata for `topics` (null: every topic) and merges it into the cache.
   * Topic-level errors are kept in the result, not thrown.
   */
  async metadata(
    topics: readonly string[] | null,
    options: MetadataOptions = {},
  ): Promise<ClusterMetadata> {
    const { response, version } = await this.request<MetadataResponse>(ApiKey.Metadata, (v) => {
      const req = defaultMetadataRequest();
      const names = topics ?? (v === 0 ? [] : null);
      req.topics = names === null ? null : names.map((name) => ({ topicId: ZERO_UUID, name }));
      req.allowAutoTopicCreation = options.autoCreate === true;
      return req;
    });
    const fresh = parseMetadata(response, version);
    const merged = new Map(topics === null ? [] : this.#metadata.topics);
    for (const [name, t] of fresh.topics) merged.set(name, t);
    this.#metadata = { ...fresh, topics: merged };
    return fresh;
  }

  /** The broker for a node id, from the metadata cache. */
  broker(nodeId: number): BrokerNode | undefined {
    return this.#metadata.brokers.get(nodeId);
  }

  /**
   * Runs `attempt` and retries it after a backoff while it fails with a retriable error, up to
   * `retries` times; `beforeRetry` runs before each retry (typically a metadata refresh).
   * UNKNOWN_TOPIC_OR_PARTITION is final unless `options.retryUnknownTopic` (a topic being created).
   */
  async retry<T>(
    attempt: () => Promise<T>,
    beforeRetry?: () => Promise<unknown>,
    options: RetryOptions = {},
  ): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (n >= this.options.retries || this.#closed || !worthRetry(err, options)) throw err;
      }
      await sleep(this.#backoff(n));
      if (beforeRetry !== undefined) {
        try {
          await beforeRetry();
        } catch {
          // The next attempt reports the failure.
        }
      }
    }
  }

  #backoff(n: number): number {
    const base = Math.min(this.options.retryBackoffMs * 2 ** n, this.options.retryBackoffMaxMs);
    return base * (0.8 + Math.random() * 0.4);
  }

  async #address(target: Target): Promise<string> {
    if (target === 'any') {
      await this.bootstrap();
      return this.#bootstrapAddress as string;
    }
    if (typeof target === 'object') return `${target.host}:${target.port}`;
    let nodeId = target;
    if (target === 'controller') {
      if (this.#metadata.controllerId < 0) await this.metadata([]);
      nodeId = this.#metadata.controllerId;
      if (nodeId < 0) return this.#address('any');
    }
    let node = this.#metadata.brokers.get(nodeId as number);
    if (node === undefined) {
      await this.metadata([]);
      node = this.#metadata.brokers.get(nodeId as number);
    }
    if (node === undefined) {
      throw new ConnectionError(`node ${String(nodeId)}`, 'not in the cluster metadata');
    }
    return `${node.host}:${node.port}`;
  }

  #endpoint(address: string): Promise<Endpoint> {
    const existing = this.#endpoints.get(address);
    if (existing !== undefined) return existing;
    const opening = this.#open(address);
    this.#endpoints.set(address, opening);
    opening.then(
      (ep) => ep.conn.onClose(() => this.#forget(address, opening)),
      () => this.#forget(address, opening),
    );
    return opening;
  }

  #forget(address: string, which: Promise<Endpoint>): void {
    if (this.#endpoints.get(address) === which) this.#endpoints.delete(address);
    // A lost bootstrap connection: the next request starts again from the whole list.
    if (this.#bootstrapAddress === address) this.#bootstrapAddress = null;
  }

  async #open(address: string): Promise<Endpoint> {
    const [host, port] = splitHostPort(address);
    const conn = await Connection.open({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
    });
    try {
      const versions = await this.#negotiate(conn);
      if (this.options.sasl !== undefined) await saslAuthenticate(conn, this.options.sasl);
      return { conn, versions };
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  async #negotiate(conn: Connection): Promise<ApiVersionTable> {
    let version = API_VERSIONS_REQUEST_VERSION;
    for (;;) {
      const body = {
        clientSoftwareName: 'tributary-client',
        clientSoftwareVersion: this.options.softwareVersion,
      };
      const res = await conn.send<ApiVersionsResponse>(ApiKey.ApiVersions, version, body);
      if (res.errorCode === UNSUPPORTED_VERSION && version > 0) {
        const theirs = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        version = Math.min(version - 1, theirs?.maxVersion ?? 0);
        continue;
      }
      if (res.errorCode !== 0) throw new KafkaError(res.errorCode, 'ApiVersions');
      return new ApiVersionTable(res);
    }
  }

  /** Closes every connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const endpoints = [...this.#endpoints.values()];
    this.#endpoints.clear();
    await Promise.all(
      endpoints.map((p) =>
        p.then(
          (ep) => ep.conn.close(),
          () => undefined,
        ),
      ),
    );
  }
}

export interface RetryOptions {
  readonly retryUnknownTopic?: boolean;
}

function worthRetry(err: unknown, options: RetryOptions): boolean {
  if (!(err instanceof KafkaError)) return isRetriable(err);
  if (err.code === UNKNOWN_TOPIC_OR_PARTITION) return options.retryUnknownTopic === true;
  return err.retriable || err.code === NOT_CONTROLLER;
}

/** Kafka's zero Uuid: no topic id (requests by name). */
export const ZERO_UUID: string = ZERO_TOPIC_ID;

function parseMetadata(res: MetadataResponse, version: number): ClusterMetadata {
  const brokers = new Map<number, BrokerNode>();
  for (const b of res.brokers) {
    brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
  }
  const topics = new Map<string, TopicMetadata>();
  for (const t of res.topics) {
    if (t.name === null) continue;
    const partitions = t.partitions
      .map((p) => ({
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        leader: p.leaderId,
        leaderEpoch: version >= 7 ? p.leaderEpoch : -1,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        offline: p.offlineReplicas,
      }))
      .sort((a, b) => a.partition - b.partition);
    topics.set(t.name, {
      name: t.name,
      topicId: t.topicId,
      errorCode: t.errorCode,
      internal: t.isInternal,
      partitions,
    });
  }
  return { clusterId: res.clusterId, controllerId: res.controllerId, brokers, topics };
}

/** Splits `host:port` (IPv6 in brackets); the port defaults to 9092. */
export function splitHostPort(address: string): [string, number] {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (m === null) throw new ConnectionError(address, 'not a host:port address');
  const port = m[2] === undefined ? 9092 : Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new ConnectionError(address, 'port out of range');
  return [m[1] as string, port];
}

function apiName(apiKey: number): string {
  for (const [name, key] of Object.entries(ApiKey)) if (key === apiKey) return name;
  return `api ${apiKey}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

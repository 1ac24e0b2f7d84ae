/**
 * Admin operations over the Kafka protocol: topics, partitions, configs, cluster, offsets.
 * Every operation goes to the broker that owns it (the controller for topic changes, the broker
 * itself for broker configs, partition leaders for offsets) and is retried on retriable errors
 * after a metadata refresh. A failure names its Kafka error (KafkaError).
 */
import {
  type BrokerNode,
  type ClientOptions,
  type ClusterMetadata,
  KafkaClient,
  type TopicMetadata,
  ZERO_UUID,
} from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import type { ApiVersionTable } from '../client/versions.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { CreatePartitionsResponse } from '../protocol/messages/create-partitions-response.ts';
import type { CreateTopicsResponse } from '../protocol/messages/create-topics-response.ts';
import type { DeleteTopicsResponse } from '../protocol/messages/delete-topics-response.ts';
import type { DescribeClusterResponse } from '../protocol/messages/describe-cluster-response.ts';
import type { ListOffsetsResponse } from '../protocol/messages/list-offsets-response.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

export interface NewTopic {
  readonly name: string;
  /** -1: the broker's num.partitions. */
  readonly partitions: number;
  /** -1: the broker's default.replication.factor. */
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
}

export interface ClusterDescription {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: readonly BrokerNode[];
  /** The versions of the broker that answered, with the version this client picks per key. */
  readonly versions: ApiVersionTable;
}

/** ListOffsets timestamps with a special meaning. */
export const LATEST = -1;
export const EARLIEST = -2;

export class Admin {
  readonly client: KafkaClient;

  constructor(options: ClientOptions) {
    this.client = new KafkaClient(options);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** All topics, sorted by name. */
  async listTopics(): Promise<TopicMetadata[]> {
    const md = await this.client.retry(() => this.client.metadata(null));
    return [...md.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Metadata for `names`; a topic that does not exist throws UNKNOWN_TOPIC_OR_PARTITION. Unless
   * `options.leaderless` allows it, a partition without a leader is retried, then thrown.
   */
  async describeTopics(
    names: readonly string[],
    options: { readonly autoCreate?: boolean; readonly leaderless?: boolean } = {},
  ): Promise<TopicMetadata[]> {
    const autoCreate = options.autoCreate === true;
    const md = await this.client.retry(
      async () => {
        const m = await this.client.metadata(names, { autoCreate });
        for (const name of names) {
          const t = m.topics.get(name);
          if (t === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
          checkErrorCode(t.errorCode, name);
          if (options.leaderless !== true && t.partitions.some((p) => p.leader < 0)) {
            throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, name);
          }
        }
        return m;
      },
      undefined,
      { retryUnknownTopic: autoCreate },
    );
    return names.map((n) => md.topics.get(n) as TopicMetadata);
  }

  /** Fresh metadata of the cluster (brokers, controller) without topics. */
  cluster(): Promise<ClusterMetadata> {
    return this.client.retry(() => this.client.metadata([]));
  }

  async createTopic(topic: NewTopic): Promise<void> {
    await this.#controllerCall(async () => {
      const { response } = await this.client.request<CreateTopicsResponse>(
        ApiKey.CreateTopics,
        () => ({
          topics: [
            {
              name: topic.name,
              numPartitions: topic.partitions,
              replicationFactor: topic.replicationFactor,
              assignments: [],
              configs: [...topic.configs].map(([name, value]) => ({ name, value })),
            },
          ],
          timeoutMs: DEFAULT_TIMEOUT_MS,
          validateOnly: false,
        }),
        'controller',
      );
      for (const r of response.topics) checkErrorCode(r.errorCode, r.name, r.errorMessage);
    });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.#controllerCall(async () => {
      const { response } = await this.client.request<DeleteTopicsResponse>(
        ApiKey.DeleteTopics,
        (v) => ({
          topics: v >= 6 ? [{ name, topicId: ZERO_UUID }] : [],
          topicNames: v >= 6 ? [] : [name],
          timeoutMs: DEFAULT_TIMEOUT_MS,
        }),
        'controller',
      );
      for (const r of response.responses) checkErrorCode(r.errorCode, name, r.errorMessage);
    });
  }

  /** Grows `name` to `count` partitions in total. */
  async createPartitions(name: string, count: number): Promise<void> {
    await this.#controllerCall(async () => {
      const { response } = await this.client.request<CreatePartitionsResponse>(
        ApiKey.CreatePartitions,
        () => ({
          topics: [{ name, count, assignments: null }],
          timeoutMs: DEFAULT_TIMEOUT_MS,
          validateOnly: false,
        }),
        'controller',
      );
      for (const r of response.results) checkErrorCode(r.errorCode, r.name, r.errorMessage);
    });
  }

  /** Cluster id, controller, brokers (DescribeCluster when supported, else Metadata). */
  async describeCluster(): Promise<ClusterDescription> {
    const versions = await this.client.retry(() => this.client.bootstrap());
    if (versions.supports(ApiKey.DescribeCluster)) {
      const { response } = await this.client.retry(() =>
        this.client.request<DescribeClusterResponse>(ApiKey.DescribeCluster, () => ({
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        })),
      );
      checkErrorCode(response.errorCode, 'cluster', response.errorMessage);
      const brokers = response.brokers.map((b) => ({
        nodeId: b.brokerId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      }));
      return {
        clusterId: response.clusterId,
        controllerId: response.controllerId,
        brokers,
        versions,
      };
    }
    const md = await this.cluster();
    const brokers = [...md.brokers.values()];
    return { clusterId: md.clusterId, controllerId: md.controllerId, brokers, versions };
  }

  /**
   * The offset for `timestamp` (LATEST, EARLIEST or a time in ms) of each partition, asked of
   * each partition's leader.
   */
  async listOffsets(
    topic: string,
    partitions: readonly number[],
    timestamp: number,
  ): Promise<Map<number, number>> {
    return this.client.retry(
      () => this.#listOffsetsOnce(topic, partitions, timestamp),
      () => this.client.metadata([topic]),
    );
  }

  async #listOffsetsOnce(
    topic: string,
    partitions: readonly number[],
    timestamp: number,
  ): Promise<Map<number, number>> {
    const [meta] = await this.describeTopics([topic]);
    const byLeader = groupByLeader(meta as TopicMetadata, partitions);
    const out = new Map<number, number>();
    await Promise.all(
      [...byLeader].map(async ([leader, parts]) => {
        const { response, version } = await this.client.request<ListOffsetsResponse>(
          ApiKey.ListOffsets,
          () => ({
            replicaId: -1,
            isolationLevel: 0,
            timeoutMs: DEFAULT_TIMEOUT_MS,
            topics: [
              {
                name: topic,
                partitions: parts.map((p) => ({
                  partitionIndex: p,
                  currentLeaderEpoch: -1,
                  timestamp,
                  maxNumOffsets: 1,
                })),
              },
            ],
          }),
          leader,
        );
        for (const t of response.topics) {
          for (const p of t.partitions) {
            checkErrorCode(p.errorCode, `${topic}-${p.partitionIndex}`);
            const offset = version === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset;
            out.set(p.partitionIndex, offset);
          }
        }
      }),
    );
    return out;
  }

  /**
   * The offset for `timestamp` of every partition of `topics` that has a leader, in one
   * ListOffsets request per leader (a view of the whole cluster, as the console samples it). A
   * partition that has no leader, or whose leader answers with an error or cannot be reached, is
   * left out of the answer rather than failing the rest.
   */
  async offsetsOfTopics(
    topics: readonly TopicMetadata[],
    timestamp: number,
  ): Promise<Map<string, Map<number, number>>> {
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const t of topics) {
      for (const p of t.partitions) {
        if (p.leader < 0) continue;
        const forLeader = byLeader.get(p.leader) ?? new Map<string, number[]>();
        byLeader.set(p.leader, forLeader);
        const list = forLeader.get(t.name) ?? [];
        list.push(p.partition);
        forLeader.set(t.name, list);
      }
    }
    const out = new Map<string, Map<number, number>>();
    await Promise.all(
      [...byLeader].map(async ([leader, parts]) => {
        const topicsOut = await this.#offsetsFromLeader(leader, parts, timestamp).catch(() => []);
        for (const [topic, partition, offset] of topicsOut) {
          const m = out.get(topic) ?? new Map<number, number>();
          m.set(partition, offset);
          out.set(topic, m);
        }
      }),
    );
    return out;
  }

  async #offsetsFromLeader(
    leader: number,
    parts: ReadonlyMap<string, number[]>,
    timestamp: number,
  ): Promise<[string, number, number][]> {
    const { response, version } = await this.client.request<ListOffsetsResponse>(
      ApiKey.ListOffsets,
      () => ({
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: DEFAULT_TIMEOUT_MS,
        topics: [...parts].map(([name, partitions]) => ({
          name,
          partitions: partitions.map((p) => ({
            partitionIndex: p,
            currentLeaderEpoch: -1,
            timestamp,
            maxNumOffsets: 1,
          })),
        })),
      }),
      leader,
    );
    const out: [string, number, number][] = [];
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) continue;
        const offset = version === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset;
        out.push([t.name, p.partitionIndex, offset]);
      }
    }
    return out;
  }

  /** Runs a controller request, refreshing metadata (a new controller) before each retry. */
  #controllerCall(fn: () => Promise<void>): Promise<void> {
    return this.client.retry(fn, () => this.client.metadata([]));
  }
}

/** Partitions of `topic` grouped by their leader's node id. */
export function groupByLeader(
  topic: TopicMetadata,
  partitions: readonly number[],
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const p of partitions) {
    const pm = topic.partitions.find((x) => x.partition === p);
    if (pm === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic.name}-${p}`);
    }
    if (pm.leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic.name}-${p}`);
    const list = out.get(pm.leader) ?? [];
    list.push(p);
    out.set(pm.leader, list);
  }
  return out;
}

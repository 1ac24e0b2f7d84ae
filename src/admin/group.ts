/**
 * A consumer group seen from outside, without joining it: FindCoordinator, then OffsetFetch /
 * OffsetCommit with generation -1 and no member id (Kafka accepts such "simple" commits for a
 * group with no active members), DescribeGroups and DeleteGroups. Used by `tributary consume
 * --group` and `tributary groups`.
 */
import type { KafkaClient, Target } from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DeleteGroupsResponse } from '../protocol/messages/delete-groups-response.ts';
import type { DescribeGroupsResponse } from '../protocol/messages/describe-groups-response.ts';
import type { FindCoordinatorResponse } from '../protocol/messages/find-coordinator-response.ts';
import type { ListGroupsResponse } from '../protocol/messages/list-groups-response.ts';
import type { OffsetCommitResponse } from '../protocol/messages/offset-commit-response.ts';
import type { OffsetFetchResponse } from '../protocol/messages/offset-fetch-response.ts';
import { Reader } from '../protocol/reader.ts';

const KEY_TYPE_GROUP = 0;

export class GroupOffsets {
  readonly groupId: string;
  readonly #client: KafkaClient;
  #coordinator: Target | null = null;

  constructor(client: KafkaClient, groupId: string) {
    this.#client = client;
    this.groupId = groupId;
  }

  /** Whether the broker serves the group offset APIs at all. */
  async supported(): Promise<boolean> {
    const v = await this.#client.bootstrap();
    return (
      v.supports(ApiKey.FindCoordinator) &&
      v.supports(ApiKey.OffsetCommit) &&
      v.supports(ApiKey.OffsetFetch)
    );
  }

  async #findCoordinator(): Promise<Target> {
    if (this.#coordinator !== null) return this.#coordinator;
    const { response, version } = await this.#client.request<FindCoordinatorResponse>(
      ApiKey.FindCoordinator,
      (v) => ({
        key: v >= 4 ? '' : this.groupId,
        keyType: KEY_TYPE_GROUP,
        coordinatorKeys: v >= 4 ? [this.groupId] : [],
      }),
    );
    if (version >= 4) {
      const c = response.coordinators[0];
      if (c === undefined) throw new Error('FindCoordinator: empty answer');
      checkErrorCode(c.errorCode, `group ${this.groupId}`, c.errorMessage);
      this.#coordinator = { host: c.host, port: c.port };
    } else {
      checkErrorCode(response.errorCode, `group ${this.groupId}`, response.errorMessage);
      this.#coordinator = { host: response.host, port: response.port };
    }
    return this.#coordinator;
  }

  #retry<T>(fn: () => Promise<T>): Promise<T> {
    return this.#client.retry(fn, async () => {
      this.#coordinator = null;
    });
  }

  /** Committed offsets of `topic`'s partitions (-1 where nothing is committed). */
  fetch(topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    return this.#retry(async () => {
      const target = await this.#findCoordinator();
      const { response, version } = await this.#client.request<OffsetFetchResponse>(
        ApiKey.OffsetFetch,
        (v) => {
          const topics = [{ name: topic, partitionIndexes: partitions }];
          return v >= 8
            ? {
                groupId: '',
                topics: [],
                groups: [{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics }],
                requireStable: false,
              }
            : { groupId: this.groupId, topics, groups: [], requireStable: false };
        },
        target,
      );
      const out = new Map<number, number>();
      const group = version >= 8 ? response.groups[0] : undefined;
      checkErrorCode(group?.errorCode ?? response.errorCode, `group ${this.groupId}`);
      for (const t of group?.topics ?? response.topics) {
        for (const p of t.partitions) {
          checkErrorCode(p.errorCode, `${topic}-${p.partitionIndex}`);
          out.set(p.partitionIndex, p.committedOffset);
        }
      }
      return out;
    });
  }

  /** Commits `offsets` (the next offset to read, per partition) for `topic`. */
  commit(topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    return this.#retry(async () => {
      const target = await this.#findCoordinator();
      const { response } = await this.#client.request<OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        () => ({
          groupId: this.groupId,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [
            {
              name: topic,
              partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({
                partitionIndex,
                committedOffset,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: '',
              })),
            },
          ],
        }),
        target,
      );
      for (const t of response.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) throw new KafkaError(p.errorCode, `group ${this.groupId}`);
        }
      }
    });
  }

  /** Every committed offset of the group: topic → partition → offset. */
  fetchAll(): Promise<Map<string, Map<number, number>>> {
    return this.#retry(async () => {
      const target = await this.#findCoordinator();
      const { response, version } = await this.#client.request<OffsetFetchResponse>(
        ApiKey.OffsetFetch,
        (v) =>
          v >= 8
            ? {
                groupId: '',
                topics: [],
                groups: [{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics: null }],
                requireStable: false,
              }
            : { groupId: this.groupId, topics: null, groups: [], requireStable: false },
        target,
      );
      const group = version >= 8 ? response.groups[0] : undefined;
      checkErrorCode(group?.errorCode ?? response.errorCode, `group ${this.groupId}`);
      const out = new Map<string, Map<number, number>>();
      for (const t of group?.topics ?? response.topics) {
        const byPartition = new Map<number, number>();
        for (const p of t.partitions) {
          if (p.errorCode === 0 && p.committedOffset >= 0) {
            byPartition.set(p.partitionIndex, p.committedOffset);
          }
        }
        if (byPartition.size > 0) out.set(t.name, byPartition);
      }
      return out;
    });
  }

  /** State, protocol and members (with their assignments when the protocol is "consumer"). */
  describe(): Promise<GroupDescription> {
    return this.#retry(async () => {
      const target = await this.#findCoordinator();
      const { response } = await this.#client.request<DescribeGroupsResponse>(
        ApiKey.DescribeGroups,
        () => ({ groups: [this.groupId], includeAuthorizedOperations: false }),
        target,
      );
      const g = response.groups[0];
      if (g === undefined) throw new Error('DescribeGroups: empty answer');
      checkErrorCode(g.errorCode, `group ${this.groupId}`);
      return {
        groupId: g.groupId,
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
        })),
      };
    });
  }

  /** Deletes the group and its committed offsets (it must have no members). */
  delete(): Promise<void> {
    return this.#retry(async () => {
      const target = await this.#findCoordinator();
      const { response } = await this.#client.request<DeleteGroupsResponse>(
        ApiKey.DeleteGroups,
        () => ({ groupsNames: [this.groupId] }),
        target,
      );
      const r = response.results[0];
      if (r === undefined) throw new Error('DeleteGroups: empty answer');
      checkErrorCode(r.errorCode, `group ${this.groupId}`);
    });
  }
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Topic and partitions, from the consumer protocol's assignment. */
  readonly assignment: readonly { topic: string; partitions: readonly number[] }[];
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly GroupMemberDescription[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
}

/** The groups of the broker asked (ListGroups; a single node knows every group), sorted by id. */
export async function listGroups(client: KafkaClient): Promise<GroupListing[]> {
  const { response } = await client.request<ListGroupsResponse>(ApiKey.ListGroups, () => ({
    statesFilter: [],
    typesFilter: [],
  }));
  checkErrorCode(response.errorCode, 'ListGroups');
  return response.groups
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState }))
    .sort((a, b) => a.groupId.localeCompare(b.groupId));
}

/**
 * The consumer protocol's assignment (Kafka's ConsumerProtocolAssignment): version int16, then
 * topics (string, int32 partitions), then user data. Anything unreadable is shown as nothing.
 */
function decodeAssignment(data: Buffer): { topic: string; partitions: number[] }[] {
  if (data.length < 2) return [];
  try {
    const r = new Reader(data);
    r.readInt16();
    const topics: { topic: string; partitions: number[] }[] = [];
    const n = r.readArrayLength(false);
    for (let i = 0; i < n; i++) {
      const topic = r.readString(false);
      const count = r.readArrayLength(false);
      const partitions: number[] = [];
      for (let j = 0; j < count; j++) partitions.push(r.readInt32());
      topics.push({ topic, partitions });
    }
    return topics;
  } catch {
    return [];
  }
}

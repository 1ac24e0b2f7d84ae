/**
 * Committed offsets of a consumer group without joining it: FindCoordinator, then OffsetFetch /
 * OffsetCommit with generation -1 and no member id (Kafka accepts such "simple" commits for a
 * group with no active members). Used by `tributary consume --group`.
 */
import type { KafkaClient, Target } from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { FindCoordinatorResponse } from '../protocol/messages/find-coordinator-response.ts';
import type { OffsetCommitResponse } from '../protocol/messages/offset-commit-response.ts';
import type { OffsetFetchResponse } from '../protocol/messages/offset-fetch-response.ts';

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
}

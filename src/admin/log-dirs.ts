/**
 * Partition sizes on disk from DescribeLogDirs, asked of each broker (every log directory, every
 * partition it holds). A partition's size is its largest replica's: replicas hold the same
 * records, and the largest is the one furthest along.
 */
import type { KafkaClient } from '../client/client.ts';
import { type CleanerStateTag, decodeCleanerStateTag } from '../protocol/cleaner-state-tag.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeLogDirsResponse } from '../protocol/messages/describe-log-dirs-response.ts';

/** Topic → partition → bytes. Brokers that fail to answer are left out. */
export async function partitionSizes(
  client: KafkaClient,
  brokerIds: readonly number[],
): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  const answers = await Promise.all(
    brokerIds.map((id) =>
      client
        .request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, () => ({ topics: null }), id)
        .then(
          (r) => r.response,
          () => null,
        ),
    ),
  );
  for (const response of answers) {
    if (response === null || response.errorCode !== 0) continue;
    for (const dir of response.results) {
      if (dir.errorCode !== 0) continue;
      for (const t of dir.topics) {
        const m = out.get(t.name) ?? new Map<number, number>();
        out.set(t.name, m);
        for (const p of t.partitions) {
          if (p.isFutureKey) continue;
          m.set(p.partitionIndex, Math.max(m.get(p.partitionIndex) ?? 0, p.partitionSize));
        }
      }
    }
  }
  return out;
}

/**
 * The log cleaner's state of the partitions of a compacted topic (Tributary's extension tag of
 * DescribeLogDirs, protocol/cleaner-state-tag.ts), asked of each partition's leader. Partitions
 * whose leader does not answer it (another broker, or one without the extension) are left out.
 */
export async function cleanerStates(
  client: KafkaClient,
  topic: string,
  leaders: ReadonlyMap<number, number>,
): Promise<Map<number, CleanerStateTag>> {
  const byLeader = new Map<number, number[]>();
  for (const [partition, leader] of leaders) {
    if (leader < 0) continue;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
  }
  const out = new Map<number, CleanerStateTag>();
  await Promise.all(
    [...byLeader].map(async ([leader, partitions]) => {
      const response = await client
        .request<DescribeLogDirsResponse>(
          ApiKey.DescribeLogDirs,
          () => ({ topics: [{ topic, partitions }] }),
          leader,
        )
        .then(
          (r) => r.response,
          () => null,
        );
      if (response === null || response.errorCode !== 0) return;
      for (const dir of response.results) {
        for (const t of dir.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) {
            const state = decodeCleanerStateTag(p.unknownTaggedFields);
            if (!p.isFutureKey && state !== undefined && partitions.includes(p.partitionIndex)) {
              out.set(p.partitionIndex, state);
            }
          }
        }
      }
    }),
  );
  return out;
}

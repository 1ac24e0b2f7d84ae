/**
 * A consumer group's position against the logs: committed offsets, log ends and the lag per
 * partition (what kafka-consumer-groups --describe shows), and the offsets a reset would commit
 * (kafka-consumer-groups --reset-offsets: to the earliest or latest offset, a time, an offset or
 * shifted; kept within the log).
 */
import { type Admin, EARLIEST, LATEST } from './admin.ts';
import { type GroupDescription, GroupOffsets } from './group.ts';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset (the next one the group reads). */
  readonly committed: number;
  readonly logEnd: number;
  readonly lag: number;
  /** The member assigned the partition, if any. */
  readonly memberId: string | null;
}

export interface GroupLag {
  readonly description: GroupDescription;
  /** By topic, then partition. */
  readonly offsets: readonly PartitionLag[];
  readonly totalLag: number;
}

/** Description, committed offsets and lag of every partition the group has committed. */
export async function describeGroupLag(admin: Admin, groupId: string): Promise<GroupLag> {
  const group = new GroupOffsets(admin.client, groupId);
  const description = await group.describe();
  const committed = await group.fetchAll();
  const offsets: PartitionLag[] = [];
  for (const [topic, byPartition] of [...committed].sort(([a], [b]) => a.localeCompare(b))) {
    const partitions = [...byPartition.keys()].sort((a, b) => a - b);
    const ends = await admin.listOffsets(topic, partitions, LATEST);
    for (const p of partitions) {
      const c = byPartition.get(p) ?? -1;
      const end = ends.get(p) ?? -1;
      offsets.push({
        topic,
        partition: p,
        committed: c,
        logEnd: end,
        lag: Math.max(0, end - c),
        memberId: ownerOf(description, topic, p),
      });
    }
  }
  return { description, offsets, totalLag: offsets.reduce((sum, o) => sum + o.lag, 0) };
}

function ownerOf(d: GroupDescription, topic: string, partition: number): string | null {
  for (const m of d.members) {
    for (const a of m.assignment) {
      if (a.topic === topic && a.partitions.includes(partition)) return m.memberId;
    }
  }
  return null;
}

/** Where a reset moves a group's offsets. */
export type ResetTarget =
  | { readonly kind: 'earliest' | 'latest' }
  | { readonly kind: 'datetime'; readonly ms: number }
  | { readonly kind: 'offset' | 'shift'; readonly n: number };

export interface ResetRow {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset before the reset (-1: none). */
  readonly current: number;
  readonly newOffset: number;
}

/** Kafka's states in which a group's offsets may be reset: no active member. */
export function resettable(state: string): boolean {
  return state === 'Empty' || state === 'Dead';
}

/** Kafka's refusal for a group that still has members. */
export function notResettableMessage(groupId: string, state: string): string {
  return `Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`;
}

/** Each partition's new offset for the target, kept within the log as Kafka's tool keeps it. */
export async function planOffsetReset(
  admin: Admin,
  wanted: ReadonlyMap<string, number[]>,
  committed: ReadonlyMap<string, ReadonlyMap<number, number>>,
  target: ResetTarget,
): Promise<ResetRow[]> {
  const rows: ResetRow[] = [];
  for (const [topic, partitions] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    partitions.sort((a, b) => a - b);
    const [earliest, latest] = await Promise.all([
      admin.listOffsets(topic, partitions, EARLIEST),
      admin.listOffsets(topic, partitions, LATEST),
    ]);
    const byTime =
      target.kind === 'datetime' ? await admin.listOffsets(topic, partitions, target.ms) : null;
    for (const p of partitions) {
      const low = earliest.get(p) ?? 0;
      const high = latest.get(p) ?? 0;
      const current = committed.get(topic)?.get(p) ?? -1;
      const clamp = (o: number) => Math.min(Math.max(o, low), high);
      let next: number;
      switch (target.kind) {
        case 'earliest':
          next = low;
          break;
        case 'latest':
          next = high;
          break;
        case 'datetime': {
          // No record at or after that time: the log end, as Kafka's tool does.
          const at = byTime?.get(p) ?? -1;
          next = at < 0 ? high : at;
          break;
        }
        case 'offset':
          next = clamp(target.n);
          break;
        case 'shift':
          next = clamp((current < 0 ? low : current) + target.n);
          break;
      }
      rows.push({ topic, partition: p, current, newOffset: next });
    }
  }
  return rows;
}

/** Commits the planned offsets, one OffsetCommit per topic. */
export async function commitOffsetReset(
  admin: Admin,
  groupId: string,
  rows: readonly ResetRow[],
): Promise<void> {
  const group = new GroupOffsets(admin.client, groupId);
  const topics = new Set(rows.map((r) => r.topic));
  for (const topic of topics) {
    const offsets = new Map(
      rows.filter((r) => r.topic === topic).map((r) => [r.partition, r.newOffset]),
    );
    await group.commit(topic, offsets);
  }
}

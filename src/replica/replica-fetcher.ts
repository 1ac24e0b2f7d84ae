/**
 * Followers replicate by fetching from their leaders (Kafka's ReplicaFetcherThread): one fetcher
 * per leader broker, one connection each, every partition this broker follows on that leader in
 * one Fetch request (replica id set, so the leader reads up to its log end and records the
 * follower's position).
 *
 * A partition starts in the truncating state: before fetching, it asks the leader where its own
 * latest leader epoch ends (OffsetForLeaderEpoch, KIP-101/KIP-279) and truncates what diverged,
 * round by round until the epoch it asks about is one the leader has. Only then does it fetch,
 * from its log end offset. With tributary.acks.all.fsync the follower syncs what it appended
 * before it asks for more: the leader counts a follower as holding an offset only once the
 * follower asked past it, so the high watermark (and acks=all) counts durable copies only.
 *
 * A fetcher never spins: with nothing to fetch, or after an error, it waits
 * replica.fetch.backoff.ms or until a partition is added.
 */
import type { Connection } from '../client/connection.ts';
import { type ClientSecurity, LazyConnection } from '../client/lazy-connection.ts';
import type { Clock } from '../common/clock.ts';
import { type TopicPartitionKey, topicPartitionString } from '../common/ids.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import {
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  type FetchRequest,
} from '../protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../protocol/messages/fetch-response.ts';
import type { ListOffsetsResponse } from '../protocol/messages/list-offsets-response.ts';
import type { OffsetForLeaderEpochResponse } from '../protocol/messages/offset-for-leader-epoch-response.ts';
import {
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  readBatchHeader,
} from '../protocol/records/batch-header.ts';
import type { Partition } from './partition.ts';
import type { ReplicationQuota } from './replication-quota.ts';

/** Versions the fetcher speaks: Fetch v11 (replica id, epochs, log start), OffsetForLeaderEpoch v3. */
const FETCH_VERSION = 11;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 3;
const LIST_OFFSETS_VERSION = 4;
/** Rounds of the epoch protocol before falling back to the high watermark. */
const TRUNCATION_ROUNDS_MAX = 16;

export interface FetcherSettings {
  readonly localBrokerId: number;
  /** replica.fetch.max.bytes: per partition. */
  readonly partitionBytesMax: number;
  /** replica.fetch.response.max.bytes: per response. */
  readonly responseBytesMax: number;
  /** replica.fetch.wait.max.ms */
  readonly waitMaxMs: number;
  /** replica.fetch.min.bytes */
  readonly minBytes: number;
  /** replica.fetch.backoff.ms */
  readonly backoffMs: number;
  /** tributary.acks.all.fsync: sync appended data before asking for more. */
  readonly syncBeforeNextFetch: boolean;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** TLS and SASL of the inter-broker listener; plaintext without. */
  readonly security?: () => ClientSecurity;
}

export interface LeaderAddress {
  readonly host: string;
  readonly port: number;
}

interface Followed {
  readonly partition: Partition;
  /** The leader epoch the partition followed at when it was added. */
  readonly leaderEpoch: number;
  state: 'truncating' | 'fetching' | 'delayed';
  /** Until when a partition in error waits (monotonic ms). */
  delayedUntilMs: number;
}

/** One leader broker's fetcher. */
export class ReplicaFetcher {
  readonly leaderId: number;
  readonly #settings: FetcherSettings;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #partitions = new Map<TopicPartitionKey, Followed>();
  readonly #connection: LazyConnection;
  #running: Promise<void> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  readonly #quota: ReplicationQuota | undefined;

  constructor(
    leaderId: number,
    address: () => LeaderAddress | undefined,
    settings: FetcherSettings,
    clock: Clock,
    log: (message: string) => void,
    quota?: ReplicationQuota,
  ) {
    this.leaderId = leaderId;
    this.#quota = quota;
    this.#settings = settings;
    this.#clock = clock;
    this.#log = log;
    this.#connection = new LazyConnection(address, {
      clientId: `broker-${settings.localBrokerId}-fetcher-${leaderId}`,
      connectTimeoutMs: settings.connectTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      ...(settings.security === undefined ? {} : { security: settings.security }),
    });
  }

  get size(): number {
    return this.#partitions.size;
  }

  /** Starts following `partition` (already made follower of this leader at its epoch). */
  add(partition: Partition): void {
    this.#partitions.set(partition.key, {
      partition,
      leaderEpoch: partition.leaderEpoch,
      state: 'truncating',
      delayedUntilMs: 0,
    });
    this.#kick();
  }

  remove(partition: Partition): void {
    this.#partitions.delete(partition.key);
  }

  has(partition: Partition): boolean {
    return this.#partitions.get(partition.key)?.partition === partition;
  }

  #kick(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
    if (this.#running === null && !this.#stopped) {
      this.#running = this.#loop().finally(() => {
        this.#running = null;
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#partitions.clear();
    this.#kick();
    await this.#connection.drop();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped && this.#partitions.size > 0) {
      try {
        const conn = await this.#connection.get();
        const truncated = await this.#truncateAll(conn);
        // A fetch long-polls on the leader (replica.fetch.wait.max.ms), so the next one follows
        // at once; only with nothing to fetch does the fetcher wait here.
        const fetched = await this.#fetchOnce(conn);
        if (!truncated && !fetched) await this.#sleep(this.#nextWakeMs());
      } catch (err) {
        if (this.#stopped) return;
        this.#log(`replica fetcher for broker ${this.leaderId}: ${String(err)}`);
        await this.#connection.drop();
        await this.#sleep(this.#settings.backoffMs);
      }
    }
  }

  /** Waits until `ms` passed or a partition was added or stop() was called. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#clock.schedule(Math.max(1, ms), () => {
        this.#wake = null;
        resolve();
      });
      this.#wake = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  #nextWakeMs(): number {
    const now = this.#clock.monotonicMs();
    let next = this.#settings.backoffMs;
    for (const f of this.#partitions.values()) {
      if (f.state === 'delayed') next = Math.min(next, Math.max(1, f.delayedUntilMs - now));
    }
    return next;
  }

  #delay(f: Followed, why: string): void {
    f.state = 'delayed';
    f.delayedUntilMs = this.#clock.monotonicMs() + this.#settings.backoffMs;
    this.#log(
      `replica fetcher: ${topicPartitionString(f.partition.topic, f.partition.partition)}: ${why}`,
    );
  }

  #current(f: Followed): boolean {
    // A newer LeaderAndIsr replaced this entry (it may even have made this replica the leader),
    // or the partition went away. Checked again after every wait: a response must never be
    // applied to a partition that leads now (Kafka holds the partition's lock for the same end).
    const p = f.partition;
    return (
      this.#partitions.get(p.key) === f &&
      !p.isStopped &&
      !p.isLeader &&
      p.leaderEpoch === f.leaderEpoch
    );
  }

  /** Truncation of every partition that needs it; true when any made progress. */
  async #truncateAll(conn: Connection): Promise<boolean> {
    let progressed = false;
    const now = this.#clock.monotonicMs();
    for (const f of [...this.#partitions.values()]) {
      if (f.state === 'delayed' && f.delayedUntilMs <= now) f.state = 'truncating';
      if (f.state !== 'truncating') continue;
      if (await this.#truncate(conn, f)) progressed = true;
    }
    return progressed;
  }

  /**
   * The leader-epoch protocol for one partition: ask where our latest epoch ends on the leader,
   * cut what follows, repeat with the epoch now latest until the leader knows it.
   */
  async #truncate(conn: Connection, f: Followed): Promise<boolean> {
    const p = f.partition;
    const log = p.log;
    for (let round = 0; round < TRUNCATION_ROUNDS_MAX; round++) {
      if (!this.#current(f)) return false;
      const epoch = log.leaderEpochCache.latestEpoch();
      if (epoch === undefined || log.logEndOffset === log.logStartOffset) {
        // Nothing with an epoch to compare (an empty log, or one written before epochs): Kafka
        // falls back to the high watermark, which every in-sync replica held.
        if (log.logEndOffset > p.highWatermark) await p.truncateTo(p.highWatermark);
        f.state = 'fetching';
        return true;
      }
      const answer = await this.#leaderEpochEnd(conn, f, epoch);
      if (!this.#current(f)) return false;
      if (answer.errorCode !== 0) {
        this.#delay(f, `OffsetForLeaderEpoch: ${answer.errorCode}`);
        return false;
      }
      if (answer.endOffset < 0) {
        // The leader has no epoch at or below ours: it knows nothing we can keep beyond the HW.
        if (log.logEndOffset > p.highWatermark) await p.truncateTo(p.highWatermark);
        f.state = 'fetching';
        return true;
      }
      const local = log.leaderEpochCache.endOffsetFor(answer.leaderEpoch);
      if (local.epoch === answer.leaderEpoch || local.endOffset < 0) {
        const to = Math.min(
          answer.endOffset,
          local.endOffset < 0 ? answer.endOffset : local.endOffset,
        );
        if (to < log.logEndOffset) await p.truncateTo(to);
        f.state = 'fetching';
        return true;
      }
      // We have no entry for the leader's epoch: cut to where our last epoch below it ends and
      // ask again about that one.
      if (local.endOffset < log.logEndOffset) await p.truncateTo(local.endOffset);
    }
    await p.truncateTo(p.highWatermark);
    f.state = 'fetching';
    return true;
  }

  async #leaderEpochEnd(
    conn: Connection,
    f: Followed,
    epoch: number,
  ): Promise<{ errorCode: number; leaderEpoch: number; endOffset: number }> {
    const p = f.partition;
    const res = await conn.send<OffsetForLeaderEpochResponse>(
      ApiKey.OffsetForLeaderEpoch,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      {
        replicaId: this.#settings.localBrokerId,
        topics: [
          {
            topic: p.topic,
            partitions: [
              { partition: p.partition, currentLeaderEpoch: f.leaderEpoch, leaderEpoch: epoch },
            ],
          },
        ],
      },
    );
    const out = res.topics[0]?.partitions[0];
    if (out === undefined)
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, leaderEpoch: -1, endOffset: -1 };
    return { errorCode: out.errorCode, leaderEpoch: out.leaderEpoch, endOffset: out.endOffset };
  }

  /** One Fetch for every partition in the fetching state; false when there was none to send. */
  async #fetchOnce(conn: Connection): Promise<boolean> {
    // Kafka's shouldFollowerThrottle: while the follower throttle is over its rate, out-of-sync
    // replicas of throttled partitions sit this round out (in-sync ones never wait).
    const throttled = this.#quota?.isExceeded() === true;
    const fetching = [...this.#partitions.values()].filter(
      (f) => f.state === 'fetching' && !(throttled && f.partition.followerThrottled),
    );
    if (fetching.length === 0) return false;
    const byTopic = new Map<string, Followed[]>();
    for (const f of fetching) {
      const list = byTopic.get(f.partition.topic) ?? [];
      list.push(f);
      byTopic.set(f.partition.topic, list);
    }
    const s = this.#settings;
    const request: FetchRequest = {
      ...defaultFetchRequest(),
      replicaId: s.localBrokerId,
      maxWaitMs: s.waitMaxMs,
      minBytes: s.minBytes,
      maxBytes: s.responseBytesMax,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        topicId: '',
        partitions: list.map((f) => ({
          ...defaultFetchRequestFetchPartition(),
          partition: f.partition.partition,
          currentLeaderEpoch: f.leaderEpoch,
          fetchOffset: f.partition.log.logEndOffset,
          lastFetchedEpoch: -1,
          logStartOffset: f.partition.log.logStartOffset,
          partitionMaxBytes: s.partitionBytesMax,
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    };
    const res = await conn.send<FetchResponse>(
      ApiKey.Fetch,
      FETCH_VERSION,
      request,
      s.waitMaxMs + s.requestTimeoutMs,
    );
    for (const t of res.responses) {
      for (const out of t.partitions) {
        const f = byTopic.get(t.topic)?.find((x) => x.partition.partition === out.partitionIndex);
        if (f === undefined || !this.#current(f)) continue;
        await this.#apply(conn, f, out);
      }
    }
    return true;
  }

  async #apply(
    conn: Connection,
    f: Followed,
    out: FetchResponse['responses'][number]['partitions'][number],
  ): Promise<void> {
    const p = f.partition;
    if (out.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      await this.#handleOutOfRange(conn, f);
      return;
    }
    if (out.errorCode !== 0) {
      this.#delay(f, `fetch error ${out.errorCode}`);
      return;
    }
    const data = wholeBatchesFrom(out.records, p.log.logEndOffset);
    if (data !== null && p.followerThrottled) this.#quota?.record(data.length);
    if (data !== null) {
      // The append itself is synchronous up to its write: checked just before, it cannot land
      // on a partition that became leader.
      if (!this.#current(f)) return;
      await p.appendAsFollower(data);
      if (this.#settings.syncBeforeNextFetch) await p.log.flush();
    }
    if (!this.#current(f)) return;
    if (out.logStartOffset > p.log.logStartOffset) {
      // DeleteRecords and retention on the leader move its log start; the follower follows.
      await p.log.setLogStartOffset(Math.min(out.logStartOffset, p.log.writtenEndOffset));
      if (!this.#current(f)) return;
    }
    p.updateHighWatermarkAsFollower(out.highWatermark);
  }

  /**
   * Kafka's rule: a fetch offset past the leader's end means we hold what the leader lost
   * (truncate to its end); one before the leader's log start means we start over from there.
   */
  async #handleOutOfRange(conn: Connection, f: Followed): Promise<void> {
    const p = f.partition;
    const [start, end] = await Promise.all([
      this.#leaderOffset(conn, f, -2),
      this.#leaderOffset(conn, f, -1),
    ]);
    if (!this.#current(f)) return;
    if (start < 0 || end < 0) {
      this.#delay(f, 'leader offsets unavailable');
      return;
    }
    if (p.log.logEndOffset > end) await p.truncateTo(end);
    else await p.restartFollowerAt(start);
  }

  async #leaderOffset(conn: Connection, f: Followed, timestamp: number): Promise<number> {
    const p = f.partition;
    const res = await conn.send<ListOffsetsResponse>(ApiKey.ListOffsets, LIST_OFFSETS_VERSION, {
      replicaId: this.#settings.localBrokerId,
      isolationLevel: 0,
      topics: [
        {
          name: p.topic,
          partitions: [
            {
              partitionIndex: p.partition,
              currentLeaderEpoch: f.leaderEpoch,
              timestamp,
              maxNumOffsets: 1,
            },
          ],
        },
      ],
    });
    const out = res.topics[0]?.partitions[0];
    return out === undefined || out.errorCode !== 0 ? -1 : out.offset;
  }
}

/**
 * The batches of a fetch response that the follower appends: whole batches only (a leader may
 * cut the last one at the size limit), and none that end before `from` (already held).
 */
function wholeBatchesFrom(records: Buffer | readonly Buffer[] | null, from: number): Buffer | null {
  if (records === null) return null;
  const data = Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]);
  let start = -1;
  let end = 0;
  let pos = 0;
  while (pos + LOG_OVERHEAD <= data.length) {
    const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < LOG_OVERHEAD || pos + size > data.length) break;
    const h = readBatchHeader(data, pos);
    if (start < 0 && h.baseOffset + h.lastOffsetDelta >= from) start = pos;
    pos += size;
    end = pos;
  }
  if (start < 0 || end <= start) return null;
  return data.subarray(start, end);
}

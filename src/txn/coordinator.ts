/**
 * The transaction coordinator (Kafka's TransactionCoordinator with its TransactionStateManager
 * and marker channel, in their essentials). Each transactional id belongs to one partition of
 * `__transaction_state` (Java's hashCode, as Kafka); the broker leading that partition is its
 * coordinator, at the partition's leader epoch (the coordinator epoch that fences markers of a
 * deposed coordinator). The state of every transactional id is a record on that partition:
 * written first, then acted on, so a new coordinator resumes from the log.
 *
 * A transaction goes Empty -> Ongoing (AddPartitionsToTxn / AddOffsetsToTxn) -> PrepareCommit
 * or PrepareAbort (EndTxn, answered once that is written) -> markers written to every partition
 * of the transaction -> CompleteCommit / CompleteAbort. InitProducerId bumps the producer epoch
 * (fencing any older producer of the same id); on an Ongoing transaction it first aborts it with
 * a bumped epoch and answers CONCURRENT_TRANSACTIONS, so the new producer retries. Transactions
 * open past their timeout are aborted the same way, and idle transactional ids expire.
 *
 * Concurrency follows Kafka's pendingState: while a write of an id's state is in flight, other
 * requests for it get CONCURRENT_TRANSACTIONS (clients retry). Everything else is synchronous in
 * between awaits, which is what Kafka's per-metadata lock gives it.
 */
import type { Clock, TimerHandle } from '../common/clock.ts';
import { type CoordinatorLog, partitionForKey } from '../common/coordinator-log.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import {
  buildRecordBatch,
  forEachBatch,
  readRecordBatch,
} from '../protocol/records/batch-builder.ts';
import { ATTR_CONTROL } from '../protocol/records/batch-header.ts';
import {
  decodeTxnKey,
  decodeTxnValue,
  encodeTxnKey,
  encodeTxnValue,
  type TxnLogValue,
  type TxnStatusName,
} from './records.ts';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;
/** How long an AddPartitionsToTxn waits for the previous transaction's markers (see below). */
const COMPLETION_WAIT_MS = 2_000;
/** Kafka's TransactionMetadata.isEpochExhausted: the epoch after which a new producer id is given. */
const EPOCH_MAX = 32766;

export interface TxnCoordinatorConfig {
  /** transaction.max.timeout.ms */
  readonly maxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  readonly idExpirationMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  readonly abortTimedOutIntervalMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms */
  readonly removeExpiredIntervalMs: number;
  /** Pause before a marker that failed with a retriable error is sent again. */
  readonly markerRetryBackoffMs: number;
}

export interface TxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
}

/**
 * Writes transaction markers to partition leaders (the broker implements it: in-process for
 * partitions led here, WriteTxnMarkers to other brokers). Resolves per partition with Kafka's
 * error code; it never throws.
 */
export interface MarkerWriter {
  write(
    marker: TxnMarker,
    partitions: readonly { readonly topic: string; readonly partition: number }[],
  ): Promise<Map<string, number>>;
  /** False once the topic no longer exists (its markers are dropped, as Kafka does). */
  topicExists(topic: string): boolean;
}

export interface TxnCoordinatorOptions {
  readonly log: CoordinatorLog;
  readonly markers: MarkerWriter;
  readonly nextProducerId: () => Promise<number>;
  readonly clock: Clock;
  readonly config: TxnCoordinatorConfig;
  readonly logger?: (message: string) => void;
}

/** What the coordinator knows of one transactional id (Kafka's TransactionMetadata). */
interface TxnMeta {
  readonly transactionalId: string;
  producerId: number;
  /** The producer id before the last rotation (KIP-360 retries). */
  previousProducerId: number;
  producerEpoch: number;
  /** The epoch before the last bump, for a client retrying an InitProducerId it got no answer to. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStatusName;
  /** topic -> partitions of the transaction. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
  /** A write of this id's state is in flight (Kafka's pendingState). */
  pending: boolean;
  /** The markers and completion of a decided transaction, while they are being written. */
  completion: Promise<void> | null;
}

interface PartitionTerm {
  state: 'loading' | 'owned' | 'resigned';
  /** The coordinator epoch: the partition's leader epoch. */
  epoch: number;
}

export interface InitProducerIdResult {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnDescription {
  readonly transactionalId: string;
  readonly state: TxnStatusName;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly startMs: number;
  readonly partitions: ReadonlyMap<string, readonly number[]>;
}

export interface TxnListing {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly state: TxnStatusName;
}

type Result<T> = { readonly error: number } | { readonly ok: T };

function isError<T>(r: Result<T>): r is { readonly error: number } {
  return 'error' in r;
}

/** Kafka's mapping of a failed append of transaction state to what the client is told. */
function appendErrorFor(appendError: number): number {
  switch (appendError) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** Marker errors after which the marker is sent again (Kafka's TransactionMarkerRequestCompletionHandler). */
const RETRIABLE_MARKER_ERRORS = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.UNKNOWN_SERVER_ERROR,
]);

function key(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class TransactionCoordinator {
  readonly #log: CoordinatorLog;
  readonly #markers: MarkerWriter;
  readonly #nextProducerId: () => Promise<number>;
  readonly #clock: Clock;
  readonly #config: TxnCoordinatorConfig;
  readonly #logger: (message: string) => void;
  readonly #txns = new Map<string, TxnMeta>();
  readonly #terms = new Map<number, PartitionTerm>();
  #loadQueue: Promise<void> = Promise.resolve();
  readonly #timers = new Set<TimerHandle>();
  #stopped = false;

  constructor(options: TxnCoordinatorOptions) {
    this.#log = options.log;
    this.#markers = options.markers;
    this.#nextProducerId = options.nextProducerId;
    this.#clock = options.clock;
    this.#config = options.config;
    this.#logger = options.logger ?? (() => undefined);
  }

  get partitionCount(): number {
    return this.#log.partitionCount;
  }

  partitionFor(transactionalId: string): number {
    return partitionForKey(transactionalId, this.#log.partitionCount);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /** Starts the periodic aborts of timed-out transactions and expiry of idle ids. */
  startup(): void {
    this.#every(this.#config.abortTimedOutIntervalMs, () => this.#abortTimedOut());
    this.#every(this.#config.removeExpiredIntervalMs, () => this.#expireIds());
  }

  shutdown(): void {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
  }

  #every(intervalMs: number, fn: () => Promise<void>): void {
    const tick = () => {
      this.#timers.delete(handle);
      if (this.#stopped) return;
      fn()
        .catch((err: unknown) => this.#logger(`transaction coordinator: ${String(err)}`))
        .finally(() => {
          if (!this.#stopped) this.#every(intervalMs, fn);
        });
    };
    const handle = this.#clock.schedule(intervalMs, tick);
    this.#timers.add(handle);
  }

  /** This broker leads `partition` of `__transaction_state` at `epoch`: load it, then serve it. */
  onElection(partition: number, epoch: number): Promise<void> {
    if (this.#stopped || partition >= this.#log.partitionCount) return Promise.resolve();
    const current = this.#terms.get(partition);
    if (current !== undefined && epoch < current.epoch) return Promise.resolve();
    if (current !== undefined && current.state !== 'resigned' && current.epoch === epoch) {
      return this.#loadQueue;
    }
    this.#dropPartition(partition);
    const term: PartitionTerm = { state: 'loading', epoch };
    this.#terms.set(partition, term);
    const load = this.#loadQueue.then(() => this.#load(partition, term));
    this.#loadQueue = load.catch(() => undefined);
    return this.#loadQueue;
  }

  /** This broker no longer leads `partition`: its transactional ids are forgotten here. */
  onResignation(partition: number, epoch: number): void {
    const current = this.#terms.get(partition);
    if (current !== undefined && epoch >= 0 && epoch < current.epoch) return;
    this.#terms.set(partition, {
      state: 'resigned',
      epoch: epoch >= 0 ? epoch : (current?.epoch ?? -1),
    });
    this.#dropPartition(partition);
  }

  #dropPartition(partition: number): void {
    for (const id of [...this.#txns.keys()]) {
      if (this.partitionFor(id) === partition) this.#txns.delete(id);
    }
  }

  #isCurrent(partition: number, term: PartitionTerm): boolean {
    return !this.#stopped && this.#terms.get(partition) === term;
  }

  async #load(partition: number, term: PartitionTerm): Promise<void> {
    if (!this.#isCurrent(partition, term)) return;
    const loaded = new Map<string, TxnLogValue | null>();
    let offset = this.#log.startOffset(partition);
    const end = this.#log.endOffset(partition);
    try {
      while (offset < end && this.#isCurrent(partition, term)) {
        const chunks = await this.#log.read(partition, offset);
        let next = offset;
        for (const chunk of chunks) {
          const positions: number[] = [];
          forEachBatch(chunk, (h, pos) => {
            if (h.baseOffset + h.lastOffsetDelta >= offset) positions.push(pos);
            return true;
          });
          for (const pos of positions) {
            const batch = await readRecordBatch(chunk, pos);
            const h = batch.header;
            next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
            if ((h.attributes & ATTR_CONTROL) !== 0) continue;
            for (const r of batch.records) {
              if (r.offset < offset || r.key === null) continue;
              const id = decodeTxnKey(r.key);
              if (id === null) continue;
              try {
                loaded.set(id, r.value === null ? null : decodeTxnValue(r.value));
              } catch (err) {
                this.#logger(
                  `skipping unreadable ${TRANSACTION_STATE_TOPIC} record at ${r.offset}: ${String(err)}`,
                );
              }
            }
          }
        }
        if (next <= offset) break;
        offset = next;
      }
    } catch (err) {
      if (!this.#stopped) {
        this.#logger(`failed to load ${TRANSACTION_STATE_TOPIC}-${partition}: ${String(err)}`);
      }
      return;
    }
    if (!this.#isCurrent(partition, term)) return;
    const resume: TxnMeta[] = [];
    for (const [id, v] of loaded) {
      if (v === null) continue;
      const meta: TxnMeta = {
        transactionalId: id,
        producerId: v.producerId,
        previousProducerId: NO_PRODUCER_ID,
        producerEpoch: v.producerEpoch,
        lastProducerEpoch: NO_PRODUCER_EPOCH,
        timeoutMs: v.timeoutMs,
        state: v.status,
        partitions: new Map([...v.partitions].map(([t, ps]) => [t, new Set(ps)])),
        startMs: v.startMs,
        lastUpdateMs: v.lastUpdateMs,
        pending: false,
        completion: null,
      };
      this.#txns.set(id, meta);
      if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') resume.push(meta);
    }
    term.state = 'owned';
    if (loaded.size > 0) {
      this.#logger(
        `loaded ${loaded.size} transactional ids from ${TRANSACTION_STATE_TOPIC}-${partition} at coordinator epoch ${term.epoch}`,
      );
    }
    // Transactions whose outcome was decided but not carried out: finish them (Kafka does the same).
    for (const meta of resume) {
      meta.pending = true;
      this.#startCompletion(meta, meta.state === 'PrepareCommit', term);
    }
  }

  /** The term serving `transactionalId`, or the error a request for it gets. */
  #termFor(transactionalId: string): Result<PartitionTerm> {
    const term = this.#terms.get(this.partitionFor(transactionalId));
    if (term === undefined || term.state === 'resigned')
      return { error: ErrorCode.NOT_COORDINATOR };
    if (term.state === 'loading') return { error: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    return { ok: term };
  }

  // ---------------------------------------------------------------------------------------------
  // Writing state

  /**
   * Writes the state `next` of `meta` (Kafka's appendTransactionToLog) and, once durable and only
   * if the coordinator still serves the partition at the same epoch, makes it current. `meta` is
   * pending meanwhile. Resolves with the client's error code.
   */
  async #persist(meta: TxnMeta, next: TxnLogValue, term: PartitionTerm): Promise<number> {
    meta.pending = true;
    let code: number;
    try {
      const now = this.#clock.nowMs();
      const batch = await buildRecordBatch({
        records: [
          { key: encodeTxnKey(meta.transactionalId), value: encodeTxnValue(next), timestamp: now },
        ],
        now,
      });
      code = appendErrorFor(await this.#log.append(this.partitionFor(meta.transactionalId), batch));
    } catch (err) {
      this.#logger(`writing the state of ${meta.transactionalId}: ${String(err)}`);
      code = ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    meta.pending = false;
    const partition = this.partitionFor(meta.transactionalId);
    if (code === ErrorCode.NONE && !this.#isCurrent(partition, term))
      return ErrorCode.NOT_COORDINATOR;
    if (code !== ErrorCode.NONE) return code;
    meta.producerId = next.producerId;
    meta.producerEpoch = next.producerEpoch;
    meta.timeoutMs = next.timeoutMs;
    meta.state = next.status;
    meta.partitions = new Map([...next.partitions].map(([t, ps]) => [t, new Set(ps)]));
    meta.startMs = next.startMs;
    meta.lastUpdateMs = next.lastUpdateMs;
    return ErrorCode.NONE;
  }

  #value(meta: TxnMeta, change: Partial<TxnLogValue>): TxnLogValue {
    return {
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      timeoutMs: meta.timeoutMs,
      status: meta.state,
      partitions: new Map(
        [...meta.partitions].map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]),
      ),
      lastUpdateMs: this.#clock.nowMs(),
      startMs: meta.startMs,
      ...change,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // InitProducerId

  /**
   * InitProducerId for a transactional id (Kafka's handleInitProducerId): `expected` is the
   * producer id and epoch a KIP-360 client sends to recover, or null.
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { readonly producerId: number; readonly producerEpoch: number } | null,
  ): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({
      errorCode,
      producerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
    });
    if (timeoutMs <= 0 || timeoutMs > this.#config.maxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    const termResult = this.#termFor(transactionalId);
    if (isError(termResult)) return fail(termResult.error);
    const term = termResult.ok;
    let meta = this.#txns.get(transactionalId);
    if (meta === undefined) {
      let producerId: number;
      try {
        producerId = await this.#nextProducerId();
      } catch {
        return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
      // Another request may have created it meanwhile.
      if (!this.#isCurrent(this.partitionFor(transactionalId), term))
        return fail(ErrorCode.NOT_COORDINATOR);
      meta = this.#txns.get(transactionalId) ?? {
        transactionalId,
        producerId,
        previousProducerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
        lastProducerEpoch: NO_PRODUCER_EPOCH,
        timeoutMs,
        state: 'Empty',
        partitions: new Map(),
        startMs: -1,
        lastUpdateMs: this.#clock.nowMs(),
        pending: false,
        completion: null,
      };
      this.#txns.set(transactionalId, meta);
    }
    if (meta.pending) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null && !this.#validExpected(meta, expected))
      return fail(ErrorCode.PRODUCER_FENCED);
    switch (meta.state) {
      case 'PrepareAbort':
      case 'PrepareCommit':
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing': {
        // Fence the producer of the open transaction, abort it, and let this one retry.
        const code = await this.#endTransaction(meta, false, term, this.#fencedEpoch(meta));
        return fail(code === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : code);
      }
      default:
        return this.#bumpEpoch(meta, timeoutMs, expected, term);
    }
  }

  #validExpected(meta: TxnMeta, expected: { producerId: number; producerEpoch: number }): boolean {
    return (
      meta.producerEpoch === NO_PRODUCER_EPOCH ||
      expected.producerId === meta.producerId ||
      (expected.producerId === meta.previousProducerId && expected.producerEpoch >= EPOCH_MAX)
    );
  }

  /** Kafka's prepareIncrementProducerEpoch / prepareProducerIdRotation, written as Empty. */
  async #bumpEpoch(
    meta: TxnMeta,
    timeoutMs: number,
    expected: { producerId: number; producerEpoch: number } | null,
    term: PartitionTerm,
  ): Promise<InitProducerIdResult> {
    let producerId = meta.producerId;
    let epoch: number;
    let lastEpoch: number;
    let previousProducerId = meta.previousProducerId;
    const exhausted = meta.producerEpoch >= EPOCH_MAX;
    if (exhausted && (expected === null || expected.producerEpoch === meta.producerEpoch)) {
      try {
        producerId = await this.#nextProducerId();
      } catch {
        return {
          errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
          producerId: -1,
          producerEpoch: -1,
        };
      }
      previousProducerId = meta.producerId;
      epoch = 0;
      lastEpoch = expected === null ? NO_PRODUCER_EPOCH : meta.producerEpoch;
    } else if (
      expected === null ||
      meta.producerEpoch === NO_PRODUCER_EPOCH ||
      expected.producerEpoch === meta.producerEpoch
    ) {
      epoch = meta.producerEpoch + 1;
      lastEpoch = expected === null ? NO_PRODUCER_EPOCH : meta.producerEpoch;
    } else if (expected.producerEpoch === meta.lastProducerEpoch) {
      // A retry of a bump whose answer was lost: the same id and epoch again.
      return {
        errorCode: ErrorCode.NONE,
        producerId: meta.producerId,
        producerEpoch: meta.producerEpoch,
      };
    } else {
      return { errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1, producerEpoch: -1 };
    }
    const code = await this.#persist(
      meta,
      this.#value(meta, {
        producerId,
        producerEpoch: epoch,
        timeoutMs,
        status: 'Empty',
        partitions: new Map(),
        startMs: -1,
      }),
      term,
    );
    if (code !== ErrorCode.NONE) return { errorCode: code, producerId: -1, producerEpoch: -1 };
    meta.previousProducerId = previousProducerId;
    meta.lastProducerEpoch = lastEpoch;
    return {
      errorCode: ErrorCode.NONE,
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
    };
  }

  /** Kafka's prepareFenceProducerEpoch: the epoch an abort by the coordinator is written with. */
  #fencedEpoch(meta: TxnMeta): number {
    return meta.producerEpoch >= EPOCH_MAX ? meta.producerEpoch : meta.producerEpoch + 1;
  }

  // ---------------------------------------------------------------------------------------------
  // AddPartitionsToTxn, AddOffsetsToTxn, EndTxn

  /** The checks every client request on a transaction starts with. */
  #check(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
  ): Result<{ meta: TxnMeta; term: PartitionTerm }> {
    const termResult = this.#termFor(transactionalId);
    if (isError(termResult)) return termResult;
    const meta = this.#txns.get(transactionalId);
    if (meta === undefined || meta.producerId !== producerId) {
      return { error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
    }
    if (meta.producerEpoch !== producerEpoch) return { error: ErrorCode.PRODUCER_FENCED };
    if (meta.pending) return { error: ErrorCode.CONCURRENT_TRANSACTIONS };
    return { ok: { meta, term: termResult.ok } };
  }

  /** AddPartitionsToTxn (and AddOffsetsToTxn, with the group's offsets partition). */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly { readonly topic: string; readonly partition: number }[],
  ): Promise<number> {
    await this.#awaitCompletion(transactionalId);
    const checked = this.#check(transactionalId, producerId, producerEpoch);
    if (isError(checked)) return checked.error;
    const { meta, term } = checked.ok;
    if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    const fresh = meta.state !== 'Ongoing';
    const merged = new Map<string, number[]>();
    if (!fresh) for (const [t, ps] of meta.partitions) merged.set(t, [...ps]);
    let added = false;
    for (const { topic, partition } of partitions) {
      const list = merged.get(topic) ?? [];
      if (!list.includes(partition)) {
        list.push(partition);
        added = true;
      }
      merged.set(topic, list);
    }
    if (!fresh && !added) return ErrorCode.NONE;
    for (const list of merged.values()) list.sort((a, b) => a - b);
    const now = this.#clock.nowMs();
    return this.#persist(
      meta,
      this.#value(meta, {
        status: 'Ongoing',
        partitions: merged,
        startMs: fresh ? now : meta.startMs,
        lastUpdateMs: now,
      }),
      term,
    );
  }

  /**
   * AddPartitionsToTxn v4+ with verify_only (KIP-890): whether each partition is in the ongoing
   * transaction of that producer. Partitions not in it get TRANSACTION_ABORTABLE.
   */
  verifyPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly { readonly topic: string; readonly partition: number }[],
  ): Map<string, number> {
    const out = new Map<string, number>();
    const termResult = this.#termFor(transactionalId);
    const meta = this.#txns.get(transactionalId);
    let error: number | null = null;
    if (isError(termResult)) error = termResult.error;
    else if (meta === undefined || meta.producerId !== producerId)
      error = ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    else if (meta.producerEpoch !== producerEpoch) error = ErrorCode.PRODUCER_FENCED;
    else if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
      error = ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    for (const { topic, partition } of partitions) {
      const inTxn =
        meta?.state === 'Ongoing' && meta.partitions.get(topic)?.has(partition) === true;
      out.set(
        key(topic, partition),
        error ?? (inTxn ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE),
      );
    }
    return out;
  }

  /** EndTxn: commit or abort (Kafka's handleEndTransaction, transaction version 1 rules). */
  async endTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<number> {
    const checked = this.#check(transactionalId, producerId, producerEpoch);
    if (isError(checked)) return checked.error;
    const { meta, term } = checked.ok;
    switch (meta.state) {
      case 'Ongoing':
        return this.#endTransaction(meta, commit, term, meta.producerEpoch);
      case 'CompleteCommit':
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case 'CompleteAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case 'PrepareCommit':
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
  }

  /**
   * Writes PrepareCommit/PrepareAbort (at `epoch`: higher than the producer's when the
   * coordinator aborts on its own, which fences it), then, in the background, the markers and
   * the completion. Resolves once the decision is durable.
   */
  async #endTransaction(
    meta: TxnMeta,
    commit: boolean,
    term: PartitionTerm,
    epoch: number,
  ): Promise<number> {
    const bumped = epoch !== meta.producerEpoch;
    const code = await this.#persist(
      meta,
      this.#value(meta, {
        status: commit ? 'PrepareCommit' : 'PrepareAbort',
        producerEpoch: epoch,
      }),
      term,
    );
    if (code !== ErrorCode.NONE) return code;
    if (bumped) meta.lastProducerEpoch = NO_PRODUCER_EPOCH;
    meta.pending = true;
    this.#startCompletion(meta, commit, term);
    return ErrorCode.NONE;
  }

  #startCompletion(meta: TxnMeta, commit: boolean, term: PartitionTerm): void {
    const completion: Promise<void> = this.#completeTransaction(meta, commit, term).finally(() => {
      if (meta.completion === completion) meta.completion = null;
    });
    meta.completion = completion;
  }

  /**
   * A producer's next transaction often starts (AddPartitionsToTxn) while the markers of its
   * previous one are still being written. Kafka answers CONCURRENT_TRANSACTIONS at once and the
   * client retries after its backoff (librdkafka: 20 ms); here the request waits for the
   * completion first, up to COMPLETION_WAIT_MS, and is then answered as Kafka would answer it.
   */
  async #awaitCompletion(transactionalId: string): Promise<void> {
    const completion = this.#txns.get(transactionalId)?.completion;
    if (completion === null || completion === undefined) return;
    let timer: TimerHandle | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = this.#clock.schedule(COMPLETION_WAIT_MS, resolve);
    });
    await Promise.race([completion.catch(() => undefined), bound]);
    timer?.cancel();
  }

  /**
   * The markers of a decided transaction, to every partition of it, sent again until each is
   * written (or its topic is gone, or this coordinator lost the partition); then the completion.
   * `meta` stays pending throughout, so the producer's next request waits (CONCURRENT_TRANSACTIONS).
   */
  async #completeTransaction(meta: TxnMeta, commit: boolean, term: PartitionTerm): Promise<void> {
    const partition = this.partitionFor(meta.transactionalId);
    const marker: TxnMarker = {
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      coordinatorEpoch: term.epoch,
      commit,
    };
    let left = [...meta.partitions].flatMap(([topic, ps]) =>
      [...ps].map((p) => ({ topic, partition: p })),
    );
    while (left.length > 0) {
      if (!this.#isCurrent(partition, term)) return;
      left = left.filter((p) => this.#markers.topicExists(p.topic));
      if (left.length === 0) break;
      const results = await this.#markers.write(marker, left);
      const retry: typeof left = [];
      for (const p of left) {
        const code = results.get(key(p.topic, p.partition)) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code === ErrorCode.NONE) continue;
        if (RETRIABLE_MARKER_ERRORS.has(code)) {
          retry.push(p);
          continue;
        }
        // A fenced marker (a newer coordinator or producer epoch wrote one already): nothing to
        // retry, as Kafka's completion handler drops it.
        this.#logger(
          `marker for ${meta.transactionalId} on ${key(p.topic, p.partition)} not written: error ${code}`,
        );
      }
      left = retry;
      if (left.length > 0) await this.#sleep(this.#config.markerRetryBackoffMs);
    }
    if (!this.#isCurrent(partition, term)) return;
    meta.pending = false;
    const code = await this.#persist(
      meta,
      this.#value(meta, {
        status: commit ? 'CompleteCommit' : 'CompleteAbort',
        partitions: new Map(),
      }),
      term,
    );
    if (code !== ErrorCode.NONE && this.#isCurrent(partition, term)) {
      // The decision stays written: the next coordinator of the partition completes it.
      this.#logger(`completing ${meta.transactionalId}: error ${code}`);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.#clock.schedule(ms, () => {
        this.#timers.delete(handle);
        resolve();
      });
      this.#timers.add(handle);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Timeouts and expiry

  async #abortTimedOut(): Promise<void> {
    const now = this.#clock.nowMs();
    for (const meta of [...this.#txns.values()]) {
      if (meta.state !== 'Ongoing' || meta.pending) continue;
      if (meta.startMs + meta.timeoutMs > now) continue;
      const term = this.#termFor(meta.transactionalId);
      if (isError(term)) continue;
      this.#logger(
        `aborting transaction of ${meta.transactionalId} (producer ${meta.producerId}): open longer than its timeout of ${meta.timeoutMs} ms`,
      );
      await this.#endTransaction(meta, false, term.ok, this.#fencedEpoch(meta));
    }
  }

  /** Kafka's removeExpiredTransactionalIds: idle ids in a final state get a tombstone. */
  async #expireIds(): Promise<void> {
    const now = this.#clock.nowMs();
    for (const meta of [...this.#txns.values()]) {
      const final =
        meta.state === 'Empty' || meta.state === 'CompleteCommit' || meta.state === 'CompleteAbort';
      if (!final || meta.pending || meta.lastUpdateMs + this.#config.idExpirationMs > now) continue;
      const termResult = this.#termFor(meta.transactionalId);
      if (isError(termResult)) continue;
      meta.pending = true;
      const batch = await buildRecordBatch({
        records: [{ key: encodeTxnKey(meta.transactionalId), value: null, timestamp: now }],
        now,
      });
      const code = await this.#log.append(this.partitionFor(meta.transactionalId), batch);
      meta.pending = false;
      if (
        code === ErrorCode.NONE &&
        this.#isCurrent(this.partitionFor(meta.transactionalId), termResult.ok)
      ) {
        this.#txns.delete(meta.transactionalId);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Describe and list

  describe(transactionalId: string): Result<TxnDescription> {
    const term = this.#termFor(transactionalId);
    if (isError(term)) return term;
    const meta = this.#txns.get(transactionalId);
    if (meta === undefined) return { error: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    return {
      ok: {
        transactionalId,
        state: meta.state,
        producerId: meta.producerId,
        producerEpoch: meta.producerEpoch,
        timeoutMs: meta.timeoutMs,
        startMs: meta.startMs,
        partitions: new Map(
          [...meta.partitions].map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]),
        ),
      },
    };
  }

  /** Every transactional id this coordinator serves, with the given filters (empty: all). */
  list(filter: {
    readonly states: readonly string[];
    readonly producerIds: readonly number[];
    /** Only transactions running longer than this (-1: no filter), KIP-994. */
    readonly durationMs: number;
  }): { errorCode: number; transactions: TxnListing[] } {
    const loading = [...this.#terms.values()].some((t) => t.state === 'loading');
    const now = this.#clock.nowMs();
    const transactions: TxnListing[] = [];
    for (const meta of this.#txns.values()) {
      if (filter.states.length > 0 && !filter.states.includes(meta.state)) continue;
      if (filter.producerIds.length > 0 && !filter.producerIds.includes(meta.producerId)) continue;
      if (
        filter.durationMs >= 0 &&
        (meta.state !== 'Ongoing' || now - meta.startMs < filter.durationMs)
      ) {
        continue;
      }
      transactions.push({
        transactionalId: meta.transactionalId,
        producerId: meta.producerId,
        state: meta.state,
      });
    }
    transactions.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
    return {
      errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE,
      transactions,
    };
  }
}

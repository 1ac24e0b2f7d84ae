/**
 * The classic group coordinator (Kafka's GroupCoordinator.scala, in our words): JoinGroup,
 * SyncGroup, Heartbeat and LeaveGroup drive each group's state machine; offsets are committed,
 * fetched, deleted and expired here; everything durable goes to `__consumer_offsets` through
 * GroupStore. It is the only writer of group state.
 *
 * Timing: session timeouts, rebalance timeouts, the initial rebalance delay, pending-member and
 * pending-sync expiry and offset expiry all run on the injected Clock, so tests drive them with a
 * manual clock. Node runs one thing at a time, so Kafka's per-group locks become "no await
 * between reading and changing a group"; after every await (a log append) the group is checked
 * again (state and generation), as Kafka's callbacks do.
 *
 * A JoinGroup or SyncGroup that must wait for the rest of the group returns a pending Promise,
 * resolved when the rebalance completes, fails or times out.
 *
 * Ownership: a group belongs to the leader of its `__consumer_offsets` partition. The broker
 * calls onElection when it becomes that leader (the partition is replayed, answering
 * COORDINATOR_LOAD_IN_PROGRESS meanwhile) and onResignation when it stops (its groups are dropped);
 * any other group is answered NOT_COORDINATOR, so clients look for their coordinator again.
 * A single node is elected for every partition at start.
 */
import { randomUUID } from 'node:crypto';
import { assert } from '../common/assert.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { defaultGroupConfig, type GroupConfig, NEW_MEMBER_JOIN_TIMEOUT_MS } from './config.ts';
import {
  CONSUMER_PROTOCOL_TYPE,
  type CommittedOffset,
  EMPTY_BYTES,
  Group,
  type JoinResult,
  joinError,
  Member,
  type Protocol,
  type SyncResult,
  syncError,
} from './group.ts';
import type { GroupLog } from './group-log.ts';
import { GroupStore, type LoadedPartition, type OffsetToStore } from './store.ts';

export interface JoinRequest {
  readonly groupId: string;
  /** '' for a member that has no id yet. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** JoinGroup v4+ for dynamic members: hand out an id with MEMBER_ID_REQUIRED first. */
  readonly requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader rejoining a stable group may skip the assignment. */
  readonly supportSkippingAssignment: boolean;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly Protocol[];
  readonly reason: string | null;
}

export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly reason: string | null;
}

export interface LeaveResult {
  readonly errorCode: number;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly errorCode: number;
  }[];
}

export interface OffsetCommitEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  /** -1: the broker's time (only OffsetCommit v1 sends one). */
  readonly commitTimestamp: number;
  /** -1: no per-commit expiry (only OffsetCommit v2-v4 retention sets one). */
  readonly expireTimestamp: number;
}

export interface CommitRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generationId: number;
  readonly offsets: readonly OffsetCommitEntry[];
}

/** TxnOffsetCommit: offsets committed inside a producer's transaction. */
export interface TxnCommitRequest extends CommitRequest {
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface FetchedPartition {
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

export interface FetchedOffsets {
  readonly errorCode: number;
  readonly topics: readonly { readonly name: string; readonly partitions: FetchedPartition[] }[];
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    readonly metadata: Buffer;
    readonly assignment: Buffer;
  }[];
}

export interface GroupOverview {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
  readonly groupType: string;
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface CoordinatorOptions {
  readonly log: GroupLog;
  readonly clock: Clock;
  readonly config?: GroupConfig;
  readonly newMemberId?: (prefix: string) => string;
  readonly logger?: (message: string) => void;
}

/** Timers that are all cancelled when the coordinator stops. */
class TimerSet {
  readonly #clock: Clock;
  readonly #live = new Set<TimerHandle>();
  readonly #logger: (message: string) => void;

  constructor(clock: Clock, logger: (message: string) => void) {
    this.#clock = clock;
    this.#logger = logger;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const box: { inner: TimerHandle | null } = { inner: null };
    const handle: TimerHandle = {
      cancel: () => {
        box.inner?.cancel();
        this.#live.delete(handle);
      },
    };
    box.inner = this.#clock.schedule(delayMs, () => {
      this.#live.delete(handle);
      try {
        fn();
      } catch (err) {
        this.#logger(`group coordinator timer failed: ${String(err)}`);
      }
    });
    this.#live.add(handle);
    return handle;
  }

  cancelAll(): void {
    for (const h of [...this.#live]) h.cancel();
  }
}

export const CLASSIC_GROUP_TYPE = 'classic';

/**
 * Where this coordinator stands with one partition of `__consumer_offsets`. Each election or
 * resignation that is not stale replaces the partition's term with a new object, so a load holds
 * its term and installs what it read only if that term is still the partition's, still loading:
 * the role Kafka's epochForPartitionId and its single scheduler thread play together.
 */
interface PartitionTerm {
  state: 'loading' | 'owned' | 'resigned';
  /** The highest leader epoch seen for the partition; older elections and resignations are stale. */
  epoch: number;
  /** The load failed: the partition answers LOAD_IN_PROGRESS until an election loads it again. */
  failed: boolean;
  /** Settles when this term's load has finished, failed or been overtaken. */
  loaded: Promise<void>;
}

const SETTLED: Promise<void> = Promise.resolve();

export class GroupCoordinator {
  readonly #store: GroupStore;
  readonly #clock: Clock;
  readonly #config: GroupConfig;
  readonly #timers: TimerSet;
  readonly #newMemberId: (prefix: string) => string;
  readonly #logger: (message: string) => void;
  readonly #groups = new Map<string, Group>();
  readonly #terms = new Map<number, PartitionTerm>();
  /** Loads run one at a time, in election order, as on Kafka's one group-metadata thread. */
  #loadQueue: Promise<void> = SETTLED;
  #readyWaiters: (() => void)[] = [];
  #active = false;
  #stopped = false;

  constructor(options: CoordinatorOptions) {
    this.#clock = options.clock;
    this.#config = options.config ?? defaultGroupConfig;
    this.#logger = options.logger ?? (() => undefined);
    this.#store = new GroupStore(options.log, options.clock, this.#logger);
    this.#timers = new TimerSet(options.clock, this.#logger);
    this.#newMemberId = options.newMemberId ?? ((prefix) => `${prefix}-${randomUUID()}`);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Kafka's startup: from now on the coordinator answers, NOT_COORDINATOR for the groups of
   * partitions it has not been elected for, and offset expiry runs over the groups it owns.
   */
  startup(): void {
    if (this.#stopped || this.#active) return;
    this.#active = true;
    this.#scheduleExpiry();
    this.#notifyReady();
  }

  /**
   * Single node: this broker leads every partition of `__consumer_offsets`, so it starts up and
   * is elected for all of them (leader epoch 0); resolves once every load has finished.
   */
  async start(): Promise<void> {
    if (this.#stopped || this.#active) return;
    const loads: Promise<void>[] = [];
    for (let p = 0; p < this.#store.partitionCount; p++) loads.push(this.#elect(p, 0));
    // Elected first, so that ready() cannot resolve between startup and the elections.
    this.startup();
    await Promise.all(loads);
  }

  /**
   * This broker became leader of `partition` at `leaderEpoch`: its groups and offsets are loaded
   * in the background (COORDINATOR_LOAD_IN_PROGRESS meanwhile), then answered here. A stale
   * epoch is ignored; a newer epoch of a leadership already held keeps what is loaded.
   */
  onElection(partition: number, leaderEpoch: number): void {
    void this.#elect(partition, leaderEpoch);
  }

  #elect(partition: number, leaderEpoch: number): Promise<void> {
    assert(leaderEpoch >= 0, 'an elected leader has an epoch');
    if (this.#stopped || !this.#knownPartition(partition)) return SETTLED;
    const current = this.#terms.get(partition);
    if (current !== undefined && leaderEpoch < current.epoch) {
      this.#logger(
        `not loading __consumer_offsets-${partition} for epoch ${leaderEpoch}: ` +
          `already at epoch ${current.epoch}`,
      );
      return SETTLED;
    }
    if (current !== undefined && current.state !== 'resigned' && !current.failed) {
      current.epoch = leaderEpoch;
      return current.loaded;
    }
    const term: PartitionTerm = {
      state: 'loading',
      epoch: leaderEpoch,
      failed: false,
      loaded: SETTLED,
    };
    this.#terms.set(partition, term);
    term.loaded = this.#loadQueue.then(() => this.#load(partition, term));
    this.#loadQueue = term.loaded;
    return term.loaded;
  }

  /**
   * This broker stopped leading `partition` (follower at `leaderEpoch`, or no longer a replica):
   * its groups are dropped at once, waiting JoinGroup and SyncGroup calls answered
   * NOT_COORDINATOR and their timers cancelled; a load in progress will not install anything.
   * A negative epoch (none known, as for a deleted replica) resigns whatever the current epoch.
   */
  onResignation(partition: number, leaderEpoch: number): void {
    if (this.#stopped || !this.#knownPartition(partition)) return;
    const current = this.#terms.get(partition);
    if (current !== undefined && leaderEpoch >= 0 && leaderEpoch < current.epoch) {
      this.#logger(
        `not unloading __consumer_offsets-${partition} for epoch ${leaderEpoch}: ` +
          `already at epoch ${current.epoch}`,
      );
      return;
    }
    const epoch = leaderEpoch >= 0 ? leaderEpoch : (current?.epoch ?? -1);
    this.#terms.set(partition, { state: 'resigned', epoch, failed: false, loaded: SETTLED });
    if (current !== undefined && current.state !== 'resigned') this.#unloadPartition(partition);
    this.#notifyReady();
  }

  /**
   * Leadership comes from the controller: a partition beyond the count the coordinator hashes
   * groups over (partitions added to `__consumer_offsets` later) holds none of its groups.
   */
  #knownPartition(partition: number): boolean {
    assert(Number.isInteger(partition) && partition >= 0, 'a partition index');
    if (partition < this.#store.partitionCount) return true;
    this.#logger(
      `ignoring leadership of __consumer_offsets-${partition}: groups are spread over ` +
        `${this.#store.partitionCount} partitions`,
    );
    return false;
  }

  /** Still the partition's current term, loading, on a coordinator that has not stopped. */
  #loadIsCurrent(partition: number, term: PartitionTerm): boolean {
    return !this.#stopped && this.#terms.get(partition) === term && term.state === 'loading';
  }

  async #load(partition: number, term: PartitionTerm): Promise<void> {
    if (!this.#loadIsCurrent(partition, term)) return;
    try {
      const loaded = await this.#store.load(partition, () => this.#loadIsCurrent(partition, term));
      if (!this.#loadIsCurrent(partition, term)) {
        if (!this.#stopped) {
          this.#logger(
            `discarding the load of __consumer_offsets-${partition} for epoch ${term.epoch}: ` +
              'leadership changed meanwhile',
          );
        }
        return;
      }
      this.#applyLoaded(loaded);
      term.state = 'owned';
      // A single node loads every partition at each start: empty ones go unmentioned.
      if (loaded.groups.size > 0 || loaded.offsets.size > 0) {
        this.#logger(
          `loaded ${loaded.groups.size} groups and the offsets of ${loaded.offsets.size} groups ` +
            `from __consumer_offsets-${partition} for epoch ${term.epoch}`,
        );
      }
      this.#notifyReady();
    } catch (err) {
      // Logs closing under a load in progress is part of stopping, not a failure.
      if (this.#stopped) return;
      term.failed = true;
      this.#logger(`failed to load __consumer_offsets-${partition}: ${String(err)}`);
    }
  }

  /** Kafka's removeGroupsForPartition with onGroupUnloaded: the partition's groups go. */
  #unloadPartition(partition: number): void {
    let groups = 0;
    for (const group of [...this.#groups.values()]) {
      if (this.partitionFor(group.groupId) !== partition) continue;
      this.#groups.delete(group.groupId);
      this.#forget(group);
      // Dead: an append still in flight for the group must not touch it when it completes.
      group.transitionTo('Dead', this.#now());
      for (const m of group.members.values()) {
        this.#invokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.#invokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
      groups++;
    }
    if (groups > 0) this.#logger(`unloaded ${groups} groups of __consumer_offsets-${partition}`);
  }

  /**
   * Resolves once the coordinator has started up and every partition it was elected for is
   * loaded (never, if it stops first or a load fails and no later election loads it).
   */
  ready(): Promise<void> {
    if (this.isLoaded) return SETTLED;
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  #notifyReady(): void {
    if (!this.isLoaded) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #loadingCount(): number {
    let n = 0;
    for (const term of this.#terms.values()) if (term.state === 'loading') n++;
    return n;
  }

  /** Started, and answering for the groups of every partition it was elected for. */
  get isLoaded(): boolean {
    return this.#active && this.#loadingCount() === 0;
  }

  /** Partitions of `__consumer_offsets` whose groups this coordinator answers for now. */
  get ownedPartitions(): number[] {
    const owned: number[] = [];
    for (const [p, term] of this.#terms) if (term.state === 'owned') owned.push(p);
    return owned.sort((a, b) => a - b);
  }

  /** Answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR and cancels all timers. */
  shutdown(): void {
    this.#stopped = true;
    this.#active = false;
    this.#timers.cancelAll();
    for (const group of this.#groups.values()) {
      for (const m of group.members.values()) {
        this.#invokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.#invokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  get isStopped(): boolean {
    return this.#stopped;
  }

  get isActive(): boolean {
    return this.#active;
  }

  partitionFor(groupId: string): number {
    return this.#store.partitionFor(groupId);
  }

  /** For tests and the admin surface: the group as it is now. */
  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId);
  }

  #now(): number {
    return this.#clock.nowMs();
  }

  /** Kafka's validateGroupStatus; empty ids are valid only for offsets, describe and delete. */
  #status(groupId: string, allowEmptyId: boolean): number | null {
    if (!allowEmptyId && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (!this.#active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const term = this.#terms.get(this.partitionFor(groupId));
    if (term?.state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (term?.state !== 'owned') return ErrorCode.NOT_COORDINATOR;
    return null;
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(req: JoinRequest): Promise<JoinResult> {
    return new Promise((resolve) => this.#join(req, resolve));
  }

  #join(req: JoinRequest, respond: (r: JoinResult) => void): void {
    const status = this.#status(req.groupId, false);
    if (status !== null) {
      respond(joinError(req.memberId, status));
      return;
    }
    const cfg = this.#config;
    if (
      req.sessionTimeoutMs < cfg.minSessionTimeoutMs ||
      req.sessionTimeoutMs > cfg.maxSessionTimeoutMs
    ) {
      respond(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
      return;
    }
    const unknown = req.memberId === '';
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      if (!unknown) {
        respond(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      }
      group = new Group(req.groupId, 'Empty', this.#now());
      this.#groups.set(req.groupId, group);
    }
    if (!this.#acceptJoiningMember(group, req.memberId)) {
      group.remove(req.memberId);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (unknown) {
      this.#newMemberJoin(group, req, respond);
    } else {
      this.#currentMemberJoin(group, req, respond);
    }
    if (group.is('PreparingRebalance')) this.#checkJoin(group);
  }

  #acceptJoiningMember(group: Group, memberId: string): boolean {
    const max = this.#config.maxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance': {
        const m = group.members.get(memberId);
        return (m !== undefined && m.awaitingJoin !== null) || group.numAwaitingJoin < max;
      }
      default:
        return group.members.has(memberId) || group.size < max;
    }
  }

  #newMemberJoin(group: Group, req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (group.is('Dead')) {
      respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const names = req.protocols.map((p) => p.name);
    if (!group.supportsProtocols(req.protocolType, names)) {
      respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const instanceId = req.groupInstanceId;
    const newMemberId = this.#newMemberId(instanceId ?? req.clientId);
    if (instanceId !== null) {
      const oldMemberId = group.staticMembers.get(instanceId);
      if (oldMemberId !== undefined) {
        this.#updateStaticMember(group, oldMemberId, newMemberId, req, respond);
      } else {
        this.#addMemberAndRebalance(group, req, newMemberId, respond);
      }
    } else if (req.requireKnownMemberId) {
      const timer = this.#timers.schedule(req.sessionTimeoutMs, () => {
        if (!group.pendingMembers.has(newMemberId)) return;
        this.#logger(`pending member ${newMemberId} of group ${group.groupId} expired`);
        this.#removePendingMember(group, newMemberId);
      });
      group.addPending(newMemberId, timer);
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.#addMemberAndRebalance(group, req, newMemberId, respond);
    }
  }

  /** Kafka's validateCurrentMember: instance id maps to this member id, and the member exists. */
  #validateMember(group: Group, memberId: string, instanceId: string | null): number | null {
    if (instanceId !== null) {
      const current = group.staticMembers.get(instanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return null;
    }
    return group.members.has(memberId) ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  #currentMemberJoin(group: Group, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const memberId = req.memberId;
    if (group.is('Dead')) {
      respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const names = req.protocols.map((p) => p.name);
    if (!group.supportsProtocols(req.protocolType, names)) {
      respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (group.pendingMembers.has(memberId)) {
      this.#addMemberAndRebalance(group, { ...req, groupInstanceId: null }, memberId, respond);
      return;
    }
    const error = this.#validateMember(group, memberId, req.groupInstanceId);
    if (error !== null) {
      respond(joinError(memberId, error));
      return;
    }
    const member = group.members.get(memberId);
    if (member === undefined) {
      respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    switch (group.state) {
      case 'PreparingRebalance':
        this.#updateMemberAndRebalance(group, member, req, respond);
        return;
      case 'CompletingRebalance':
        if (member.matches(req.protocols)) {
          // Same metadata: it probably missed the JoinGroup answer. Send this generation again.
          respond(this.#joinAnswer(group, member.memberId, group.isLeader(memberId), false));
        } else {
          this.#updateMemberAndRebalance(group, member, req, respond);
        }
        return;
      case 'Stable':
        if (group.isLeader(memberId) || !member.matches(req.protocols)) {
          // A leader's rejoin forces a rebalance (it may have seen topic metadata change).
          this.#updateMemberAndRebalance(group, member, req, respond);
        } else {
          respond(this.#joinAnswer(group, member.memberId, false, false));
        }
        return;
      default:
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  #joinAnswer(
    group: Group,
    memberId: string,
    withMembers: boolean,
    skipAssignment: boolean,
    leaderId: string = group.leaderId ?? '',
  ): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      memberId,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId,
      skipAssignment,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  #addMemberAndRebalance(
    group: Group,
    req: JoinRequest,
    memberId: string,
    respond: (r: JoinResult) => void,
  ): void {
    const member = new Member({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
    });
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // New members cannot heartbeat yet; a JoinGroup left hanging by a client that went away
    // expires on this longer timeout instead (Kafka's NewMemberJoinTimeoutMs).
    this.#scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.#maybePrepareRebalance(group, `adding new member ${memberId}`);
  }

  #updateMemberAndRebalance(
    group: Group,
    member: Member,
    req: JoinRequest,
    respond: (r: JoinResult) => void,
  ): void {
    this.#replaceJoinCallback(member);
    group.updateMember(
      member,
      req.protocols,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      respond,
    );
    this.#maybePrepareRebalance(group, `member ${member.memberId} rejoining`);
  }

  /** A second JoinGroup from a member already waiting: the first one is answered, not lost. */
  #replaceJoinCallback(member: Member): void {
    this.#invokeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }

  /** A known static member rejoins with an unknown member id (a restart): it takes its place. */
  #updateStaticMember(
    group: Group,
    oldMemberId: string,
    newMemberId: string,
    req: JoinRequest,
    respond: (r: JoinResult) => void,
  ): void {
    const instanceId = req.groupInstanceId ?? '';
    const currentLeader = group.leaderId ?? '';
    const old = group.members.get(oldMemberId);
    if (old !== undefined) {
      // Fence the previous incarnation if it is still waiting on something.
      this.#invokeJoin(old, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
      this.#invokeSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    }
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.#scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    const previous = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
    group.updateMember(
      member,
      req.protocols,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      respond,
    );
    switch (group.state) {
      case 'Stable':
        if (group.selectProtocol() === group.protocolName) {
          this.#storeStaticRejoin(group, member, oldMemberId, currentLeader, previous, req);
        } else {
          this.#maybePrepareRebalance(group, `static member ${instanceId} changed protocols`);
        }
        return;
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: start over.
        this.#prepareRebalance(group, `static member ${instanceId} rejoined during sync`);
        return;
      default:
        return;
    }
  }

  #storeStaticRejoin(
    group: Group,
    member: Member,
    oldMemberId: string,
    currentLeader: string,
    previous: {
      protocols: readonly Protocol[];
      rebalanceTimeoutMs: number;
      sessionTimeoutMs: number;
    },
    req: JoinRequest,
  ): void {
    const newMemberId = member.memberId;
    const instanceId = req.groupInstanceId ?? '';
    const assignment = new Map([...group.members.values()].map((m) => [m.memberId, m.assignment]));
    void this.#store.storeGroup(group, assignment).then((error) => {
      // Unloaded meanwhile: the member was answered NOT_COORDINATOR and the group is gone.
      if (group.is('Dead')) return;
      if (error !== ErrorCode.NONE) {
        this.#logger(`failed to persist static member ${instanceId} of ${group.groupId}: ${error}`);
        const respond = member.awaitingJoin;
        member.awaitingJoin = null;
        group.updateMember(
          member,
          previous.protocols,
          previous.rebalanceTimeoutMs,
          previous.sessionTimeoutMs,
          null,
        );
        if (group.members.get(newMemberId) === member) {
          group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
          this.#scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        }
        respond?.({
          ...this.#joinAnswer(group, '', false, false, currentLeader),
          errorCode: error,
        });
        return;
      }
      if (req.supportSkippingAssignment) {
        // v9+: the static leader learns it leads but skips the assignor; the group stays stable.
        const isLeader = group.isLeader(newMemberId);
        this.#invokeJoin(member, this.#joinAnswer(group, newMemberId, isLeader, isLeader));
      } else {
        // Older clients: answer with the old leader id so no member thinks it must assign.
        this.#invokeJoin(member, this.#joinAnswer(group, newMemberId, false, false, currentLeader));
      }
    });
  }

  #invokeJoin(member: Member, result: JoinResult): void {
    const cb = member.awaitingJoin;
    if (cb === null) return;
    member.awaitingJoin = null;
    cb(result);
  }

  #invokeSync(member: Member, result: SyncResult): boolean {
    const cb = member.awaitingSync;
    if (cb === null) return false;
    member.awaitingSync = null;
    cb(result);
    return true;
  }

  // ---------------------------------------------------------------- rebalance

  #maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.#prepareRebalance(group, reason);
  }

  #prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) {
      this.#resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.#cancelSyncExpiry(group);
    const initial = group.is('Empty');
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs;
    group.transitionTo('PreparingRebalance', this.#now());
    this.#logger(
      `preparing to rebalance group ${group.groupId} with old generation ` +
        `${group.generationId} (reason: ${reason})`,
    );
    if (initial) {
      // The first rebalance of an empty group waits a little for more members to arrive.
      const delay = this.#config.initialRebalanceDelayMs;
      this.#scheduleJoin(group, delay, true, Math.max(rebalanceTimeoutMs - delay, 0));
    } else {
      this.#scheduleJoin(group, rebalanceTimeoutMs, false, 0);
      this.#checkJoin(group);
    }
  }

  #scheduleJoin(group: Group, delayMs: number, initial: boolean, remainingMs: number): void {
    group.joinTimer?.cancel();
    group.joinTimerInitial = initial;
    group.joinTimer = this.#timers.schedule(delayMs, () => {
      group.joinTimer = null;
      if (initial) this.#onInitialJoinDelay(group, delayMs, remainingMs);
      else this.#completeJoin(group);
    });
  }

  /** Kafka's InitialDelayedJoin: keep waiting while new members keep arriving, up to a bound. */
  #onInitialJoinDelay(group: Group, delayMs: number, remainingMs: number): void {
    if (group.newMemberAdded && remainingMs !== 0) {
      group.newMemberAdded = false;
      const delay = Math.min(this.#config.initialRebalanceDelayMs, remainingMs);
      this.#scheduleJoin(group, delay, true, Math.max(remainingMs - delayMs, 0));
    } else {
      this.#completeJoin(group);
    }
  }

  /** Completes the join phase early once every member has rejoined (not during the initial delay). */
  #checkJoin(group: Group): void {
    if (!group.is('PreparingRebalance') || group.joinTimer === null || group.joinTimerInitial)
      return;
    if (!group.hasAllMembersJoined()) return;
    group.joinTimer.cancel();
    group.joinTimer = null;
    this.#completeJoin(group);
  }

  #completeJoin(group: Group): void {
    if (!group.is('PreparingRebalance')) return;
    for (const m of [...group.members.values()]) {
      // Dynamic members that did not rejoin in time are out; static ones keep their place.
      if (m.awaitingJoin === null && m.groupInstanceId === null) {
        m.heartbeat?.cancel();
        m.heartbeat = null;
        group.remove(m.memberId);
      }
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      this.#logger(`group ${group.groupId} could not complete rebalance: no member rejoined`);
      this.#scheduleJoin(group, group.rebalanceTimeoutMs, false, 0);
      return;
    }
    group.initNextGeneration(this.#now());
    if (group.is('Empty')) {
      void this.#store.storeGroup(group, new Map()).then((error) => {
        if (error !== ErrorCode.NONE) {
          this.#logger(`failed to write empty metadata for group ${group.groupId}: ${error}`);
        }
      });
      return;
    }
    this.#logger(
      `stabilized group ${group.groupId} generation ${group.generationId} with ${group.size} members`,
    );
    for (const m of group.members.values()) {
      this.#invokeJoin(m, this.#joinAnswer(group, m.memberId, group.isLeader(m.memberId), false));
      this.#scheduleHeartbeat(group, m, m.sessionTimeoutMs);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    this.#scheduleSyncExpiry(group);
  }

  /** Members that got their JoinGroup answer must send SyncGroup within the rebalance timeout. */
  #scheduleSyncExpiry(group: Group): void {
    group.syncTimer?.cancel();
    const generation = group.generationId;
    group.syncTimer = this.#timers.schedule(group.rebalanceTimeoutMs, () => {
      group.syncTimer = null;
      if (generation !== group.generationId) return;
      if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
      if (group.pendingSyncMembers.size === 0) return;
      const late = [...group.pendingSyncMembers];
      for (const id of late) {
        group.members.get(id)?.heartbeat?.cancel();
        group.remove(id);
      }
      this.#prepareRebalance(group, `members ${late.join(', ')} did not send SyncGroup in time`);
    });
  }

  #cancelSyncExpiry(group: Group): void {
    group.pendingSyncMembers.clear();
    group.syncTimer?.cancel();
    group.syncTimer = null;
  }

  #removePendingSyncMember(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = null;
    }
  }

  #removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    // A member waiting in JoinGroup is told to start over.
    this.#invokeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    this.#invokeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.heartbeat?.cancel();
    member.heartbeat = null;
    group.remove(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.#maybePrepareRebalance(group, reason);
        break;
      case 'PreparingRebalance':
        this.#checkJoin(group);
        break;
      default:
        break;
    }
  }

  #removePendingMember(group: Group, memberId: string): void {
    group.remove(memberId);
    if (group.is('PreparingRebalance')) this.#checkJoin(group);
  }

  #scheduleHeartbeat(group: Group, member: Member, timeoutMs: number): void {
    member.heartbeat?.cancel();
    const memberId = member.memberId;
    member.heartbeat = this.#timers.schedule(timeoutMs, () => {
      member.heartbeat = null;
      if (group.is('Dead') || group.members.get(memberId) !== member) return;
      if (member.hasSatisfiedHeartbeat()) return;
      this.#logger(`member ${memberId} in group ${group.groupId} has failed, removing it`);
      this.#removeMemberAndUpdateGroup(group, member, `member ${memberId} session expired`);
    });
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(req: SyncRequest): Promise<SyncResult> {
    return new Promise((resolve) => this.#sync(req, resolve));
  }

  #sync(req: SyncRequest, respond: (r: SyncResult) => void): void {
    const status = this.#status(req.groupId, false);
    // While loading, the rebalance state is lost: REBALANCE_IN_PROGRESS sends the member back
    // to JoinGroup, which old clients understand (they do not expect LOAD_IN_PROGRESS here).
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      return;
    }
    if (status !== null) {
      respond(syncError(status));
      return;
    }
    const group = this.#groups.get(req.groupId);
    if (group === undefined) {
      respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    const error = this.#validateSync(group, req);
    if (error !== null) {
      respond(syncError(error));
      return;
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) {
      respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    switch (group.state) {
      case 'Empty':
        respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      case 'PreparingRebalance':
        respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        return;
      case 'CompletingRebalance':
        this.#invokeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.#removePendingSyncMember(group, member.memberId);
        if (group.isLeader(member.memberId)) this.#leaderSync(group, req);
        return;
      case 'Stable':
        this.#removePendingSyncMember(group, member.memberId);
        respond({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
        this.#scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return;
      default:
        respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
        return;
    }
  }

  #validateSync(group: Group, req: SyncRequest): number | null {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.#validateMember(group, req.memberId, req.groupInstanceId);
    if (error !== null) return error;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (req.protocolType !== null && req.protocolType !== group.protocolType) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (req.protocolName !== null && req.protocolName !== group.protocolName) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    return null;
  }

  #leaderSync(group: Group, req: SyncRequest): void {
    const assignment = new Map<string, Buffer>();
    for (const a of req.assignments) assignment.set(a.memberId, a.assignment);
    for (const id of group.members.keys()) if (!assignment.has(id)) assignment.set(id, EMPTY_BYTES);
    const generation = group.generationId;
    void this.#store.storeGroup(group, assignment).then((error) => {
      // Someone may have joined meanwhile: only this generation's rebalance may finish here.
      if (!group.is('CompletingRebalance') || group.generationId !== generation) return;
      if (error !== ErrorCode.NONE) {
        this.#resetAndPropagateAssignmentError(group, error);
        this.#maybePrepareRebalance(group, `error ${error} storing the group assignment`);
        return;
      }
      for (const m of group.members.values())
        m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
      this.#propagateAssignment(group, ErrorCode.NONE);
      group.transitionTo('Stable', this.#now());
    });
  }

  #resetAndPropagateAssignmentError(group: Group, error: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES;
    this.#propagateAssignment(group, error);
  }

  #propagateAssignment(group: Group, error: number): void {
    const ok = error === ErrorCode.NONE;
    for (const m of group.members.values()) {
      const sent = this.#invokeSync(m, {
        errorCode: error,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: m.assignment,
      });
      // Sessions restart once the assignment is out: expiries while waiting were ignored.
      if (sent) this.#scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
  }

  // ---------------------------------------------------------------- Heartbeat, LeaveGroup

  heartbeat(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
  ): number {
    const status = this.#status(groupId, false);
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
    if (status !== null) return status;
    const group = this.#groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.#validateMember(group, memberId, groupInstanceId);
    if (error !== null) return error;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.members.get(memberId);
    if (member === undefined || group.is('Empty')) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.#scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leaveGroup(groupId: string, leaving: readonly LeavingMember[]): LeaveResult {
    const status = this.#status(groupId, false);
    if (status !== null) return { errorCode: status, members: [] };
    const group = this.#groups.get(groupId);
    const answer = (m: LeavingMember, errorCode: number) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode,
    });
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: leaving.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)),
      };
    }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    return {
      errorCode: ErrorCode.NONE,
      members: leaving.map((m) => answer(m, this.#leaveOne(group, m))),
    };
  }

  #leaveOne(group: Group, leaving: LeavingMember): number {
    const reason = `member left the group (${leaving.reason ?? 'no reason given'})`;
    let memberId = leaving.memberId;
    if (memberId === '') {
      // Administrative removal of a static member by its instance id.
      const current =
        leaving.groupInstanceId === null
          ? undefined
          : group.staticMembers.get(leaving.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      memberId = current;
    } else if (group.pendingMembers.has(memberId)) {
      this.#removePendingMember(group, memberId);
      return ErrorCode.NONE;
    } else {
      const error = this.#validateMember(group, memberId, leaving.groupInstanceId);
      if (error !== null) return error;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.#removeMemberAndUpdateGroup(group, member, reason);
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- offsets

  /** One error code per entry of `req.offsets`, in order. */
  async commitOffsets(req: CommitRequest): Promise<number[]> {
    const all = (code: number) => req.offsets.map(() => code);
    const status = this.#status(req.groupId, true);
    if (status !== null) return all(status);
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      // A consumer that does not use group management (generation -1) may still commit.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new Group(req.groupId, 'Empty', this.#now());
      this.#groups.set(req.groupId, group);
    }
    const error = this.#validateCommit(group, req);
    if (error !== null) return all(error);
    switch (group.state) {
      case 'Empty':
        return this.#storeOffsets(group, req.offsets);
      case 'Stable':
      case 'PreparingRebalance': {
        // Commits during PreparingRebalance are allowed: the heartbeat answer tells the member.
        const member = group.members.get(req.memberId);
        if (member !== undefined) this.#scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return this.#storeOffsets(group, req.offsets);
      }
      case 'CompletingRebalance':
        return all(ErrorCode.REBALANCE_IN_PROGRESS);
      default:
        return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  /**
   * TxnOffsetCommit (Kafka's handleTxnCommitOffsets): the offsets are written in a transactional
   * batch of the producer and stay pending (fetches with require_stable get
   * UNSTABLE_OFFSET_COMMIT for them) until the transaction's marker reaches this partition. Member
   * and generation are checked when given (v3+, KIP-447), as a fenced zombie must not commit.
   */
  async commitTransactionalOffsets(req: TxnCommitRequest): Promise<number[]> {
    const all = (code: number) => req.offsets.map(() => code);
    const status = this.#status(req.groupId, true);
    if (status !== null) return all(status);
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      group = new Group(req.groupId, 'Empty', this.#now());
      this.#groups.set(req.groupId, group);
    }
    if (group.is('Dead')) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.memberId !== '' || req.generationId >= 0) {
      if (req.memberId !== '' && !group.members.has(req.memberId)) {
        return all(ErrorCode.UNKNOWN_MEMBER_ID);
      }
      if (req.generationId >= 0 && req.generationId !== group.generationId) {
        return all(ErrorCode.ILLEGAL_GENERATION);
      }
    }
    const now = this.#now();
    const max = this.#config.offsetMetadataMaxBytes;
    const results = req.offsets.map((e) =>
      e.metadata !== null && e.metadata.length > max ? ErrorCode.OFFSET_METADATA_TOO_LARGE : -2,
    );
    const toStore: OffsetToStore[] = req.offsets
      .filter((e) => !(e.metadata !== null && e.metadata.length > max))
      .map((e) => ({
        topic: e.topic,
        partition: e.partition,
        value: {
          offset: e.offset,
          leaderEpoch: e.leaderEpoch,
          metadata: e.metadata ?? '',
          commitTimestamp: e.commitTimestamp === -1 ? now : e.commitTimestamp,
          expireTimestamp: -1,
        },
      }));
    if (toStore.length === 0) return results;
    const error = await this.#store.storeTransactionalOffsets(
      group.groupId,
      { producerId: req.producerId, producerEpoch: req.producerEpoch },
      toStore,
    );
    if (error === ErrorCode.NONE && !group.is('Dead')) {
      group.addPendingTxnOffsets(req.producerId, toStore);
    }
    return results.map((r) => (r === -2 ? error : r));
  }

  /**
   * A transaction marker of `producerId` was written to `partition` of `__consumer_offsets`
   * (Kafka's handleTxnCompletion): the producer's pending offsets in the groups of that
   * partition become committed, or are dropped.
   */
  completeTransaction(partition: number, producerId: number, commit: boolean): void {
    for (const group of this.#groups.values()) {
      if (this.partitionFor(group.groupId) !== partition) continue;
      group.completeTxn(producerId, commit);
    }
  }

  #validateCommit(group: Group, req: CommitRequest): number | null {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 comes from admin clients and manual-assignment consumers.
    if (req.generationId < 0 && group.is('Empty')) return null;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const error = this.#validateMember(group, req.memberId, req.groupInstanceId);
      if (error !== null) return error;
      return req.generationId === group.generationId ? null : ErrorCode.ILLEGAL_GENERATION;
    }
    return group.is('Empty') ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  async #storeOffsets(group: Group, entries: readonly OffsetCommitEntry[]): Promise<number[]> {
    const now = this.#now();
    const max = this.#config.offsetMetadataMaxBytes;
    const results = entries.map((e) =>
      e.metadata !== null && e.metadata.length > max ? ErrorCode.OFFSET_METADATA_TOO_LARGE : -2,
    );
    const toStore: OffsetToStore[] = [];
    for (const e of entries) {
      if (e.metadata !== null && e.metadata.length > max) continue;
      const value: CommittedOffset = {
        offset: e.offset,
        leaderEpoch: e.leaderEpoch,
        metadata: e.metadata ?? '',
        commitTimestamp: e.commitTimestamp === -1 ? now : e.commitTimestamp,
        expireTimestamp: e.expireTimestamp,
      };
      toStore.push({ topic: e.topic, partition: e.partition, value });
    }
    if (toStore.length === 0) return results;
    const keys = toStore.map((o) => `${o.topic}\u0000${o.partition}`);
    for (const k of keys)
      group.pendingOffsetCommits.set(k, (group.pendingOffsetCommits.get(k) ?? 0) + 1);
    const error = await this.#store.storeOffsets(group.groupId, toStore);
    for (const k of keys) {
      const n = (group.pendingOffsetCommits.get(k) ?? 1) - 1;
      if (n <= 0) group.pendingOffsetCommits.delete(k);
      else group.pendingOffsetCommits.set(k, n);
    }
    if (error === ErrorCode.NONE && !group.is('Dead')) {
      for (const o of toStore) group.setOffset(o.topic, o.partition, o.value);
    }
    return results.map((r) => (r === -2 ? error : r));
  }

  /** `topics` null: every committed offset of the group. */
  fetchOffsets(
    groupId: string,
    requireStable: boolean,
    topics: readonly { readonly name: string; readonly partitions: readonly number[] }[] | null,
  ): FetchedOffsets {
    const status = this.#status(groupId, true);
    if (status !== null) return { errorCode: status, topics: [] };
    const group = this.#groups.get(groupId);
    const none = (partition: number, errorCode: number = ErrorCode.NONE): FetchedPartition => ({
      partition,
      offset: -1,
      leaderEpoch: -1,
      metadata: '',
      errorCode,
    });
    if (group === undefined || group.is('Dead')) {
      // Never committed is not an error: Kafka answers -1 and no error code.
      const out = (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => none(p)),
      }));
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    const wanted =
      topics ??
      [...group.offsets].map(([name, byPartition]) => ({
        name,
        partitions: [...byPartition.keys()],
      }));
    const out = wanted.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): FetchedPartition => {
        if (requireStable && group.hasPendingCommit(t.name, p)) {
          return none(p, ErrorCode.UNSTABLE_OFFSET_COMMIT);
        }
        const o = group.offset(t.name, p);
        if (o === undefined) return none(p);
        return {
          partition: p,
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          errorCode: 0,
        };
      }),
    }));
    return { errorCode: ErrorCode.NONE, topics: out };
  }

  // ---------------------------------------------------------------- describe, list, delete

  describeGroup(groupId: string): GroupDescription {
    const status = this.#status(groupId, true);
    if (status !== null) {
      return { errorCode: status, state: '', protocolType: '', protocol: '', members: [] };
    }
    const group = this.#groups.get(groupId);
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        state: 'Dead',
        protocolType: '',
        protocol: '',
        members: [],
      };
    }
    const stable = group.is('Stable') && group.protocolName !== null;
    const protocol = stable ? (group.protocolName ?? '') : '';
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? m.metadata(protocol) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    }));
    return {
      errorCode: ErrorCode.NONE,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocol,
      members,
    };
  }

  /** Filters are case-insensitive; empty means all. Every group here is a classic group. */
  listGroups(
    statesFilter: readonly string[],
    typesFilter: readonly string[],
  ): { errorCode: number; groups: GroupOverview[] } {
    if (!this.#active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: GroupOverview[] = [];
    for (const g of this.#groups.values()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) continue;
      groups.push({
        groupId: g.groupId,
        protocolType: g.protocolType ?? '',
        state: g.state,
        groupType: CLASSIC_GROUP_TYPE,
      });
    }
    const errorCode =
      this.#loadingCount() > 0 ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
    return { errorCode, groups };
  }

  /** Deletes empty groups and their offsets. */
  async deleteGroups(groupIds: readonly string[]): Promise<Map<string, number>> {
    const results = new Map<string, number>();
    const eligible: Group[] = [];
    for (const id of new Set(groupIds)) {
      const status = this.#status(id, true);
      const group = this.#groups.get(id);
      if (status !== null) {
        results.set(id, status);
      } else if (group === undefined || group.is('Dead')) {
        results.set(id, ErrorCode.GROUP_ID_NOT_FOUND);
      } else if (group.is('Empty')) {
        group.transitionTo('Dead', this.#now());
        eligible.push(group);
      } else {
        results.set(id, ErrorCode.NON_EMPTY_GROUP);
      }
    }
    await this.#cleanupGroups(eligible, (g) => allOffsetsOf(g));
    for (const g of eligible) results.set(g.groupId, ErrorCode.NONE);
    return results;
  }

  /** OffsetDelete: the group error, or one error per requested partition. */
  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
  ): Promise<{ errorCode: number; partitions: Map<string, number> }> {
    const out = new Map<string, number>();
    const status = this.#status(groupId, true);
    if (status !== null) return { errorCode: status, partitions: out };
    const group = this.#groups.get(groupId);
    if (group === undefined || group.is('Dead')) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: out };
    }
    let eligible: TopicPartitionRef[];
    if (group.is('Empty')) {
      eligible = [...partitions];
    } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE) {
      eligible = [];
      for (const tp of partitions) {
        if (group.isSubscribedToTopic(tp.topic)) {
          out.set(tpKey(tp), ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
        } else {
          eligible.push(tp);
        }
      }
    } else {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: out };
    }
    if (eligible.length > 0) {
      await this.#cleanupGroups([group], (g) =>
        eligible.filter((tp) => g.removeOffset(tp.topic, tp.partition)),
      );
      for (const tp of eligible) out.set(tpKey(tp), ErrorCode.NONE);
    }
    return { errorCode: ErrorCode.NONE, partitions: out };
  }

  /**
   * Kafka's handleDeletedPartitions: the committed offsets of deleted topics go too (with
   * tombstones), and groups left empty with no offsets are removed. For the DeleteTopics path.
   */
  removeOffsetsOfTopics(topics: readonly string[]): Promise<number> {
    return this.#cleanupGroups([...this.#groups.values()], (g) => {
      const removed: TopicPartitionRef[] = [];
      for (const topic of topics) {
        for (const partition of [...(g.offsets.get(topic)?.keys() ?? [])]) {
          g.removeOffset(topic, partition);
          removed.push({ topic, partition });
        }
      }
      return removed;
    });
  }

  /**
   * Kafka's cleanupGroupMetadata: remove the offsets `select` picks, let an empty group with no
   * offsets die, and write the tombstones (offsets, then the group if it ever had a generation).
   */
  async #cleanupGroups(
    groups: readonly Group[],
    select: (g: Group) => TopicPartitionRef[],
  ): Promise<number> {
    let removedTotal = 0;
    const writes: Promise<void>[] = [];
    for (const group of groups) {
      const removed = select(group);
      if (group.is('Empty') && !group.hasOffsets()) group.transitionTo('Dead', this.#now());
      let groupTombstone = false;
      if (group.is('Dead') && this.#groups.get(group.groupId) === group) {
        this.#groups.delete(group.groupId);
        this.#forget(group);
        groupTombstone = group.generationId > 0;
      }
      removedTotal += removed.length;
      const write = this.#store.storeTombstones(group.groupId, removed, groupTombstone);
      writes.push(
        write.then((error) => {
          if (error !== ErrorCode.NONE) {
            this.#logger(`failed to write tombstones for group ${group.groupId}: ${error}`);
          }
        }),
      );
    }
    await Promise.all(writes);
    return removedTotal;
  }

  /** A group leaving the cache takes its timers with it. */
  #forget(group: Group): void {
    group.joinTimer?.cancel();
    group.syncTimer?.cancel();
    for (const t of group.pendingMembers.values()) t.cancel();
    for (const m of group.members.values()) m.heartbeat?.cancel();
  }

  // ---------------------------------------------------------------- expiry

  #scheduleExpiry(): void {
    // The next pass is scheduled before this one runs: a fixed period, as Kafka's scheduler.
    this.#timers.schedule(this.#config.offsetsRetentionCheckIntervalMs, () => {
      if (!this.#active) return;
      this.#scheduleExpiry();
      void this.expireOffsets();
    });
  }

  /** One pass of offsets.retention.minutes expiry; returns how many offsets were removed. */
  async expireOffsets(): Promise<number> {
    const now = this.#now();
    const retentionMs = this.#config.offsetsRetentionMs;
    const removed = await this.#cleanupGroups([...this.#groups.values()], (g) =>
      removeExpiredOffsets(g, now, retentionMs),
    );
    if (removed > 0) this.#logger(`removed ${removed} expired offsets`);
    return removed;
  }

  // ---------------------------------------------------------------- loading

  #applyLoaded(loaded: LoadedPartition): void {
    const now = this.#now();
    for (const [groupId, value] of loaded.groups) {
      const group = new Group(groupId, value.members.length > 0 ? 'Stable' : 'Empty', now);
      group.generationId = value.generation;
      group.protocolName = value.protocol;
      for (const s of value.members) {
        const member = new Member({
          memberId: s.memberId,
          groupInstanceId: s.groupInstanceId,
          clientId: s.clientId,
          clientHost: s.clientHost,
          rebalanceTimeoutMs: s.rebalanceTimeoutMs,
          sessionTimeoutMs: s.sessionTimeoutMs,
          protocolType: value.protocolType,
          protocols: [{ name: value.protocol ?? '', metadata: s.subscription }],
        });
        member.assignment = s.assignment;
        group.add(member, null);
      }
      group.protocolType = value.protocolType === '' ? null : value.protocolType;
      group.leaderId = value.leader;
      group.stateTimestamp =
        value.currentStateTimestamp === -1 ? null : value.currentStateTimestamp;
      group.subscribedTopics = group.computeSubscribedTopics();
      this.#installLoaded(group, loaded.offsets.get(groupId));
    }
    for (const [groupId, offsets] of loaded.offsets) {
      // Groups that only store offsets (no membership record).
      if (loaded.groups.has(groupId)) continue;
      this.#installLoaded(new Group(groupId, 'Empty', now), offsets);
    }
    // Transactions still open at the end of the log: their offsets wait for the marker.
    for (const [producerId, pending] of loaded.pendingTxn) {
      for (const o of pending) {
        let group = this.#groups.get(o.group);
        if (group === undefined) {
          group = new Group(o.group, 'Empty', now);
          this.#groups.set(o.group, group);
        }
        if (o.value !== null) {
          group.addPendingTxnOffsets(producerId, [
            { topic: o.topic, partition: o.partition, value: o.value },
          ]);
        }
      }
    }
  }

  #installLoaded(
    group: Group,
    offsets: Map<string, Map<number, CommittedOffset>> | undefined,
  ): void {
    for (const [topic, byPartition] of offsets ?? []) {
      for (const [p, o] of byPartition) group.setOffset(topic, p, o);
    }
    if (group.is('Empty') && !group.hasOffsets() && group.generationId === 0) return;
    this.#groups.set(group.groupId, group);
    if (group.size > this.#config.maxSize) {
      this.#prepareRebalance(group, `loaded group is over capacity (${this.#config.maxSize})`);
    }
    for (const m of group.members.values()) this.#scheduleHeartbeat(group, m, m.sessionTimeoutMs);
  }
}

function tpKey(tp: TopicPartitionRef): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

function allOffsetsOf(group: Group): TopicPartitionRef[] {
  const out: TopicPartitionRef[] = [];
  for (const [topic, byPartition] of group.offsets) {
    for (const partition of byPartition.keys()) out.push({ topic, partition });
  }
  for (const tp of out) group.removeOffset(tp.topic, tp.partition);
  return out;
}

/** Kafka's removeExpiredOffsets: which committed offsets of this group have expired now. */
function removeExpiredOffsets(
  group: Group,
  nowMs: number,
  retentionMs: number,
): TopicPartitionRef[] {
  let base: ((o: CommittedOffset) => number) | null = null;
  let keep: ReadonlySet<string> = new Set();
  if (group.protocolType === null) {
    // Only used for offset storage: each offset expires on its own commit time.
    base = (o) => o.commitTimestamp;
  } else if (group.is('Empty')) {
    // Retention counts from when the group became empty (or the commit, for old records).
    base = (o) => group.stateTimestamp ?? o.commitTimestamp;
  } else if (
    group.protocolType === CONSUMER_PROTOCOL_TYPE &&
    group.subscribedTopics !== null &&
    group.is('Stable')
  ) {
    // Offsets of topics nobody subscribes to any more expire while the group lives on.
    base = (o) => o.commitTimestamp;
    keep = group.subscribedTopics;
  }
  if (base === null) return [];
  const expired: TopicPartitionRef[] = [];
  for (const [topic, byPartition] of group.offsets) {
    if (keep.has(topic)) continue;
    for (const [partition, o] of byPartition) {
      if (group.hasPendingCommit(topic, partition)) continue;
      const gone =
        o.expireTimestamp === -1 ? nowMs - base(o) >= retentionMs : nowMs >= o.expireTimestamp;
      if (gone) expired.push({ topic, partition });
    }
  }
  for (const tp of expired) group.removeOffset(tp.topic, tp.partition);
  return expired;
}

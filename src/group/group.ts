/**
 * One classic consumer group: its members, the state machine, the selected protocol and the
 * committed offsets. Pure bookkeeping: no timers, no I/O. The coordinator drives it.
 *
 * States and the transitions Kafka allows (GroupMetadata.scala):
 *   Empty               <- PreparingRebalance
 *   PreparingRebalance  <- Empty, Stable, CompletingRebalance
 *   CompletingRebalance <- PreparingRebalance
 *   Stable              <- CompletingRebalance
 *   Dead                <- any
 */
import type { TimerHandle } from '../common/clock.ts';
import { Reader } from '../protocol/reader.ts';

export type GroupStateName =
  | 'Empty'
  | 'PreparingRebalance'
  | 'CompletingRebalance'
  | 'Stable'
  | 'Dead';

const VALID_PREVIOUS: Readonly<Record<GroupStateName, readonly GroupStateName[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export interface Protocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinResultMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

export interface JoinResult {
  readonly errorCode: number;
  readonly memberId: string;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** '' when there is none. */
  readonly leaderId: string;
  readonly skipAssignment: boolean;
  readonly members: readonly JoinResultMember[];
}

export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    memberId,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leaderId: '',
    skipAssignment: false,
    members: [],
  };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: readonly Protocol[];
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** Joined but not yet through a completed join: expires on the new-member timeout. */
  isNew = false;
  heartbeat: TimerHandle | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: readonly Protocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  metadata(protocol: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocol);
    if (p === undefined) throw new Error(`member ${this.memberId} does not support ${protocol}`);
    return p.metadata;
  }

  /** Members waiting in a rebalance satisfy heartbeats; new ones and the rest must send them. */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.awaitingJoin !== null || this.awaitingSync !== null;
  }

  /** Same protocols, same order, same metadata bytes. */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const mine = this.protocols[i];
      return mine !== undefined && mine.name === p.name && mine.metadata.equals(p.metadata);
    });
  }

  /** The first protocol in this member's preference order that every member supports. */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (p === undefined) throw new Error(`member ${this.memberId} supports no candidate protocol`);
    return p.name;
  }
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  readonly expireTimestamp: number;
}

export class Group {
  readonly groupId: string;
  state: GroupStateName;
  /** When the state last changed; null for groups loaded from values that lacked it. */
  stateTimestamp: number | null;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their expiry timers. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  readonly pendingSyncMembers = new Set<string>();
  readonly #protocolVotes = new Map<string, number>();
  /** topic -> partition -> committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** `topic\0partition` -> commits being written. */
  readonly pendingOffsetCommits = new Map<string, number>();
  /**
   * Offsets committed inside transactions not yet ended (TxnOffsetCommit): producer id ->
   * `topic\0partition` -> offset. They become offsets when the commit marker reaches the group's
   * partition, and vanish with an abort marker.
   */
  readonly pendingTxnOffsets = new Map<
    number,
    Map<string, { topic: string; partition: number; value: CommittedOffset }>
  >();
  subscribedTopics: ReadonlySet<string> | null = null;
  newMemberAdded = false;
  joinTimer: TimerHandle | null = null;
  /** The running join delay is the initial one (not completed early by joins). */
  joinTimerInitial = false;
  syncTimer: TimerHandle | null = null;

  constructor(groupId: string, state: GroupStateName, nowMs: number) {
    this.groupId = groupId;
    this.state = state;
    this.stateTimestamp = nowMs;
  }

  is(state: GroupStateName): boolean {
    return this.state === state;
  }

  get size(): number {
    return this.members.size;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.pendingMembers.size === 0 && this.numAwaitingJoin === this.members.size;
  }

  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  transitionTo(state: GroupStateName, nowMs: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: ${this.state} -> ${state} is not a valid transition`);
    }
    this.state = state;
    this.stateTimestamp = nowMs;
  }

  add(member: Member, callback: ((r: JoinResult) => void) | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`static member ${member.groupInstanceId} is already in ${this.groupId}`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.#count(member, 1);
    member.awaitingJoin = callback;
    this.#dropPending(member.memberId);
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.members.delete(memberId);
      this.#count(member, -1);
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done === true ? null : next.value;
    }
    this.#dropPending(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  addPending(memberId: string, timer: TimerHandle): void {
    this.pendingMembers.set(memberId, timer);
  }

  #dropPending(memberId: string): void {
    this.pendingMembers.get(memberId)?.cancel();
    this.pendingMembers.delete(memberId);
  }

  updateMember(
    member: Member,
    protocols: readonly Protocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    callback: ((r: JoinResult) => void) | null,
  ): void {
    this.#count(member, -1);
    member.protocols = protocols;
    this.#count(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    member.awaitingJoin = callback;
  }

  /** Static members: the same member continues under a new member id. */
  replaceStaticMember(instanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(instanceId, newMemberId);
    return member;
  }

  #count(member: Member, delta: number): void {
    for (const p of member.protocols) {
      this.#protocolVotes.set(p.name, (this.#protocolVotes.get(p.name) ?? 0) + delta);
    }
  }

  supportsProtocols(protocolType: string, names: readonly string[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && names.length > 0;
    return (
      this.protocolType === protocolType &&
      names.some((n) => this.#protocolVotes.get(n) === this.members.size)
    );
  }

  /** A protocol every member supports, chosen by the members' votes (Kafka's rule). */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`cannot select a protocol for empty group`);
    const candidates = new Set<string>();
    for (const [name, n] of this.#protocolVotes) if (n === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Sets the leader to a member that rejoined; false when none did. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', nowMs);
    }
    this.pendingSyncMembers.clear();
  }

  /** Members with their metadata for the selected protocol (the leader's JoinGroup answer). */
  currentMemberMetadata(): JoinResultMember[] {
    const protocol = this.protocolName;
    if (protocol === null) return [];
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(protocol),
    }));
  }

  /**
   * Topics the members subscribe to, read from the consumer protocol's version-0 prefix
   * (version int16, topics []string). Null when unknown (not a consumer group, bad metadata).
   */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    const protocol = this.protocolName;
    if (protocol === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        const r = new Reader(m.metadata(protocol));
        r.readInt16();
        const n = r.readArrayLength(false);
        for (let i = 0; i < n; i++) topics.add(r.readString(false));
      }
    } catch {
      return null;
    }
    return topics;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, value: CommittedOffset): void {
    let byPartition = this.offsets.get(topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      this.offsets.set(topic, byPartition);
    }
    byPartition.set(partition, value);
  }

  removeOffset(topic: string, partition: number): boolean {
    const byPartition = this.offsets.get(topic);
    if (byPartition === undefined) return false;
    const had = byPartition.delete(partition);
    if (byPartition.size === 0) this.offsets.delete(topic);
    return had;
  }

  hasPendingCommit(topic: string, partition: number): boolean {
    const k = `${topic}\u0000${partition}`;
    if (this.pendingOffsetCommits.has(k)) return true;
    for (const pending of this.pendingTxnOffsets.values()) if (pending.has(k)) return true;
    return false;
  }

  hasOffsets(): boolean {
    return (
      this.offsets.size > 0 || this.pendingOffsetCommits.size > 0 || this.pendingTxnOffsets.size > 0
    );
  }

  /** A transaction's offsets: kept as pending until its marker. */
  addPendingTxnOffsets(
    producerId: number,
    offsets: readonly { topic: string; partition: number; value: CommittedOffset }[],
  ): void {
    let pending = this.pendingTxnOffsets.get(producerId);
    if (pending === undefined) {
      pending = new Map();
      this.pendingTxnOffsets.set(producerId, pending);
    }
    for (const o of offsets) pending.set(`${o.topic}\u0000${o.partition}`, o);
  }

  /** The marker of `producerId`'s transaction: its offsets become committed or are dropped. */
  completeTxn(producerId: number, commit: boolean): boolean {
    const pending = this.pendingTxnOffsets.get(producerId);
    if (pending === undefined) return false;
    this.pendingTxnOffsets.delete(producerId);
    if (commit) for (const o of pending.values()) this.setOffset(o.topic, o.partition, o.value);
    return true;
  }

  numOffsets(): number {
    let n = 0;
    for (const p of this.offsets.values()) n += p.size;
    return n;
  }
}

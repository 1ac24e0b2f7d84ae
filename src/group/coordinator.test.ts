/**
 * The group coordinator's state machine and offsets, driven by a manual clock over an in-memory
 * `__consumer_offsets`: joins, MEMBER_ID_REQUIRED, protocol selection, sync, leave, session
 * expiry, static membership, commits and fetches, deletes, expiry, reload after a restart, and
 * ownership following the leadership of `__consumer_offsets` partitions (election, resignation,
 * epochs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { MemoryCoordinatorLog } from '../storage/memory-coordinator-log.ts';
import type { GroupConfig } from './config.ts';
import { defaultGroupConfig } from './config.ts';
import {
  type CommitRequest,
  GroupCoordinator,
  type JoinRequest,
  type OffsetCommitEntry,
} from './coordinator.ts';
import { type JoinResult, joinError, type SyncResult } from './group.ts';
import type { GroupLog } from './group-log.ts';

const E = ErrorCode;
const SESSION = 10_000;
const REBALANCE = 30_000;
const INITIAL_DELAY = 3_000;

/** A MemoryCoordinatorLog whose reads of a held partition wait until the test releases them. */
class GatedGroupLog extends MemoryCoordinatorLog {
  readonly #gates = new Map<number, Promise<void>>();

  hold(partition: number): () => void {
    let release: () => void = () => undefined;
    this.#gates.set(
      partition,
      new Promise<void>((r) => {
        release = r;
      }),
    );
    return () => {
      this.#gates.delete(partition);
      release();
    };
  }

  override async read(partition: number, offset: number): Promise<readonly Buffer[]> {
    await this.#gates.get(partition);
    return super.read(partition, offset);
  }
}

const config: GroupConfig = {
  ...defaultGroupConfig,
  initialRebalanceDelayMs: INITIAL_DELAY,
  offsetsRetentionMs: 60 * 60_000,
  offsetsRetentionCheckIntervalMs: 60_000,
};

async function setup(log = new MemoryCoordinatorLog(), clock = new ManualClock(), over = {}) {
  let n = 0;
  const coordinator = new GroupCoordinator({
    log,
    clock,
    config: { ...config, ...over },
    newMemberId: (prefix) => `${prefix}-${++n}`,
  });
  await coordinator.start();
  return { coordinator, clock, log };
}

/** Lets pending appends and promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

function consumerMetadata(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]?.writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(t.length);
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.alloc(4)); // user data: null is -1, empty is 0; either parses
  return Buffer.concat(parts);
}

function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: REBALANCE,
    sessionTimeoutMs: SESSION,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: consumerMetadata(['t']) }],
    reason: null,
    ...over,
  };
}

/** Tracks a pending promise so a test can check whether it has resolved yet. */
function track<T>(p: Promise<T>): { done: () => T | undefined; promise: Promise<T> } {
  let value: T | undefined;
  void p.then((v) => {
    value = v;
  });
  return { done: () => value, promise: p };
}

function sync(
  c: GroupCoordinator,
  j: JoinResult,
  assignments: { memberId: string; assignment: Buffer }[] = [],
  instanceId: string | null = null,
): Promise<SyncResult> {
  return c.syncGroup({
    groupId: 'g',
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: instanceId,
    protocolType: 'consumer',
    protocolName: j.protocolName,
    assignments,
  });
}

/** Two dynamic members through the v4+ flow to a stable generation 1. */
async function twoMemberGroup() {
  const ctx = await setup();
  const { coordinator: c, clock } = ctx;
  const firstA = await c.joinGroup(joinReq({ requireKnownMemberId: true, clientId: 'a' }));
  assert.equal(firstA.errorCode, E.MEMBER_ID_REQUIRED);
  assert.equal(firstA.memberId, 'a-1');
  const a = track(c.joinGroup(joinReq({ memberId: firstA.memberId, requireKnownMemberId: true })));
  const firstB = await c.joinGroup(joinReq({ requireKnownMemberId: true, clientId: 'b' }));
  const b = track(c.joinGroup(joinReq({ memberId: firstB.memberId, requireKnownMemberId: true })));
  await settle();
  assert.equal(a.done(), undefined, 'join waits for the initial rebalance delay');
  clock.advance(2 * INITIAL_DELAY); // the delay is extended once: a second member arrived
  const ja = await a.promise;
  const jb = await b.promise;
  const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
  const assignment = [
    { memberId: leader.memberId, assignment: Buffer.from('L') },
    { memberId: follower.memberId, assignment: Buffer.from('F') },
  ];
  const fs = track(sync(c, follower));
  await settle();
  assert.equal(fs.done(), undefined, 'a follower waits for the leader');
  const ls = await sync(c, leader, assignment);
  const fsr = await fs.promise;
  return { ...ctx, leader, follower, ls, fs: fsr };
}

describe('group coordinator: membership', () => {
  it('two members join through MEMBER_ID_REQUIRED, one leads, both get their assignment', async () => {
    const { coordinator: c, leader, follower, ls, fs } = await twoMemberGroup();
    assert.equal(leader.errorCode, E.NONE);
    assert.equal(leader.generationId, 1);
    assert.equal(follower.generationId, 1);
    assert.equal(leader.protocolName, 'range');
    assert.equal(leader.members.length, 2, 'the leader gets every member');
    assert.equal(follower.members.length, 0);
    assert.equal(follower.leaderId, leader.memberId);
    assert.deepEqual([ls.errorCode, ls.assignment.toString()], [E.NONE, 'L']);
    assert.deepEqual([fs.errorCode, fs.assignment.toString()], [E.NONE, 'F']);
    assert.equal(c.group('g')?.state, 'Stable');
    const d = c.describeGroup('g');
    assert.equal(d.state, 'Stable');
    assert.equal(d.protocol, 'range');
    assert.equal(d.members.length, 2);
    assert.deepEqual(
      c.listGroups(['stable'], []).groups.map((g) => g.groupId),
      ['g'],
    );
    assert.deepEqual(c.listGroups(['Empty'], []).groups, []);
    assert.deepEqual(c.listGroups([], ['consumer']).groups, []);
    assert.equal(c.listGroups([], ['Classic']).groups.length, 1);
  });

  it('a member leaving makes the others rejoin; the join completes when all have', async () => {
    const { coordinator: c, leader, follower } = await twoMemberGroup();
    const left = c.leaveGroup('g', [
      { memberId: follower.memberId, groupInstanceId: null, reason: 'bye' },
    ]);
    assert.deepEqual(
      left.members.map((m) => m.errorCode),
      [E.NONE],
    );
    assert.equal(c.group('g')?.state, 'PreparingRebalance');
    assert.equal(c.heartbeat('g', leader.memberId, null, 1), E.REBALANCE_IN_PROGRESS);
    const again = await c.joinGroup(joinReq({ memberId: leader.memberId }));
    assert.equal(again.errorCode, E.NONE);
    assert.equal(again.generationId, 2);
    assert.equal(again.members.length, 1);
    assert.equal(c.heartbeat('g', follower.memberId, null, 2), E.UNKNOWN_MEMBER_ID);
    assert.equal(c.heartbeat('g', leader.memberId, null, 1), E.ILLEGAL_GENERATION);
  });

  it('a member that stops heartbeating is removed after the session timeout', async () => {
    const { coordinator: c, clock, leader, follower } = await twoMemberGroup();
    for (let t = 0; t < SESSION + 2000; t += 2000) {
      clock.advance(2000);
      assert.equal(
        c.heartbeat('g', leader.memberId, null, 1),
        t + 2000 >= SESSION ? E.REBALANCE_IN_PROGRESS : E.NONE,
      );
    }
    const g = c.group('g');
    assert.equal(g?.members.has(follower.memberId), false);
    assert.equal(g?.state, 'PreparingRebalance');
    const again = await c.joinGroup(joinReq({ memberId: leader.memberId }));
    assert.deepEqual([again.generationId, again.members.length], [2, 1]);
  });

  it('a rebalance completes at the rebalance timeout without members that did not rejoin', async () => {
    const { coordinator: c, clock, leader, follower } = await twoMemberGroup();
    const changed = [{ name: 'range', metadata: consumerMetadata(['t', 'u']) }];
    const rejoin = track(c.joinGroup(joinReq({ memberId: follower.memberId, protocols: changed })));
    await settle();
    assert.equal(rejoin.done(), undefined);
    // The leader keeps heartbeating (told to rejoin) but never rejoins.
    for (let t = 0; t < REBALANCE; t += 2000) {
      assert.equal(c.heartbeat('g', leader.memberId, null, 1), E.REBALANCE_IN_PROGRESS);
      clock.advance(2000);
    }
    const r = await rejoin.promise;
    assert.equal(r.errorCode, E.NONE);
    assert.equal(r.generationId, 2);
    assert.equal(r.leaderId, follower.memberId, 'leadership moves to a member that rejoined');
    assert.equal(c.group('g')?.members.has(leader.memberId), false);
  });

  it('a pending member id that is never used expires after the session timeout', async () => {
    const { coordinator: c, clock } = await setup();
    const first = await c.joinGroup(joinReq({ requireKnownMemberId: true }));
    assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED);
    assert.equal(c.group('g')?.pendingMembers.size, 1);
    clock.advance(SESSION);
    assert.equal(c.group('g')?.pendingMembers.size, 0);
    const late = await c.joinGroup(joinReq({ memberId: first.memberId }));
    assert.equal(late.errorCode, E.UNKNOWN_MEMBER_ID);
  });

  it('protocols: chosen by votes among those all members support; others are refused', async () => {
    const { coordinator: c, clock } = await setup();
    const meta = consumerMetadata(['t']);
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: meta }));
    const a = track(c.joinGroup(joinReq({ clientId: 'a', protocols: p('range', 'roundrobin') })));
    const b = track(c.joinGroup(joinReq({ clientId: 'b', protocols: p('roundrobin') })));
    const x = await c.joinGroup(joinReq({ clientId: 'x', protocols: p('sticky') }));
    assert.equal(x.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
    const other = await c.joinGroup(joinReq({ clientId: 'y', protocolType: 'connect' }));
    assert.equal(other.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
    clock.advance(2 * INITIAL_DELAY); // the delay is extended once: a second member arrived
    assert.equal((await a.promise).protocolName, 'roundrobin');
    assert.equal((await b.promise).protocolName, 'roundrobin');
  });

  it('checks session timeouts, group size and group ids', async () => {
    const { coordinator: c } = await setup(undefined, undefined, { maxSize: 1 });
    assert.equal(
      (await c.joinGroup(joinReq({ sessionTimeoutMs: 10 }))).errorCode,
      E.INVALID_SESSION_TIMEOUT,
    );
    assert.equal((await c.joinGroup(joinReq({ groupId: '' }))).errorCode, E.INVALID_GROUP_ID);
    void c.joinGroup(joinReq({ clientId: 'one' }));
    const second = await c.joinGroup(joinReq({ clientId: 'two' }));
    assert.equal(second.errorCode, E.GROUP_MAX_SIZE_REACHED);
    assert.equal(
      (await c.joinGroup(joinReq({ memberId: 'nobody', groupId: 'h' }))).errorCode,
      E.UNKNOWN_MEMBER_ID,
    );
    assert.equal(c.heartbeat('none', 'm', null, 1), E.UNKNOWN_MEMBER_ID);
  });

  it('a rejoin with a changed subscription in a stable group starts a rebalance', async () => {
    const { coordinator: c, leader, follower } = await twoMemberGroup();
    const changed = [{ name: 'range', metadata: consumerMetadata(['t', 'u']) }];
    const fj = track(c.joinGroup(joinReq({ memberId: follower.memberId, protocols: changed })));
    await settle();
    assert.equal(c.group('g')?.state, 'PreparingRebalance');
    const lj = await c.joinGroup(joinReq({ memberId: leader.memberId }));
    const f = await fj.promise;
    assert.deepEqual([lj.generationId, f.generationId], [2, 2]);
  });
});

describe('group coordinator: timeouts and loading', () => {
  it('a member that never sends SyncGroup is removed after the rebalance timeout', async () => {
    const { coordinator: c, clock } = await setup();
    const a = track(c.joinGroup(joinReq({ clientId: 'a' })));
    const b = track(c.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(2 * INITIAL_DELAY);
    const ja = await a.promise;
    const jb = await b.promise;
    const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
    // Commits are refused until the assignment is out.
    const early = await c.commitOffsets({
      groupId: 'g',
      memberId: leader.memberId,
      groupInstanceId: null,
      generationId: 1,
      offsets: [entry('t', 0, 1)],
    });
    assert.deepEqual(early, [E.REBALANCE_IN_PROGRESS]);
    await sync(c, leader, [{ memberId: leader.memberId, assignment: Buffer.from('L') }]);
    assert.equal(c.group('g')?.state, 'Stable');
    for (let t = 0; t < REBALANCE; t += 2000) {
      c.heartbeat('g', leader.memberId, null, 1);
      c.heartbeat('g', follower.memberId, null, 1);
      clock.advance(2000);
    }
    assert.equal(c.group('g')?.members.has(follower.memberId), false);
    assert.equal(c.heartbeat('g', leader.memberId, null, 1), E.REBALANCE_IN_PROGRESS);
  });

  it('answers COORDINATOR_NOT_AVAILABLE before start and LOAD_IN_PROGRESS while loading', async () => {
    const log = new MemoryCoordinatorLog(1);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: GroupLog = {
      partitionCount: 1,
      append: (p, b) => log.append(p, b),
      startOffset: () => 0,
      endOffset: () => 1,
      read: async () => {
        await gate;
        return [];
      },
    };
    const c = new GroupCoordinator({ log: slow, clock: new ManualClock(), config });
    assert.equal((await c.joinGroup(joinReq())).errorCode, E.COORDINATOR_NOT_AVAILABLE);
    const started = c.start();
    assert.equal((await c.joinGroup(joinReq())).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(c.heartbeat('g', 'm', null, 1), E.NONE, 'heartbeats are answered blindly');
    const s = await c.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(s.errorCode, E.REBALANCE_IN_PROGRESS, 'back to JoinGroup');
    assert.equal(c.listGroups([], []).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await started;
    await c.ready();
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NONE);
  });
});

describe('group coordinator: static membership', () => {
  async function staticGroup() {
    const ctx = await setup();
    const { coordinator: c, clock } = ctx;
    const a = track(c.joinGroup(joinReq({ groupInstanceId: 'ia', clientId: 'a' })));
    const b = track(c.joinGroup(joinReq({ groupInstanceId: 'ib', clientId: 'b' })));
    clock.advance(2 * INITIAL_DELAY); // the delay is extended once: a second member arrived
    const ja = await a.promise;
    const jb = await b.promise;
    const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
    const leaderInstance = leader === ja ? 'ia' : 'ib';
    const followerInstance = leader === ja ? 'ib' : 'ia';
    const assignments = [
      { memberId: leader.memberId, assignment: Buffer.from('L') },
      { memberId: follower.memberId, assignment: Buffer.from('F') },
    ];
    const fs = sync(c, follower, [], followerInstance);
    await sync(c, leader, assignments, leaderInstance);
    assert.equal((await fs).assignment.toString(), 'F');
    return { ...ctx, leader, follower, leaderInstance, followerInstance };
  }

  it('a restarted static member gets its assignment back without a rebalance', async () => {
    const { coordinator: c, leader, follower, followerInstance } = await staticGroup();
    const rejoined = await c.joinGroup(
      joinReq({ groupInstanceId: followerInstance, clientId: 'b2' }),
    );
    assert.equal(rejoined.errorCode, E.NONE);
    assert.notEqual(rejoined.memberId, follower.memberId, 'a new member id');
    assert.equal(rejoined.generationId, 1, 'no new generation');
    assert.equal(rejoined.leaderId, leader.memberId, 'told the old leader: it must not assign');
    assert.equal(c.group('g')?.state, 'Stable');
    const s = await sync(c, rejoined, [], followerInstance);
    assert.deepEqual([s.errorCode, s.assignment.toString()], [E.NONE, 'F']);
    assert.equal(
      c.heartbeat('g', leader.memberId, null, 1),
      E.NONE,
      'the others are not disturbed',
    );
    // The old incarnation is fenced.
    assert.equal(c.heartbeat('g', follower.memberId, followerInstance, 1), E.FENCED_INSTANCE_ID);
    const commit = await c.commitOffsets({
      groupId: 'g',
      memberId: follower.memberId,
      groupInstanceId: followerInstance,
      generationId: 1,
      offsets: [entry('t', 0, 5)],
    });
    assert.deepEqual(commit, [E.FENCED_INSTANCE_ID]);
  });

  it('v9: a restarted static leader learns it leads and skips the assignment', async () => {
    const { coordinator: c, leaderInstance } = await staticGroup();
    const rejoined = await c.joinGroup(
      joinReq({ groupInstanceId: leaderInstance, supportSkippingAssignment: true }),
    );
    assert.equal(rejoined.leaderId, rejoined.memberId);
    assert.equal(rejoined.skipAssignment, true);
    assert.equal(rejoined.members.length, 2);
    assert.equal(c.group('g')?.state, 'Stable');
  });

  it('a static member that misses a rebalance keeps its place; removal by instance id', async () => {
    const {
      coordinator: c,
      clock,
      leader,
      follower,
      followerInstance,
      leaderInstance,
    } = await staticGroup();
    // The leader's rejoin forces a rebalance; the static follower does not rejoin in time.
    const lj = track(
      c.joinGroup(joinReq({ memberId: leader.memberId, groupInstanceId: leaderInstance })),
    );
    for (let t = 0; t < REBALANCE; t += 2000) {
      // It stays alive (heartbeats) but does not rejoin.
      const hb = c.heartbeat('g', follower.memberId, followerInstance, 1);
      assert.equal(hb, E.REBALANCE_IN_PROGRESS);
      clock.advance(2000);
    }
    const j = await lj.promise;
    assert.equal(j.generationId, 2);
    assert.deepEqual(
      j.members.map((m) => m.memberId).sort(),
      [leader.memberId, follower.memberId].sort(),
    );
    const wrong = await c.joinGroup(joinReq({ memberId: leader.memberId, groupInstanceId: 'x' }));
    assert.equal(wrong.errorCode, E.UNKNOWN_MEMBER_ID, 'the instance id must match the member');
    const r = c.leaveGroup('g', [
      { memberId: '', groupInstanceId: followerInstance, reason: null },
    ]);
    assert.deepEqual(
      r.members.map((m) => m.errorCode),
      [E.NONE],
    );
    assert.equal(c.group('g')?.members.has(follower.memberId), false);
  });
});

function entry(topic: string, partition: number, offset: number, metadata: string | null = null) {
  const e: OffsetCommitEntry = {
    topic,
    partition,
    offset,
    leaderEpoch: -1,
    metadata,
    commitTimestamp: -1,
    expireTimestamp: -1,
  };
  return e;
}

function simpleCommit(groupId: string, offsets: OffsetCommitEntry[]): CommitRequest {
  return { groupId, memberId: '', groupInstanceId: null, generationId: -1, offsets };
}

describe('group coordinator: offsets', () => {
  it('a client that never joined commits and fetches; metadata round-trips', async () => {
    const { coordinator: c } = await setup();
    const codes = await c.commitOffsets(
      simpleCommit('s', [entry('t', 0, 42, 'meta data ✓'), entry('t', 1, 7)]),
    );
    assert.deepEqual(codes, [E.NONE, E.NONE]);
    const f = c.fetchOffsets('s', false, [{ name: 't', partitions: [0, 1, 2] }]);
    assert.equal(f.errorCode, E.NONE);
    const parts = f.topics[0]?.partitions ?? [];
    assert.deepEqual(
      parts.map((p) => [p.partition, p.offset, p.metadata, p.errorCode]),
      [
        [0, 42, 'meta data ✓', 0],
        [1, 7, '', 0],
        [2, -1, '', 0],
      ],
    );
    const all = c.fetchOffsets('s', false, null);
    assert.equal(all.topics[0]?.partitions.length, 2);
    assert.equal(c.describeGroup('s').state, 'Empty');
  });

  it('a group that never committed answers -1 and no error', async () => {
    const { coordinator: c } = await setup();
    const f = c.fetchOffsets('never', true, [{ name: 't', partitions: [0] }]);
    assert.equal(f.errorCode, E.NONE);
    assert.deepEqual(f.topics[0]?.partitions[0], {
      partition: 0,
      offset: -1,
      leaderEpoch: -1,
      metadata: '',
      errorCode: E.NONE,
    });
    assert.deepEqual(c.fetchOffsets('never', false, null).topics, []);
    assert.equal(c.describeGroup('never').state, 'Dead');
  });

  it('members commit with their generation; stale or unknown committers are refused', async () => {
    const { coordinator: c, leader } = await twoMemberGroup();
    const ok = await c.commitOffsets({
      groupId: 'g',
      memberId: leader.memberId,
      groupInstanceId: null,
      generationId: 1,
      offsets: [entry('t', 0, 3)],
    });
    assert.deepEqual(ok, [E.NONE]);
    const stale = await c.commitOffsets({
      groupId: 'g',
      memberId: leader.memberId,
      groupInstanceId: null,
      generationId: 0,
      offsets: [entry('t', 0, 4)],
    });
    assert.deepEqual(stale, [E.ILLEGAL_GENERATION]);
    const stranger = await c.commitOffsets({
      groupId: 'g',
      memberId: 'x',
      groupInstanceId: null,
      generationId: 1,
      offsets: [entry('t', 0, 4)],
    });
    assert.deepEqual(stranger, [E.UNKNOWN_MEMBER_ID]);
    const outsider = await c.commitOffsets(simpleCommit('g', [entry('t', 0, 4)]));
    assert.deepEqual(
      outsider,
      [E.UNKNOWN_MEMBER_ID],
      'a non-empty group takes commits from members only',
    );
    const noGroup = await c.commitOffsets({
      ...simpleCommit('h', [entry('t', 0, 1)]),
      generationId: 3,
    });
    assert.deepEqual(noGroup, [E.ILLEGAL_GENERATION]);
    assert.equal(c.fetchOffsets('g', false, null).topics[0]?.partitions[0]?.offset, 3);
  });

  it('refuses metadata over offset.metadata.max.bytes and maps append failures', async () => {
    const { coordinator: c, log } = await setup();
    const big = 'x'.repeat(4097);
    const codes = await c.commitOffsets(
      simpleCommit('s', [entry('t', 0, 1, big), entry('t', 1, 1)]),
    );
    assert.deepEqual(codes, [E.OFFSET_METADATA_TOO_LARGE, E.NONE]);
    log.failNext = 1;
    assert.deepEqual(await c.commitOffsets(simpleCommit('s', [entry('t', 1, 9)])), [
      E.NOT_COORDINATOR,
    ]);
    assert.equal(c.fetchOffsets('s', false, null).topics[0]?.partitions[0]?.offset, 1);
  });

  it('deletes empty groups and offsets, with tombstones', async () => {
    const { coordinator: c, leader } = await twoMemberGroup();
    await c.commitOffsets(simpleCommit('s', [entry('t', 0, 1), entry('u', 0, 2)]));
    const r = await c.deleteGroups(['g', 'nope']);
    assert.equal(r.get('g'), E.NON_EMPTY_GROUP);
    assert.equal(r.get('nope'), E.GROUP_ID_NOT_FOUND);
    const subscribed = await c.deleteOffsets('g', [
      { topic: 't', partition: 0 },
      { topic: 'v', partition: 0 },
    ]);
    assert.equal(subscribed.partitions.get('t\u00000'), E.GROUP_SUBSCRIBED_TO_TOPIC);
    assert.equal(subscribed.partitions.get('v\u00000'), E.NONE);
    const od = await c.deleteOffsets('s', [{ topic: 'u', partition: 0 }]);
    assert.equal(od.errorCode, E.NONE);
    assert.deepEqual(
      c.fetchOffsets('s', false, null).topics.map((t) => t.name),
      ['t'],
    );
    assert.deepEqual([...(await c.deleteGroups(['s']))], [['s', E.NONE]]);
    assert.equal(c.group('s'), undefined);
    assert.equal((await c.deleteOffsets('s', [])).errorCode, E.GROUP_ID_NOT_FOUND);
    assert.ok(leader.memberId.length > 0);
  });

  it('drops the offsets of deleted topics', async () => {
    const { coordinator: c, log } = await setup();
    await c.commitOffsets(simpleCommit('s', [entry('t', 0, 1), entry('u', 0, 2)]));
    await c.commitOffsets(simpleCommit('only-t', [entry('t', 1, 3)]));
    const before = log.recordCount;
    assert.equal(await c.removeOffsetsOfTopics(['t']), 2);
    assert.equal(log.recordCount, before + 2, 'two tombstones');
    assert.deepEqual(
      c.fetchOffsets('s', false, null).topics.map((t) => t.name),
      ['u'],
    );
    assert.equal(c.group('only-t'), undefined);
  });

  it('expires the offsets of an empty group after offsets.retention.minutes', async () => {
    const { coordinator: c, clock } = await setup();
    await c.commitOffsets(simpleCommit('s', [entry('t', 0, 1)]));
    clock.advance(30 * 60_000);
    await settle();
    await c.commitOffsets(simpleCommit('s', [entry('t', 1, 1)]));
    clock.advance(31 * 60_000);
    await settle();
    assert.deepEqual(
      c.fetchOffsets('s', false, null).topics[0]?.partitions.map((p) => p.partition),
      [1],
      'the older commit expired, the newer one not yet',
    );
    clock.advance(30 * 60_000);
    await settle();
    assert.equal(c.group('s'), undefined, 'no offsets left: the group is gone');
  });
});

describe('group coordinator: restart', () => {
  it('reloads offsets and group metadata from the log; deleted state stays deleted', async () => {
    const log = new MemoryCoordinatorLog(3);
    const first = await twoMemberGroupOn(log);
    const c1 = first.coordinator;
    await c1.commitOffsets({
      groupId: 'g',
      memberId: first.leader.memberId,
      groupInstanceId: null,
      generationId: 1,
      offsets: [entry('t', 0, 11, 'keep me')],
    });
    await c1.commitOffsets(simpleCommit('s', [entry('t', 0, 5)]));
    await c1.commitOffsets(simpleCommit('gone', [entry('t', 0, 5)]));
    await c1.deleteGroups(['gone']);
    c1.shutdown();

    const clock = new ManualClock();
    const { coordinator: c2 } = await setup(log, clock);
    const g = c2.group('g');
    assert.equal(g?.state, 'Stable');
    assert.equal(g?.generationId, 1);
    assert.equal(g?.leaderId, first.leader.memberId);
    assert.equal(g?.members.get(first.follower.memberId)?.assignment.toString(), 'F');
    const p = c2.fetchOffsets('g', false, [{ name: 't', partitions: [0] }]).topics[0]
      ?.partitions[0];
    assert.deepEqual([p?.offset, p?.metadata], [11, 'keep me']);
    assert.equal(c2.fetchOffsets('s', false, null).topics[0]?.partitions[0]?.offset, 5);
    assert.equal(c2.group('gone'), undefined);
    // Members come back as Kafka keeps them; without heartbeats they expire.
    assert.equal(c2.heartbeat('g', first.leader.memberId, null, 1), E.NONE);
    clock.advance(SESSION + 1);
    assert.equal(c2.group('g')?.members.has(first.follower.memberId), false);
  });
});

async function twoMemberGroupOn(log: MemoryCoordinatorLog) {
  const clock = new ManualClock();
  const { coordinator: c } = await setup(log, clock);
  const a = track(c.joinGroup(joinReq({ clientId: 'a' })));
  const b = track(c.joinGroup(joinReq({ clientId: 'b' })));
  clock.advance(2 * INITIAL_DELAY); // the delay is extended once: a second member arrived
  const ja = await a.promise;
  const jb = await b.promise;
  const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
  const fs = sync(c, follower);
  await sync(c, leader, [
    { memberId: leader.memberId, assignment: Buffer.from('L') },
    { memberId: follower.memberId, assignment: Buffer.from('F') },
  ]);
  await fs;
  return { coordinator: c, leader, follower };
}

describe('group coordinator: partition leadership', () => {
  /** A coordinator started up but elected for no partition yet. */
  function unelected(log: MemoryCoordinatorLog = new MemoryCoordinatorLog()) {
    const clock = new ManualClock();
    let n = 0;
    const coordinator = new GroupCoordinator({
      log,
      clock,
      config,
      newMemberId: (prefix) => `${prefix}-${n++}`,
    });
    coordinator.startup();
    return { coordinator, clock, log };
  }

  /** A group id whose partition differs from `groupId`'s. */
  function groupElsewhere(c: GroupCoordinator, groupId: string): string {
    for (let i = 0; ; i++) {
      const id = `other-${i}`;
      if (c.partitionFor(id) !== c.partitionFor(groupId)) return id;
    }
  }

  function committed(c: GroupCoordinator, groupId: string): number | undefined {
    return c.fetchOffsets(groupId, false, [{ name: 't', partitions: [0] }]).topics[0]?.partitions[0]
      ?.offset;
  }

  it('answers NOT_COORDINATOR for the groups of partitions it was not elected for', async () => {
    const { coordinator: c } = unelected();
    const p = c.partitionFor('g');
    const other = groupElsewhere(c, 'g');
    c.onElection(c.partitionFor(other), 0);
    await c.ready();
    assert.deepEqual(c.ownedPartitions, [c.partitionFor(other)]);
    assert.equal((await c.joinGroup(joinReq())).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.heartbeat('g', 'm', null, 1), E.NOT_COORDINATOR);
    assert.equal(
      (await sync(c, { ...joinError('m', E.NONE), generationId: 1 })).errorCode,
      E.NOT_COORDINATOR,
    );
    assert.deepEqual(await c.commitOffsets(simpleCommit('g', [entry('t', 0, 1)])), [
      E.NOT_COORDINATOR,
    ]);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.describeGroup('g').errorCode, E.NOT_COORDINATOR);
    assert.equal(c.leaveGroup('g', []).errorCode, E.NOT_COORDINATOR);
    assert.equal((await c.deleteGroups(['g'])).get('g'), E.NOT_COORDINATOR);
    // The partition it does lead answers as usual.
    assert.deepEqual(await c.commitOffsets(simpleCommit(other, [entry('t', 0, 1)])), [E.NONE]);
    assert.equal(committed(c, other), 1);
    c.onElection(p, 0);
    await c.ready();
    assert.deepEqual(await c.commitOffsets(simpleCommit('g', [entry('t', 0, 2)])), [E.NONE]);
    assert.equal(committed(c, 'g'), 2);
  });

  it('resignation answers a waiting JoinGroup NOT_COORDINATOR and cancels the timers', async () => {
    const { coordinator: c, clock } = await setup();
    const expiryOnly = clock.pendingTimers;
    const a = track(c.joinGroup(joinReq({ clientId: 'a' })));
    const b = track(c.joinGroup(joinReq({ clientId: 'b', requireKnownMemberId: true })));
    await settle();
    assert.equal(a.done(), undefined, 'waiting for the initial rebalance delay');
    assert.equal((await b.promise).errorCode, E.MEMBER_ID_REQUIRED, 'a pending member');
    assert.ok(clock.pendingTimers > expiryOnly);
    c.onResignation(c.partitionFor('g'), 1);
    assert.equal((await a.promise).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.group('g'), undefined);
    assert.equal(clock.pendingTimers, expiryOnly, 'join, heartbeat and pending-member timers');
    assert.equal((await c.joinGroup(joinReq())).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NOT_COORDINATOR);
  });

  it('resignation answers a waiting SyncGroup NOT_COORDINATOR; the group is gone', async () => {
    const { coordinator: c, clock } = await setup();
    const expiryOnly = clock.pendingTimers;
    const a = track(c.joinGroup(joinReq({ clientId: 'a' })));
    const b = track(c.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(2 * INITIAL_DELAY);
    const ja = await a.promise;
    const jb = await b.promise;
    const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
    const waiting = track(sync(c, follower));
    await settle();
    assert.equal(waiting.done(), undefined, 'a follower waits for the leader');
    c.onResignation(c.partitionFor('g'), 1);
    assert.equal((await waiting.promise).errorCode, E.NOT_COORDINATOR);
    assert.equal((await sync(c, leader, [])).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.heartbeat('g', leader.memberId, null, 1), E.NOT_COORDINATOR);
    assert.equal(clock.pendingTimers, expiryOnly, 'heartbeat and SyncGroup expiry timers');
    clock.advance(REBALANCE + SESSION);
    assert.equal(c.group('g'), undefined);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while an elected partition loads', async () => {
    const log = new GatedGroupLog();
    const first = await setup(log);
    const other = groupElsewhere(first.coordinator, 'g');
    await first.coordinator.commitOffsets(simpleCommit('g', [entry('t', 0, 7)]));
    await first.coordinator.commitOffsets(simpleCommit(other, [entry('t', 0, 8)]));
    first.coordinator.shutdown();

    const { coordinator: c } = unelected(log);
    const p = c.partitionFor('g');
    const release = log.hold(p);
    c.onElection(p, 3);
    c.onElection(c.partitionFor(other), 3);
    const ready = track(c.ready());
    await settle();
    assert.equal(ready.done(), undefined);
    assert.equal(c.isLoaded, false);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal((await c.joinGroup(joinReq())).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(c.listGroups([], []).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    // Loads run one at a time in election order: the later election waits behind the slow one.
    assert.equal(c.fetchOffsets(other, false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await ready.promise;
    assert.equal(c.isLoaded, true);
    assert.equal(committed(c, 'g'), 7);
    assert.equal(committed(c, other), 8);
    assert.equal(c.listGroups([], []).errorCode, E.NONE);
  });

  it('committed offsets and group metadata survive resignation and re-election', async () => {
    const log = new MemoryCoordinatorLog();
    const { coordinator: c, leader, follower } = await twoMemberGroupOn(log);
    const p = c.partitionFor('g');
    const other = groupElsewhere(c, 'g');
    const commit = await c.commitOffsets({
      groupId: 'g',
      memberId: leader.memberId,
      groupInstanceId: null,
      generationId: 1,
      offsets: [entry('t', 0, 11, 'keep me')],
    });
    assert.deepEqual(commit, [E.NONE]);
    await c.commitOffsets(simpleCommit(other, [entry('t', 0, 4)]));

    c.onResignation(p, 1);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NOT_COORDINATOR);
    assert.equal(committed(c, other), 4, 'other partitions are not touched');
    assert.equal(c.ownedPartitions.includes(p), false);

    c.onElection(p, 2);
    await c.ready();
    assert.equal(committed(c, 'g'), 11);
    const g = c.group('g');
    assert.equal(g?.state, 'Stable');
    assert.equal(g?.generationId, 1);
    assert.equal(g?.members.get(follower.memberId)?.assignment.toString(), 'F');
    assert.equal(c.heartbeat('g', follower.memberId, null, 1), E.NONE);
  });

  it('a commit whose append fails as the partition moves answers NOT_COORDINATOR', async () => {
    const log = new MemoryCoordinatorLog();
    const { coordinator: c } = await setup(log);
    await c.commitOffsets(simpleCommit('s', [entry('t', 0, 1)]));
    log.failNext = 1; // the replica layer already refuses: no longer the leader
    const inFlight = c.commitOffsets(simpleCommit('s', [entry('t', 0, 2)]));
    c.onResignation(c.partitionFor('s'), 1);
    assert.deepEqual(await inFlight, [E.NOT_COORDINATOR]);
    c.onElection(c.partitionFor('s'), 2);
    await c.ready();
    assert.equal(committed(c, 's'), 1);
  });

  it('a group write refused because the partition moved answers NOT_COORDINATOR', async () => {
    const log = new MemoryCoordinatorLog();
    const { coordinator: c, clock } = await setup(log);
    const a = track(c.joinGroup(joinReq({ clientId: 'a' })));
    const b = track(c.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(2 * INITIAL_DELAY);
    const ja = await a.promise;
    const jb = await b.promise;
    const [leader, follower] = ja.leaderId === ja.memberId ? [ja, jb] : [jb, ja];
    const waiting = sync(c, follower);
    log.failNext = 1;
    const led = await sync(c, leader, [
      { memberId: leader.memberId, assignment: Buffer.from('L') },
    ]);
    assert.equal(led.errorCode, E.NOT_COORDINATOR);
    assert.equal((await waiting).errorCode, E.NOT_COORDINATOR);
  });

  it('a load overtaken by a newer resignation installs nothing; stale calls are ignored', async () => {
    const log = new GatedGroupLog();
    const { coordinator: c } = await setup(log);
    const p = c.partitionFor('g');
    await c.commitOffsets(simpleCommit('g', [entry('t', 0, 5)]));
    c.onResignation(p, 1);

    const release = log.hold(p);
    c.onElection(p, 2);
    await settle();
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    c.onResignation(p, 3);
    release();
    await settle();
    assert.equal(c.group('g'), undefined, 'the epoch 2 load finished after it resigned');
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NOT_COORDINATOR);

    c.onElection(p, 2); // a late election of an older epoch
    await settle();
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.NOT_COORDINATOR);
    assert.equal(c.ownedPartitions.includes(p), false);

    c.onElection(p, 4);
    await c.ready();
    assert.equal(committed(c, 'g'), 5);
    c.onResignation(p, 3); // a late resignation of an older epoch
    assert.equal(committed(c, 'g'), 5);
    assert.equal(c.ownedPartitions.includes(p), true);
    c.onElection(p, 5); // a newer epoch of the same leadership keeps what is loaded
    assert.equal(committed(c, 'g'), 5);
  });

  it('a load overtaken by resignation then re-election installs only the newer load', async () => {
    const log = new GatedGroupLog();
    const first = await setup(log);
    await first.coordinator.commitOffsets(simpleCommit('g', [entry('t', 0, 5)]));
    first.coordinator.shutdown();
    const lines: string[] = [];
    const c = new GroupCoordinator({
      log,
      clock: new ManualClock(),
      config,
      logger: (m) => lines.push(m),
    });
    c.startup();
    const p = c.partitionFor('g');
    const release = log.hold(p);
    c.onElection(p, 2);
    await settle();
    c.onResignation(p, 3);
    c.onElection(p, 4);
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await c.ready();
    assert.equal(committed(c, 'g'), 5);
    const loads = lines.filter((l) => l.includes(`__consumer_offsets-${p} for epoch`));
    assert.deepEqual(
      loads.map((l) => l.split(' ')[0]),
      ['discarding', 'loaded'],
      'the epoch 2 load is discarded, the epoch 4 one installs',
    );
    assert.match(loads[1] ?? '', /for epoch 4$/);
  });

  it('a failed load answers LOAD_IN_PROGRESS until a later election loads the partition', async () => {
    const log = new MemoryCoordinatorLog();
    const first = await setup(log);
    await first.coordinator.commitOffsets(simpleCommit('g', [entry('t', 0, 9)]));
    first.coordinator.shutdown();
    let failReads = 1;
    const flaky: GroupLog = {
      partitionCount: log.partitionCount,
      append: (p, b) => log.append(p, b),
      startOffset: () => log.startOffset(),
      endOffset: (p) => log.endOffset(p),
      read: async (p, offset) => {
        if (failReads-- > 0) throw new Error('disk read failed');
        return log.read(p, offset);
      },
    };
    const lines: string[] = [];
    const c = new GroupCoordinator({
      log: flaky,
      clock: new ManualClock(),
      config,
      logger: (m) => lines.push(m),
    });
    c.startup();
    const p = c.partitionFor('g');
    c.onElection(p, 1);
    await settle();
    assert.ok(lines.some((l) => l.startsWith(`failed to load __consumer_offsets-${p}`)));
    assert.equal(c.fetchOffsets('g', false, null).errorCode, E.COORDINATOR_LOAD_IN_PROGRESS);
    const ready = track(c.ready());
    await settle();
    assert.equal(ready.done(), undefined, 'not ready while a partition failed to load');
    c.onElection(p, 1);
    await ready.promise;
    assert.equal(committed(c, 'g'), 9);
  });
});

/**
 * The group APIs at every version through the broker's dispatcher (an in-process broker on an
 * in-memory file system): requests encoded with the generated codecs, responses decoded with
 * them. Checks that each version is answered and encodes, and the version-specific shapes:
 * batched FindCoordinator, MEMBER_ID_REQUIRED from JoinGroup v4, v0-v1 OffsetFetch errors per
 * partition, v8 multi-group OffsetFetch, batched LeaveGroup, ListGroups state filters.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../src/broker/broker.ts';
import type { ConnectionInfo } from '../src/broker/handler.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import type { DeleteGroupsResponse } from '../src/protocol/messages/delete-groups-response.ts';
import type { DescribeGroupsResponse } from '../src/protocol/messages/describe-groups-response.ts';
import type { FindCoordinatorResponse } from '../src/protocol/messages/find-coordinator-response.ts';
import type { HeartbeatResponse } from '../src/protocol/messages/heartbeat-response.ts';
import type { JoinGroupResponse } from '../src/protocol/messages/join-group-response.ts';
import type { LeaveGroupResponse } from '../src/protocol/messages/leave-group-response.ts';
import type { ListGroupsResponse } from '../src/protocol/messages/list-groups-response.ts';
import type { OffsetCommitResponse } from '../src/protocol/messages/offset-commit-response.ts';
import type { OffsetDeleteResponse } from '../src/protocol/messages/offset-delete-response.ts';
import type { OffsetFetchResponse } from '../src/protocol/messages/offset-fetch-response.ts';
import type { SyncGroupResponse } from '../src/protocol/messages/sync-group-response.ts';
import { Reader } from '../src/protocol/reader.ts';
import { Writer } from '../src/protocol/writer.ts';
import { ConnectionSecurity } from '../src/security/session.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const E = ErrorCode;
const conn: ConnectionInfo = {
  id: 1,
  listenerName: 'PLAINTEXT',
  remoteAddress: '127.0.0.1',
  remotePort: 5555,
  security: new ConnectionSecurity('PLAINTEXT', null),
};

let broker: Broker;
let correlation = 0;

async function call<T>(apiKey: number, version: number, body: unknown): Promise<T> {
  const desc = apiDescriptors.get(apiKey);
  assert.ok(desc);
  const w = new Writer();
  w.writeInt16(apiKey);
  w.writeInt16(version);
  w.writeInt32(++correlation);
  w.writeNullableString('group-test', false);
  if (desc.requestHeaderVersion(version) >= 2) w.writeUnknownTaggedSection(undefined);
  desc.encodeRequest(w, body, version);
  const outcome = broker.dispatcher.dispatch(w.toBuffer(), conn);
  assert.equal(outcome.kind, 'respond', JSON.stringify(outcome));
  if (outcome.kind !== 'respond') throw new Error('closed');
  const chunks = await outcome.response;
  assert.ok(chunks);
  const r = new Reader(Buffer.concat(chunks), 4);
  assert.equal(r.readInt32(), correlation);
  if (desc.responseHeaderVersion(version) >= 1) r.readUnknownTaggedFields();
  const decoded = desc.decodeResponse(r, version) as T;
  assert.equal(r.remaining(), 0, 'the whole response was read');
  return decoded;
}

const metadata = Buffer.from('000000000001000174ffffffff', 'hex'); // consumer protocol v0: ["t"]

function joinBody(v: number, groupId: string, memberId: string) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: v === 0 ? -1 : 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata }],
    reason: null,
  };
}

async function joinAndSync(v: number, groupId: string): Promise<JoinGroupResponse> {
  let j = await call<JoinGroupResponse>(ApiKey.JoinGroup, v, joinBody(v, groupId, ''));
  if (v >= 4) {
    assert.equal(j.errorCode, E.MEMBER_ID_REQUIRED, `v${v}`);
    j = await call<JoinGroupResponse>(ApiKey.JoinGroup, v, joinBody(v, groupId, j.memberId));
  }
  assert.equal(j.errorCode, E.NONE, `join v${v}`);
  assert.equal(j.leader, j.memberId);
  assert.equal(j.protocolName, 'range');
  assert.equal(j.members.length, 1);
  const sv = Math.min(v, 5);
  const s = await call<SyncGroupResponse>(ApiKey.SyncGroup, sv, {
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: sv >= 5 ? 'consumer' : null,
    protocolName: sv >= 5 ? 'range' : null,
    assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }],
  });
  assert.deepEqual([s.errorCode, s.assignment.toString()], [E.NONE, 'A'], `sync v${sv}`);
  return j;
}

function commitBody(v: number, groupId: string, j: JoinGroupResponse | null, offset: number) {
  return {
    groupId,
    generationIdOrMemberEpoch: j?.generationId ?? -1,
    memberId: j?.memberId ?? '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: `m${v}`,
          },
          {
            partitionIndex: 9,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: null,
          },
        ],
      },
    ],
  };
}

function fetchBody(v: number, groupIds: string[]) {
  const topics = [{ name: 't', partitionIndexes: [0, 1] }];
  return {
    groupId: v < 8 ? (groupIds[0] ?? '') : '',
    topics: v < 8 ? topics : [],
    groups:
      v >= 8
        ? groupIds.map((groupId) => ({ groupId, memberId: null, memberEpoch: -1, topics }))
        : [],
    requireStable: v >= 7,
  };
}

describe('group APIs at every version, through the dispatcher', () => {
  let harness: InProcessBroker | undefined;

  before(async () => {
    harness = await InProcessBroker.start({
      storage: 'memory',
      config: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 3 },
    });
    broker = harness.broker;
    await harness.createTopic('t', 2);
    await broker.context.groups.ready();
  });

  after(async () => {
    await harness?.stop();
  });

  it('FindCoordinator v0-v6: this broker for groups and, once loaded, for transactions', async () => {
    const port = broker.listeners[0]?.port;
    for (let v = 0; v <= 6; v++) {
      const batched = v >= 4;
      const r = await call<FindCoordinatorResponse>(ApiKey.FindCoordinator, v, {
        key: batched ? '' : 'g',
        keyType: 0,
        coordinatorKeys: batched ? ['g', 'h'] : [],
      });
      if (batched) {
        assert.deepEqual(
          r.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.port]),
          [
            ['g', 0, 0, port],
            ['h', 0, 0, port],
          ],
        );
      } else {
        assert.deepEqual([r.errorCode, r.nodeId, r.port], [0, 0, port], `v${v}`);
      }
      if (v >= 1) {
        // The first transaction key creates __transaction_state: COORDINATOR_NOT_AVAILABLE
        // (retriable) until the partition is loaded, then this broker.
        const find = () =>
          call<FindCoordinatorResponse>(ApiKey.FindCoordinator, v, {
            key: batched ? '' : 'tx',
            keyType: 1,
            coordinatorKeys: batched ? ['tx'] : [],
          });
        const answer = (r: FindCoordinatorResponse) =>
          batched
            ? [r.coordinators[0]?.errorCode, r.coordinators[0]?.nodeId]
            : [r.errorCode, r.nodeId];
        let txn = answer(await find());
        for (let i = 0; i < 100 && txn[0] === ErrorCode.COORDINATOR_NOT_AVAILABLE; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          txn = answer(await find());
        }
        assert.deepEqual(txn, [0, 0], `v${v}`);
      }
    }
  });

  it('JoinGroup v0-v9, SyncGroup, Heartbeat, OffsetCommit and OffsetFetch at each version', async () => {
    for (let v = 0; v <= 9; v++) {
      const groupId = `g${v}`;
      const j = await joinAndSync(v, groupId);
      const hv = Math.min(v, 4);
      const hb = await call<HeartbeatResponse>(ApiKey.Heartbeat, hv, {
        groupId,
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
      });
      assert.equal(hb.errorCode, E.NONE, `heartbeat v${hv}`);
      // OffsetCommit v0 carries no member: only an empty group accepts it.
      const member = v === 0 ? null : j;
      const commitGroup = v === 0 ? 'simple0' : groupId;
      const c = await call<OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        v,
        commitBody(v, commitGroup, member, 100 + v),
      );
      assert.deepEqual(
        c.topics[0]?.partitions.map((p) => p.errorCode),
        [E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION],
        `commit v${v}`,
      );
      const f = await call<OffsetFetchResponse>(ApiKey.OffsetFetch, v, fetchBody(v, [commitGroup]));
      const parts = v >= 8 ? f.groups[0]?.topics[0]?.partitions : f.topics[0]?.partitions;
      assert.deepEqual(
        parts?.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
        [
          [0, 100 + v, `m${v}`, 0],
          [1, -1, '', 0],
        ],
        `fetch v${v}`,
      );
    }
  });

  it('OffsetFetch: unknown groups answer -1 without error; v8 fetches several groups', async () => {
    const f = await call<OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      8,
      fetchBody(8, ['g8', 'nobody']),
    );
    assert.deepEqual(
      f.groups.map((g) => [g.groupId, g.errorCode]),
      [
        ['g8', 0],
        ['nobody', 0],
      ],
    );
    assert.equal(f.groups[1]?.topics[0]?.partitions[0]?.committedOffset, -1);
    const all = await call<OffsetFetchResponse>(ApiKey.OffsetFetch, 2, {
      ...fetchBody(2, ['g2']),
      topics: null,
    });
    assert.deepEqual(
      all.topics.map((t) => t.name),
      ['t'],
    );
  });

  it('DescribeGroups v0-v5 and ListGroups v0-v5 with state filters', async () => {
    for (let v = 0; v <= 5; v++) {
      const d = await call<DescribeGroupsResponse>(ApiKey.DescribeGroups, v, {
        groups: ['g5', 'nobody'],
        includeAuthorizedOperations: v >= 3,
      });
      const [g, none] = d.groups;
      assert.deepEqual(
        [g?.groupState, g?.protocolType, g?.protocolData],
        ['Stable', 'consumer', 'range'],
      );
      assert.equal(g?.members[0]?.memberAssignment.toString(), 'A');
      assert.equal(g?.members[0]?.clientHost, '/127.0.0.1');
      assert.equal(g?.members[0]?.clientId, 'group-test');
      assert.equal(none?.groupState, 'Dead');
      if (v >= 3) assert.notEqual(g?.authorizedOperations, -2147483648);
      const l = await call<ListGroupsResponse>(ApiKey.ListGroups, v, {
        statesFilter: v >= 4 ? ['empty'] : [],
        typesFilter: [],
      });
      const ids = l.groups.map((x) => x.groupId);
      assert.equal(ids.includes('simple0'), true);
      assert.equal(ids.includes('g5'), v < 4, `v${v}: only Empty groups with the filter`);
    }
  });

  it('LeaveGroup v0-v5, DeleteGroups v0-v2 and OffsetDelete', async () => {
    for (let v = 0; v <= 5; v++) {
      const groupId = `g${v}`;
      const d = await call<DescribeGroupsResponse>(ApiKey.DescribeGroups, 0, {
        groups: [groupId],
        includeAuthorizedOperations: false,
      });
      const memberId = d.groups[0]?.members[0]?.memberId ?? '';
      const batched = v >= 3;
      const r = await call<LeaveGroupResponse>(ApiKey.LeaveGroup, v, {
        groupId,
        memberId: batched ? '' : memberId,
        members: batched
          ? [
              { memberId, groupInstanceId: null, reason: null },
              { memberId: 'ghost', groupInstanceId: null, reason: null },
            ]
          : [],
      });
      assert.equal(r.errorCode, E.NONE, `leave v${v}`);
      if (batched)
        assert.deepEqual(
          r.members.map((m) => m.errorCode),
          [E.NONE, E.UNKNOWN_MEMBER_ID],
        );
    }
    // g6 still has its member: deleting its offsets of a subscribed topic is refused.
    const od = await call<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, {
      groupId: 'g6',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(od.topics[0]?.partitions[0]?.errorCode, E.GROUP_SUBSCRIBED_TO_TOPIC);
    const od2 = await call<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, {
      groupId: 'g1',
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0 }] },
        { name: 'nope', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    assert.deepEqual(
      od2.topics.map((t) => t.partitions[0]?.errorCode),
      [E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION],
    );
    for (let v = 0; v <= 2; v++) {
      const r = await call<DeleteGroupsResponse>(ApiKey.DeleteGroups, v, {
        groupsNames: [`g${v + 3}`, 'g9', 'nobody'],
      });
      assert.deepEqual(
        r.results.map((x) => [x.groupId, x.errorCode]),
        [
          [`g${v + 3}`, E.NONE],
          ['g9', E.NON_EMPTY_GROUP],
          ['nobody', E.GROUP_ID_NOT_FOUND],
        ],
      );
    }
  });
});

/**
 * A consumer group on a 3-broker cluster (a real ZooKeeper): three confluent-kafka members, each
 * its own process, read a 6-partition RF 3 topic and commit after each batch. The broker that
 * coordinates the group (FindCoordinator: the leader of the group's __consumer_offsets partition)
 * is killed with kill -9. The group finds its new coordinator, its committed offsets are all there,
 * it rebalances when a member leaves, and it reads to the end with no record skipped. Members
 * reset to the end of the log (auto.offset.reset=latest) where the group has no committed offset,
 * so a lost commit would show as a gap.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { FindCoordinatorResponse } from '../src/protocol/messages/find-coordinator-response.ts';
import type { OffsetCommitResponse } from '../src/protocol/messages/offset-commit-response.ts';
import type { OffsetDeleteResponse } from '../src/protocol/messages/offset-delete-response.ts';
import { ChildRun, repoRoot, run } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  PYTHON,
  pythonReport,
  requireConfluentKafka,
  requireKcat,
} from '../src/testing/clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'grouped';
const GROUP = 'failover-group';
const PARTITIONS = 6;
const PER_PARTITION = 400;
const SCRIPT = join(repoRoot(), 'test', 'fixtures', 'cluster', 'group_member.py');

interface MemberEvent {
  readonly ev: string;
  readonly t: number;
  readonly name?: string;
  readonly partitions?: number[];
  readonly offsets?: Record<string, number>;
  readonly error?: string;
  readonly processed?: Record<string, number[]>;
}

/** Kafka's partition of __consumer_offsets for a group: abs(groupId.hashCode()) % partitions. */
function offsetsPartitionOf(group: string, partitions: number): number {
  let hash = 0;
  for (let i = 0; i < group.length; i++) hash = (Math.imul(hash, 31) + group.charCodeAt(i)) | 0;
  const abs = hash === -2147483648 ? 0 : Math.abs(hash);
  return abs % partitions;
}

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let control: string;

before(async () => {
  requireKcat();
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3);
  control = await mkdtemp(join(tmpdir(), 'tributary-cluster-groups-'));
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (control !== undefined) await rm(control, { recursive: true, force: true });
});

async function findCoordinator(brokerId: number, group = GROUP): Promise<number | undefined> {
  const client = await WireClient.connect('127.0.0.1', cluster.broker(brokerId).port);
  try {
    const res = await client.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 1, {
      key: group,
      keyType: 0,
      coordinatorKeys: [],
    });
    return res.errorCode === 0 ? res.nodeId : undefined;
  } finally {
    await client.close();
  }
}

async function committedOffsets(): Promise<number[]> {
  const r = await run(PYTHON, ['-u', SCRIPT, 'committed', cluster.bootstrap, TOPIC, GROUP, '6'], {
    timeoutMs: 30_000,
  });
  const report = pythonReport<{ offsets: number[]; errors: string[] }>(r);
  assert.deepEqual(report.errors, [], 'committed offsets are read without error');
  return report.offsets;
}

class Member {
  readonly name: string;
  readonly child: ChildRun;

  constructor(name: string) {
    this.name = name;
    const args = ['-u', SCRIPT, 'member', cluster.bootstrap, TOPIC, GROUP, name, control];
    this.child = new ChildRun(PYTHON, args, { timeoutMs: 170_000 });
  }

  get events(): MemberEvent[] {
    return this.child.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  }

  /** The partitions of its last assignment (empty after a revoke). */
  get assigned(): number[] {
    let current: number[] = [];
    for (const e of this.events) {
      if (e.ev === 'assign') current = e.partitions ?? [];
      if (e.ev === 'revoke') current = [];
    }
    return current;
  }

  commitsAfter(t: number): MemberEvent[] {
    return this.events.filter((e) => e.ev === 'commit' && e.t > t);
  }

  describe(): string {
    const lines = this.child.lines.filter((l) => !l.includes('"ev": "commit"'));
    return `member ${this.name}: ${lines.slice(-20).join('\n')}\nstderr: ${this.child.stderr.slice(-2_000)}`;
  }
}

describe('a coordinator and the partitions it does not host', () => {
  it('commits and deletes the offsets of partitions whose replicas are all on other brokers', async () => {
    // RF 1 over three brokers: each broker hosts one partition, so the coordinator hosts at most
    // one of the three. Kafka checks a committed partition against the cluster's metadata, not
    // against the coordinator's own replicas (a 4-broker cluster lost commits this way).
    const topic = 'hosted-elsewhere';
    const group = 'elsewhere-group';
    await cluster.createTopic(topic, 3, 1);
    for (let p = 0; p < 3; p++) await cluster.ledPartition(topic, p);
    const coordinator = await until('a coordinator', () => findCoordinator(1, group));
    const client = await WireClient.connect('127.0.0.1', cluster.broker(coordinator).port);
    try {
      const partitions = [0, 1, 2];
      const committed = await until('the coordinator knows every partition', async () => {
        const res = await client.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 8, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [
            {
              name: topic,
              partitions: partitions.map((p) => ({
                partitionIndex: p,
                committedOffset: 10 + p,
                committedLeaderEpoch: -1,
                commitTimestamp: -1,
                committedMetadata: null,
              })),
            },
          ],
        });
        const errors = res.topics[0]?.partitions.map((p) => p.errorCode) ?? [];
        // A coordinator still loading may refuse for a moment; an error that lasts (the bug was a
        // lasting UNKNOWN_TOPIC_OR_PARTITION) ends the wait with the errors in its message.
        assert.ok(!errors.includes(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), `${errors}`);
        return errors.every((e) => e === 0) ? errors : undefined;
      });
      assert.deepEqual(committed, [0, 0, 0]);
      const deleted = await client.request<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, {
        groupId: group,
        topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p })) }],
      });
      assert.equal(deleted.errorCode, 0);
      assert.deepEqual(
        deleted.topics[0]?.partitions.map((p) => p.errorCode),
        [0, 0, 0],
      );
    } finally {
      await client.close();
    }
  });
});

describe('a consumer group loses its coordinator', () => {
  it('the group finds the new coordinator, keeps its committed offsets, rebalances, skips nothing', {
    timeout: 150_000,
  }, async (t) => {
    await until('three brokers in the metadata', async () =>
      (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
    );
    await cluster.createTopic(TOPIC, PARTITIONS, 3);
    for (let p = 0; p < PARTITIONS; p++) {
      await cluster.ledPartition(TOPIC, p);
      const lines = Array.from({ length: PER_PARTITION }, (_, i) => `p${p}-${i}`).join('\n');
      await kcatProduce(cluster.bootstrap, TOPIC, lines, {
        partition: p,
        extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
      });
    }
    const seeded = await run(PYTHON, ['-u', SCRIPT, 'seed', cluster.bootstrap, TOPIC, GROUP, '6'], {
      timeoutMs: 30_000,
    });
    assert.deepEqual(pythonReport<{ errors: string[] }>(seeded).errors, [], 'offsets seeded');

    const coordinator = await until('a coordinator', () => findCoordinator(1));
    const offsetsTopicPartitions = (await cluster.metadata(1, '__consumer_offsets')).topics[0]
      ?.partitions;
    const groupPartition = offsetsPartitionOf(GROUP, offsetsTopicPartitions?.length ?? 0);
    assert.equal(
      offsetsTopicPartitions?.find((p) => p.partition === groupPartition)?.leader,
      coordinator,
      `the coordinator leads __consumer_offsets-${groupPartition}`,
    );

    const members = ['m1', 'm2', 'm3'].map((name) => new Member(name));
    // When things happened, in seconds from the kill, for the report of failed commits.
    const marks = { coordinator, killedAt: 0, m3Left: '', restarted: '' };
    const sinceKill = () => (Date.now() / 1000 - marks.killedAt).toFixed(1);
    const everything = () =>
      `${members.map((m) => m.describe()).join('\n')}\n${[...cluster.brokers.values()].map((b) => b.describe()).join('\n')}`;
    try {
      await until(
        'three members sharing the six partitions, each committing',
        () => {
          const assigned = members.flatMap((m) => m.assigned).sort();
          const committing = members.every((m) => m.commitsAfter(0).length > 0);
          return assigned.length === PARTITIONS && committing ? true : undefined;
        },
        40_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });

      // Every commit acknowledged before the kill must be there afterwards.
      const ackedBefore = Array<number>(PARTITIONS).fill(0);
      for (const m of members) {
        for (const e of m.commitsAfter(0)) {
          for (const [p, o] of Object.entries(e.offsets ?? {})) {
            ackedBefore[Number(p)] = Math.max(ackedBefore[Number(p)] ?? 0, o);
          }
        }
      }
      const killedAt = Date.now() / 1000;
      marks.killedAt = killedAt;
      await cluster.broker(coordinator).kill();
      const survivor = [1, 2, 3].find((id) => id !== coordinator) as number;
      const newCoordinator = await until(
        'a new coordinator',
        async () => {
          const id = await findCoordinator(survivor);
          return id !== undefined && id !== coordinator ? id : undefined;
        },
        20_000,
      );
      assert.notEqual(newCoordinator, coordinator);
      t.diagnostic(`coordinator ${coordinator} killed; ${newCoordinator} took over`);
      await until(
        'every member committing to the new coordinator',
        () => (members.every((m) => m.commitsAfter(killedAt).length > 0) ? true : undefined),
        30_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });
      const afterKill = await committedOffsets();
      for (let p = 0; p < PARTITIONS; p++) {
        assert.ok(
          (afterKill[p] ?? -1) >= (ackedBefore[p] ?? 0),
          `partition ${p}: committed ${afterKill[p]} after the kill, ${ackedBefore[p]} acknowledged before\n${everything()}`,
        );
      }

      // A member leaves: the other two take over its partitions from its committed offsets.
      const [m1, m2, m3] = members as [Member, Member, Member];
      await writeFile(join(control, 'stop-m3'), '');
      const m3Done = await m3.child.done;
      assert.equal(m3Done.code, 0, `m3 left cleanly\n${m3.describe()}`);
      marks.m3Left = sinceKill();
      await until(
        'the two remaining members sharing all six partitions',
        () => {
          const assigned = [...m1.assigned, ...m2.assigned].sort();
          return assigned.length === PARTITIONS ? true : undefined;
        },
        30_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });

      // The killed broker comes back; the group reads to the end.
      await cluster.broker(coordinator).restart({ samePort: true });
      marks.restarted = sinceKill();
      await writeFile(join(control, 'fast'), '');
      await until(
        'every partition committed to its end',
        async () => {
          const offsets = await committedOffsets();
          return offsets.every((o) => o === PER_PARTITION) ? true : undefined;
        },
        60_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });
    } finally {
      await writeFile(join(control, 'stop-all'), '');
    }
    const reports = await Promise.all(
      members.map(async (m) => {
        const r = await m.child.done;
        assert.equal(r.code, 0, m.describe());
        return m.events.find((e) => e.ev === 'report');
      }),
    );
    const commitErrors = members.flatMap((m) => m.events.filter((e) => e.ev === 'commit-error'));
    t.diagnostic(
      `${commitErrors.length} failed commits (seconds from the kill; m3 left at ${marks.m3Left}, ` +
        `broker ${marks.coordinator} back at ${marks.restarted}): ${commitErrors
          .slice(0, 5)
          .map((e) => `${e.name} at ${(e.t - marks.killedAt).toFixed(1)}: ${e.error}`)
          .join('; ')}`,
    );
    for (let p = 0; p < PARTITIONS; p++) {
      const read = new Set(reports.flatMap((r) => r?.processed?.[String(p)] ?? []));
      const skipped = Array.from({ length: PER_PARTITION }, (_, i) => i).filter(
        (o) => !read.has(o),
      );
      assert.deepEqual(skipped.slice(0, 20), [], `partition ${p}: offsets no member read`);
    }
  });
});

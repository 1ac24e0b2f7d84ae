/**
 * Rebalances under churn, simulated on a manual clock: up to ten clients that behave like the
 * classic consumer protocol (MEMBER_ID_REQUIRED, the leader assigns, heartbeats, rejoin on
 * REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION, reset on UNKNOWN_MEMBER_ID) join, leave and crash
 * at random for a simulated minute. Once churn stops the group must settle: Stable, its members
 * exactly the live clients, all on the group's generation, every partition owned exactly once,
 * and no request left hanging.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { defaultGroupConfig } from './config.ts';
import { GroupCoordinator } from './coordinator.ts';
import type { GroupLog } from './group-log.ts';

const E = ErrorCode;
const PARTITIONS = 12;
const SESSION = 6000;
const REBALANCE = 10_000;
const HEARTBEAT = 1000;

/** Accepts every append at once (the log itself is tested elsewhere). */
const nullLog: GroupLog = {
  partitionCount: 1,
  append: async () => E.NONE,
  startOffset: () => 0,
  endOffset: () => 0,
  read: async () => [],
};

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type ClientState = 'joining' | 'syncing' | 'stable' | 'crashed' | 'left';

class SimClient {
  readonly name: string;
  readonly #c: GroupCoordinator;
  readonly #clock: ManualClock;
  memberId = '';
  generation = -1;
  state: ClientState = 'joining';
  assignment: number[] = [];
  #lastHeartbeat = 0;
  inFlight = 0;

  constructor(name: string, c: GroupCoordinator, clock: ManualClock) {
    this.name = name;
    this.#c = c;
    this.#clock = clock;
  }

  get live(): boolean {
    return this.state !== 'crashed' && this.state !== 'left';
  }

  join(): void {
    if (!this.live) return;
    this.state = 'joining';
    this.assignment = [];
    this.inFlight++;
    void this.#c
      .joinGroup({
        groupId: 'g',
        memberId: this.memberId,
        groupInstanceId: null,
        requireKnownMemberId: true,
        supportSkippingAssignment: false,
        clientId: this.name,
        clientHost: '/sim',
        rebalanceTimeoutMs: REBALANCE,
        sessionTimeoutMs: SESSION,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
        reason: null,
      })
      .then((r) => {
        this.inFlight--;
        if (!this.live) return;
        if (r.errorCode === E.MEMBER_ID_REQUIRED) {
          this.memberId = r.memberId;
          this.join();
        } else if (r.errorCode === E.NONE) {
          this.memberId = r.memberId;
          this.generation = r.generationId;
          this.#sync(r.leaderId === r.memberId ? r.members.map((m) => m.memberId) : null);
        } else {
          if (r.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
          this.join();
        }
      });
  }

  #sync(members: string[] | null): void {
    this.state = 'syncing';
    const assignments = (members ?? []).sort().map((memberId, i, all) => ({
      memberId,
      assignment: Buffer.from(
        JSON.stringify(
          Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % all.length === i),
        ),
      ),
    }));
    this.inFlight++;
    void this.#c
      .syncGroup({
        groupId: 'g',
        generationId: this.generation,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments,
      })
      .then((r) => {
        this.inFlight--;
        if (!this.live) return;
        if (r.errorCode === E.NONE) {
          this.state = 'stable';
          this.assignment = r.assignment.length === 0 ? [] : JSON.parse(r.assignment.toString());
          this.#lastHeartbeat = this.#clock.monotonicMs();
        } else {
          if (r.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
          this.join();
        }
      });
  }

  tick(): void {
    if (this.state !== 'stable') return;
    const now = this.#clock.monotonicMs();
    if (now - this.#lastHeartbeat < HEARTBEAT) return;
    this.#lastHeartbeat = now;
    const e = this.#c.heartbeat('g', this.memberId, null, this.generation);
    if (e === E.NONE) return;
    if (e === E.UNKNOWN_MEMBER_ID) this.memberId = '';
    this.join();
  }

  leave(): void {
    this.state = 'left';
    if (this.memberId !== '') {
      this.#c.leaveGroup('g', [{ memberId: this.memberId, groupInstanceId: null, reason: null }]);
    }
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

async function runChurn(seed: number): Promise<void> {
  const clock = new ManualClock();
  const c = new GroupCoordinator({
    log: nullLog,
    clock,
    config: { ...defaultGroupConfig, initialRebalanceDelayMs: 500 },
  });
  await c.start();
  const random = prng(seed);
  const clients: SimClient[] = [];
  let n = 0;
  const step = async (churn: boolean) => {
    if (churn) {
      const live = clients.filter((x) => x.live);
      const roll = random();
      if (roll < 0.04 && live.length < 10) {
        const client = new SimClient(`c${n++}`, c, clock);
        clients.push(client);
        client.join();
      } else if (roll < 0.06 && live.length > 0) {
        live[Math.floor(random() * live.length)]?.leave();
      } else if (roll < 0.07 && live.length > 0) {
        const victim = live[Math.floor(random() * live.length)];
        if (victim !== undefined) victim.state = 'crashed';
      }
    }
    for (const x of clients) x.tick();
    clock.advance(100);
    await settle();
  };
  for (let i = 0; i < 3; i++) {
    const client = new SimClient(`c${n++}`, c, clock);
    clients.push(client);
    client.join();
  }
  for (let t = 0; t < 60_000; t += 100) await step(true);
  // Always end with live members, then let the group settle.
  const extra = new SimClient(`c${n++}`, c, clock);
  clients.push(extra);
  extra.join();
  for (let t = 0; t < 60_000; t += 100) await step(false);

  const live = clients.filter((x) => x.live);
  const g = c.group('g');
  const ctx = JSON.stringify({
    seed,
    state: g?.state,
    gen: g?.generationId,
    members: [...(g?.members.keys() ?? [])],
    live: live.map((x) => [x.name, x.memberId, x.state, x.generation, x.assignment]),
  });
  assert.equal(g?.state, 'Stable', ctx);
  assert.deepEqual([...(g?.members.keys() ?? [])].sort(), live.map((x) => x.memberId).sort(), ctx);
  for (const x of live) {
    assert.equal(x.state, 'stable', ctx);
    assert.equal(x.generation, g?.generationId, ctx);
  }
  const owned = live.flatMap((x) => x.assignment).sort((a, b) => a - b);
  assert.deepEqual(
    owned,
    Array.from({ length: PARTITIONS }, (_, p) => p),
    ctx,
  );
  // Clients that crashed may still have a request parked; live ones may not.
  assert.deepEqual(
    live.filter((x) => x.inFlight > 0).map((x) => x.name),
    [],
    ctx,
  );
  c.shutdown();
}

describe('group coordinator under churn', () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    it(`ends stable with every partition owned once (seed ${seed})`, async () => {
      await runChurn(seed);
    });
  }
});

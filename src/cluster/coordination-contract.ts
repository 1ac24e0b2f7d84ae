/**
 * The contract of `Coordination` (src/cluster/coordination.ts), as cases that run unchanged
 * against the ZooKeeper client on a real server (test/zookeeper-contract.test.ts) and against the
 * in-memory implementation (src/cluster/memory-coordination.test.ts), so the two cannot drift
 * from ZooKeeper or from each other. Each case gets a context rooted in a fresh chroot.
 * Test code, kept beside the interface it pins down; nothing but tests imports it.
 */
import assert from 'node:assert/strict';
import { systemClock } from '../common/clock.ts';
import {
  type Coordination,
  CoordinationError,
  type CoordinationErrorCode,
  type WatchEvent,
} from './coordination.ts';

export interface ContractContext {
  /** A new session in this case's chroot. */
  connect(sessionTimeoutMs?: number): Promise<Coordination>;
  /** A new session in another, fresh chroot. */
  connectElsewhere(): Promise<Coordination>;
  /** A new session without a chroot, and this case's chroot as a server path ("/test-7"). */
  connectRoot(): Promise<Coordination>;
  readonly chroot: string;
  /** Makes the server expire the session, as after its owner went silent for the timeout. */
  expire(session: Coordination): Promise<void>;
  /**
   * Takes the session's connection away for `ms` (no frame reaches the server, nothing is closed),
   * after which the client reconnects by itself: a network cut, a paused process.
   */
  cutOff(session: Coordination, ms: number): void;
}

export interface ContractCase {
  readonly name: string;
  run(context: ContractContext): Promise<void>;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

export async function rejectsWith(
  promise: Promise<unknown>,
  code: CoordinationErrorCode,
  opIndex?: number,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CoordinationError, `not a CoordinationError: ${error}`);
    assert.equal(error.code, code, error.message);
    if (opIndex !== undefined) assert.equal(error.opIndex, opIndex, 'failing op index');
    return true;
  });
}

/** A watcher that records its events, and a promise of the first one (bounded in time). */
export function recorder(timeoutMs = 5_000): {
  readonly watcher: (event: WatchEvent) => void;
  readonly events: WatchEvent[];
  readonly first: Promise<WatchEvent>;
} {
  const events: WatchEvent[] = [];
  let resolve: (event: WatchEvent) => void = () => {};
  const first = new Promise<WatchEvent>((ok, fail) => {
    resolve = ok;
    systemClock.schedule(timeoutMs, () => fail(new Error(`no watch event within ${timeoutMs} ms`)));
  });
  // Only awaiting it reports a missing event: a recorder that is never awaited is no failure.
  first.catch(() => {});
  return {
    events,
    first,
    watcher: (event) => {
      events.push(event);
      resolve(event);
    },
  };
}

export function waitUntil(condition: () => boolean, timeoutMs: number, what: string) {
  return new Promise<void>((resolve, reject) => {
    const started = systemClock.monotonicMs();
    const poll = () => {
      if (condition()) return resolve();
      if (systemClock.monotonicMs() - started > timeoutMs) {
        return reject(new Error(`${what}: not within ${timeoutMs} ms`));
      }
      systemClock.schedule(10, poll);
    };
    poll();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => systemClock.schedule(ms, resolve));
}

const crud: ContractCase = {
  name: 'create, getData, setData and delete move versions as ZooKeeper does',
  async run(context) {
    const zk = await context.connect();
    assert.equal(zk.state, 'connected');
    assert.match(zk.sessionId, /^[0-9a-f]{16}$/);
    assert.equal(await zk.create('/a', bytes('one')), '/a');
    const created = await zk.getData('/a');
    assert.equal(created.data.toString(), 'one');
    assert.equal(created.stat.version, 0);
    assert.equal(created.stat.dataLength, 3);
    assert.equal(created.stat.ephemeralOwner, '0');
    const stat = await zk.setData('/a', bytes('two'), 0);
    assert.equal(stat.version, 1);
    assert.ok(stat.mzxid > created.stat.mzxid, 'mzxid moves with a data change');
    assert.equal(stat.czxid, created.stat.czxid);
    assert.equal((await zk.setData('/a', bytes('three'))).version, 2, '-1 is any version');
    await zk.create('/a/b', Buffer.alloc(0));
    const parent = await zk.exists('/a');
    assert.equal(parent?.numChildren, 1);
    assert.equal(parent?.cversion, 1);
    assert.deepEqual(await zk.getChildren('/a'), ['b']);
    await zk.delete('/a/b', 0);
    await zk.delete('/a', 2);
    assert.equal(await zk.exists('/a'), null);
    await zk.close();
    assert.equal(zk.state, 'closed');
  },
};

const errors: ContractCase = {
  name: 'NODEEXISTS, NONODE, BADVERSION, NOTEMPTY and NOCHILDRENFOREPHEMERALS',
  async run(context) {
    const zk = await context.connect();
    await zk.create('/p', bytes('x'));
    await rejectsWith(zk.create('/p', bytes('y')), 'NODEEXISTS');
    await rejectsWith(zk.create('/missing/child', bytes('y')), 'NONODE');
    await rejectsWith(zk.getData('/missing'), 'NONODE');
    await rejectsWith(zk.setData('/missing', bytes('y')), 'NONODE');
    await rejectsWith(zk.delete('/missing'), 'NONODE');
    await rejectsWith(zk.getChildren('/missing'), 'NONODE');
    await rejectsWith(zk.setData('/p', bytes('y'), 3), 'BADVERSION');
    await rejectsWith(zk.delete('/p', 1), 'BADVERSION');
    await zk.create('/p/c', bytes(''));
    await rejectsWith(zk.delete('/p'), 'NOTEMPTY');
    await zk.create('/e', bytes(''), 'ephemeral');
    await rejectsWith(zk.create('/e/c', bytes('')), 'NOCHILDRENFOREPHEMERALS');
    await rejectsWith(zk.create('relative', bytes('')), 'BADARGUMENTS');
    assert.equal((await zk.getData('/p')).data.toString(), 'x', 'failed writes changed nothing');
    await zk.close();
  },
};

const versionZero: ContractCase = {
  name: 'version 0 is a real version, alone and inside a multi (controller fencing)',
  async run(context) {
    const zk = await context.connect();
    await zk.create('/controller_epoch', bytes('1'));
    await zk.create('/state', bytes('old'));
    // Another controller moved the epoch on: the znode is at version 1 now.
    await zk.setData('/controller_epoch', bytes('2'), 0);
    await rejectsWith(zk.setData('/controller_epoch', bytes('3'), 0), 'BADVERSION');
    await rejectsWith(
      zk.multi([
        { type: 'check', path: '/controller_epoch', version: 0 },
        { type: 'setData', path: '/state', data: bytes('zombie') },
      ]),
      'BADVERSION',
      0,
    );
    await rejectsWith(
      zk.multi([
        { type: 'setData', path: '/state', data: bytes('zombie') },
        { type: 'setData', path: '/controller_epoch', data: bytes('9'), version: 0 },
      ]),
      'BADVERSION',
      1,
    );
    const state = await zk.getData('/state');
    assert.equal(state.data.toString(), 'old', 'a stale multi at version 0 applied nothing');
    assert.equal(state.stat.version, 0);
    assert.equal((await zk.getData('/controller_epoch')).data.toString(), '2');
    const results = await zk.multi([
      { type: 'check', path: '/controller_epoch', version: 1 },
      { type: 'setData', path: '/state', data: bytes('new'), version: 0 },
    ]);
    assert.equal(results[1]?.type === 'setData' && results[1].stat.version, 1);
    await zk.close();
  },
};

const multiAtomic: ContractCase = {
  name: 'a multi applies every op or none, and names the failing op',
  async run(context) {
    const zk = await context.connect();
    await zk.create('/m', bytes(''));
    const results = await zk.multi([
      { type: 'create', path: '/m/a', data: bytes('a') },
      { type: 'create', path: '/m/s-', data: bytes(''), mode: 'persistent_sequential' },
      { type: 'setData', path: '/m', data: bytes('m'), version: 0 },
      { type: 'check', path: '/m/a', version: 0 },
      { type: 'delete', path: '/m/a' },
    ]);
    assert.deepEqual(
      results.map((result) => result.type),
      ['create', 'create', 'setData', 'check', 'delete'],
    );
    assert.deepEqual(results[0], { type: 'create', path: '/m/a' });
    assert.deepEqual(results[1], { type: 'create', path: '/m/s-0000000001' });
    await rejectsWith(
      zk.multi([
        { type: 'create', path: '/m/b', data: bytes('b') },
        { type: 'setData', path: '/m', data: bytes('x') },
        { type: 'delete', path: '/m/missing' },
        { type: 'create', path: '/m/c', data: bytes('c') },
      ]),
      'NONODE',
      2,
    );
    assert.deepEqual((await zk.getChildren('/m')).sort(), ['s-0000000001']);
    const m = await zk.getData('/m');
    assert.equal(m.data.toString(), 'm');
    assert.equal(m.stat.version, 1);
    await rejectsWith(
      zk.multi([
        { type: 'create', path: '/m/d', data: bytes('') },
        { type: 'create', path: '/m/d', data: bytes('') },
      ]),
      'NODEEXISTS',
      1,
    );
    assert.equal(await zk.exists('/m/d'), null);
    assert.deepEqual(await zk.multi([]), []);
    await zk.close();
  },
};

const sequential: ContractCase = {
  name: 'sequential znodes are numbered from the parent in ten digits',
  async run(context) {
    const zk = await context.connect();
    await zk.create('/q', bytes(''));
    assert.equal(await zk.create('/q/n-', bytes(''), 'persistent_sequential'), '/q/n-0000000000');
    assert.equal(await zk.create('/q/n-', bytes(''), 'ephemeral_sequential'), '/q/n-0000000001');
    await zk.create('/q/plain', bytes(''));
    await zk.delete('/q/plain');
    // The number counts the creations under the parent; a deletion moves cversion, not it
    // (as ZooKeeper 3.8 does).
    assert.equal(await zk.create('/q/', bytes(''), 'persistent_sequential'), '/q/0000000003');
    assert.equal((await zk.exists('/q'))?.cversion, 5);
    const owner = await zk.exists('/q/n-0000000001');
    assert.equal(owner?.ephemeralOwner, zk.sessionId);
    await zk.close();
  },
};

const ephemeralOnClose: ContractCase = {
  name: "ephemeral znodes go when their session closes, and only that session's",
  async run(context) {
    const owner = await context.connect();
    const other = await context.connect();
    await owner.create('/brokers', bytes(''));
    await owner.create('/brokers/1', bytes('b1'), 'ephemeral');
    await other.create('/brokers/2', bytes('b2'), 'ephemeral');
    assert.equal((await other.exists('/brokers/1'))?.ephemeralOwner, owner.sessionId);
    const gone = recorder();
    assert.notEqual(await other.exists('/brokers/1', gone.watcher), null);
    await owner.close();
    assert.deepEqual(await gone.first, { type: 'deleted', path: '/brokers/1' });
    assert.deepEqual(await other.getChildren('/brokers'), ['2']);
    await rejectsWith(owner.getData('/brokers/2'), 'CLOSED');
    await other.close();
  },
};

const ephemeralOnExpiry: ContractCase = {
  name: 'an expired session loses its ephemeral znodes, reports expired and refuses calls',
  async run(context) {
    const owner = await context.connect(1_500);
    const other = await context.connect();
    await owner.create('/controller', bytes('{"brokerid":1}'), 'ephemeral');
    const states: string[] = [];
    owner.onStateChange((state) => states.push(state));
    const gone = recorder();
    await other.exists('/controller', gone.watcher);
    await context.expire(owner);
    assert.equal(owner.state, 'expired');
    assert.ok(states.includes('expired'), `states seen: ${states.join(',')}`);
    assert.deepEqual(await gone.first, { type: 'deleted', path: '/controller' });
    assert.equal(await other.exists('/controller'), null);
    await rejectsWith(owner.getData('/'), 'SESSIONEXPIRED');
    await rejectsWith(owner.create('/x', bytes('')), 'SESSIONEXPIRED');
    // The owner opens a new session and registers again.
    const again = await context.connect();
    await again.create('/controller', bytes('{"brokerid":1}'), 'ephemeral');
    await owner.close();
    await again.close();
    await other.close();
  },
};

const cutOffShort: ContractCase = {
  name: 'cut off for less than its timeout: the session, its ephemerals and watches stay',
  async run(context) {
    const zk = await context.connect(4_000);
    const other = await context.connect();
    await zk.create('/member', bytes('1'), 'ephemeral');
    await zk.create('/state', bytes('a'));
    const changed = recorder();
    await zk.getData('/state', changed.watcher);
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    context.cutOff(zk, 500);
    assert.equal(zk.state, 'disconnected');
    await other.setData('/state', bytes('b'));
    // Others see the member all along: a cut is no departure.
    assert.equal((await other.exists('/member'))?.ephemeralOwner, zk.sessionId);
    const whileAway = zk.getData('/member');
    assert.deepEqual(await changed.first, { type: 'dataChanged', path: '/state' });
    assert.equal((await whileAway).data.toString(), '1', 'a call made while away is served');
    assert.deepEqual(states, ['disconnected', 'connected']);
    assert.equal((await other.exists('/member'))?.ephemeralOwner, zk.sessionId);
    await zk.close();
    await other.close();
  },
};

const cutOffLong: ContractCase = {
  name: 'cut off past its timeout: the server expires it; the owner learns it on reconnecting',
  async run(context) {
    const zk = await context.connect(1_500);
    const other = await context.connect(1_500);
    await zk.create('/member', bytes('1'), 'ephemeral');
    const gone = recorder(8_000);
    await other.exists('/member', gone.watcher);
    const started = performance.now();
    context.cutOff(zk, 4_000);
    assert.deepEqual(await gone.first, { type: 'deleted', path: '/member' });
    const goneAfterMs = performance.now() - started;
    // Not before the timeout (a real server counts it from the last ping, up to a third earlier).
    assert.ok(goneAfterMs >= 900, `gone after ${goneAfterMs} ms`);
    assert.equal(zk.state, 'disconnected', 'the owner does not know yet');
    await waitUntil(() => zk.state === 'expired', 8_000, 'the owner learns it on reconnecting');
    await rejectsWith(zk.exists('/'), 'SESSIONEXPIRED');
    const again = await context.connect();
    await again.create('/member', bytes('1'), 'ephemeral');
    assert.equal(other.state, 'connected');
    await Promise.all([zk.close(), other.close(), again.close()]);
  },
};

const dataWatches: ContractCase = {
  name: 'a data watch fires once, for the first change or the deletion',
  async run(context) {
    const zk = await context.connect();
    const writer = await context.connect();
    await zk.create('/w', bytes('0'));
    const changed = recorder();
    await zk.getData('/w', changed.watcher);
    await writer.setData('/w', bytes('1'));
    await writer.setData('/w', bytes('2'));
    assert.deepEqual(await changed.first, { type: 'dataChanged', path: '/w' });
    const deleted = recorder();
    await zk.getData('/w', deleted.watcher);
    await writer.delete('/w');
    assert.deepEqual(await deleted.first, { type: 'deleted', path: '/w' });
    // A round trip after the changes: any second event would have arrived by now.
    await zk.exists('/w');
    assert.equal(changed.events.length, 1, 'one-shot');
    assert.equal(deleted.events.length, 1);
    await zk.close();
    await writer.close();
  },
};

const childAndExistWatches: ContractCase = {
  name: 'child watches fire on children changes, exists watches on creation',
  async run(context) {
    const zk = await context.connect();
    const writer = await context.connect();
    const created = recorder();
    assert.equal(await zk.exists('/ids', created.watcher), null);
    await writer.create('/ids', bytes(''));
    assert.deepEqual(await created.first, { type: 'created', path: '/ids' });
    const added = recorder();
    assert.deepEqual(await zk.getChildren('/ids', added.watcher), []);
    await writer.create('/ids/1', bytes(''), 'ephemeral');
    assert.deepEqual(await added.first, { type: 'childrenChanged', path: '/ids' });
    const removed = recorder();
    assert.deepEqual(await zk.getChildren('/ids', removed.watcher), ['1']);
    const childData = recorder();
    await zk.exists('/ids/1', childData.watcher);
    await writer.close();
    assert.deepEqual(await removed.first, { type: 'childrenChanged', path: '/ids' });
    assert.deepEqual(await childData.first, { type: 'deleted', path: '/ids/1' });
    const noChange = recorder();
    await zk.getChildren('/ids', noChange.watcher);
    const other = await context.connect();
    await other.setData('/ids', bytes('data, not children'));
    await zk.getData('/ids');
    assert.equal(noChange.events.length, 0, 'a data change does not fire a child watch');
    await other.close();
    await zk.close();
  },
};

const chroots: ContractCase = {
  name: 'a chroot prefixes every path and strips it from results and events',
  async run(context) {
    const zk = await context.connect();
    const elsewhere = await context.connectElsewhere();
    const root = await context.connectRoot();
    const event = recorder();
    await zk.exists('/iso', event.watcher);
    assert.equal(await zk.create('/iso', bytes('mine')), '/iso');
    assert.deepEqual(await event.first, { type: 'created', path: '/iso' });
    assert.equal(await elsewhere.exists('/iso'), null, 'another chroot does not see it');
    await elsewhere.create('/iso', bytes('theirs'));
    assert.equal((await zk.getData('/iso')).data.toString(), 'mine');
    const seen = await root.getData(`${context.chroot}/iso`);
    assert.equal(seen.data.toString(), 'mine');
    assert.ok((await zk.getChildren('/')).includes('iso'), 'the chroot is "/" inside');
    const [result] = await zk.multi([
      { type: 'create', path: '/iso/s-', data: bytes(''), mode: 'ephemeral_sequential' },
    ]);
    assert.deepEqual(result, { type: 'create', path: '/iso/s-0000000000' });
    const rootEvent = recorder();
    await root.getData(`${context.chroot}/iso`, rootEvent.watcher);
    await zk.setData('/iso', bytes('changed'));
    assert.deepEqual(await rootEvent.first, { type: 'dataChanged', path: `${context.chroot}/iso` });
    await Promise.all([zk.close(), elsewhere.close(), root.close()]);
  },
};

export const coordinationContract: readonly ContractCase[] = [
  crud,
  errors,
  versionZero,
  multiAtomic,
  sequential,
  ephemeralOnClose,
  ephemeralOnExpiry,
  cutOffShort,
  cutOffLong,
  dataWatches,
  childAndExistWatches,
  chroots,
];

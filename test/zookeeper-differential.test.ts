/**
 * Differential test: the same seeded random sequence of calls, from two sessions, on the
 * in-memory coordination and on a real ZooKeeper server; every answer (values, stats without
 * zxids and times, error codes and failing op indexes), every watch event and the final tree
 * must be the same.
 * What the contract suite's hand-written cases do not think of, this finds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type Coordination,
  CoordinationError,
  type CreateMode,
  type Op,
  type Stat,
  type WatchEvent,
  type Watcher,
} from '../src/cluster/coordination.ts';
import { MemoryZooKeeper } from '../src/cluster/memory-coordination.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { seededRandom } from '../src/testing/crash.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let server: ZooKeeperServer;

before(async () => {
  server = await ZooKeeperServer.start();
});

after(async () => {
  await server?.stop();
});

const PATHS = ['/a', '/a/b', '/a/c', '/a/b/x', '/d', '/d/e', '/d/e/f'];
const MODES: readonly CreateMode[] = [
  'persistent',
  'persistent',
  'ephemeral',
  'persistent_sequential',
  'ephemeral_sequential',
];
const STEPS = 400;
const VERSIONS = [-1, 0, 0, 1, 2];

type Call = (zk: Coordination, watch: Watcher) => Promise<unknown>;

interface Pair {
  readonly sessions: readonly [Coordination, Coordination];
  /** Every watch event either session saw: which session, the step that set it, the event. */
  readonly events: { session: number; step: number; event: WatchEvent }[];
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('empty choice');
  return item;
}

function randomOp(random: () => number): Op {
  const path = pick(random, PATHS);
  const data = Buffer.from('x'.repeat(Math.floor(random() * 4)));
  switch (Math.floor(random() * 4)) {
    case 0:
      return { type: 'create', path, data, mode: pick(random, MODES) };
    case 1:
      return { type: 'delete', path, version: pick(random, VERSIONS) };
    case 2:
      return { type: 'setData', path, data, version: pick(random, VERSIONS) };
    default:
      return { type: 'check', path, version: pick(random, VERSIONS) };
  }
}

/** One random call; the description names it in a failure message. */
/** One random call; the description names it in a failure message. */
function randomCall(random: () => number): { readonly what: string; readonly call: Call } {
  const path = pick(random, PATHS);
  const kind = Math.floor(random() * 7);
  const watched = random() < 0.4;
  const how = watched ? ' (watch)' : '';
  if (kind === 0) {
    const ops = Array.from({ length: 1 + Math.floor(random() * 4) }, () => randomOp(random));
    return { what: `multi ${JSON.stringify(ops)}`, call: (zk) => zk.multi(ops) };
  }
  const watcher = (watch: Watcher) => (watched ? watch : undefined);
  if (kind === 1) {
    return { what: `exists ${path}${how}`, call: (zk, watch) => zk.exists(path, watcher(watch)) };
  }
  if (kind === 2) {
    return { what: `getData ${path}${how}`, call: (zk, watch) => zk.getData(path, watcher(watch)) };
  }
  if (kind === 3) {
    return {
      what: `getChildren ${path}${how}`,
      call: async (zk, watch) => (await zk.getChildren(path, watcher(watch))).sort(),
    };
  }
  const op = randomOp(random);
  const what = JSON.stringify(op);
  if (op.type === 'create') return { what, call: (zk) => zk.create(op.path, op.data, op.mode) };
  if (op.type === 'delete') return { what, call: (zk) => zk.delete(op.path, op.version) };
  if (op.type === 'setData') {
    return { what, call: (zk) => zk.setData(op.path, op.data, op.version) };
  }
  return { what, call: (zk) => zk.exists(op.path) };
}

/** Comparable: no zxids or times, owners by session index, errors by code and op index. */
function normalize(value: unknown, owners: readonly string[]): unknown {
  if (value instanceof CoordinationError) return { error: value.code, opIndex: value.opIndex };
  if (value instanceof Error) return { unexpected: value.message };
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map((item) => normalize(item, owners));
  if (value === null || typeof value !== 'object') return value;
  if ('ephemeralOwner' in value) {
    const stat = value as Stat;
    return {
      version: stat.version,
      cversion: stat.cversion,
      dataLength: stat.dataLength,
      numChildren: stat.numChildren,
      owner: stat.ephemeralOwner === '0' ? 'none' : owners.indexOf(stat.ephemeralOwner),
    };
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, normalize(item, owners)]),
  );
}

async function outcome(call: Call, zk: Coordination, watch: Watcher, owners: readonly string[]) {
  try {
    return normalize(await call(zk, watch), owners);
  } catch (error) {
    return normalize(error, owners);
  }
}

/** Every znode under "/", with its data and stat, for comparing final trees. */
async function tree(zk: Coordination, path = '/'): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const child of (await zk.getChildren(path)).sort()) {
    const childPath = path === '/' ? `/${child}` : `${path}/${child}`;
    const { data, stat } = await zk.getData(childPath);
    result[childPath] = { data: data.toString(), ...(normalize(stat, []) as object) };
    Object.assign(result, await tree(zk, childPath));
  }
  return result;
}

async function openPairs(): Promise<[Pair, Pair]> {
  const memory = new MemoryZooKeeper();
  const connectString = await server.freshChroot();
  const options = { connectString, sessionTimeoutMs: 4_000, connectionTimeoutMs: 5_000 };
  // The real server's chroot is empty, as the memory tree's root is.
  const memoryOptions = { ...options, connectString: 'memory' };
  return [
    {
      sessions: [await memory.connect(memoryOptions), await memory.connect(memoryOptions)],
      events: [],
    },
    {
      sessions: [await ZooKeeperClient.connect(options), await ZooKeeperClient.connect(options)],
      events: [],
    },
  ];
}

test('random calls get the same answers from memory and from ZooKeeper', async (t) => {
  const [memory, real] = await openPairs();
  // Closed however the test ends, so that no client outlives it.
  t.after(() => Promise.all(real.sessions.map((session) => session.close())));
  const seed = Number(process.env['TRIBUTARY_SEED'] ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (TRIBUTARY_SEED=${seed} repeats this run)`);
  const random = seededRandom(seed);
  const owners = (pair: Pair) => pair.sessions.map((session) => session.sessionId);
  // Some seeds set few watches in STEPS calls: go on (up to four times as long) until the run
  // has compared enough watch events to mean something.
  const enough = (step: number) => step >= STEPS && (real.events.length >= 5 || step >= 4 * STEPS);
  for (let step = 0; !enough(step); step++) {
    const { what, call } = randomCall(random);
    const session = Math.floor(random() * 2) as 0 | 1;
    const watch = (pair: Pair) => (event: WatchEvent) => pair.events.push({ session, step, event });
    const where = `seed ${seed}, step ${step}: session ${session} ${what}`;
    const expected = await outcome(call, real.sessions[session], watch(real), owners(real));
    const actual = await outcome(call, memory.sessions[session], watch(memory), owners(memory));
    assert.deepEqual(actual, expected, where);
    // A round trip on each session: the events of this step have arrived by its answer.
    await Promise.all([...real.sessions, ...memory.sessions].map((zk) => zk.exists('/')));
    // Each session's events in its order (sessions are separate connections: no order between).
    for (const id of [0, 1]) {
      const of = (pair: Pair) => pair.events.filter((entry) => entry.session === id);
      assert.deepEqual(of(memory), of(real), `session ${id}'s watch events after ${where}`);
    }
  }
  await real.sessions[0].close();
  await memory.sessions[0].close();
  assert.deepEqual(await tree(memory.sessions[1]), await tree(real.sessions[1]), 'final trees');
  // The first session's ephemerals went with it: session 1 saw the same events of that.
  const ofSecond = (pair: Pair) => pair.events.filter((entry) => entry.session === 1);
  assert.deepEqual(ofSecond(memory), ofSecond(real), 'watch events after the close');
  t.diagnostic(`${real.events.length} watch events compared`);
  assert.ok(real.events.length >= 5, `only ${real.events.length} watch events`);
  await real.sessions[1].close();
  await memory.sessions[1].close();
});

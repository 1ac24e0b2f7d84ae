/**
 * `tributary groups` against a broker child process, with a real librdkafka group member
 * (kcat -G) to describe: members and their partitions, committed offsets and lag, delete.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import {
  BrokerProcess,
  ChildRun,
  describeRun,
  type RunOptions,
  run,
  sleep,
} from '../src/testing/broker-process.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

interface Described {
  state: string;
  members: { memberId: string; assignment: { topic: string; partitions: number[] }[] }[];
  offsets: { topic: string; partition: number; committed: number; logEnd: number; lag: number }[];
}

async function describeJson(b: string[], group: string): Promise<Described> {
  const r = await tributary(['groups', 'describe', group, '--json', ...b]);
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout.toString()) as Described;
}

describe('tributary groups', () => {
  let broker: BrokerProcess;
  let b: string[];

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    b = ['--bootstrap-server', broker.bootstrap];
    const lines = `${Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n')}\n`;
    const r = await tributary(['produce', 'grouped', ...b], { input: lines });
    assert.equal(r.code, 0, describeRun(r));
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('describe shows a live kcat member with its partition, then commits and lag', async () => {
    const member = new ChildRun(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-X',
        'auto.offset.reset=earliest',
        '-G',
        'watchers',
        'grouped',
        '-q',
      ],
      {
        timeoutMs: 60_000,
      },
    );
    try {
      let d: Described | undefined;
      for (let i = 0; i < 100; i++) {
        d = await describeJson(b, 'watchers');
        if (d.state === 'Stable' && d.members.length === 1) break;
        await sleep(100);
      }
      assert.equal(d?.state, 'Stable');
      assert.deepEqual(d?.members[0]?.assignment, [{ topic: 'grouped', partitions: [0] }]);
      const list = await tributary(['groups', 'list', ...b]);
      assert.match(list.stdout.toString(), /watchers\s+Stable\s+consumer/);
    } finally {
      // SIGTERM makes kcat leave the group and commit what it read.
      member.kill('SIGTERM');
    }
    let after = await describeJson(b, 'watchers');
    for (let i = 0; i < 50 && (after.members.length > 0 || after.offsets.length === 0); i++) {
      await sleep(100);
      after = await describeJson(b, 'watchers');
    }
    assert.equal(after.members.length, 0);
    const offsets = after.offsets.filter((o) => o.topic === 'grouped');
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.committed, o.logEnd, o.lag]),
      [[0, 20, 20, 0]],
    );
  });

  test('a group committed by consume --group shows its lag; delete removes it', async () => {
    const c = await tributary([
      'consume',
      'grouped',
      '--from-beginning',
      '--max-messages',
      '15',
      '--group',
      'readers',
      ...b,
    ]);
    assert.equal(c.code, 0, describeRun(c));
    const d = await describeJson(b, 'readers');
    assert.deepEqual(
      d.offsets.map((o) => [o.topic, o.partition, o.committed, o.lag]),
      [['grouped', 0, 15, 5]],
    );
    const del = await tributary(['groups', 'delete', 'readers', ...b]);
    assert.equal(del.code, 0, describeRun(del));
    const list = await tributary(['groups', 'list', '--json', ...b]);
    const groups = JSON.parse(list.stdout.toString()) as { groupId: string }[];
    assert.ok(!groups.some((g) => g.groupId === 'readers'), list.stdout.toString());
  });

  test('reset-offsets: earliest (kcat then reads from the start), offset, shift, datetime, dry run; refused while the group is active', {
    timeout: 120_000,
  }, async () => {
    const committedBy = (group: string) =>
      describeJson(b, group).then((d) =>
        d.offsets.filter((o) => o.topic === 'grouped').map((o) => o.committed),
      );
    const c = await tributary([
      'consume',
      'grouped',
      '--from-beginning',
      '--max-messages',
      '20',
      '--group',
      'resetters',
      ...b,
    ]);
    assert.equal(c.code, 0, describeRun(c));
    assert.deepEqual(await committedBy('resetters'), [20]);
    const reset = (...args: string[]) =>
      tributary(['groups', 'reset-offsets', 'resetters', '--topic', 'grouped', ...args, ...b]);
    const dry = await reset('--to-offset', '5', '--dry-run');
    assert.equal(dry.code, 0, describeRun(dry));
    assert.match(dry.stdout.toString(), /resetters\s+grouped\s+0\s+5/);
    assert.deepEqual(await committedBy('resetters'), [20], 'a dry run commits nothing');
    assert.equal((await reset('--to-offset', '5')).code, 0);
    assert.deepEqual(await committedBy('resetters'), [5]);
    assert.equal((await reset('--shift-by', '-2')).code, 0);
    assert.deepEqual(await committedBy('resetters'), [3]);
    assert.equal((await reset('--to-offset', '999')).code, 0);
    assert.deepEqual(await committedBy('resetters'), [20], 'kept within the log');
    assert.equal((await reset('--to-datetime', '2000-01-01T00:00:00Z')).code, 0);
    assert.deepEqual(await committedBy('resetters'), [0], 'every record is newer');
    assert.equal((await reset('--to-latest')).code, 0);
    assert.equal((await reset('--to-earliest')).code, 0);
    assert.deepEqual(await committedBy('resetters'), [0]);
    // A real group member resumes from the reset position: it reads all 20 records again.
    const again = await run(
      'kcat',
      ['-b', broker.bootstrap, '-G', 'resetters', 'grouped', '-e', '-q', '-f', '%s\n'],
      { timeoutMs: 60_000 },
    );
    assert.equal(again.stdout.toString().trim().split('\n').length, 20, describeRun(again));
    const missing = await tributary([
      'groups',
      'reset-offsets',
      'resetters',
      '--topic',
      'grouped:7',
      '--to-earliest',
      ...b,
    ]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.toString().trim().split('\n').length, 1, 'one line, no usage');
    assert.equal((await reset('--to-earliest', '--to-latest')).code, 2);
  });

  test('reset-offsets refuses a group with active members, as Kafka', {
    timeout: 60_000,
  }, async () => {
    const member = new ChildRun(
      'kcat',
      ['-b', broker.bootstrap, '-X', 'auto.offset.reset=earliest', '-G', 'busy', 'grouped', '-q'],
      { timeoutMs: 60_000 },
    );
    try {
      let d: Described | undefined;
      for (let i = 0; i < 100 && d?.state !== 'Stable'; i++) {
        await sleep(100);
        d = await describeJson(b, 'busy');
      }
      const r = await tributary([
        'groups',
        'reset-offsets',
        'busy',
        '--all-topics',
        '--to-earliest',
        ...b,
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr.toString(),
        /Assignments can only be reset if the group 'busy' is inactive, but the current state is Stable\./,
      );
    } finally {
      member.kill('SIGTERM');
    }
  });

  test('usage errors exit 2', async () => {
    assert.equal((await tributary(['groups', 'describe', ...b])).code, 2);
    assert.equal((await tributary(['groups', 'frobnicate', 'x', ...b])).code, 2);
  });
});

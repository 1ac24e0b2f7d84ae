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

  test('usage errors exit 2', async () => {
    assert.equal((await tributary(['groups', 'describe', ...b])).code, 2);
    assert.equal((await tributary(['groups', 'frobnicate', 'x', ...b])).code, 2);
  });
});

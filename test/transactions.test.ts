/**
 * Transactions with a real client (confluent-kafka, librdkafka, separate processes) against a
 * broker child process: committed and aborted transactions seen by read_committed and
 * read_uncommitted consumers (positions past the control records), fencing of a zombie producer,
 * the coordinator aborting a transaction open past its timeout (the last stable offset moves
 * on), and a consume-transform-produce loop killed with kill -9 again and again whose output
 * still holds every input record exactly once, in order.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, type ChildRun } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  requireConfluentKafka,
  requireKcat,
  runPython,
  spawnPython,
} from '../src/testing/clients.ts';
import { sleep, until } from '../src/testing/zk-cluster.ts';

const SCRIPT = 'txn_client.py';

interface Ev {
  readonly ev: string;
  readonly i?: number;
  readonly committed?: boolean;
  readonly p?: number;
  readonly o?: number;
  readonly v?: string;
  readonly n?: number;
  readonly error?: string;
  readonly fatal?: boolean;
  readonly positions?: Record<string, number>;
  readonly high?: Record<string, number>;
}

function events(stdout: Buffer | string | readonly string[]): Ev[] {
  const lines = Array.isArray(stdout) ? stdout : String(stdout).split('\n');
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
}

let broker: BrokerProcess;
let b: string;

before(async () => {
  requireKcat();
  requireConfluentKafka();
  broker = await BrokerProcess.start({
    overrides: {
      'num.partitions': '3',
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
      'group.initial.rebalance.delay.ms': '0',
      'group.min.session.timeout.ms': '1000',
    },
  });
  b = broker.bootstrap;
});

after(async () => {
  await broker?.cleanup();
});

async function read(topic: string, isolation: string, partitions: number) {
  const r = await runPython(SCRIPT, ['consume', b, topic, isolation, String(partitions), '3'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr.toString());
  const evs = events(r.stdout);
  const end = evs.find((e) => e.ev === 'end');
  assert.ok(end !== undefined, r.stdout.toString());
  return { records: evs.filter((e) => e.ev === 'record'), end };
}

describe('transactions with confluent-kafka', () => {
  it('read_committed sees committed records once and no aborted one; positions skip markers', {
    timeout: 120_000,
  }, async () => {
    const topic = 'txn-basic';
    const r = await runPython(SCRIPT, ['produce', b, topic, 'p-basic', '12', '9', '4', '3'], {
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const txns = events(r.stdout).filter((e) => e.ev === 'txn');
    assert.equal(txns.length, 12);
    const committed = new Set(txns.filter((t) => t.committed).map((t) => t.i));
    const expected = [...committed]
      .flatMap((i) => Array.from({ length: 9 }, (_, j) => `${i}:${j}`))
      .sort();
    const rc = await read(topic, 'read_committed', 3);
    assert.deepEqual(
      rc.records.map((e) => e.v).sort(),
      expected,
      'read_committed: committed only, once',
    );
    const ru = await read(topic, 'read_uncommitted', 3);
    assert.equal(ru.records.length, 12 * 9, 'read_uncommitted: every record');
    // Each partition holds its records and one marker per transaction: the consumers' positions
    // end at the log end, past the last marker, though no record is there.
    for (const p of ['0', '1', '2']) {
      assert.equal(rc.end.positions?.[p], rc.end.high?.[p], `read_committed position of ${p}`);
      assert.equal(ru.end.positions?.[p], ru.end.high?.[p], `read_uncommitted position of ${p}`);
    }
    for (let p = 0; p < 3; p++) {
      const offsets = rc.records.filter((e) => e.p === p).map((e) => e.o as number);
      assert.ok(
        offsets.every((o, k) => k === 0 || o > (offsets[k - 1] as number)),
        'in order',
      );
    }
  });

  it('a second producer with the same transactional.id fences the first', {
    timeout: 90_000,
  }, async () => {
    const topic = 'txn-fence';
    const r = await runPython(SCRIPT, ['fence', b, topic, 'p-fence'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const evs = events(r.stdout);
    const zombie = evs.find((e) => e.ev.startsWith('zombie-') && e.ev !== 'zombie-wrote');
    assert.equal(zombie?.ev, 'zombie-failed', r.stdout.toString());
    assert.match(zombie?.error ?? '', /FENCED|INVALID_PRODUCER_EPOCH/);
    const rc = await read(topic, 'read_committed', 3);
    assert.deepEqual(
      rc.records.map((e) => e.v),
      ['fresh'],
    );
  });

  it('the coordinator aborts a transaction open past its timeout; the LSO moves on', {
    timeout: 90_000,
  }, async () => {
    const topic = 'txn-timeout';
    const hang = spawnPython(SCRIPT, ['hang', b, topic, 'p-hang', '2000'], { timeoutMs: 80_000 });
    try {
      await until(
        'the hanging transaction wrote',
        () => (events(hang.lines).some((e) => e.ev === 'written') ? true : undefined),
        60_000,
      );
      // After it, a plain record; read_committed can reach it only once the LSO passed the
      // hanging transaction, which takes the coordinator's abort.
      await kcatProduce(b, topic, 'after\n', { partition: 0 });
      await until(
        'read_committed reaches the record after the timed-out transaction',
        async () => {
          const rc = await read(topic, 'read_committed', 3);
          return rc.records.some((e) => e.v === 'after') ? rc : undefined;
        },
        40_000,
      ).then((rc) => {
        assert.deepEqual(
          rc.records.map((e) => e.v),
          ['after'],
          'the hanging record was aborted',
        );
      });
    } finally {
      hang.kill();
    }
  });

  it('consume-transform-produce killed with kill -9 keeps exactly once', {
    timeout: 300_000,
  }, async (t) => {
    const input = 'ctp-in';
    const output = 'ctp-out';
    const total = 600;
    const lines: string[][] = [[], [], []];
    for (let i = 0; i < total; i++) lines[i % 3]?.push(`v${i}`);
    for (let p = 0; p < 3; p++) {
      await kcatProduce(b, input, `${lines[p]?.join('\n')}\n`, { partition: p });
    }
    const kills = 20;
    let runs = 0;
    const run = (): ChildRun =>
      spawnPython(SCRIPT, ['ctp', b, input, output, 'ctp-group', 'p-ctp', '4'], {
        timeoutMs: 120_000,
      });
    for (let k = 0; k < kills; k++) {
      const child = run();
      runs++;
      // Let it commit something (or not: some kills land before the first commit).
      await sleep(300 + Math.floor(Math.random() * 1500));
      child.kill('SIGKILL');
      await child.done;
    }
    const last = run();
    runs++;
    await until(
      'the loop went idle after reading everything',
      () => (events(last.lines).some((e) => e.ev === 'idle') ? true : undefined),
      180_000,
    );
    await last.done;
    const rc = await read(output, 'read_committed', 3);
    for (let p = 0; p < 3; p++) {
      const values = rc.records.filter((e) => e.p === p).map((e) => e.v);
      assert.deepEqual(values, lines[p], `partition ${p}: every input once, in order`);
    }
    t.diagnostic(`${runs} runs, ${kills} killed with SIGKILL`);
  });
});

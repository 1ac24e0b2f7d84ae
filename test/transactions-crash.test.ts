/**
 * Transactions through kill -9 of a single broker (a child process on its own data directory),
 * in each state of the transaction coordinator. The transactions are driven request by request
 * with the wire client (src/testing/txn-crash.ts), so the broker is killed at a known step:
 *
 * - Ongoing (records written, no EndTxn): after the restart the transaction is still open (the
 *   last stable offset holds) until the producer's InitProducerId aborts it, or its timeout does;
 *   the old producer is fenced.
 * - PrepareCommit / PrepareAbort with no marker written: the coordinator's markers go through the
 *   inter-broker listener, here behind a proxy that refuses them (MarkerGate `closed`), so the
 *   decision is durable but carried out nowhere. Killed there (twice), the broker restarts in the
 *   same state, refuses to reverse the decision, and completes it once the markers get through.
 * - PrepareCommit / PrepareAbort with the markers written but not acknowledged (MarkerGate
 *   `deaf`): after the restart the coordinator writes them again and completes; every record is
 *   seen once (or, aborted, never).
 * - Rounds of concurrent transactions killed at varied moments around EndTxn's answer: each ends
 *   as the coordinator's log had decided (an answered EndTxn is never lost), on all its
 *   partitions or none.
 *
 * After each step every partition is read with read_committed (Fetch isolation 1, filtering as
 * Kafka's consumer does) and must hold exactly the committed records, with the last stable
 * offset at the high watermark; at the end confluent-kafka's read_committed consumer must agree.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, errorName } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import { BrokerProcess, sleep } from '../src/testing/broker-process.ts';
import { requireConfluentKafka, runPython } from '../src/testing/clients.ts';
import {
  describeLoaded,
  describeTxn,
  MarkerGate,
  RawTxnProducer,
  readCommitted,
  stableOffsets,
  type TxnState,
} from '../src/testing/txn-crash.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { until } from '../src/testing/zk-cluster.ts';
import { takePorts } from '../src/testing/zookeeper.ts';

const TOPIC = 'txn-crash';
const PARTITIONS = 12;
const LONG_TIMEOUT_MS = 60_000;
/** When the rounds kill the broker: -1 as the first EndTxn is answered, else ms after sending. */
const KILL_DELAYS_MS = [-1, 0, 2, -1, 10, 1, 40, -1];
const SEED = Number(process.env['TRIBUTARY_TXN_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

let broker: BrokerProcess;
let gate: MarkerGate;
let clientPort: number;
let client: WireClient;
/** Values of committed and aborted transactions, as `id/partition/n`. */
const committed: string[] = [];
const aborted: string[] = [];

before(async () => {
  requireConfluentKafka();
  const [cp, rp] = await takePorts(2);
  if (cp === undefined || rp === undefined) throw new Error('no ports');
  clientPort = cp;
  gate = await MarkerGate.start(rp);
  broker = await BrokerProcess.start({
    overrides: {
      listeners: `PLAINTEXT://127.0.0.1:${cp},REPLICATION://127.0.0.1:${rp}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${cp},REPLICATION://127.0.0.1:${gate.port}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT',
      // The coordinator writes its markers to this broker through the gate.
      'inter.broker.listener.name': 'REPLICATION',
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': '200',
      'transaction.state.log.num.partitions': '8',
    },
  });
  client = await WireClient.connect('127.0.0.1', clientPort, 'txn-crash');
  const created = await client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [
      {
        name: TOPIC,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
});

after(async () => {
  await client?.close();
  await broker?.cleanup();
  await gate?.close();
});

/**
 * kill -9, restart on the same ports and directory (`whileDown` runs in between), reconnect; the
 * producers get the new client.
 */
async function crash(producers: readonly RawTxnProducer[], whileDown?: () => void) {
  await broker.kill();
  whileDown?.();
  await client.close();
  await broker.restart({ samePort: true });
  client = await WireClient.connect('127.0.0.1', clientPort, 'txn-crash');
  for (const p of producers) p.client = client;
}

/** `n` values per partition for one transaction of `id`. */
function batches(id: string, partitions: readonly number[], n = 3): Map<number, string[]> {
  return new Map(
    partitions.map((p) => [p, Array.from({ length: n }, (_, j) => `${id}/${p}/${j}`)]),
  );
}

function flat(b: ReadonlyMap<number, readonly string[]>): string[] {
  return [...b.values()].flat();
}

function partitionOf(value: string): number {
  return Number(value.split('/')[1]);
}

/** A producer of a new transactional id, initialised. */
async function newProducer(id: string, timeoutMs = LONG_TIMEOUT_MS): Promise<RawTxnProducer> {
  const p = new RawTxnProducer(client, id, timeoutMs);
  await p.init();
  return p;
}

/** The coordinator's state of `id` once loaded; fails on an error code. */
async function stateOf(id: string): Promise<TxnState> {
  const s = await describeLoaded(client, id);
  assert.equal(
    s.errorCode,
    ErrorCode.NONE,
    `DescribeTransactions ${id}: ${errorName(s.errorCode)}`,
  );
  return s;
}

/** Waits until the coordinator shows `id` in `state`. */
function untilState(id: string, state: string, timeoutMs = 15_000): Promise<TxnState> {
  return until(
    `${id} in ${state}`,
    async () => {
      const s = await describeTxn(client, id);
      return s.state === state ? s : undefined;
    },
    timeoutMs,
  );
}

/**
 * Every partition read with read_committed holds exactly the committed values, each once (and
 * no aborted one), and its last stable offset is its high watermark (ListOffsets and Fetch).
 */
async function checkAll(): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const read = await readCommitted(client, TOPIC, p);
    const expected = committed.filter((v) => partitionOf(v) === p).sort();
    assert.deepEqual([...read.values].sort(), expected, `partition ${p}: the committed records`);
    assert.equal(read.lastStableOffset, read.highWatermark, `partition ${p}: LSO at the HW`);
    const offsets = await stableOffsets(client, TOPIC, p);
    assert.equal(offsets.lastStableOffset, offsets.highWatermark, `partition ${p}: ListOffsets`);
  }
}

/** The last stable offset of `partition` is held below its high watermark (a transaction open). */
async function assertHeld(partition: number, hidden: readonly string[]): Promise<void> {
  const offsets = await stableOffsets(client, TOPIC, partition);
  assert.ok(
    offsets.lastStableOffset < offsets.highWatermark,
    `partition ${partition}: LSO ${offsets.lastStableOffset} below HW ${offsets.highWatermark}`,
  );
  const read = await readCommitted(client, TOPIC, partition);
  for (const v of hidden) assert.ok(!read.values.includes(v), `${v} not visible yet`);
}

function isFenced(code: number): boolean {
  return code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH;
}

describe('transactions through kill -9 of the broker', { timeout: 120_000 }, () => {
  it('killed while Ongoing: still open after the restart; the producer re-init aborts it', async () => {
    const id = 'ongoing-reinit';
    const p = await newProducer(id);
    const first = batches(`${id}.1`, [0, 1]);
    await p.write(TOPIC, first);
    assert.equal(await p.end(true), ErrorCode.NONE);
    committed.push(...flat(first));
    const open = batches(`${id}.2`, [0, 1]);
    await p.write(TOPIC, open);
    assert.equal((await stateOf(id)).state, 'Ongoing');

    await crash([p]);
    const loaded = await stateOf(id);
    assert.equal(loaded.state, 'Ongoing', 'the open transaction survives the restart');
    assert.deepEqual(loaded.partitions, [`${TOPIC}-0`, `${TOPIC}-1`]);
    // The partitions rebuilt the open transaction from their logs: the LSO holds.
    await assertHeld(0, flat(open));
    await assertHeld(1, flat(open));

    const fresh = new RawTxnProducer(client, id, LONG_TIMEOUT_MS);
    assert.equal(
      await fresh.initOnce(),
      ErrorCode.CONCURRENT_TRANSACTIONS,
      'the first InitProducerId aborts the open transaction and asks for a retry',
    );
    await fresh.init();
    assert.equal(fresh.producerId, p.producerId);
    assert.ok(fresh.producerEpoch > p.producerEpoch + 1, 'the abort and the re-init bumped');
    aborted.push(...flat(open));
    assert.equal((await stateOf(id)).state, 'Empty');
    await checkAll();

    // The producer from before the crash is fenced.
    assert.ok(isFenced(await p.endOnce(true)), 'the old producer cannot commit');
    const zombie = await p.produce(TOPIC, 0, [`${id}.zombie/0/0`]);
    assert.ok(isFenced(zombie.errorCode), `zombie produce: ${errorName(zombie.errorCode)}`);
    await checkAll();
  });

  it('killed while Ongoing: the coordinator aborts it after the restart once it times out', async () => {
    const id = 'ongoing-timeout';
    const p = await newProducer(id, 4000);
    const open = batches(id, [2, 3]);
    await p.write(TOPIC, open);
    await crash([p]);
    const loaded = await stateOf(id);
    assert.equal(loaded.state, 'Ongoing');
    await assertHeld(2, flat(open));
    const done = await untilState(id, 'CompleteAbort');
    assert.equal(done.producerEpoch, p.producerEpoch + 1, 'the timeout abort fenced the producer');
    aborted.push(...flat(open));
    await checkAll();
    assert.ok(isFenced(await p.endOnce(true)), 'the timed-out producer cannot commit');
  });

  for (const commit of [true, false]) {
    const decision = commit ? 'Commit' : 'Abort';
    it(`killed twice in Prepare${decision} before any marker: the ${decision.toLowerCase()} completes`, async () => {
      const id = `prepared-${decision.toLowerCase()}`;
      const parts = commit ? [4, 5] : [6, 7];
      const p = await newProducer(id);
      const txn = batches(id, parts);
      await p.write(TOPIC, txn);
      gate.set('closed');
      try {
        assert.equal(await p.endOnce(commit), ErrorCode.NONE, 'the decision is durable');
        await until('the coordinator tried to write the markers', () =>
          gate.attempts > 0 ? true : undefined,
        );
        assert.equal((await stateOf(id)).state, `Prepare${decision}`);
        await assertHeld(parts[0] as number, flat(txn));

        for (let kill = 1; kill <= 2; kill++) {
          await crash([p]);
          const s = await stateOf(id);
          assert.equal(s.state, `Prepare${decision}`, `after kill ${kill}`);
          assert.deepEqual(
            s.partitions,
            parts.map((x) => `${TOPIC}-${x}`),
          );
          await assertHeld(parts[1] as number, flat(txn));
          // The decision stands: while its markers are pending (Kafka's pendingState, set again
          // on load) EndTxn either way and a new producer's InitProducerId are asked to wait.
          assert.equal(await p.endOnce(!commit), ErrorCode.CONCURRENT_TRANSACTIONS);
          assert.equal(await p.endOnce(commit), ErrorCode.CONCURRENT_TRANSACTIONS);
          const other = new RawTxnProducer(client, id, LONG_TIMEOUT_MS);
          assert.equal(await other.initOnce(), ErrorCode.CONCURRENT_TRANSACTIONS);
          assert.equal((await stateOf(id)).state, `Prepare${decision}`, 'nothing changed it');
        }
      } finally {
        gate.set('open');
      }
      await untilState(id, `Complete${decision}`);
      (commit ? committed : aborted).push(...flat(txn));
      await checkAll();
      // The same producer goes on across the restarts (its epoch and sequences were recovered).
      const next = batches(`${id}.next`, parts);
      await p.write(TOPIC, next);
      assert.equal(await p.end(true), ErrorCode.NONE);
      committed.push(...flat(next));
      await untilState(id, 'CompleteCommit');
      await checkAll();
    });
  }

  for (const commit of [true, false]) {
    const decision = commit ? 'Commit' : 'Abort';
    it(`killed in Prepare${decision} with the markers written, unacknowledged: written once more, seen once`, async () => {
      const id = `deaf-${decision.toLowerCase()}`;
      const parts = commit ? [8, 9] : [10, 11];
      const p = await newProducer(id);
      const txn = batches(id, parts);
      await p.write(TOPIC, txn);
      const markersBefore = await Promise.all(
        parts.map(async (x) => (await readCommitted(client, TOPIC, x)).markers),
      );
      gate.set('deaf');
      try {
        assert.equal(await p.endOnce(commit), ErrorCode.NONE);
        // The markers land on both partitions; the coordinator never hears of it.
        for (const [i, x] of parts.entries()) {
          await until(`the marker on ${TOPIC}-${x}`, async () => {
            const read = await readCommitted(client, TOPIC, x);
            return read.markers > (markersBefore[i] as number) &&
              read.lastStableOffset === read.highWatermark
              ? read
              : undefined;
          });
        }
        assert.equal((await stateOf(id)).state, `Prepare${decision}`);
        // Killed while deaf; the markers get through once it is up again.
        await crash([p], () => gate.set('open'));
      } finally {
        gate.set('open');
      }
      const s = await stateOf(id);
      assert.ok(
        s.state === `Prepare${decision}` || s.state === `Complete${decision}`,
        `after the restart: ${s.state}`,
      );
      await untilState(id, `Complete${decision}`);
      (commit ? committed : aborted).push(...flat(txn));
      await checkAll();
    });
  }

  it('rounds of concurrent transactions killed around EndTxn end as the coordinator decided', async (t) => {
    const rounds = KILL_DELAYS_MS.length;
    let rnd = SEED;
    const random = () => {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      return rnd / 2 ** 31;
    };
    const seen = new Map<string, number>();
    t.diagnostic(`seed ${SEED} (TRIBUTARY_TXN_CRASH_SEED repeats it)`);
    for (let r = 0; r < rounds; r++) {
      const producers: { p: RawTxnProducer; commit: boolean; txn: Map<number, string[]> }[] = [];
      for (let k = 0; k < 3; k++) {
        const id = `round-${r}-${k}`;
        const a = Math.floor(random() * PARTITIONS);
        const b = (a + 1 + Math.floor(random() * (PARTITIONS - 1))) % PARTITIONS;
        const p = await newProducer(id);
        const txn = batches(id, [a, b]);
        await p.write(TOPIC, txn);
        producers.push({ p, commit: k !== 1, txn });
      }
      // Kill when the first EndTxn is answered (-1), or that long after all were sent.
      const delayMs = KILL_DELAYS_MS[r % KILL_DELAYS_MS.length] as number;
      const answers = producers.map(() => -1);
      const ends = producers.map(({ p, commit }, i) =>
        p.endOnce(commit).then(
          (code) => {
            answers[i] = code;
          },
          () => undefined,
        ),
      );
      if (delayMs < 0) await Promise.race(ends);
      else await sleep(delayMs);
      await crash(producers.map((x) => x.p));
      await Promise.all(ends);

      for (const [i, { p, commit, txn }] of producers.entries()) {
        const id = p.transactionalId;
        const s = await stateOf(id);
        seen.set(s.state, (seen.get(s.state) ?? 0) + 1);
        let decided: boolean;
        if (s.state === 'Ongoing') {
          decided = false;
          await new RawTxnProducer(client, id, LONG_TIMEOUT_MS).init();
          await untilState(id, 'Empty');
        } else {
          assert.match(s.state, /^(Prepare|Complete)(Commit|Abort)$/, `${id}: ${s.state}`);
          decided = s.state.endsWith('Commit');
          await untilState(id, decided ? 'CompleteCommit' : 'CompleteAbort');
        }
        if (answers[i] === ErrorCode.NONE) {
          assert.equal(decided, commit, `${id}: its answered EndTxn is what the coordinator kept`);
        } else {
          assert.ok(!decided || commit, `${id}: an abort asked for never commits`);
        }
        (decided ? committed : aborted).push(...flat(txn));
      }
      await checkAll();
    }
    t.diagnostic(`states after the restarts: ${JSON.stringify(Object.fromEntries(seen))}`);
  });

  it('confluent-kafka read_committed sees every committed record once and no aborted one', async () => {
    const r = await runPython(
      'txn_client.py',
      ['consume', broker.bootstrap, TOPIC, 'read_committed', String(PARTITIONS), '3'],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = String(r.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as {
            ev: string;
            v?: string;
            positions?: Record<string, number>;
            high?: Record<string, number>;
          },
      );
    const values = lines.filter((e) => e.ev === 'record').map((e) => e.v as string);
    assert.deepEqual(values.sort(), [...committed].sort());
    assert.ok(aborted.length > 0 && committed.length > 0);
    const end = lines.find((e) => e.ev === 'end');
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(end?.positions?.[p], end?.high?.[p], `partition ${p}: position at the end`);
    }
  });
});

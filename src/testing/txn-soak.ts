/**
 * The transaction soak: confluent-kafka writers run Jepsen's list-append as transactions
 * (test/fixtures/clients/txn_client.py workload) against a broker child process that is killed
 * with kill -9 and restarted on the same port at random moments; afterwards every partition is
 * read with read_committed and the history checked (txn-checker.ts). Used by
 * test/txn-soak.test.ts for a short run and by bench/txn-soak.ts for long ones.
 */
import { BrokerProcess } from './broker-process.ts';
import { runPython, spawnPython } from './clients.ts';
import { checkTransactions, type TxnCheckResult, type TxnHistoryEntry } from './txn-checker.ts';
import { ZkCluster } from './zk-cluster.ts';
import { ZooKeeperServer } from './zookeeper.ts';

/** Where the soak runs: one broker, or a cluster on a real ZooKeeper. */
interface Target {
  readonly bootstrap: string;
  /** kill -9 one broker (in a cluster, a random one) and start it again. */
  crash(): Promise<string>;
  stop(): Promise<void>;
}

const TXN_OVERRIDES = {
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
};

async function singleNode(partitions: number): Promise<Target> {
  const broker = await BrokerProcess.start({
    overrides: { ...TXN_OVERRIDES, 'num.partitions': String(partitions) },
  });
  return {
    bootstrap: broker.bootstrap,
    async crash() {
      await broker.kill();
      await broker.restart({ samePort: true });
      return 'the broker';
    },
    stop: () => broker.cleanup(),
  };
}

async function cluster(size: number, partitions: number): Promise<Target> {
  const zookeeper = await ZooKeeperServer.start();
  const c = await ZkCluster.start(zookeeper, size, {
    ...TXN_OVERRIDES,
    'num.partitions': String(partitions),
    'min.insync.replicas': '2',
    'transaction.state.log.replication.factor': String(size),
    'transaction.state.log.min.isr': '2',
    'transaction.state.log.num.partitions': '4',
  });
  const bootstrap = c.bootstrap;
  return {
    bootstrap,
    async crash() {
      const ids = c.runningIds;
      const id = ids[Math.floor(Math.random() * ids.length)] as number;
      await c.broker(id).kill();
      await c.broker(id).restart({ samePort: true });
      return `broker ${id}`;
    },
    async stop() {
      await c.stop();
      await zookeeper.stop();
    },
  };
}

export interface TxnSoakOptions {
  readonly seconds: number;
  readonly writers: number;
  readonly partitions: number;
  /** Broker kills over the run (evenly spread, with jitter). */
  readonly kills: number;
  readonly seed: number;
  /** Brokers of a ZooKeeper cluster (RF = size, min.insync.replicas 2); 0 for a single node. */
  readonly cluster?: number;
  readonly log?: (message: string) => void;
}

export interface TxnSoakReport extends TxnCheckResult {
  readonly kills: number;
  readonly records: number;
}

interface WriterEvent {
  readonly ev: string;
  readonly n?: number;
  readonly values?: [number, string][];
  readonly outcome?: 'commit' | 'abort' | 'unknown';
}

export async function runTxnSoak(opts: TxnSoakOptions): Promise<TxnSoakReport> {
  const log = opts.log ?? (() => undefined);
  const topic = 'soak';
  const target =
    (opts.cluster ?? 0) > 0
      ? await cluster(opts.cluster as number, opts.partitions)
      : await singleNode(opts.partitions);
  try {
    const writers = Array.from({ length: opts.writers }, (_, w) =>
      spawnPython(
        'txn_client.py',
        [
          'workload',
          target.bootstrap,
          topic,
          String(opts.partitions),
          `w${w}`,
          String(opts.seconds),
          String(opts.seed + w),
        ],
        { timeoutMs: (opts.seconds + 120) * 1000 },
      ),
    );
    let kills = 0;
    const every = (opts.seconds * 1000) / (opts.kills + 1);
    for (let k = 0; k < opts.kills; k++) {
      await new Promise((r) => setTimeout(r, every * (0.5 + Math.random())));
      const which = await target.crash();
      kills++;
      log(`kill ${kills}: ${which} killed with SIGKILL and restarted`);
    }
    await Promise.all(writers.map((w) => w.done));
    const history: TxnHistoryEntry[] = [];
    writers.forEach((w, i) => {
      for (const line of w.lines) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as WriterEvent;
        if (e.ev !== 'txn' || e.values === undefined || e.outcome === undefined) continue;
        history.push({ id: `w${i}.${e.n}`, values: e.values, outcome: e.outcome });
      }
    });
    const read = await runPython(
      'txn_client.py',
      ['consume', target.bootstrap, topic, 'read_committed', String(opts.partitions), '5'],
      { timeoutMs: 300_000 },
    );
    const records = String(read.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{"ev": "record"'))
      .map((l) => JSON.parse(l) as { p: number; o: number; v: string })
      .map((r) => ({ partition: r.p, offset: r.o, value: r.v }));
    return { ...checkTransactions(history, records), kills, records: records.length };
  } finally {
    await target.stop();
  }
}

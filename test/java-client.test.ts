/**
 * The official Java client (kafka-clients 3.9 and 4.x, from Maven Central) against the broker as
 * a child process. One JVM per version runs test/java/src/ClientCheck.java, which reports each
 * check: AdminClient (cluster, topics, configs, list offsets, DeleteRecords, groups), an
 * idempotent acks=all producer with every codec read back in order, and consumer groups with the
 * eager and cooperative-sticky assignors and with static membership, and a transactional producer
 * (commit, abort, sendOffsetsToTransaction) read with read_committed. Beside it, in a second JVM,
 * test/java/src/StreamsCheck.java runs a Kafka Streams word count through a repartition topic and
 * a changelog-backed store: at-least-once with Streams 3.9, exactly_once_v2 with Streams 4.x.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import {
  assertCheck,
  type CheckRun,
  javaSource,
  KAFKA_3,
  KAFKA_4,
  parseChecks,
  runJava,
} from '../src/testing/reference-clients.ts';

const CHECKS = [
  'admin describe cluster',
  'admin create topics',
  'admin describe topics',
  'admin describe and alter configs',
  'produce idempotent acks=all none',
  'produce idempotent acks=all gzip',
  'produce idempotent acks=all snappy',
  'produce idempotent acks=all lz4',
  'produce idempotent acks=all zstd',
  'consume every codec back, in order per partition',
  'admin list offsets (earliest, latest, max timestamp, by time)',
  'admin delete records',
  'produce group topic',
  'group eager (range)',
  'group cooperative-sticky',
  'group static membership',
  'admin list and describe groups',
  'transactions: commit, abort, offsets in the transaction, read_committed',
  'admin delete group and topics',
];

const STREAMS_CHECKS = [
  'streams word count',
  'streams internal topics: repartition and compacted changelog',
];

describe('Java client (kafka-clients)', () => {
  let broker: BrokerProcess;

  before(async () => {
    // No initial rebalance delay: each group check joins a fresh group, and Kafka's default 3 s
    // wait for more members would only slow the run.
    broker = await BrokerProcess.start({
      overrides: { 'group.initial.rebalance.delay.ms': '0' },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  for (const version of [KAFKA_3, KAFKA_4]) {
    describe(`kafka-clients ${version}`, () => {
      let checks: CheckRun | undefined;
      let streamsChecks: CheckRun | undefined;

      // The two programs run side by side: each JVM spends most of its time starting and waiting.
      before(async () => {
        const prefix = `java${version.replaceAll('.', '')}-${process.pid}`;
        const stateDir = await mkdtemp(join(tmpdir(), 'tributary-streams-'));
        try {
          const [client, streams] = await Promise.all([
            runJava(version, javaSource('ClientCheck.java'), [broker.bootstrap, prefix]),
            // Kafka Streams 4.x runs exactly-once (transactions), 3.9 at-least-once: both
            // guarantees are exercised in every run.
            runJava(version, javaSource('StreamsCheck.java'), [
              broker.bootstrap,
              `${prefix}-streams`,
              stateDir,
              version === KAFKA_4 ? 'exactly_once_v2' : 'at_least_once',
            ]),
          ]);
          checks = parseChecks(client);
          streamsChecks = parseChecks(streams);
        } finally {
          await rm(stateDir, { recursive: true, force: true });
        }
      });

      for (const name of CHECKS) {
        test(name, () => assertCheck(checks, name, broker.describe()));
      }
      for (const name of STREAMS_CHECKS) {
        test(`Kafka Streams: ${name}`, () => assertCheck(streamsChecks, name, broker.describe()));
      }
    });
  }
});

/**
 * The official Java client (kafka-clients 3.9 and 4.x, from Maven Central) against the broker as
 * a child process. One JVM per version runs test/java/src/ClientCheck.java, which reports each
 * check: AdminClient (cluster, topics, configs, list offsets, DeleteRecords, groups), an
 * idempotent acks=all producer with every codec read back in order, and consumer groups with the
 * eager and cooperative-sticky assignors and with static membership.
 */
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
  'admin delete group and topics',
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

      before(async () => {
        const prefix = `java${version.replaceAll('.', '')}-${process.pid}`;
        const r = await runJava(version, javaSource('ClientCheck.java'), [
          broker.bootstrap,
          prefix,
        ]);
        checks = parseChecks(r);
      });

      for (const name of CHECKS) {
        test(name, () => assertCheck(checks, name, broker.describe()));
      }
    });
  }
});

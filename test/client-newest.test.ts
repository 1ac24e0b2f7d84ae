/**
 * The newest non-Java clients against the broker as a child process: franz-go (kgo and kadm,
 * built from test/go) and the current PyPI releases of confluent-kafka (librdkafka 2.x) and
 * kafka-python (3.x) from .venv-test/. Each runs the same list of checks as one process: topic
 * and config admin, an idempotent acks=all producer with every codec, a consumer group reading
 * everything back and committing, group and offset admin, DeleteRecords, topic deletion.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, run } from '../src/testing/broker-process.ts';
import {
  assertCheck,
  buildFranzCheck,
  type CheckRun,
  parseChecks,
  pypiCheckScript,
  venvPython,
} from '../src/testing/reference-clients.ts';

const CODEC_CHECKS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].map(
  (codec) => `produce idempotent acks=all ${codec}`,
);

const FRANZ_CHECKS = [
  'create topic',
  'list and describe topic',
  'alter and describe topic config',
  ...CODEC_CHECKS,
  'consume in a group and commit',
  'list groups, committed offsets equal end offsets',
  'delete records, start offset moves',
  'delete topic',
];

const PYPI_CHECKS = [
  'create topic',
  'describe topic',
  'alter and describe config',
  ...CODEC_CHECKS,
  'consume in a group and commit',
  'list groups, committed offsets equal end offsets',
  'delete records, start offset moves',
  'delete topic',
];

describe('newest clients: franz-go and current PyPI clients', () => {
  let broker: BrokerProcess;
  let scratch: string;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { 'group.initial.rebalance.delay.ms': '0' },
    });
    scratch = await mkdtemp(join(tmpdir(), 'tributary-newest-'));
  });

  after(async () => {
    await broker?.cleanup();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  describe('franz-go (kgo, kadm)', () => {
    let checks: CheckRun | undefined;
    before(async () => {
      const binary = await buildFranzCheck(scratch);
      const r = await run(binary, [broker.bootstrap, `franz-${process.pid}`], {
        timeoutMs: 90_000,
      });
      checks = parseChecks(r);
    });
    for (const name of FRANZ_CHECKS) {
      test(name, () => assertCheck(checks, name, broker.describe()));
    }
  });

  for (const client of ['confluent', 'kafka-python']) {
    describe(`${client} (PyPI, current)`, () => {
      let checks: CheckRun | undefined;
      before(async () => {
        const args = [
          '-u',
          pypiCheckScript(),
          client,
          broker.bootstrap,
          `${client}-${process.pid}`,
        ];
        const r = await run(venvPython(), args, { timeoutMs: 90_000 });
        checks = parseChecks(r);
      });
      for (const name of PYPI_CHECKS) {
        test(name, () => assertCheck(checks, name, broker.describe()));
      }
    });
  }
});

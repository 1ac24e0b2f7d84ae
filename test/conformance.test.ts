/**
 * Kafka conformance details that client libraries rely on, each driven the way a real client
 * sends it: current confluent-kafka (librdkafka 2.x, .venv-test/) where it can express the
 * request, the project's wire client for the fields no client library exposes.
 *
 * - ListOffsets MAX_TIMESTAMP (-3): the offset of the record with the largest timestamp, not the
 *   last offset of its batch (Kafka 3.8+, KAFKA-16310), uncompressed and compressed, and after a
 *   restart (the indexes rebuilt from the log).
 * - A compacted topic refuses a batch holding keyless records with INVALID_RECORD and
 *   record_errors per keyless record (Kafka 2.4+), appending nothing of it.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { fixture, pythonReport, topicName } from '../src/testing/clients.ts';
import { venvPython } from '../src/testing/reference-clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

interface Delivery {
  readonly offset?: number;
  readonly error?: string;
  readonly message?: string;
}

interface ProduceReport {
  readonly outcomes: readonly (Delivery | null)[];
  readonly undelivered: number;
}

function conformance(args: readonly string[]) {
  return run(venvPython(), ['-u', fixture('conformance_check.py'), ...args], {
    timeoutMs: 60_000,
  });
}

describe('Kafka conformance details', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('ListOffsets MAX_TIMESTAMP answers the max-timestamp record, also after a restart', async () => {
    const base = Date.now() - 60_000;
    const topics = ['none', 'gzip', 'zstd'].map((codec) => ({ codec, name: topicName('maxts') }));
    for (const t of topics) {
      const r = await conformance(['maxts-produce', broker.bootstrap, t.name, t.codec, `${base}`]);
      const rep = pythonReport<ProduceReport>(r);
      const offsets = rep.outcomes.map((o) => o?.offset);
      assert.deepEqual(offsets, [0, 1, 2], `${t.codec}: ${JSON.stringify(rep)}\n${describeRun(r)}`);
    }
    const query = async (when: string) => {
      for (const t of topics) {
        const r = await conformance(['maxts-query', broker.bootstrap, t.name]);
        const rep = pythonReport<{ offset: number; timestamp: number }>(r);
        const ctx = `${when}, ${t.codec}: ${describeRun(r)}\n${broker.describe()}`;
        assert.deepEqual(rep, { offset: 1, timestamp: base + 400 }, ctx);
      }
    };
    await query('before the restart');
    await broker.restart();
    await query('after the restart');
  });

  test('a compacted topic refuses keyless records: INVALID_RECORD, nothing appended', async () => {
    const topic = topicName('keyless');
    const r = await conformance(['keyless', broker.bootstrap, topic]);
    const rep = pythonReport<{
      keyless: ProduceReport;
      endAfterKeyless: number;
      keyed: ProduceReport;
      endAfterKeyed: number;
    }>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}`;
    // librdkafka reads record_errors: the keyless records (1 and 3) fail with INVALID_RECORD,
    // the keyed ones as casualties of the same batch.
    const other = '_INVALID_DIFFERENT_RECORD';
    assert.deepEqual(
      rep.keyless.outcomes.map((o) => o?.error),
      [other, 'INVALID_RECORD', other, 'INVALID_RECORD'],
      ctx,
    );
    assert.equal(rep.endAfterKeyless, 0, ctx);
    assert.deepEqual(
      rep.keyed.outcomes.map((o) => o?.offset),
      [0, 1],
      ctx,
    );
    assert.equal(rep.endAfterKeyed, 2, ctx);

    // record_errors (Produce v8+): no client library exposes them; the wire client reads them.
    const client = await WireClient.connect('127.0.0.1', broker.port);
    try {
      const batch = buildRecordBatchSync({
        baseOffset: 0,
        records: [null, Buffer.from('k'), null].map((key, i) => ({
          key,
          value: Buffer.from(`v${i}`),
          headers: [],
          timestamp: Date.now(),
          offsetDelta: i,
        })),
      });
      for (const version of [7, 9]) {
        const res = await client.request<ProduceResponse>(ApiKey.Produce, version, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
        });
        const p = res.responses[0]?.partitionResponses[0];
        assert.equal(p?.errorCode, ErrorCode.INVALID_RECORD, `v${version}`);
        const why = `Compacted topic cannot accept message without key in topic partition ${topic}-0.`;
        const errors =
          version >= 8
            ? [0, 2].map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: why }))
            : [];
        assert.deepEqual(p.recordErrors, errors, `v${version}`);
        if (version >= 8) {
          assert.equal(
            p.errorMessage,
            `One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=0, message='${why}'), RecordError(batchIndex=2, message='${why}')]`,
          );
        }
      }
    } finally {
      await client.close();
    }
  });
});

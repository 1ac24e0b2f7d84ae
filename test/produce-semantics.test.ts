import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { WireClient } from '../src/testing/wire-client.ts';

test('acks=all needs min.insync.replicas in-sync replicas: NOT_ENOUGH_REPLICAS on one node', async () => {
  const broker = await startBroker();
  try {
    await broker.createTopic('strict', { partitions: 1, configs: { 'min.insync.replicas': '2' } });
    await broker.createTopic('relaxed', { partitions: 1 });
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const produce = async (topic: string, acks: number) => {
      const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 1000,
        topicData: [
          {
            name: topic,
            partitionData: [
              {
                index: 0,
                records: buildRecordBatchSync({
                  records: [{ key: null, value: Buffer.from('v') }],
                }),
              },
            ],
          },
        ],
      });
      return res.responses[0]?.partitionResponses[0]?.errorCode;
    };
    assert.equal(await produce('strict', -1), ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(await produce('strict', 1), 0, 'acks=1 does not wait for the ISR');
    assert.equal(await produce('relaxed', -1), 0);
    assert.equal((await broker.records('strict')).length, 1);
    await c.close();
  } finally {
    await broker.stop();
  }
});

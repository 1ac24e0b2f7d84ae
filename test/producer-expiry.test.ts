import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';

test('idle idempotent producers expire after producer.id.expiration.ms (virtual time)', async () => {
  const broker = await startBroker({
    clock: 'virtual',
    config: { 'producer.id.expiration.ms': 60_000 },
  });
  try {
    await broker.createTopic('idem', { partitions: 1 });
    const partitions = broker.broker.context.partitions;
    const state = partitions.get('idem', 0);
    assert.ok(state !== undefined);
    const batch = buildRecordBatchSync({
      producerId: 42,
      producerEpoch: 0,
      baseSequence: 0,
      now: broker.broker.context.clock.nowMs(),
      records: [{ key: null, value: Buffer.from('x') }],
    });
    const first = await state.appendAsLeader(batch, 1);
    assert.equal(first.errorCode, 0);
    assert.equal(state.log.producers.size, 1);
    await broker.advance(30_000);
    assert.equal(state.log.producers.size, 1, 'not idle long enough yet');
    // Checked every min(10 minutes, the expiration): by 120 s it has been idle for more than 60 s.
    await broker.advance(91_000);
    assert.equal(state.log.producers.size, 0, 'forgotten after the expiration');
  } finally {
    await broker.stop();
  }
});

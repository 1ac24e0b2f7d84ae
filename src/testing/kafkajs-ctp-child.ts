/**
 * A child process for test/transactions-kafkajs.test.ts: a kafkajs consume-transform-produce
 * loop. A group consumer reads the input topic (read_committed) and, for each batch of one
 * partition, a transactional producer writes the records to the same partition of the output
 * topic and commits the group's position with sendOffsets in the same transaction. Killed with
 * kill -9 and started again, the output must still hold every input record once. Kept in
 * src/testing/ because everything under test/ runs as a test.
 *
 *   node kafkajs-ctp-child.js '{"bootstrap":"127.0.0.1:9092","input":"in","output":"out",
 *     "group":"g","transactionalId":"ctp","idleMs":3000}'
 *
 * Prints {"ev":"assigned"} once it has partitions, {"ev":"committed","n":N} per transaction and
 * {"ev":"idle"} after idleMs without input, then exits.
 */
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

interface Config {
  readonly bootstrap: string;
  readonly input: string;
  readonly output: string;
  readonly group: string;
  readonly transactionalId: string;
  readonly idleMs: number;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(cfg: Config): Promise<void> {
  const kafka = new Kafka({
    clientId: 'kafkajs-ctp',
    brokers: cfg.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  // A fixed transactional id: the new incarnation fences the killed one and aborts what it left
  // open (InitProducerId), as a restarted service would.
  const producer = kafka.producer({
    transactionalId: cfg.transactionalId,
    maxInFlightRequests: 1,
    idempotent: true,
    transactionTimeout: 10_000,
  });
  await producer.connect();
  const consumer = kafka.consumer({
    groupId: cfg.group,
    readUncommitted: false,
    // The killed incarnation's member must expire quickly for the new one to get the partitions
    // (the broker allows 1 s: group.min.session.timeout.ms in the test).
    sessionTimeout: 2000,
    rebalanceTimeout: 4000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
    // Small batches: many transactions, so that a kill lands in the middle of the work.
    maxBytesPerPartition: 256,
  });
  await consumer.connect();
  let last = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    last = Date.now();
    emit({ ev: 'assigned' });
  });
  await consumer.subscribe({ topic: cfg.input, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const txn = await producer.transaction();
      try {
        await txn.send({
          topic: cfg.output,
          messages: batch.messages.map((m) => ({ value: m.value, partition: batch.partition })),
        });
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        await txn.sendOffsets({
          consumerGroupId: cfg.group,
          topics: [
            { topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] },
          ],
        });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
      for (const m of batch.messages) resolveOffset(m.offset);
      await heartbeat();
      last = Date.now();
      emit({ ev: 'committed', n: batch.messages.length });
    },
  });
  while (last === 0 || Date.now() - last < cfg.idleMs) {
    await new Promise((r) => setTimeout(r, 100));
  }
  emit({ ev: 'idle' });
  await consumer.disconnect();
  await producer.disconnect();
}

main(JSON.parse(process.argv[2] ?? '{}') as Config).catch((err: unknown) => {
  emit({ ev: 'error', error: String(err) });
  process.exitCode = 1;
});

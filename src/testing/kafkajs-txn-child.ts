/**
 * A child process for test/transactions-kafkajs.test.ts: a kafkajs transactional producer
 * (idempotent, one request in flight) runs transactions of records, committing some and aborting
 * others, and in each transaction also commits a consumer group's offset with sendOffsets
 * (TxnOffsetCommit), so the test can check that only committed transactions' offsets count.
 * Kept in src/testing/ because everything under test/ runs as a test.
 *
 *   node kafkajs-txn-child.js '{"bootstrap":"127.0.0.1:9092","topic":"t","transactionalId":"x",
 *     "transactions":6,"perTransaction":5,"abortEvery":3,"group":"g"}'
 *
 * Prints one JSON line per transaction ({"ev":"txn","i","committed","offset"}) and {"ev":"done"}.
 */
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

interface Config {
  readonly bootstrap: string;
  readonly topic: string;
  readonly transactionalId: string;
  readonly transactions: number;
  readonly perTransaction: number;
  readonly abortEvery: number;
  readonly group: string;
}

async function main(cfg: Config): Promise<void> {
  const kafka = new Kafka({
    clientId: 'kafkajs-txn',
    brokers: cfg.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
  const producer = kafka.producer({
    transactionalId: cfg.transactionalId,
    maxInFlightRequests: 1,
    idempotent: true,
    transactionTimeout: 60_000,
  });
  await producer.connect();
  try {
    for (let i = 0; i < cfg.transactions; i++) {
      const txn = await producer.transaction();
      await txn.send({
        topic: cfg.topic,
        messages: Array.from({ length: cfg.perTransaction }, (_, j) => ({
          value: `${i}:${j}`,
          partition: 0,
        })),
      });
      // The group "consumed" up to (i + 1) * 10 in this transaction.
      const offset = String((i + 1) * 10);
      await txn.sendOffsets({
        consumerGroupId: cfg.group,
        topics: [{ topic: cfg.topic, partitions: [{ partition: 0, offset }] }],
      });
      const abort = cfg.abortEvery > 0 && i % cfg.abortEvery === cfg.abortEvery - 1;
      if (abort) await txn.abort();
      else await txn.commit();
      process.stdout.write(
        `${JSON.stringify({ ev: 'txn', i, committed: !abort, offset: Number(offset) })}\n`,
      );
    }
    process.stdout.write(`${JSON.stringify({ ev: 'done' })}\n`);
  } finally {
    await producer.disconnect();
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as Config).catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ ev: 'error', error: String(err) })}\n`);
  process.exitCode = 1;
});

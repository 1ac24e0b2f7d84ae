/**
 * A child process for test/cluster-clients.test.ts: kafkajs or @platformatic/kafka produces and
 * consumes through a leader change, as test/fixtures/cluster/failover_client.py does for the
 * Python clients. Run as a child so that a client's loop (a retry storm, a busy wait) can only
 * stall this process, never the test runner's event loop (a hang among them once starved
 * node:test's own timeouts). Kept in src/testing/ because Node 20's runner takes every .js file
 * under a test/ folder of build/ for a test file.
 *
 *   node cluster-js-client.js '{"client":"kafkajs","bootstrap":"127.0.0.1:9092,...","topic":"t","stopFile":"/tmp/x"}'
 *
 * Produces record i (value "i") to partition 0 of the topic, acks=all with an idempotent
 * producer, in batches of 10, while a group consumer reads the topic from the beginning; prints
 * "acked N" after each acknowledged batch. A send that fails is counted as failed and the
 * producer is replaced (after a failed send, whether it was written is unknown: only a new
 * producer id may send the next records, as the Java client bumps its epoch). Once the stop file
 * exists it stops producing, waits (up to 30 s) until the consumer has read every acknowledged
 * record, and prints one JSON line, the Outcome: {"acked", "consumed", "failed", "errors",
 * "readsOnce"}. A group member may read some records twice (a rebalance before a commit), so
 * readsOnce is false.
 */
import { existsSync } from 'node:fs';
import {
  MessagesStreamModes,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  ProduceAcks,
} from '@platformatic/kafka';
import './platformatic-shim.ts';
import kafkajs from 'kafkajs';

const { Kafka: KafkaJs, logLevel } = kafkajs;

interface Config {
  readonly client: 'kafkajs' | 'platformatic';
  readonly bootstrap: string;
  readonly topic: string;
  readonly stopFile: string;
}

interface Outcome {
  readonly acked: number[];
  readonly consumed: number[];
  readonly failed: number;
  readonly errors: string[];
  readonly readsOnce: boolean;
  /** @platformatic/kafka: how often the consumer was started again after its stream failed. */
  readonly consumerRestarts?: number;
}

/** One client library's producer and consumer, driven by `drive`. */
interface Client {
  /** Sends the records (value String(i)) to partition 0; throws when not acknowledged. */
  send(values: readonly number[]): Promise<void>;
  /** Drops the producer and makes a new one (a new producer id). */
  renewProducer(): Promise<void>;
  close(): Promise<void>;
  readonly consumerRestarts?: () => number;
}

const acked: number[] = [];
const consumed: number[] = [];
const errors: string[] = [];
let failed = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An error with the errors it aggregates (the JavaScript clients nest the broker's answers). */
function errorText(err: unknown, depth = 0): string {
  if (!(err instanceof Error)) return String(err);
  const fields = err as Error & { errors?: unknown[]; code?: unknown; apiCode?: unknown };
  let text = `${err.name}: ${err.message}`;
  if (fields.code !== undefined) text += ` [${String(fields.code)}]`;
  if (fields.apiCode !== undefined) text += ` [api ${String(fields.apiCode)}]`;
  if (depth < 3 && Array.isArray(fields.errors)) {
    const inner = new Set(fields.errors.map((e) => errorText(e, depth + 1)));
    text += ` (${[...inner].join(' | ')})`;
  }
  if (depth < 3 && err.cause !== undefined) text += ` (cause: ${errorText(err.cause, depth + 1)})`;
  return text;
}

/** Closing a client after a failure: the failure is what the test reports. */
async function quietly(close: () => unknown): Promise<void> {
  try {
    await close();
  } catch {}
}

function noteError(text: string): void {
  if (errors.length < 20) errors.push(text);
}

async function kafkajsClient(cfg: Config): Promise<Client> {
  const kafka = new KafkaJs({
    clientId: 'tributary-cluster-kafkajs',
    brokers: cfg.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const newProducer = () => kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let producer = newProducer();
  const consumer = kafka.consumer({
    groupId: `${cfg.topic}-group`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 100,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: cfg.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      consumed.push(Number(message.value?.toString()));
    },
  });
  return {
    send: async (values) => {
      await producer.send({
        topic: cfg.topic,
        acks: -1,
        messages: values.map((i) => ({ partition: 0, value: String(i) })),
      });
    },
    renewProducer: async () => {
      await quietly(() => producer.disconnect());
      producer = newProducer();
      await quietly(() => producer.connect());
    },
    close: async () => {
      await quietly(() => consumer.disconnect());
      await quietly(() => producer.disconnect());
    },
  };
}

async function platformaticClient(cfg: Config): Promise<Client> {
  const options = {
    clientId: 'tributary-cluster-platformatic',
    bootstrapBrokers: cfg.bootstrap.split(','),
    timeout: 10_000,
    retries: 20,
    retryDelay: 200,
  };
  const newProducer = () =>
    new PlatformaticProducer({ ...options, idempotent: true, acks: ProduceAcks.ALL });
  let producer = newProducer();
  // @platformatic/kafka 1.35.0's stream ends with an error when its fetches fail a few times
  // in a row (a leader that went away): the application starts a new consumer in the group,
  // which goes on from the beginning (nothing is committed), as a restarted service would.
  let consumer: PlatformaticConsumer | undefined;
  let restarts = 0;
  const startConsumer = async (): Promise<void> => {
    consumer = new PlatformaticConsumer({
      ...options,
      groupId: `${cfg.topic}-group`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTime: 100,
    });
    const mine = consumer;
    const stream = await consumer.consume({
      topics: [cfg.topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    stream.on('data', (m: { value: Buffer }) => consumed.push(Number(m.value.toString())));
    stream.on('error', (err: unknown) => {
      noteError(`consumer: ${errorText(err)}`);
      if (consumer !== mine) return;
      restarts += 1;
      void quietly(() => mine.close(true)).then(() =>
        startConsumer().catch((e: unknown) => noteError(`consumer start: ${errorText(e)}`)),
      );
    });
  };
  await startConsumer();
  return {
    send: async (values) => {
      await producer.send({
        messages: values.map((i) => ({
          topic: cfg.topic,
          partition: 0,
          value: Buffer.from(String(i)),
        })),
      });
    },
    renewProducer: async () => {
      await quietly(() => producer.close());
      producer = newProducer();
    },
    close: async () => {
      const last = consumer;
      consumer = undefined;
      if (last !== undefined) await quietly(() => last.close(true));
      await quietly(() => producer.close());
    },
    consumerRestarts: () => restarts,
  };
}

async function drive(cfg: Config, client: Client): Promise<Outcome> {
  let next = 0;
  while (!existsSync(cfg.stopFile)) {
    const batch = Array.from({ length: 10 }, (_, i) => next + i);
    next += batch.length;
    try {
      await client.send(batch);
      acked.push(...batch);
      process.stdout.write(`acked ${acked.length}\n`);
    } catch (err) {
      failed += batch.length;
      noteError(`producer: ${errorText(err)}`);
      await client.renewProducer();
      await sleep(100);
    }
    await sleep(5);
  }
  const deadline = performance.now() + 30_000;
  for (;;) {
    const read = new Set(consumed);
    if (acked.every((i) => read.has(i)) || performance.now() > deadline) break;
    await sleep(50);
  }
  const restarts = client.consumerRestarts?.();
  return {
    acked,
    consumed: [...consumed],
    failed,
    errors,
    readsOnce: false,
    ...(restarts === undefined ? {} : { consumerRestarts: restarts }),
  };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
  const client =
    cfg.client === 'kafkajs' ? await kafkajsClient(cfg) : await platformaticClient(cfg);
  const outcome = await drive(cfg, client);
  await client.close();
  process.stdout.write(`${JSON.stringify(outcome)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${errorText(err)}\n`);
  process.exit(1);
});

/**
 * A child process for test/security-clients.test.ts: kafkajs or @platformatic/kafka over one
 * secured connection per case (TLS with or without a client certificate, SASL PLAIN or SCRAM over
 * plaintext or TLS). Each case produces records to a topic of its own, reads them back in a
 * consumer group, commits and reads the committed offset; a case expected to fail reports the
 * error the client surfaced. Kept in src/testing/ because everything under test/ runs as a test.
 *
 *   node secure-client-child.js kafkajs|platformatic '[{"name":"ssl","bootstrap":"127.0.0.1:9093",
 *     "protocol":"SSL","ca":"/path/ca.pem","expect":"ok"}, ...]'
 *
 * Prints one JSON report line: {name: {consumed: [...], committed: n} | {error: "..."}}.
 */
import { readFileSync } from 'node:fs';
import { Consumer, MessagesStreamModes, ProduceAcks, Producer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';

export interface SecureCase {
  readonly name: string;
  readonly bootstrap: string;
  readonly protocol: 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  readonly mechanism?: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  readonly user?: string;
  readonly password?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly expect: 'ok' | 'fail';
}

export type CaseReport = { consumed: string[]; committed: number } | { error: string };

const RECORDS = 10;

function tlsOptions(c: SecureCase) {
  if (!c.protocol.endsWith('SSL')) return undefined;
  return {
    ...(c.ca === undefined ? {} : { ca: readFileSync(c.ca) }),
    ...(c.cert === undefined ? {} : { cert: readFileSync(c.cert) }),
    ...(c.key === undefined ? {} : { key: readFileSync(c.key) }),
  };
}

function saslCredentials(c: SecureCase) {
  if (c.mechanism === undefined) return undefined;
  return { mechanism: c.mechanism, username: c.user ?? '', password: c.password ?? '' };
}

async function kafkajsCase(c: SecureCase, topic: string): Promise<CaseReport> {
  const sasl = saslCredentials(c);
  const tls = tlsOptions(c);
  const kafka = new kafkajs.Kafka({
    brokers: [c.bootstrap],
    clientId: 'kafkajs-secure',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: c.expect === 'fail' ? 0 : 5, initialRetryTime: 100 },
    ...(tls === undefined ? {} : { ssl: tls }),
    ...(sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: sasl.mechanism.toLowerCase() as 'plain',
            username: sasl.username,
            password: sasl.password,
          },
        }),
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `v${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
  const group = `${topic}-group`;
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 200 });
  const consumed: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        consumed.push(message.value?.toString() ?? '');
        await consumer.commitOffsets([
          { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
        if (consumed.length >= RECORDS) resolveDone();
      },
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  } finally {
    await consumer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committed = Number(offsets[0]?.partitions[0]?.offset ?? -1);
    return { consumed, committed };
  } finally {
    await admin.disconnect();
  }
}

async function platformaticCase(c: SecureCase, topic: string): Promise<CaseReport> {
  const tls = tlsOptions(c);
  const sasl = saslCredentials(c);
  const options = {
    clientId: 'platformatic-secure',
    bootstrapBrokers: [c.bootstrap],
    timeout: 10_000,
    retries: c.expect === 'fail' ? 0 : 5,
    retryDelay: 200,
    ...(tls === undefined ? {} : { tls }),
    ...(sasl === undefined ? {} : { sasl }),
  };
  const producer = new Producer({ ...options, acks: ProduceAcks.ALL, autocreateTopics: true });
  try {
    await producer.send({
      messages: Array.from({ length: RECORDS }, (_, i) => ({
        topic,
        partition: 0,
        value: Buffer.from(`v${i}`),
      })),
    });
  } finally {
    await producer.close();
  }
  const consumer = new Consumer({
    ...options,
    groupId: `${topic}-group`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTime: 200,
  });
  const consumed: string[] = [];
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    try {
      for await (const m of stream) {
        consumed.push(m.value.toString());
        if (consumed.length >= RECORDS) {
          await m.commit();
          break;
        }
      }
    } finally {
      await stream.close();
    }
    const offsets = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0] }] });
    return { consumed, committed: Number(offsets.get(topic)?.[0] ?? -1) };
  } finally {
    await consumer.close(true);
  }
}

/** The messages of an error and of its causes (clients wrap the broker's answer in several). */
function errorChain(err: unknown, depth = 0): string[] {
  if (!(err instanceof Error) || depth > 5) return [];
  const e = err as Error & { cause?: unknown; errors?: unknown[] };
  const inner = [e.cause, ...(e.errors ?? [])].flatMap((x) => errorChain(x, depth + 1));
  return [e.message, ...inner];
}

async function main(client: string, cases: readonly SecureCase[]): Promise<void> {
  const run = client === 'kafkajs' ? kafkajsCase : platformaticCase;
  const report: Record<string, CaseReport> = {};
  for (const c of cases) {
    const topic = `secure-${client}-${c.name}-${Date.now() % 1_000_000}`;
    try {
      report[c.name] = await run(c, topic);
    } catch (err) {
      report[c.name] = { error: errorChain(err).join(' / ') };
    }
  }
  console.log(JSON.stringify(report));
}

await main(process.argv[2] ?? 'kafkajs', JSON.parse(process.argv[3] ?? '[]') as SecureCase[]);
process.exit(0);

/**
 * A child process for test/old-clients-kafka-node.test.ts: kafka-node 5.0.0 (a pure-JavaScript
 * Kafka 0.9-0.11 client, MessageSet v0/v1 on the wire) produces to partition 0 with each codec it
 * has without native modules (none, gzip), then a ConsumerGroup reads everything back from the
 * earliest offset and commits. Kept in src/testing/ because everything under test/ runs as a test.
 *
 *   node kafka-node-child.js '{"bootstrap":"127.0.0.1:9092","topic":"t","count":50,"group":"g"}'
 *
 * kafka-node asks ApiVersions and uses the highest versions it knows: Produce v2 and Fetch v2
 * (MessageSet v1), Metadata v1, GroupCoordinator/JoinGroup/SyncGroup/Heartbeat v0, OffsetCommit
 * v2, OffsetFetch v1. Its switch to skip ApiVersions (`versions: { disabled: true }`) hangs in
 * kafka-node 5.0.0 itself (it then waits forever for the API support it never sets).
 *
 * Prints one JSON line: the produce results, the records read (offset, key, value as hex) and the
 * offset the group committed.
 */
import kafkaNode from 'kafka-node';

const { ConsumerGroup, KafkaClient, KeyedMessage, Offset, Producer } = kafkaNode;

interface Config {
  bootstrap: string;
  topic: string;
  count: number;
  group: string;
}

/** kafka-node's attributes: 0 none, 1 gzip (2, snappy, needs the native `snappy` module). */
const CODECS = [0, 1] as const;

function produce(cfg: Config): Promise<Array<number | string>> {
  const client = new KafkaClient({
    kafkaHost: cfg.bootstrap,
    requestTimeout: 10_000,
  });
  const producer = new Producer(client, { requireAcks: 1 });
  return new Promise((resolve, reject) => {
    producer.on('error', reject);
    producer.on('ready', async () => {
      const out: Array<number | string> = [];
      for (const attributes of CODECS) {
        const messages = Array.from(
          { length: cfg.count },
          (_, i) => new KeyedMessage(`kn${attributes}-${i}`, `kafka-node ${attributes} ${i}`),
        );
        const payload = [{ topic: cfg.topic, partition: 0, messages, attributes }];
        out.push(
          await new Promise<number | string>((done) => {
            producer.send(payload, (err, data) => {
              const base = (data as Record<string, Record<string, number>> | undefined)?.[
                cfg.topic
              ];
              done(err ? String(err) : (base?.['0'] ?? -1));
            });
          }),
        );
      }
      producer.close(() => resolve(out));
    });
  });
}

type Row = [number, string | null, string | null];

function consume(cfg: Config, expect: number): Promise<{ rows: Row[]; committed: unknown }> {
  const group = new ConsumerGroup(
    {
      kafkaHost: cfg.bootstrap,
      groupId: cfg.group,
      fromOffset: 'earliest',
      encoding: 'buffer',
      keyEncoding: 'buffer',
      autoCommit: false,
      fetchMaxWaitMs: 100,
      sessionTimeout: 10_000,
    },
    [cfg.topic],
  );
  const rows: Row[] = [];
  const hex = (b: unknown) => (Buffer.isBuffer(b) ? b.toString('hex') : null);
  return new Promise((resolve, reject) => {
    group.on('error', reject);
    group.on('message', (m) => {
      rows.push([Number(m.offset), hex(m.key), hex(m.value)]);
    });
    // Commit once the fetch that brought the last record is done: kafka-node moves its
    // positions on 'done' (its own listener runs first), not on each message.
    let committing = false;
    (group as unknown as NodeJS.EventEmitter).on('done', () => {
      if (rows.length < expect || committing) return;
      committing = true;
      group.commit(true, (err) => {
        if (err) return reject(err);
        const offset = new Offset(group.client);
        const want = [{ topic: cfg.topic, partition: 0 }];
        offset.fetchCommits(cfg.group, want, (e: unknown, data: unknown) => {
          group.close(true, () => resolve({ rows, committed: e ? String(e) : data }));
        });
      });
    });
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
  const timer = setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ error: 'timed out' })}\n`);
    process.exit(2);
  }, 40_000);
  const produced = await produce(cfg);
  const read = await consume(cfg, cfg.count * CODECS.length);
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ produced, ...read })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exit(1);
});

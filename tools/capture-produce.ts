/**
 * Captures the Produce requests real Kafka clients send, as golden fixtures for the codec tests.
 *
 *   npx tsc -p . && node build/tools/capture-produce.js
 *
 * A Tributary broker runs as a child process (src/testing/broker-process.ts) and advertises a
 * recording proxy on 127.0.0.1, so every connection a client makes (bootstrap and reconnects)
 * goes through the proxy. The proxy forwards bytes both ways unchanged and records each request
 * frame the client sends. For each (client, mode, codec) below the client produces a fixed set of
 * records to one partition; its Produce frames (size prefix included) are written to
 * test/fixtures/golden/produce-<client>-<mode>-<codec>-api0-v<version>.bin and listed, with the
 * records they must carry, in test/fixtures/golden/produce-manifest.json (read by
 * test/golden-produce.test.ts). The other requests each client sent are printed, not saved.
 *
 * Needs kcat, /usr/bin/python3 with kafka-python (and its snappy, lz4 and zstandard modules) and
 * the kafkajs dev dependency; a client that is missing is reported and skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { readRequestHeader } from '../src/protocol/headers.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { findRepoRoot } from './codegen/main.ts';

const PYTHON = '/usr/bin/python3';
const TIME_LIMIT_MS = 20_000;
const TOPIC = 'golden';
/** A fixed CreateTime for clients that let the caller set it (2023-11-14T22:13:20Z). */
const BASE_TIMESTAMP = 1_700_000_000_000;

/** One record a client is asked to produce; headers and timestamp only where it can send them. */
export interface ExpectedRecord {
  readonly key: string;
  readonly value: string;
  readonly headers: readonly (readonly [string, string])[];
  /** The CreateTime the client was given, or null when the client picks it (or magic 0). */
  readonly timestamp: number | null;
}

interface Scenario {
  readonly client: 'kcat' | 'kafka-python' | 'kafkajs';
  readonly mode: string;
  readonly codec: string;
  readonly records: readonly ExpectedRecord[];
  command(bootstrap: string): { argv: readonly string[]; stdin?: string };
}

export interface CapturedProduce {
  readonly file: string;
  readonly client: string;
  readonly mode: string;
  readonly codec: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ExpectedRecord[];
}

function records(options: { headers: boolean; timestamps: boolean }): ExpectedRecord[] {
  return [1, 2, 3].map((i) => ({
    key: `key-${i}`,
    value: `golden value ${i}, `.repeat(4).trimEnd(),
    headers: options.headers ? [['trace', `golden-${i}`] as const, ['client', 'capture']] : [],
    timestamp: options.timestamps ? BASE_TIMESTAMP + i : null,
  }));
}

/** kcat's -H sets the same headers on every record, so its records share one header list. */
function kcatRecords(headers: boolean): ExpectedRecord[] {
  return records({ headers: false, timestamps: false }).map((r) => ({
    ...r,
    headers: headers ? [['trace', 'golden'] as const] : [],
  }));
}

function kcatScenario(mode: 'modern' | '0.9', codec: string): Scenario {
  const legacy = mode === '0.9';
  const recs = kcatRecords(!legacy);
  return {
    client: 'kcat',
    mode,
    codec,
    records: recs,
    command: (bootstrap) => ({
      argv: [
        'kcat',
        '-P',
        '-b',
        bootstrap,
        '-t',
        TOPIC,
        '-p',
        '0',
        '-z',
        codec,
        '-K',
        ':',
        '-X',
        'linger.ms=200',
        ...(legacy
          ? ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0.1']
          : ['-H', 'trace=golden']),
      ],
      stdin: recs.map((r) => `${r.key}:${r.value}\n`).join(''),
    }),
  };
}

const PYTHON_PRODUCER = `import json, sys
from kafka import KafkaProducer
bootstrap, topic, codec, api, recs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
kw = dict(bootstrap_servers=bootstrap, client_id='golden-py', linger_ms=200, acks=1,
          compression_type=None if codec == 'none' else codec)
if api != 'auto':
    kw['api_version'] = tuple(int(p) for p in api.split('.'))
p = KafkaProducer(**kw)
for r in recs:
    extra = {'headers': [(k, v.encode()) for k, v in r['headers']]} if r['headers'] else {}
    p.send(topic, key=r['key'].encode(), value=r['value'].encode(), partition=0,
           timestamp_ms=r['timestamp'], **extra)
p.flush()
p.close()
`;

function pythonScenario(mode: 'auto' | '0.9' | '0.10', codec: string): Scenario {
  const recs = records({ headers: mode === 'auto', timestamps: mode !== '0.9' });
  // kafka-python is given the timestamps in every mode; magic 0 has nowhere to put them.
  const given = records({ headers: mode === 'auto', timestamps: true });
  return {
    client: 'kafka-python',
    mode,
    codec,
    records: recs,
    command: (bootstrap) => ({
      argv: [PYTHON, '-c', PYTHON_PRODUCER, bootstrap, TOPIC, codec, mode, JSON.stringify(given)],
    }),
  };
}

const KAFKAJS_PRODUCER = `import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
const [bootstrap, topic, codec, recs] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'golden-js', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
await producer.send({
  topic,
  acks: -1,
  compression: codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
  messages: JSON.parse(recs).map((r) => ({
    partition: 0,
    key: r.key,
    value: r.value,
    headers: Object.fromEntries(r.headers),
    timestamp: String(r.timestamp),
  })),
});
await producer.disconnect();
`;

function kafkajsScenario(codec: string): Scenario {
  const recs = records({ headers: true, timestamps: true });
  return {
    client: 'kafkajs',
    mode: '2.2.4',
    codec,
    records: recs,
    command: (bootstrap) => ({
      argv: [
        process.execPath,
        '--input-type=module',
        '-e',
        KAFKAJS_PRODUCER,
        bootstrap,
        TOPIC,
        codec,
        JSON.stringify(recs),
      ],
    }),
  };
}

const scenarios: readonly Scenario[] = [
  ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => kcatScenario('modern', c)),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => kcatScenario('0.9', c)),
  ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => pythonScenario('auto', c)),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => pythonScenario('0.9', c)),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => pythonScenario('0.10', c)),
  ...['none', 'gzip'].map((c) => kafkajsScenario(c)),
];

/** Calls onFrame with each complete size-prefixed frame (prefix included) read from a socket. */
function frameParser(onFrame: (frame: Buffer) => void): (data: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (data) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) return;
      onFrame(Buffer.from(pending.subarray(0, 4 + size)));
      pending = pending.subarray(4 + size);
    }
  };
}

/** A proxy to the broker that hands every client request frame to `recorder`. */
class RecordingProxy {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();
  upstreamPort = 0;
  recorder: ((frame: Buffer) => void) | null = null;

  constructor() {
    this.server = createServer((client) => this.#accept(client));
  }

  #accept(client: Socket): void {
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    const parse = frameParser((frame) => this.recorder?.(frame));
    client.on('data', (data: Buffer) => {
      parse(data);
      upstream.write(data);
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.server.close();
  }
}

/** Runs a command to its end (or the time limit); false when it could not start or failed. */
function run(argv: readonly string[], stdin: string | undefined, name: string): Promise<boolean> {
  const [command, ...args] = argv;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command as string, args, {
        cwd: findRepoRoot(),
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      });
    } catch (error) {
      process.stderr.write(`${name}: cannot start (${String(error)})\n`);
      resolve(false);
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIME_LIMIT_MS);
    child.on('error', (error) => {
      process.stderr.write(`${name}: cannot start (${error.message})\n`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) process.stderr.write(`${name}: exit ${code}\n${stderr.slice(-2000)}\n`);
      resolve(code === 0);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

async function createTopic(bootstrap: string): Promise<void> {
  const ok = await run(
    [
      process.execPath,
      '--input-type=module',
      '-e',
      `import { Kafka, logLevel } from 'kafkajs';
const admin = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: process.argv[2], numPartitions: 1 }] });
await admin.disconnect();`,
      bootstrap,
      TOPIC,
    ],
    undefined,
    'create topic',
  );
  if (!ok) throw new Error(`cannot create topic ${TOPIC}`);
}

async function captureScenario(
  s: Scenario,
  proxy: RecordingProxy,
  bootstrap: string,
  outDir: string,
): Promise<CapturedProduce[]> {
  const name = `${s.client}-${s.mode}-${s.codec}`;
  const produce: Buffer[] = [];
  const others: string[] = [];
  proxy.recorder = (frame) => {
    const info = readRequestHeader(frame.subarray(4));
    if (info.apiKey === 0) produce.push(frame);
    else others.push(`${info.apiKey}v${info.apiVersion}`);
  };
  const { argv, stdin } = s.command(bootstrap);
  const ok = await run(argv, stdin, name);
  proxy.recorder = null;
  const captured: CapturedProduce[] = [];
  for (const [i, frame] of produce.entries()) {
    const info = readRequestHeader(frame.subarray(4));
    const suffix = produce.length > 1 ? `-${i + 1}` : '';
    const file = `produce-${name}${suffix}-api0-v${info.apiVersion}.bin`;
    writeFileSync(join(outDir, file), frame);
    captured.push({
      file,
      client: s.client,
      mode: s.mode,
      codec: s.codec,
      apiKey: info.apiKey,
      apiVersion: info.apiVersion,
      correlationId: info.correlationId,
      clientId: info.clientId,
      topic: TOPIC,
      partition: 0,
      records: s.records,
    });
  }
  const files = captured.map((c) => `${c.file} (${produce[captured.indexOf(c)]?.length} B)`);
  process.stdout.write(
    `${name}: ${ok ? '' : 'FAILED '}${files.join(', ') || 'no Produce'}; also ${others.join(' ')}\n`,
  );
  return captured;
}

async function main(): Promise<void> {
  const outDir = join(findRepoRoot(), 'test', 'fixtures', 'golden');
  mkdirSync(outDir, { recursive: true });
  const proxy = new RecordingProxy();
  const proxyPort = await proxy.listen();
  const broker = await BrokerProcess.start({
    overrides: {
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}`,
      'num.partitions': '1',
    },
  });
  proxy.upstreamPort = broker.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  const manifest: CapturedProduce[] = [];
  try {
    await createTopic(bootstrap);
    for (const s of scenarios) {
      manifest.push(...(await captureScenario(s, proxy, bootstrap, outDir)));
    }
  } finally {
    proxy.close();
    await broker.stop();
    await broker.cleanup();
  }
  writeFileSync(join(outDir, 'produce-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

await main();

/**
 * Captures the first requests real Kafka clients send, as golden fixtures for the codec tests.
 *
 *   npx tsc -p . && node build/tools/capture-golden.js
 *
 * For each client below: listen on 127.0.0.1 (ephemeral port), start the client as a separate
 * process, and record every request frame it sends. An ApiVersions request is answered (with
 * every API this code base can encode, at Kafka's full version ranges) so that the client goes on
 * to its next request; anything else is left unanswered. Capture stops after `frames` requests or
 * a time limit, then the client is killed. Frames (size prefix included) are written to
 * test/fixtures/golden/<client>-<n>-<api>-v<version>.bin, with manifest.json listing them.
 *
 * Needs kcat, /usr/bin/python3 with kafka-python and confluent-kafka, and the kafkajs dev dependency
 * (run from the repository root); a client that is missing is reported and skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { readRequestHeader, writeResponseHeader } from '../src/protocol/headers.ts';
import { apiDescriptors, defaultApiVersionsResponse } from '../src/protocol/messages/index.ts';
import { Writer } from '../src/protocol/writer.ts';
import { findRepoRoot } from './codegen/main.ts';

interface ClientSpec {
  readonly name: string;
  readonly frames: number;
  command(port: number): readonly string[];
}

const PYTHON = '/usr/bin/python3';
const TIME_LIMIT_MS = 8000;

const clients: readonly ClientSpec[] = [
  {
    name: 'kcat',
    frames: 2,
    command: (port) => ['kcat', '-b', `127.0.0.1:${port}`, '-L', '-m', '5'],
  },
  {
    name: 'kcat-legacy',
    frames: 1,
    command: (port) => [
      'kcat',
      '-b',
      `127.0.0.1:${port}`,
      '-X',
      'api.version.request=false',
      '-X',
      'broker.version.fallback=0.9.0.1',
      '-L',
      '-m',
      '5',
    ],
  },
  {
    name: 'kafka-python-0.9',
    frames: 1,
    command: (port) => [
      PYTHON,
      '-c',
      `from kafka import KafkaConsumer
KafkaConsumer(bootstrap_servers='127.0.0.1:${port}', api_version=(0, 9), client_id='golden-py').topics()`,
    ],
  },
  {
    name: 'kafka-python-auto',
    frames: 2,
    command: (port) => [
      PYTHON,
      '-c',
      `from kafka import KafkaConsumer
KafkaConsumer(bootstrap_servers='127.0.0.1:${port}', client_id='golden-py')`,
    ],
  },
  {
    name: 'confluent-kafka',
    frames: 2,
    command: (port) => [
      PYTHON,
      '-c',
      `from confluent_kafka.admin import AdminClient
AdminClient({'bootstrap.servers': '127.0.0.1:${port}', 'client.id': 'golden-ck'}).list_topics(timeout=5)`,
    ],
  },
  {
    name: 'kafkajs',
    frames: 2,
    command: (port) => [
      process.execPath,
      '--input-type=module',
      '-e',
      `import { Kafka, logLevel } from 'kafkajs';
const kafka = new Kafka({ clientId: 'golden-js', brokers: ['127.0.0.1:${port}'], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.listTopics();`,
    ],
  },
];

interface Captured {
  readonly file: string;
  readonly client: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** An ApiVersions response advertising every API at Kafka's full range. */
function apiVersionsResponse(correlationId: number, version: number): Buffer[] {
  const w = Writer.frame();
  writeResponseHeader(w, correlationId, 0);
  const body = defaultApiVersionsResponse();
  body.apiKeys = [...apiDescriptors.values()].map((d) => ({
    apiKey: d.apiKey,
    minVersion: d.minVersion,
    maxVersion: d.maxVersion,
  }));
  const api = apiDescriptors.get(18);
  api?.encodeResponse(w, body, Math.min(version, api.maxVersion));
  return w.finishFrame();
}

function onFrames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) {
        break;
      }
      onFrame(Buffer.from(pending.subarray(0, 4 + size)));
      pending = pending.subarray(4 + size);
    }
  });
  socket.on('error', () => undefined);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

async function capture(spec: ClientSpec, outDir: string): Promise<Captured[]> {
  const captured: Captured[] = [];
  const sockets = new Set<Socket>();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const server = createServer((socket) => {
    sockets.add(socket);
    onFrames(socket, (frame) => {
      if (captured.length >= spec.frames) {
        return;
      }
      const info = readRequestHeader(frame.subarray(4));
      const file = `${spec.name}-${captured.length + 1}-api${info.apiKey}-v${info.apiVersion}.bin`;
      writeFileSync(join(outDir, file), frame);
      captured.push({ file, client: spec.name, ...info });
      if (captured.length >= spec.frames) {
        finish();
      } else if (info.apiKey === 18) {
        for (const chunk of apiVersionsResponse(info.correlationId, info.apiVersion)) {
          socket.write(chunk);
        }
      }
    });
  });
  const port = await listen(server);
  const [command, ...args] = spec.command(port);
  let child: ChildProcess | undefined;
  try {
    child = spawn(command as string, args, { cwd: findRepoRoot(), stdio: 'ignore' });
    child.on('error', (error) => {
      process.stderr.write(`${spec.name}: cannot start (${error.message}); skipped\n`);
      finish();
    });
    child.on('exit', () => finish());
    const timer = setTimeout(finish, TIME_LIMIT_MS);
    await done;
    clearTimeout(timer);
  } finally {
    child?.kill('SIGKILL');
    for (const socket of sockets) {
      socket.destroy();
    }
    server.close();
  }
  return captured;
}

async function main(): Promise<void> {
  const outDir = join(findRepoRoot(), 'test', 'fixtures', 'golden');
  mkdirSync(outDir, { recursive: true });
  const manifest: Captured[] = [];
  for (const spec of clients) {
    const frames = await capture(spec, outDir);
    process.stdout.write(`${spec.name}: ${frames.map((f) => f.file).join(', ') || 'nothing'}\n`);
    manifest.push(...frames);
  }
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

await main();

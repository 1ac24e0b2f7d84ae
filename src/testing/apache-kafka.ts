/**
 * Apache Kafka itself as a child process, for tests that compare the broker with the real thing:
 * one node in KRaft combined mode (broker and controller in one process, no ZooKeeper), from the
 * jars scripts/install-test-deps.sh resolved. `start()` picks two free loopback ports, writes a
 * server.properties, formats a fresh log directory with `kafka-storage format` (StorageTool) and
 * waits for the server's "started" line. The node id is 0, as Tributary's, so tool output that
 * names brokers compares without masking.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from './broker-process.ts';
import { kafkaClasspath } from './reference-clients.ts';

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The only INFO line let through: the server says it is serving. */
const STARTED = /Kafka Server started|\[KafkaServer id=\d+\] started/;

export interface ApacheKafkaOptions {
  /** Extra server.properties lines, name to value. */
  readonly config?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /**
   * ZooKeeper mode (Kafka 3.x only): the connect string, chroot included; the broker's id is 1,
   * as the first broker of a Tributary test cluster. Without it: KRaft combined mode, node id 0.
   */
  readonly zookeeper?: string;
}

export class ApacheKafka {
  readonly version: string;
  readonly dir: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';
  /** Milliseconds from spawning the server to its started line (format not included). */
  startupMs = 0;

  private constructor(version: string, dir: string, port: number, child: ChildProcess) {
    this.version = version;
    this.dir = dir;
    this.port = port;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  describe(): string {
    const tail = this.#stderr.length > 4000 ? `…${this.#stderr.slice(-4000)}` : this.#stderr;
    return `Apache Kafka ${this.version} at ${this.bootstrap} stderr:\n${tail || '(empty)'}`;
  }

  static async start(version: string, options: ApacheKafkaOptions = {}): Promise<ApacheKafka> {
    const classpath = kafkaClasspath(version);
    const dir = await mkdtemp(join(tmpdir(), 'apache-kafka-'));
    const port = await freePort();
    const controllerPort = await freePort();
    const common: Record<string, string> = {
      'log.dirs': join(dir, 'data'),
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
    };
    const zkSettings = (zookeeper: string): Record<string, string> => ({
      'broker.id': '1',
      'zookeeper.connect': zookeeper,
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    });
    const kraft: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': '0',
      'controller.quorum.voters': `0@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name': 'PLAINTEXT',
    };
    const settings: Record<string, string> = {
      ...(options.zookeeper === undefined ? kraft : zkSettings(options.zookeeper)),
      ...common,
      ...options.config,
    };
    const properties = join(dir, 'server.properties');
    const text = Object.entries(settings).map(([k, v]) => `${k}=${v}\n`);
    await writeFile(properties, text.join(''));
    const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', classpath];
    const quiet = '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn';
    // A cluster id is 16 random bytes in URL-safe base64 without padding, as Kafka's Uuid prints.
    const clusterId = randomBytes(16).toString('base64url');
    try {
      // ZooKeeper mode needs no formatted storage.
      if (options.zookeeper === undefined) {
        await runOk(
          'java',
          [...jvm, quiet, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties],
          { timeoutMs: 60_000 },
        );
      }
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const started = performance.now();
    const args = [
      '-Xms256m',
      '-Xmx512m',
      ...jvm,
      quiet,
      '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info',
      '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaServer=info',
      'kafka.Kafka',
      properties,
    ];
    const child = spawn('java', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const kafka = new ApacheKafka(version, dir, port, child);
    process.once('exit', () => child.kill('SIGKILL'));
    try {
      await kafka.#waitStarted(options.readyTimeoutMs ?? 60_000);
    } catch (err) {
      await kafka.cleanup();
      throw err;
    }
    kafka.startupMs = performance.now() - started;
    return kafka;
  }

  async #waitStarted(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!STARTED.test(this.#stderr)) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(`Apache Kafka exited before it started\n${this.describe()}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`Apache Kafka not started after ${timeoutMs} ms\n${this.describe()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGTERM (Kafka shuts down cleanly on it), SIGKILL after 15 s, then remove the directory. */
  async cleanup(): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await this.#exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

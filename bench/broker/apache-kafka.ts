/**
 * Apache Kafka as the benchmark peer: a node in KRaft combined mode (broker and controller in one
 * JVM; alone, or one of a controller quorum when `quorumVoters` names the others), or a
 * ZooKeeper-mode broker (Kafka 3.x) on a ZooKeeper the bench started, from the jars
 * scripts/install-test-deps.sh resolved (test/java/target/), with the JVM settings of Kafka's own
 * bin/kafka-server-start.sh (1 GiB heap unless `heap` says otherwise, G1), so that it runs as a
 * user who starts Kafka from its distribution gets it. Its CPU time and memory are read from
 * /proc like the broker's: the java process is the server itself, with every thread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kafkaClasspath } from '../../src/testing/reference-clients.ts';
import { cpuSplit, memoryMiB, run, track } from './proc.ts';

/** What kafka-server-start.sh gives the JVM (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS). */
const SERVER_JVM = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];
/** Quiet logging; the one line let through says the server is serving. */
const LOGGING = [
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info',
  '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaServer=info',
];
/** KRaft's and ZooKeeper mode's "started" lines. */
const STARTED = /Kafka Server started|\[KafkaServer id=\d+\] started/;

export interface KafkaOptions {
  readonly version: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Holds server.properties and the log directory; formatted on the first start only. */
  readonly dir: string;
  /** Extra server.properties entries. */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * ZooKeeper mode (Kafka 3.x only): the connect string with its chroot; no controller port and
   * no `kafka-storage format`. Without it: KRaft combined mode, node id 0.
   */
  readonly zookeeper?: string;
  /** broker.id in ZooKeeper mode (default 1). */
  readonly brokerId?: number;
  /** KRaft: node.id (default 0). */
  readonly nodeId?: number;
  /**
   * KRaft: controller.quorum.voters, `id@host:port` for every controller of the cluster (default
   * this node alone, on its controller port).
   */
  readonly quorumVoters?: string;
  /** KRaft: the cluster id `kafka-storage format` writes (default a new one; the same on every node). */
  readonly clusterId?: string;
  /** -Xms and -Xmx (default 1G, as kafka-server-start.sh). */
  readonly heap?: string;
}

export class KafkaBroker {
  readonly child: ChildProcess;
  readonly bootstrap: string;
  /** Milliseconds from spawning the server to its "started" line. */
  startupMs = 0;
  /** Milliseconds `kafka-storage format` took before the first start (0 on a restart). */
  formatMs = 0;
  #output = '';

  private constructor(child: ChildProcess, bootstrap: string) {
    this.child = child;
    this.bootstrap = bootstrap;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Writes server.properties and, in KRaft mode, runs `kafka-storage format` (a JVM of its own);
   * resolves with the milliseconds the format took (0 in ZooKeeper mode).
   */
  static async format(opts: KafkaOptions): Promise<number> {
    const properties = join(opts.dir, 'server.properties');
    await mkdir(opts.dir, { recursive: true });
    await writeFile(properties, serverProperties(opts));
    if (opts.zookeeper !== undefined) return 0;
    const t0 = performance.now();
    await run('java', [
      '-cp',
      kafkaClasspath(opts.version),
      ...LOGGING,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      opts.clusterId ?? newClusterId(),
      '-c',
      properties,
    ]);
    return performance.now() - t0;
  }

  /** Formats the directory first when `format` is set (see format()), then starts the server. */
  static async start(opts: KafkaOptions, format: boolean): Promise<KafkaBroker> {
    const classpath = kafkaClasspath(opts.version);
    const properties = join(opts.dir, 'server.properties');
    const formatMs = format ? await KafkaBroker.format(opts) : 0;
    const t0 = performance.now();
    const heap = opts.heap ?? '1G';
    const args = [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      ...SERVER_JVM,
      '-cp',
      classpath,
      ...LOGGING,
      'kafka.Kafka',
      properties,
    ];
    const child = track(spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const kafka = new KafkaBroker(child, `127.0.0.1:${opts.port}`);
    kafka.formatMs = formatMs;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Apache Kafka not started:\n${kafka.#output.slice(-4000)}`)),
        120e3,
      );
      const onData = (d: Buffer): void => {
        kafka.#output += d.toString();
        if (STARTED.test(kafka.#output)) {
          clearTimeout(timer);
          kafka.startupMs = performance.now() - t0;
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Apache Kafka exited (${code}):\n${kafka.#output.slice(-4000)}`));
      });
    });
    return kafka;
  }

  cpu(): { user: number; sys: number } {
    return cpuSplit(this.pid);
  }

  memory(): { rss: number; peak: number } {
    return memoryMiB(this.pid);
  }

  /** SIGTERM (Kafka's controlled shutdown) and wait for the exit; SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30e3);
    await exited;
    clearTimeout(timer);
  }
}

/** A cluster id: 16 random bytes in URL-safe base64 without padding, as Kafka's Uuid prints one. */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

/** The classpath check without starting anything: the reason Kafka cannot run, or null. */
export function kafkaMissing(version: string): string | null {
  try {
    kafkaClasspath(version);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function serverProperties(opts: KafkaOptions): string {
  const mode: Record<string, string> =
    opts.zookeeper === undefined
      ? kraftProperties(opts)
      : {
          'broker.id': String(opts.brokerId ?? 1),
          'zookeeper.connect': opts.zookeeper,
          listeners: `PLAINTEXT://127.0.0.1:${opts.port}`,
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${opts.port}`,
        };
  const settings: Record<string, string> = {
    ...mode,
    'log.dirs': join(opts.dir, 'data'),
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    ...opts.config,
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

function kraftProperties(opts: KafkaOptions): Record<string, string> {
  return {
    'process.roles': 'broker,controller',
    'node.id': String(opts.nodeId ?? 0),
    'controller.quorum.voters':
      opts.quorumVoters ?? `${opts.nodeId ?? 0}@127.0.0.1:${opts.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${opts.port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
  };
}

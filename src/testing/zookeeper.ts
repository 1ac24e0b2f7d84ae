/**
 * Debian's Apache ZooKeeper server (package `zookeeper`) as a child process, the way
 * ZOOKEEPER.md measured it: `java ... QuorumPeerMain zoo.cfg` with tickTime 500 (sessions
 * expire in about 2 s), the admin server off, everything on 127.0.0.1, and readiness read from
 * the `srvr` four-letter word's Mode line. A standalone server per test file with a fresh chroot
 * per test (`freshChroot()`), or a 3-node ensemble whose members can be killed and restarted.
 *
 * Ports come from a block of this process's own (by pid), each probed before use, so that
 * parallel test processes do not race for "a free port". A missing server or java fails the test
 * with the install command; it never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZooKeeperClient } from '../cluster/zk/client.ts';
import { INSTALL_TEST_DEPS } from './broker-process.ts';
import { hasCommand } from './clients.ts';

/** Where Debian's zookeeper package puts the server; its manifest names the other jars. */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** Optional: with it the server logs INFO to DIR/zk.out, for debugging a failed test. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
/** Debian's java alternative (openjdk-17-jre-headless, or the JDK the install script adds). */
const JAVA = '/usr/bin/java';
const TICK_MS = 500;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Fails the calling test when the server or java is missing, naming the install command. */
export function requireZooKeeper(jar = ZOOKEEPER_JAR, java = JAVA): void {
  if (!existsSync(jar) || !hasCommand(java)) {
    throw new Error(
      `ZooKeeper (Debian's zookeeper package: ${jar}, and ${java}) is not installed; ` +
        `install it with: ${INSTALL_TEST_DEPS}`,
    );
  }
}

// Ports: blocks of PORT_BLOCK below Linux's ephemeral range (32768+), the first chosen by pid.
const PORT_FIRST = 12_000;
const PORT_BLOCK = 16;
const PORT_BLOCKS = 1_200;
let portBlock = process.pid % PORT_BLOCKS;
let portNext = 0;

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** count loopback ports of this process's block, each free right now. */
export async function takePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    if (portNext === PORT_BLOCK) {
      portBlock = (portBlock + 1) % PORT_BLOCKS;
      portNext = 0;
    }
    const port = PORT_FIRST + portBlock * PORT_BLOCK + portNext++;
    if (await probe(port)) ports.push(port);
  }
  return ports;
}

/** Asks a four-letter word; resolves with the answer, or '' when the server is not there. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** The `Mode:` of `srvr` (standalone, leader, follower), or undefined while not serving. */
export async function serverMode(port: number): Promise<string | undefined> {
  const answer = await fourLetterWord(port, 'srvr');
  return /^Mode: (\w+)/m.exec(answer)?.[1];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface MemberPorts {
  readonly client: number;
  readonly quorum: number;
  readonly election: number;
}

/**
 * Every server JVM this process started and that still runs: killed when the process exits,
 * however it exits, so that a crashed test run leaves no ZooKeeper behind.
 */
const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/** One ZooKeeper server process: standalone, or a member of an ensemble. */
export class ZooKeeperMember {
  readonly id: number;
  readonly dir: string;
  readonly port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(id: number, dir: string, port: number) {
    this.id = id;
    this.dir = dir;
    this.port = port;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the JVM; resolves once `srvr` reports one of the wanted modes. */
  async start(modes: readonly string[]): Promise<void> {
    if (this.#child !== undefined) throw new Error(`ZooKeeper ${this.id} is already running`);
    const classPath = existsSync(SLF4J_SIMPLE_JAR)
      ? `${ZOOKEEPER_JAR}:${SLF4J_SIMPLE_JAR}`
      : ZOOKEEPER_JAR;
    const out = openSync(join(this.dir, 'zk.out'), 'a');
    // Small heap, serial GC and C1 only: ZOOKEEPER.md measured 57 MB idle, starts under a second.
    const args = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];
    args.push('-cp', classPath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain');
    args.push(join(this.dir, 'zoo.cfg'));
    const child = spawn(JAVA, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    this.#child = child;
    liveServers.add(child);
    child.once('exit', () => liveServers.delete(child));
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (this.#child !== child) throw new Error(`ZooKeeper ${this.id} exited:\n${this.log()}`);
      const mode = await serverMode(this.port);
      if (mode !== undefined && modes.includes(mode)) return;
      await sleep(40);
    }
    throw new Error(`ZooKeeper ${this.id} not ${modes.join('/')} in time:\n${this.log()}`);
  }

  /** The last lines of the server's output, for failure messages. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'zk.out'), 'utf8').slice(-4_000);
    } catch {
      return '(no output)';
    }
  }

  /** kill -9: ZooKeeper's data survives it. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}

async function writeConfig(
  dir: string,
  clientPort: number,
  ensemble: readonly MemberPorts[] | undefined,
  id: number,
): Promise<void> {
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const lines = [
    `tickTime=${TICK_MS}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,mntr,conf,cons,wchs,dump,envi,isro',
    'preAllocSize=1024',
    // Tests that need fsync'd durability of ZooKeeper itself do not exist; 2.5x faster writes.
    'forceSync=no',
  ];
  if (ensemble !== undefined) {
    ensemble.forEach((ports, index) => {
      lines.push(`server.${index + 1}=127.0.0.1:${ports.quorum}:${ports.election}`);
    });
    await writeFile(join(dataDir, 'myid'), `${id}\n`);
  }
  await writeFile(join(dir, 'zoo.cfg'), `${lines.join('\n')}\n`);
}

/** Creates `/test-N` through a short session and returns the connect string rooted there. */
async function createChroot(servers: string, name: string): Promise<string> {
  const client = await ZooKeeperClient.connect({
    connectString: servers,
    sessionTimeoutMs: 4_000,
    connectionTimeoutMs: 10_000,
  });
  try {
    await client.create(`/${name}`, Buffer.alloc(0));
  } finally {
    await client.close();
  }
  return `${servers}/${name}`;
}

let chrootCounter = 0;

function nextChrootName(): string {
  chrootCounter += 1;
  return `test-${process.pid}-${chrootCounter}`;
}

/** A standalone server for one test file. */
export class ZooKeeperServer {
  readonly member: ZooKeeperMember;
  readonly #dir: string;

  private constructor(dir: string, member: ZooKeeperMember) {
    this.#dir = dir;
    this.member = member;
  }

  static async start(): Promise<ZooKeeperServer> {
    requireZooKeeper();
    const dir = await mkdtemp(join(tmpdir(), 'tributary-zk-'));
    const [port] = await takePorts(1);
    if (port === undefined) throw new Error('no port');
    await writeConfig(dir, port, undefined, 1);
    const server = new ZooKeeperServer(dir, new ZooKeeperMember(1, dir, port));
    try {
      await server.member.start(['standalone']);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** "127.0.0.1:PORT" without a chroot. */
  get connectString(): string {
    return `127.0.0.1:${this.member.port}`;
  }

  /** A new, empty chroot for one test: "127.0.0.1:PORT/test-..." (the znode exists). */
  freshChroot(): Promise<string> {
    return createChroot(this.connectString, nextChrootName());
  }

  async stop(): Promise<void> {
    await this.member.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** A 3-node ensemble on loopback, for failover tests (3 JVMs: start only where needed). */
export class ZooKeeperEnsemble {
  readonly members: readonly ZooKeeperMember[];
  readonly #dir: string;

  private constructor(dir: string, members: readonly ZooKeeperMember[]) {
    this.#dir = dir;
    this.members = members;
  }

  static async start(size = 3): Promise<ZooKeeperEnsemble> {
    requireZooKeeper();
    const dir = await mkdtemp(join(tmpdir(), 'tributary-zk-ensemble-'));
    const flat = await takePorts(size * 3);
    const ports: MemberPorts[] = [];
    for (let i = 0; i < size; i++) {
      ports.push({
        client: flat[i * 3] ?? 0,
        quorum: flat[i * 3 + 1] ?? 0,
        election: flat[i * 3 + 2] ?? 0,
      });
    }
    const members: ZooKeeperMember[] = [];
    for (const [index, memberPorts] of ports.entries()) {
      const memberDir = join(dir, `zk${index + 1}`);
      await writeConfig(memberDir, memberPorts.client, ports, index + 1);
      members.push(new ZooKeeperMember(index + 1, memberDir, memberPorts.client));
    }
    const ensemble = new ZooKeeperEnsemble(dir, members);
    try {
      await Promise.all(members.map((member) => member.start(['leader', 'follower'])));
    } catch (error) {
      await ensemble.stop();
      throw error;
    }
    return ensemble;
  }

  /** "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3" */
  get connectString(): string {
    return this.members.map((member) => `127.0.0.1:${member.port}`).join(',');
  }

  freshChroot(): Promise<string> {
    return createChroot(this.connectString, nextChrootName());
  }

  /** The member `srvr` reports as leader, waiting up to timeoutMs for an election to end. */
  async leader(timeoutMs = 10_000): Promise<ZooKeeperMember> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      for (const member of this.members) {
        if (member.running && (await serverMode(member.port)) === 'leader') return member;
      }
      await sleep(40);
    }
    throw new Error(`no ZooKeeper leader within ${timeoutMs} ms`);
  }

  /** Restarts a stopped or killed member on its ports and data; resolves once it serves. */
  async restart(member: ZooKeeperMember): Promise<void> {
    await member.start(['leader', 'follower']);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.stop()));
    await rm(this.#dir, { recursive: true, force: true });
  }
}

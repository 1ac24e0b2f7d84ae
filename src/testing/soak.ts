/**
 * The fault soak (issue 16): a cluster of three broker processes on a real ZooKeeper
 * (soak-cluster.ts) goes through a random schedule of faults, drawn from a seed, for a given
 * time, while idempotent acks=all producers (test/fixtures/crash/producer.py, confluent-kafka)
 * and committing group members (test/fixtures/crash/group.py) run throughout. Then every fault
 * is healed and the run is judged:
 *
 * - acknowledged records lost, duplicated, found at another offset than acknowledged, and
 *   reordered (within a producer run and partition), from a read of every partition from the
 *   beginning (kcat);
 * - the replicas of every partition byte-identical below the high watermark (producers stopped
 *   and every replica back in the ISR, so the high watermark is the log end): the segment files
 *   of the three brokers compared end to end;
 * - the group's committed offsets never moving backwards: sampled from the coordinator through
 *   the run, and at the end at least every commit a member had acknowledged;
 * - how long each partition was without a leader (as the controller's Metadata shows it, a
 *   leader that is down or frozen counting as none), and the longest time without an
 *   acknowledged record;
 * - anomalies: a broker exiting on its own, a clean stop that needed SIGKILL, a producer's fatal
 *   error, a cluster not healed within the bound after a fault.
 *
 * Faults are `FaultKind`s in FAULT_KINDS, drawn by weight; among them a reassignment while the
 * producers write (a replica leaves a partition and comes back, through `tributary reassign`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildRun, repoRoot, run } from './broker-process.ts';
import { kcatConsume, PYTHON } from './clients.ts';
import { type AckedRecord, checkLog, crashFixture, parseAcks, seededRandom } from './crash.ts';
import { type ClusterView, SoakCluster } from './soak-cluster.ts';
import type { ZooKeeperServer } from './zookeeper.ts';

export const SOAK_TOPIC = 'soak';
export const SOAK_GROUP = 'soak-group';

export interface SoakOptions {
  readonly zookeeper: ZooKeeperServer;
  /** How long faults are injected (the checks come after). */
  readonly seconds: number;
  readonly seed: number;
  readonly partitions?: number;
  readonly producers?: number;
  /** Records a second, per producer. */
  readonly rate?: number;
  readonly consumers?: number;
  /**
   * The chance that a fault follows the previous one without waiting for every broker to be back
   * in every ISR (a leader killed while a follower catches up, ...). Default 0.25.
   */
  readonly overlap?: number;
  /** Fault kinds by name (default: all of FAULT_KINDS). */
  readonly faults?: readonly string[];
  /** Progress lines (each fault, each phase). */
  readonly log?: (line: string) => void;
  /**
   * Where to keep the evidence of a failed run before it is torn down: each broker's data
   * directory and stderr, each producer and consumer run's output, the fault log.
   */
  readonly keepDir?: string;
}

/** What a fault needs: the cluster, the seeded random source, the last view of the topic. */
export interface FaultContext {
  readonly cluster: SoakCluster;
  readonly random: () => number;
  readonly topic: string;
  /** The controller's last Metadata answer (undefined while none came). */
  readonly view: () => ClusterView | undefined;
}

/** One kind of fault: injects it, waits its duration, heals it; resolves with what it did. */
export interface FaultKind {
  readonly name: string;
  /** Relative chance of being drawn. */
  readonly weight: number;
  run(ctx: FaultContext): Promise<string>;
}

function between(random: () => number, lo: number, hi: number): number {
  return Math.round(lo + random() * (hi - lo));
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/** A partition leader that is up (from the last view), else any up broker. */
function leaderTarget(ctx: FaultContext): { id: number; what: string } | undefined {
  const up = ctx.cluster.upIds();
  const view = ctx.view();
  if (view !== undefined) {
    const p = Math.floor(ctx.random() * view.partitions.size);
    const leader = view.partitions.get(p)?.leader;
    if (leader !== undefined && up.includes(leader)) return { id: leader, what: `leader of p${p}` };
    if (ctx.random() < 0.5 && up.includes(view.controller))
      return { id: view.controller, what: 'controller' };
  }
  const id = pick(ctx.random, up);
  return id === undefined ? undefined : { id, what: 'broker' };
}

async function delay(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export const FAULT_KINDS: readonly FaultKind[] = [
  {
    name: 'kill',
    weight: 3,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'kill: no broker up';
      const down = between(ctx.random, 200, 4_000);
      await ctx.cluster.kill(t.id);
      await delay(down);
      await ctx.cluster.restart(t.id);
      return `kill -9 broker ${t.id} (${t.what}), restarted after ${down} ms`;
    },
  },
  {
    name: 'restart',
    weight: 2,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'restart: no broker up';
      await ctx.cluster.stop(t.id);
      await ctx.cluster.restart(t.id);
      return `clean restart of broker ${t.id} (${t.what})`;
    },
  },
  {
    name: 'pause',
    weight: 3,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'pause: no broker up';
      // Below and above the 1.5 s ZooKeeper session: a frozen leader may lose its session and
      // wake up as a zombie that still believes it leads.
      const frozen = between(ctx.random, 300, 5_000);
      ctx.cluster.pause(t.id);
      await delay(frozen);
      ctx.cluster.resume(t.id);
      return `SIGSTOP broker ${t.id} (${t.what}) for ${frozen} ms`;
    },
  },
  {
    name: 'zk-expire',
    weight: 2,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'zk-expire: no broker up';
      const cut = between(ctx.random, 2_500, 6_000);
      const b = ctx.cluster.broker(t.id);
      b.zk.block();
      await delay(cut);
      b.zk.unblock();
      return `ZooKeeper cut from broker ${t.id} (${t.what}) for ${cut} ms (session expired)`;
    },
  },
  {
    name: 'zk-blip',
    weight: 1,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'zk-blip: no broker up';
      const cut = between(ctx.random, 100, 900);
      const b = ctx.cluster.broker(t.id);
      b.zk.block();
      await delay(cut);
      b.zk.unblock();
      return `ZooKeeper connection of broker ${t.id} (${t.what}) dropped for ${cut} ms`;
    },
  },
  {
    name: 'isolate',
    weight: 3,
    async run(ctx) {
      const t = leaderTarget(ctx);
      if (t === undefined) return 'isolate: no broker up';
      const cut = between(ctx.random, 1_000, 8_000);
      ctx.cluster.links.isolate(t.id, ctx.cluster.ids);
      await delay(cut);
      ctx.cluster.links.heal();
      return `broker ${t.id} (${t.what}) cut from the other brokers (not ZooKeeper) for ${cut} ms`;
    },
  },
  {
    name: 'reassign',
    weight: 2,
    async run(ctx) {
      // A replica leaves a partition and comes back (its log deleted, then copied anew), with
      // `tributary reassign execute` and `verify --wait` while the producers write.
      const view = ctx.view();
      if (view === undefined) return 'reassign: no view yet';
      const p = Math.floor(ctx.random() * view.partitions.size);
      const replicas = view.partitions.get(p)?.replicas ?? [];
      if (replicas.length < 2) return `reassign: p${p} has ${replicas.length} replicas`;
      const leaving = pick(ctx.random, replicas) as number;
      const smaller = replicas.filter((r) => r !== leaving);
      const shrunk = await reassign(ctx, p, smaller);
      const grown = await reassign(ctx, p, [...smaller, leaving]);
      return `reassign p${p}: ${replicas.join(',')} -> ${smaller.join(',')} (${shrunk}) -> back (${grown})`;
    },
  },
];

/** Moves partition `p` to `replicas` and waits (up to a minute) for it; what happened. */
async function reassign(
  ctx: FaultContext,
  p: number,
  replicas: readonly number[],
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-soak-plan-'));
  try {
    const plan = join(dir, 'plan.json');
    await writeFile(
      plan,
      JSON.stringify({ version: 1, partitions: [{ topic: ctx.topic, partition: p, replicas }] }),
    );
    const cli = join(repoRoot(), 'bin', 'tributary.js');
    const b = ['--bootstrap-server', ctx.cluster.bootstrap];
    const started = await run(
      process.execPath,
      [cli, 'reassign', 'execute', '--plan', plan, ...b],
      {
        timeoutMs: 30_000,
      },
    );
    if (started.code !== 0)
      return `execute failed: ${started.stderr.toString().trim().slice(0, 120)}`;
    const done = await run(
      process.execPath,
      [cli, 'reassign', 'verify', '--plan', plan, '--wait', ...b],
      {
        timeoutMs: 60_000,
      },
    );
    return done.code === 0
      ? 'completed'
      : done.timedOut
        ? 'still running after 60 s'
        : 'verify failed';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The judgement of the log against the acknowledgements. */
export interface LogVerdict {
  readonly acked: number;
  readonly inLog: number;
  readonly lost: string[];
  /** Acknowledged records found more than once. */
  readonly duplicated: string[];
  /** Any value found more than once (acknowledged or not). */
  readonly duplicatedAny: number;
  /** Acknowledged records found at another partition or offset than acknowledged. */
  readonly moved: string[];
  /** Records of one producer run out of production order within a partition. */
  readonly reordered: string[];
  /** Records in the log never acknowledged (in flight at a fault). */
  readonly unacked: number;
}

export interface LogRecordSeen {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/**
 * Checks the log against the acknowledgements of producers that run side by side (an offset of
 * -1 in an acknowledgement is one the client did not report, and any offset is then accepted).
 */
export function judgeLog(log: readonly LogRecordSeen[], acks: readonly AckedRecord[]): LogVerdict {
  const v = checkLog(log, acks, 'runs-side-by-side');
  return {
    acked: v.acked,
    inLog: log.length,
    lost: v.lost,
    duplicated: v.duplicatedAcked,
    duplicatedAny: v.duplicated,
    moved: v.moved,
    reordered: v.reordered,
    unacked: v.unacked,
  };
}

/** Per partition: time without a leader and without an acknowledged record. */
export interface PartitionAvailability {
  readonly partition: number;
  readonly leaderlessMs: number;
  readonly longestLeaderlessMs: number;
  readonly longestAckGapMs: number;
  readonly leaderChanges: number;
}

export interface SoakReport {
  readonly seed: number;
  readonly seconds: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly faultLog: readonly string[];
  readonly log: LogVerdict;
  readonly producerRuns: number;
  /** Replicas that differ below the high watermark (descriptions); empty when all identical. */
  readonly replicaMismatches: readonly string[];
  readonly replicasCompared: number;
  readonly commitsAcked: number;
  readonly commitSamples: number;
  /** Committed offsets seen moving backwards, or ending below an acknowledged commit. */
  readonly commitRegressions: readonly string[];
  readonly availability: readonly PartitionAvailability[];
  /** After each fault, the time until every broker was back and every ISR full. */
  readonly recoveryMsMax: number;
  readonly recoveryMsMedian: number;
  readonly anomalies: readonly string[];
  /** Every fault healed and every ISR full again at the end. */
  readonly healed: boolean;
}

/** A child client that is started again (with a new run number) when it exits on its own. */
class Workers {
  readonly runs: ChildRun[] = [];
  #stopping = false;
  #count = 0;
  readonly #start: (run: number) => ChildRun;
  readonly #onExit: (run: ChildRun) => void;

  constructor(count: number, start: (run: number) => ChildRun, onExit: (run: ChildRun) => void) {
    this.#start = start;
    this.#onExit = onExit;
    for (let i = 0; i < count; i++) this.#spawn();
  }

  #spawn(): void {
    const run = this.#start(this.#count++);
    this.runs.push(run);
    void run.done.then(() => {
      if (this.#stopping) return;
      this.#onExit(run);
      this.#spawn();
    });
  }

  /** SIGTERM to every live run; resolves when all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const r of this.runs) r.kill('SIGTERM');
    await Promise.all(this.runs.map((r) => r.done));
  }

  lines(): string[] {
    return this.runs.flatMap((r) => r.lines);
  }
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Watches the cluster every `tick` ms: leaders, acknowledgements, committed offsets. */
class Observer {
  readonly #cluster: SoakCluster;
  readonly #partitions: number;
  readonly #producers: () => readonly ChildRun[];
  view: ClusterView | undefined;
  readonly leaderless: number[];
  readonly longestLeaderless: number[];
  readonly #leaderlessSince: Array<number | undefined>;
  readonly #lastLeader: number[];
  readonly leaderChanges: number[];
  readonly #lastAck: number[];
  readonly longestAckGap: number[];
  readonly #ackLines = new Map<ChildRun, number>();
  readonly committed = new Map<number, number>();
  readonly regressions: string[] = [];
  samples = 0;
  #last = performance.now();
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #ticks = 0;

  constructor(cluster: SoakCluster, partitions: number, producers: () => readonly ChildRun[]) {
    this.#cluster = cluster;
    this.#partitions = partitions;
    this.#producers = producers;
    const now = performance.now();
    this.leaderless = new Array<number>(partitions).fill(0);
    this.longestLeaderless = new Array<number>(partitions).fill(0);
    this.#leaderlessSince = new Array<number | undefined>(partitions).fill(undefined);
    this.#lastLeader = new Array<number>(partitions).fill(-1);
    this.leaderChanges = new Array<number>(partitions).fill(0);
    this.#lastAck = new Array<number>(partitions).fill(now);
    this.longestAckGap = new Array<number>(partitions).fill(0);
  }

  start(tickMs: number): void {
    this.#loop = (async () => {
      while (!this.#stopped) {
        await this.tick();
        await delay(tickMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async tick(): Promise<void> {
    const view = await this.#cluster.controllerView(SOAK_TOPIC);
    const now = performance.now();
    const dt = now - this.#last;
    this.#last = now;
    if (view !== undefined) this.view = view;
    const up = new Set(this.#cluster.upIds());
    for (let p = 0; p < this.#partitions; p++) {
      const leader = view?.partitions.get(p)?.leader ?? -1;
      const led = leader >= 0 && up.has(leader);
      if (!led) {
        this.leaderless[p] = (this.leaderless[p] ?? 0) + dt;
        const since = this.#leaderlessSince[p] ?? now - dt;
        this.#leaderlessSince[p] = since;
        this.longestLeaderless[p] = Math.max(this.longestLeaderless[p] ?? 0, now - since);
      } else {
        this.#leaderlessSince[p] = undefined;
        if (leader !== this.#lastLeader[p]) {
          if ((this.#lastLeader[p] ?? -1) >= 0)
            this.leaderChanges[p] = (this.leaderChanges[p] ?? 0) + 1;
          this.#lastLeader[p] = leader;
        }
      }
    }
    for (const run of this.#producers()) {
      const from = this.#ackLines.get(run) ?? 0;
      const lines = run.lines;
      for (let i = from; i < lines.length; i++) {
        const m = /^ack (\d+) /.exec(lines[i] ?? '');
        if (m !== null) this.#lastAck[Number(m[1])] = now;
      }
      this.#ackLines.set(run, lines.length);
    }
    for (let p = 0; p < this.#partitions; p++) {
      const gap = now - (this.#lastAck[p] ?? now);
      this.longestAckGap[p] = Math.max(this.longestAckGap[p] ?? 0, gap);
    }
    this.#ticks += 1;
    if (this.#ticks % 4 === 0) await this.sampleCommits();
  }

  async sampleCommits(): Promise<void> {
    const offsets = await this.#cluster
      .committed(SOAK_GROUP, SOAK_TOPIC, this.#partitions)
      .catch(() => undefined);
    if (offsets === undefined) return;
    this.samples += 1;
    for (const [p, o] of offsets) {
      const prev = this.committed.get(p);
      if (prev !== undefined && o < prev && this.regressions.length < 50) {
        this.regressions.push(`p${p}: committed ${prev}, then ${o} (sample ${this.samples})`);
      }
      this.committed.set(p, o);
    }
  }

  availability(): PartitionAvailability[] {
    return Array.from({ length: this.#partitions }, (_, p) => ({
      partition: p,
      leaderlessMs: Math.round(this.leaderless[p] ?? 0),
      longestLeaderlessMs: Math.round(this.longestLeaderless[p] ?? 0),
      longestAckGapMs: Math.round(this.longestAckGap[p] ?? 0),
      leaderChanges: this.leaderChanges[p] ?? 0,
    }));
  }

  /** Time from now until every broker is registered and every ISR full; undefined at `ms`. */
  async healthy(brokers: number, ms: number): Promise<number | undefined> {
    const start = performance.now();
    while (performance.now() - start < ms) {
      const v = this.view;
      if (
        v !== undefined &&
        v.brokers.length === brokers &&
        v.partitions.size === this.#partitions &&
        [...v.partitions.values()].every((p) => p.isr.length === brokers && p.leader >= 0) &&
        this.#cluster.upIds().length === brokers
      ) {
        return performance.now() - start;
      }
      await delay(100);
    }
    return undefined;
  }
}

/** Draws a fault kind by weight. */
function drawKind(kinds: readonly FaultKind[], random: () => number): FaultKind {
  const total = kinds.reduce((s, k) => s + k.weight, 0);
  let draw = random() * total;
  for (const k of kinds) {
    draw -= k.weight;
    if (draw < 0) return k;
  }
  return kinds[kinds.length - 1] as FaultKind;
}

/** One soak run: the cluster, the clients, the observer, and what was seen. */
class Soak {
  readonly options: SoakOptions;
  readonly partitions: number;
  readonly random: () => number;
  readonly kinds: readonly FaultKind[];
  readonly log: (line: string) => void;
  readonly anomalies: string[] = [];
  readonly faultLog: string[] = [];
  readonly faults: Record<string, number> = {};
  readonly recoveries: number[] = [];
  cluster: SoakCluster | undefined;
  producers: Workers | undefined;
  consumers: Workers | undefined;
  observer: Observer | undefined;

  constructor(options: SoakOptions) {
    this.options = options;
    this.partitions = options.partitions ?? 4;
    this.random = seededRandom(options.seed);
    this.kinds = FAULT_KINDS.filter((k) => options.faults?.includes(k.name) ?? true);
    if (this.kinds.length === 0) throw new Error(`no fault kinds among ${String(options.faults)}`);
    this.log = options.log ?? (() => undefined);
  }

  /** The cluster, the topic, the clients and the observer, once every ISR is full. */
  async setUp(): Promise<{ cluster: SoakCluster; observer: Observer }> {
    const cluster = await SoakCluster.start(this.options.zookeeper, 3);
    this.cluster = cluster;
    await cluster.createTopic(SOAK_TOPIC, this.partitions, { 'min.insync.replicas': '2' });
    const bootstrap = cluster.bootstrap;
    const timeoutMs = this.options.seconds * 1_000 + 600_000;
    const producerArgs = (run: number) => [
      '-u',
      crashFixture('producer.py'),
      bootstrap,
      SOAK_TOPIC,
      String(this.partitions),
      String(run + 1),
      String(this.options.rate ?? 100),
    ];
    const producers = new Workers(
      this.options.producers ?? 2,
      (run) => new ChildRun(PYTHON, producerArgs(run), { timeoutMs }),
      (run) =>
        this.anomalies.push(
          `producer exited on its own: ${run.lines.slice(-3).join(' | ')} ${run.stderr.slice(-500)}`,
        ),
    );
    this.producers = producers;
    const consumerArgs = ['-u', crashFixture('group.py'), 'consume', bootstrap, SOAK_GROUP];
    this.consumers = new Workers(
      this.options.consumers ?? 2,
      () => new ChildRun(PYTHON, [...consumerArgs, SOAK_TOPIC], { timeoutMs }),
      (run) => this.anomalies.push(`consumer exited on its own: ${run.stderr.slice(-500)}`),
    );
    const observer = new Observer(cluster, this.partitions, () => producers.runs);
    this.observer = observer;
    observer.start(250);
    if ((await observer.healthy(3, 60_000)) === undefined) {
      throw new Error(`the cluster never became healthy\n${cluster.describe()}`);
    }
    return { cluster, observer };
  }

  /** Faults, one after another, for options.seconds. */
  async inject(cluster: SoakCluster, observer: Observer): Promise<void> {
    const ctx: FaultContext = {
      cluster,
      random: this.random,
      topic: SOAK_TOPIC,
      view: () => observer.view,
    };
    const start = performance.now();
    while (performance.now() - start < this.options.seconds * 1_000) {
      await delay(between(this.random, 500, 3_000));
      const kind = drawKind(this.kinds, this.random);
      const at = `${((performance.now() - start) / 1_000).toFixed(1)} s`;
      let what: string;
      try {
        what = await kind.run(ctx);
      } catch (err) {
        what = `${kind.name} failed: ${String(err).slice(0, 500)}`;
        this.anomalies.push(`${at}: ${what}`);
        await cluster.heal().catch((e: unknown) => this.anomalies.push(`heal: ${String(e)}`));
      }
      this.faults[kind.name] = (this.faults[kind.name] ?? 0) + 1;
      await this.reap(cluster, at, true);
      if (this.random() < (this.options.overlap ?? 0.25)) {
        this.note(`${at}: ${what}; the next fault comes before the recovery`);
        continue;
      }
      const recovered = await observer.healthy(3, 30_000);
      const outcome =
        recovered === undefined
          ? 'NOT recovered in 30 s'
          : `recovered in ${Math.round(recovered)} ms`;
      this.note(`${at}: ${what}; ${outcome}`);
      if (recovered === undefined) this.anomalies.push(`${at}: not recovered 30 s after: ${what}`);
      else this.recoveries.push(recovered);
    }
  }

  note(line: string): void {
    this.faultLog.push(line);
    this.log(line);
  }

  /** Brokers that exited on their own are anomalies (and restarted when `restart`). */
  async reap(cluster: SoakCluster, at: string, restart: boolean): Promise<void> {
    for (const dead of cluster.reapUnexpectedExits()) {
      this.anomalies.push(`${at}: broker ${dead.id} exited on its own\n${dead.process.describe()}`);
      if (restart) await cluster.restart(dead.id);
    }
  }

  /** Heals everything, stops the clients, reads the logs and judges. */
  async judge(cluster: SoakCluster, observer: Observer): Promise<SoakReport> {
    this.log('healing every fault');
    await this.reap(cluster, 'end', false);
    await cluster.heal();
    const healed = (await observer.healthy(3, 60_000)) !== undefined;
    await delay(2_000);
    this.log('stopping the clients');
    await this.producers?.stop();
    const acks = parseAcks(this.producers?.lines() ?? []);
    await delay(2_000);
    await this.consumers?.stop();
    await observer.stop();
    this.log('reading every partition and comparing replicas');
    const verdict = judgeLog(await readLog(cluster, this.partitions), acks);
    const replicaMismatches: string[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const mismatch = await replicasIdentical(cluster, p);
      if (mismatch !== undefined) replicaMismatches.push(mismatch);
    }
    const commits = await this.checkCommits(cluster, observer);
    return {
      seed: this.options.seed,
      seconds: this.options.seconds,
      faults: this.faults,
      faultLog: this.faultLog,
      log: verdict,
      producerRuns: this.producers?.runs.length ?? 0,
      replicaMismatches,
      replicasCompared: this.partitions,
      commitsAcked: commits.acked,
      commitSamples: observer.samples,
      commitRegressions: commits.regressions,
      availability: observer.availability(),
      recoveryMsMax: Math.round(Math.max(0, ...this.recoveries)),
      recoveryMsMedian: Math.round(median(this.recoveries)),
      anomalies: this.anomalies,
      healed,
    };
  }

  /** Sampled regressions, and the final committed offsets against every acknowledged commit. */
  async checkCommits(cluster: SoakCluster, observer: Observer) {
    const acked = new Map<number, number>();
    let count = 0;
    for (const line of this.consumers?.lines() ?? []) {
      const m = /^committed (\d+) (-?\d+)$/.exec(line);
      if (m === null) continue;
      count += 1;
      const p = Number(m[1]);
      acked.set(p, Math.max(acked.get(p) ?? -1, Number(m[2])));
    }
    const regressions = [...observer.regressions];
    const final = await retry(
      () => cluster.committed(SOAK_GROUP, SOAK_TOPIC, this.partitions),
      30_000,
    );
    for (const [p, o] of acked) {
      const now = final?.get(p);
      if (now === undefined) regressions.push(`p${p}: nothing committed at the end (${o} acked)`);
      else if (now < o) regressions.push(`p${p}: ${now} committed at the end, ${o} acked before`);
    }
    return { acked: count, regressions };
  }

  /** The evidence of the run, copied to `dir` (see SoakOptions.keepDir). */
  async keep(dir: string, report: SoakReport): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2));
    await writeFile(join(dir, 'faults.txt'), this.faultLog.join('\n'));
    for (const [kind, workers] of [
      ['producer', this.producers],
      ['consumer', this.consumers],
    ] as const) {
      for (const [i, r] of (workers?.runs ?? []).entries()) {
        await writeFile(
          join(dir, `${kind}-${i}.out`),
          `${r.lines.join('\n')}\n--- stderr ---\n${r.stderr}`,
        );
      }
    }
    await this.cluster?.keep(dir);
    this.log(`evidence kept in ${dir}`);
  }

  async tearDown(): Promise<void> {
    await this.observer?.stop();
    await this.producers?.stop();
    await this.consumers?.stop();
    await this.cluster?.shutdown();
  }
}

/** Whether the run found anything wrong (the CLI's exit status, the keeping of evidence). */
export function soakFailed(r: SoakReport): boolean {
  return (
    r.log.lost.length > 0 ||
    r.log.duplicated.length > 0 ||
    r.log.duplicatedAny > 0 ||
    r.log.moved.length > 0 ||
    r.log.reordered.length > 0 ||
    r.replicaMismatches.length > 0 ||
    r.commitRegressions.length > 0 ||
    r.anomalies.length > 0 ||
    !r.healed
  );
}

/** Runs the soak; never throws for what it finds (the report says it), only for harness faults. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const soak = new Soak(options);
  try {
    const { cluster, observer } = await soak.setUp();
    await soak.inject(cluster, observer);
    const report = await soak.judge(cluster, observer);
    if (options.keepDir !== undefined && soakFailed(report)) {
      await soak.keep(options.keepDir, report);
    }
    return report;
  } finally {
    await soak.tearDown();
  }
}

/** Every partition of the soak topic, read from the beginning (kcat). */
async function readLog(cluster: SoakCluster, partitions: number): Promise<LogRecordSeen[]> {
  const seen: LogRecordSeen[] = [];
  for (let p = 0; p < partitions; p++) {
    const { records } = await kcatConsume(cluster.bootstrap, SOAK_TOPIC, {
      partition: p,
      timeoutMs: 120_000,
    });
    for (const r of records) {
      seen.push({ partition: p, offset: r.offset, value: r.value?.toString() ?? '' });
    }
  }
  return seen;
}

async function retry<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined || performance.now() > deadline) return v;
    await delay(200);
  }
}

/** Undefined when the three replicas' logs are equal (retried while followers catch up). */
async function replicasIdentical(cluster: SoakCluster, p: number): Promise<string | undefined> {
  const deadline = performance.now() + 30_000;
  let last = '';
  for (;;) {
    const logs = await Promise.all(cluster.ids.map((id) => cluster.logBytes(id, SOAK_TOPIC, p)));
    const [a, ...rest] = logs as [Buffer, ...Buffer[]];
    if (rest.every((b) => b.equals(a))) return undefined;
    const diff = rest.map((b) => {
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      return i;
    });
    last = `p${p}: sizes ${logs.map((b) => b.length).join(', ')}, first difference from broker ${cluster.ids[0]} at byte ${Math.min(...diff)}`;
    if (performance.now() > deadline) return last;
    await delay(500);
  }
}

/** The report as a few lines of figures. */
export function formatSoakReport(r: SoakReport): string {
  const lines = [
    `fault soak: seed ${r.seed}, ${r.seconds} s of faults, ${Object.values(r.faults).reduce((a, b) => a + b, 0)} faults (${Object.entries(
      r.faults,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
    `records: ${r.log.acked} acknowledged by ${r.producerRuns} producer runs, ${r.log.inLog} in the log (${r.log.unacked} never acknowledged)`,
    `acknowledged records lost: ${r.log.lost.length}`,
    `acknowledged records duplicated: ${r.log.duplicated.length} (any value twice: ${r.log.duplicatedAny})`,
    `acknowledged records at another offset: ${r.log.moved.length}`,
    `records reordered: ${r.log.reordered.length}`,
    `replicas byte-identical below the high watermark: ${r.replicasCompared - r.replicaMismatches.length}/${r.replicasCompared} partitions`,
    `committed offsets moved backwards: ${r.commitRegressions.length} (${r.commitsAcked} commits acknowledged, ${r.commitSamples} samples)`,
    `recovery after a fault (every broker back, every ISR full): median ${r.recoveryMsMedian} ms, max ${r.recoveryMsMax} ms; healed at the end: ${r.healed}`,
    'partition | without a leader (total, longest) | longest without an acknowledged record | leader changes',
    ...r.availability.map(
      (a) =>
        `p${a.partition} | ${a.leaderlessMs} ms, ${a.longestLeaderlessMs} ms | ${a.longestAckGapMs} ms | ${a.leaderChanges}`,
    ),
    `anomalies: ${r.anomalies.length}`,
    ...r.anomalies.map((a) => `  ${a.slice(0, 2_000)}`),
  ];
  for (const [name, items] of [
    ['lost', r.log.lost],
    ['duplicated', r.log.duplicated],
    ['moved', r.log.moved],
    ['reordered', r.log.reordered],
    ['replicas', r.replicaMismatches],
    ['commits', r.commitRegressions],
  ] as const) {
    if (items.length > 0) lines.push(`${name}: ${items.slice(0, 10).join('; ')}`);
  }
  return lines.join('\n');
}

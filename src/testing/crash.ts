/**
 * Crash-loop helpers: a seeded PRNG for the kill schedule, the parsers of what the producer and
 * the group consumer in test/fixtures/crash/ print, and the check of a partition's log against
 * the acknowledged records (each present exactly once, at its acknowledged offset, in producer
 * order).
 */
import { join } from 'node:path';
import { type BrokerProcess, repoRoot, sleep } from './broker-process.ts';

/** Mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts the broker again on its port. While it was down, a client reconnecting to that port
 * can be handed the very port as its own local one (a TCP self-connect on loopback) or another
 * process can take it; listen then fails with EADDRINUSE until that socket closes, so that
 * failure is retried. Resolves with the number of retries.
 */
export async function restartOnSamePort(broker: BrokerProcess, attempts = 20): Promise<number> {
  for (let retry = 0; ; retry++) {
    try {
      await broker.restart({ samePort: true });
      return retry;
    } catch (err) {
      if (retry + 1 >= attempts || !String(err).includes('EADDRINUSE')) throw err;
      await sleep(250);
    }
  }
}

/** The path of a script in test/fixtures/crash/. */
export function crashFixture(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'crash', name);
}

/** A record value `<run>:<n>`, split. */
export interface RecordId {
  readonly run: number;
  readonly n: number;
}

export function parseValue(value: string): RecordId | null {
  const m = /^(\d+):(\d+)$/.exec(value);
  return m === null ? null : { run: Number(m[1]), n: Number(m[2]) };
}

export interface AckedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** The `ack <partition> <offset> <value>` lines of the producer(s); offset -1: not known. */
export function parseAcks(lines: readonly string[]): AckedRecord[] {
  const out: AckedRecord[] = [];
  for (const line of lines) {
    const m = /^ack (\d+) (-?\d+) (\S+)$/.exec(line);
    if (m !== null) out.push({ partition: Number(m[1]), offset: Number(m[2]), value: m[3] ?? '' });
  }
  return out;
}

/** A record as an independent consumer read it from the log. */
export interface LogRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface CrashVerdict {
  readonly acked: number;
  /** Acknowledged records not in the log (descriptions). */
  readonly lost: string[];
  /** Acknowledged records found more than once. */
  readonly duplicatedAcked: string[];
  /** Any value found more than once (acknowledged or not). */
  readonly duplicated: number;
  /** Acknowledged records found at another offset or partition than acknowledged. */
  readonly moved: string[];
  /** Records of one producer run out of their production order within a partition. */
  readonly reordered: string[];
  /** Records in the log that were never acknowledged (in flight at a kill, or not yet reported). */
  readonly unacked: number;
}

/**
 * How production order is checked. `runs-in-sequence`: producer runs followed one another (a
 * crash loop), so within a partition run numbers never go down and a run's numbers go up.
 * `runs-side-by-side`: producers ran at once (a soak), so only each run's own numbers are
 * ordered within a partition.
 */
export type ProductionOrder = 'runs-in-sequence' | 'runs-side-by-side';

/** Checks the log (every partition, read from the beginning) against the acknowledgements. */
export function checkLog(
  log: readonly LogRecord[],
  acks: readonly AckedRecord[],
  order: ProductionOrder = 'runs-in-sequence',
): CrashVerdict {
  const where = new Map<string, LogRecord[]>();
  const reordered: string[] = [];
  const last = new Map<string, { id: RecordId; offset: number }>();
  for (const r of [...log].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const seen = where.get(r.value);
    if (seen === undefined) where.set(r.value, [r]);
    else seen.push(r);
    const id = parseValue(r.value);
    if (id === null) continue;
    const key = order === 'runs-in-sequence' ? `${r.partition}` : `${r.partition}/${id.run}`;
    const prev = last.get(key);
    if (
      prev !== undefined &&
      (id.run < prev.id.run || (id.run === prev.id.run && id.n <= prev.id.n)) &&
      reordered.length < 50
    )
      reordered.push(
        `p${r.partition}@${r.offset} ${r.value} after @${prev.offset} ${idText(prev.id)}`,
      );
    last.set(key, { id, offset: r.offset });
  }
  const lost: string[] = [];
  const duplicatedAcked: string[] = [];
  const moved: string[] = [];
  const ackedValues = new Set<string>();
  for (const a of acks) {
    ackedValues.add(a.value);
    const found = where.get(a.value) ?? [];
    const at = found.map((r) => `p${r.partition}@${r.offset}`).join(', ');
    if (found.length === 0) lost.push(`${a.value} acked at p${a.partition}@${a.offset}`);
    else if (found.length > 1) duplicatedAcked.push(`${a.value} at ${at}`);
    else if (
      found[0]?.partition !== a.partition ||
      (a.offset >= 0 && found[0]?.offset !== a.offset)
    )
      moved.push(`${a.value} acked at p${a.partition}@${a.offset}, found at ${at}`);
  }
  let duplicated = 0;
  let unacked = 0;
  for (const [value, found] of where) {
    if (found.length > 1) duplicated += 1;
    if (!ackedValues.has(value)) unacked += 1;
  }
  return {
    acked: ackedValues.size,
    lost,
    duplicatedAcked,
    duplicated,
    moved,
    reordered,
    unacked,
  };
}

function idText(id: RecordId): string {
  return `${id.run}:${id.n}`;
}

/** The last `committed <partition> <offset>` line of each partition, and regressions. */
export function parseCommits(lines: readonly string[]): {
  last: Map<number, number>;
  count: number;
  regressions: string[];
} {
  const last = new Map<number, number>();
  const regressions: string[] = [];
  let count = 0;
  for (const line of lines) {
    const m = /^committed (\d+) (-?\d+)$/.exec(line);
    if (m === null) continue;
    const p = Number(m[1]);
    const o = Number(m[2]);
    const prev = last.get(p);
    if (prev !== undefined && o < prev) regressions.push(`p${p}: ${prev} then ${o}`);
    last.set(p, o);
    count += 1;
  }
  return { last, count, regressions };
}

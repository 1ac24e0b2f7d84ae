/**
 * Output for people and for scripts: aligned tables, JSON, error reports that name the Kafka
 * error and what to do about it, and the exit codes (documented in docs/cli.md).
 */
import { ConnectionError, KafkaError } from '../admin/index.ts';
import { CommandFailure, UsageError } from './args.ts';

export const EXIT = {
  /** Everything worked. */
  ok: 0,
  /** The cluster refused the operation (a Kafka error code), or something else failed. */
  failed: 1,
  /** The command line was wrong: unknown command or option, bad value, unreadable file. */
  usage: 2,
  /** No broker could be reached, or a request timed out. */
  unreachable: 3,
} as const;

/** Where a command reads and writes; process streams in the binary, buffers in tests. */
export interface Io {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Formats rows as columns separated by two spaces; the header row is upper case. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n')}\n`;
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** What to do about the Kafka errors people meet most at the command line. */
const HINTS: Readonly<Record<string, string>> = {
  UNKNOWN_TOPIC_OR_PARTITION:
    'check the name with `tributary topics list`, or create it with `tributary topics create`',
  TOPIC_ALREADY_EXISTS:
    'choose another name, or delete the topic first with `tributary topics delete`',
  INVALID_PARTITIONS:
    '--partitions must be at least 1, and `topics alter` can only raise the count (see `topics describe`)',
  INVALID_REPLICATION_FACTOR:
    'the replication factor cannot exceed the number of brokers (see `tributary cluster`)',
  INVALID_TOPIC_EXCEPTION:
    'topic names use letters, digits, ".", "_" and "-", at most 249 characters',
  INVALID_CONFIG: 'check the config name and value (`tributary configs describe --topic T --all`)',
  INVALID_REQUEST: 'check the arguments; the broker rejected the request as malformed',
  UNSUPPORTED_VERSION:
    'the broker does not implement this operation; `tributary cluster` lists what it supports',
  MESSAGE_TOO_LARGE:
    "a record is larger than the topic's max.message.bytes; raise it or send smaller records",
  RECORD_LIST_TOO_LARGE: 'lower the batch size or raise max.message.bytes',
  OFFSET_OUT_OF_RANGE:
    'the offset is outside the partition; use --from-beginning or a smaller --offset',
  POLICY_VIOLATION: 'the broker policy rejects this change',
  TOPIC_AUTHORIZATION_FAILED: 'the client is not allowed to use this topic (ACLs)',
  CLUSTER_AUTHORIZATION_FAILED: 'the client is not allowed to do this on the cluster (ACLs)',
  GROUP_AUTHORIZATION_FAILED: 'the client is not allowed to use this group (ACLs)',
  NOT_CONTROLLER: 'the controller moved; retry the command',
  LEADER_NOT_AVAILABLE: 'the partition has no leader right now; retry in a moment',
  NOT_LEADER_OR_FOLLOWER: 'leadership moved; retry the command',
  COORDINATOR_NOT_AVAILABLE: 'the group coordinator is not ready; retry in a moment',
  UNKNOWN_MEMBER_ID: 'the group has active members; commit with a group that no consumer is using',
  ILLEGAL_GENERATION: 'the group has active members; commit with a group that no consumer is using',
  REBALANCE_IN_PROGRESS: 'the group is rebalancing; use a group that no consumer is using',
};

/** Prints `err` to stderr and returns the exit code for it. */
export function reportError(io: Io, err: unknown, usage?: string): number {
  if (err instanceof CommandFailure) {
    io.stderr.write(`tributary: ${err.message}\n`);
    return EXIT.failed;
  }
  if (err instanceof UsageError) {
    io.stderr.write(`tributary: ${err.message}\n`);
    if (usage !== undefined) io.stderr.write(`\n${usage}\n`);
    return EXIT.usage;
  }
  if (err instanceof KafkaError) {
    io.stderr.write(`tributary: error ${err.errorName} (code ${err.code}): ${detail(err)}\n`);
    const hint =
      HINTS[err.errorName] ?? (err.retriable ? 'a transient error; retry the command' : undefined);
    if (hint !== undefined) io.stderr.write(`  what to do: ${hint}\n`);
    return EXIT.failed;
  }
  if (err instanceof ConnectionError) {
    io.stderr.write(`tributary: cannot reach the cluster: ${err.message}\n`);
    io.stderr.write(
      '  what to do: check that a broker is running there, or pass --bootstrap-server host:port\n',
    );
    return EXIT.unreachable;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`tributary: unexpected failure: ${message}\n`);
  return EXIT.failed;
}

function detail(err: KafkaError): string {
  const prefix = `${err.errorName}${err.subject === '' ? '' : ` (${err.subject})`}: `;
  return err.message.startsWith(prefix)
    ? `${err.subject}: ${err.message.slice(prefix.length)}`
    : err.message;
}

/** A progress line on stderr, only on a terminal and only past `threshold` records. */
export class Progress {
  readonly #io: Io;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #threshold: number;
  readonly #started = performance.now();
  #lastDraw = 0;
  #drawn = false;

  constructor(io: Io, label: string, total: number | undefined, threshold = 5000) {
    this.#io = io;
    this.#label = label;
    this.#total = total;
    this.#threshold = threshold;
  }

  update(count: number): void {
    if (this.#io.stderr.isTTY !== true || count < this.#threshold) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    this.#drawn = true;
    this.#io.stderr.write(`\r${this.#line(count, now)}\x1b[K`);
  }

  #line(count: number, now: number): string {
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = `${Math.round(count / seconds).toLocaleString('en-US')} rec/s`;
    const total = this.#total;
    if (total === undefined || total <= 0) {
      return `${this.#label} ${count.toLocaleString('en-US')} records  ${rate}`;
    }
    const width = 30;
    const filled = Math.min(width, Math.round((count / total) * width));
    const pct = Math.min(100, Math.floor((count / total) * 100));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    return `${this.#label} ${bar} ${pct}% ${count.toLocaleString('en-US')}/${total.toLocaleString('en-US')}  ${rate}`;
  }

  /** Clears the line (when one was drawn). */
  done(): void {
    if (this.#drawn) this.#io.stderr.write('\r\x1b[K');
    this.#drawn = false;
  }
}

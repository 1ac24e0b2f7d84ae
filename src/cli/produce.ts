/**
 * `tributary produce TOPIC`: one record per input line (stdin or --file), bytes kept exactly
 * (only the '\n' ending a line is removed). With --key-separator the line is split at the first
 * separator into key and value; a line without it gets a null key.
 */
import { createReadStream } from 'node:fs';
import { COMPRESSION_NAMES, type CompressionName, TopicProducer } from '../admin/index.ts';
import { CommandFailure, type ParsedArgs, parseKeyValues, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, Progress, writeJson } from './output.ts';

const NEWLINE = 0x0a;
/** A pause in the input this long sends what has been read (typed lines go out promptly). */
const LINGER_MS = 100;

export const produceCommand: Command = {
  name: 'produce',
  summary: 'write lines from stdin or a file as records',
  synopsis:
    'usage: tributary produce TOPIC [--file FILE] [--key-separator SEP] [--headers k=v,...]',
  options: {
    file: { kind: 'string', value: 'FILE', help: 'read lines from FILE instead of stdin' },
    'key-separator': { kind: 'string', value: 'SEP', help: 'split each line into KEY SEP VALUE' },
    headers: { kind: 'string', value: 'k=v[,k=v]', help: 'headers added to every record' },
    partition: {
      kind: 'int',
      value: 'N',
      help: 'write to partition N (default: by key hash, else round-robin)',
    },
    compression: {
      kind: 'string',
      value: 'CODEC',
      help: `${COMPRESSION_NAMES.join('|')} (default none)`,
    },
    acks: { kind: 'string', value: 'ACKS', help: 'all|-1 (default), 1 or 0' },
    'batch-size': {
      kind: 'int',
      value: 'BYTES',
      help: 'bytes collected per batch (default 524288)',
    },
    quiet: { kind: 'flag', help: 'print no summary' },
    json: { kind: 'flag', help: 'print the summary as JSON' },
  },
  async run(args, io) {
    const [topic, ...extra] = args.positionals;
    if (topic === undefined || extra.length > 0)
      throw new UsageError('produce needs exactly one TOPIC');
    const settings = produceSettings(args);
    return withAdmin(args, io, async (admin) => {
      const [meta] = await admin.describeTopics([topic], { autoCreate: true });
      if (meta === undefined) throw new CommandFailure(`no topic ${topic}`);
      const only = args.int('partition', 0);
      if (only !== undefined && only >= meta.partitions.length) {
        throw new CommandFailure(
          `topic ${topic} has no partition ${only} (it has ${meta.partitions.length})`,
        );
      }
      const producer = new TopicProducer(admin.client, meta, {
        acks: settings.acks,
        compression: settings.compression,
        lingerMs: LINGER_MS,
        ...(settings.batchBytes === undefined ? {} : { batchBytes: settings.batchBytes }),
      });
      const input =
        args.string('file') === undefined ? io.stdin : openFile(args.string('file') as string);
      const progress = new Progress(io, 'produced', undefined);
      let count = 0;
      try {
        for await (const line of lines(input)) {
          await producer.add({
            ...settings.split(line),
            headers: settings.headers,
            ...settings.partition,
          });
          progress.update(++count);
        }
        await producer.flush();
      } finally {
        progress.done();
      }
      summarize(io, args, topic, count, producer);
      return EXIT.ok;
    });
  },
};

interface ProduceSettings {
  readonly acks: number;
  readonly compression: CompressionName;
  readonly batchBytes: number | undefined;
  readonly headers: { key: string; value: Buffer }[];
  readonly partition: { partition: number } | Record<string, never>;
  split(line: Buffer): { key: Buffer | null; value: Buffer };
}

function produceSettings(args: ParsedArgs): ProduceSettings {
  const compression = (args.string('compression') ?? 'none').toLowerCase();
  if (!(COMPRESSION_NAMES as string[]).includes(compression)) {
    throw new UsageError(`--compression must be one of ${COMPRESSION_NAMES.join(', ')}`);
  }
  const acksRaw = (args.string('acks') ?? 'all').toLowerCase();
  const acks = acksRaw === 'all' ? -1 : Number(acksRaw);
  if (![-1, 0, 1].includes(acks)) throw new UsageError('--acks must be all, -1, 0 or 1');
  const headers = parseKeyValues(args.string('headers') ?? '', '--headers').map(([k, v]) => ({
    key: k,
    value: Buffer.from(v),
  }));
  const sep = args.string('key-separator');
  if (sep === '') throw new UsageError('--key-separator must not be empty');
  const sepBytes = sep === undefined ? null : Buffer.from(sep);
  const partition = args.int('partition', 0);
  return {
    acks,
    compression: compression as CompressionName,
    batchBytes: args.int('batch-size', 1),
    headers,
    partition: partition === undefined ? {} : { partition },
    split(line) {
      if (sepBytes === null) return { key: null, value: line };
      const at = line.indexOf(sepBytes);
      if (at < 0) return { key: null, value: line };
      return { key: line.subarray(0, at), value: line.subarray(at + sepBytes.length) };
    },
  };
}

function openFile(path: string): NodeJS.ReadableStream {
  const stream = createReadStream(path);
  return stream;
}

/** The lines of `input` as byte buffers, without their '\n'; a last unterminated line too. */
export async function* lines(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of input) {
      const buf: Buffer =
        rest.length === 0 ? toBuffer(chunk) : Buffer.concat([rest, toBuffer(chunk)]);
      let start = 0;
      for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
        yield buf.subarray(start, nl);
        start = nl + 1;
      }
      rest = buf.subarray(start);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new UsageError(`cannot read input: ${(err as Error).message}`);
    }
    throw err;
  }
  if (rest.length > 0) yield rest;
}

function toBuffer(chunk: string | Buffer | Uint8Array): Buffer {
  return typeof chunk === 'string'
    ? Buffer.from(chunk)
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function summarize(
  io: Io,
  args: ParsedArgs,
  topic: string,
  count: number,
  producer: TopicProducer,
) {
  const parts = [...producer.written].sort(([a], [b]) => a - b);
  if (args.flag('json')) {
    writeJson(io, {
      topic,
      records: count,
      partitions: parts.map(([partition, w]) => ({ partition, ...w })),
    });
    return;
  }
  if (args.flag('quiet')) return;
  io.stdout.write(`Produced ${count} record${count === 1 ? '' : 's'} to ${topic}.\n`);
  if (parts.length === 0) return;
  const rows = parts.map(([p, w]) => [
    String(p),
    String(w.count),
    w.firstOffset < 0 ? '-' : String(w.firstOffset),
    w.lastOffset < 0 ? '-' : String(w.lastOffset),
  ]);
  io.stdout.write(formatTable(['partition', 'records', 'first offset', 'last offset'], rows));
}

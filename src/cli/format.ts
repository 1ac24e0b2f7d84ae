/**
 * The record template of `tributary consume --format`. Two spellings, mixable:
 *
 *   %k key   %v value   %h headers (k=v,k2=v2)   %p partition   %o offset   %T timestamp (ms)
 *   %t topic   %K key length (-1 null)   %V value length (-1 null)   %% a percent sign
 *   {key} {value} {headers} {partition} {offset} {timestamp} {topic}
 *
 * plus the escapes \n \t \r \\ . When the template has no newline, one is added after each record.
 * Keys, values and header values are written as their raw bytes; a null prints as nothing.
 */
import type { ConsumedRecord } from '../admin/index.ts';
import { UsageError } from './args.ts';

type Piece = string | ((r: ConsumedRecord) => Buffer | string);

type Field = (r: ConsumedRecord) => Buffer | string;

const keyField: Field = (r) => r.key ?? '';
const valueField: Field = (r) => r.value ?? '';
const headersField: Field = (r) => headersText(r);
const partitionField: Field = (r) => String(r.partition);
const offsetField: Field = (r) => String(r.offset);
const timestampField: Field = (r) => String(r.timestamp);
const topicField: Field = (r) => r.topic;

const FIELDS: Readonly<Record<string, Field>> = {
  key: keyField,
  value: valueField,
  headers: headersField,
  partition: partitionField,
  offset: offsetField,
  timestamp: timestampField,
  topic: topicField,
};

const PERCENT: Readonly<Record<string, Field>> = {
  k: keyField,
  v: valueField,
  h: headersField,
  p: partitionField,
  o: offsetField,
  T: timestampField,
  t: topicField,
  K: (r) => String(r.key === null ? -1 : r.key.length),
  V: (r) => String(r.value === null ? -1 : r.value.length),
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

export function headersText(r: ConsumedRecord): Buffer {
  const parts: Buffer[] = [];
  r.headers.forEach((h, i) => {
    if (i > 0) parts.push(Buffer.from(','));
    parts.push(Buffer.from(`${h.key}=`));
    if (h.value !== null) parts.push(h.value);
  });
  return Buffer.concat(parts);
}

/** Compiles a template into a function from a record to its output bytes. */
export function compileFormat(template: string): (r: ConsumedRecord) => Buffer {
  const pieces: Piece[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') pieces.push(text);
    text = '';
  };
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] as string;
    const next = template[i + 1];
    if (ch === '%' && next !== undefined) {
      i++;
      if (next === '%') {
        text += '%';
        continue;
      }
      const f = PERCENT[next];
      if (f === undefined) throw new UsageError(`--format: unknown field %${next}`);
      flush();
      pieces.push(f);
    } else if (ch === '{') {
      const close = template.indexOf('}', i);
      const f = close < 0 ? undefined : FIELDS[template.slice(i + 1, close)];
      if (f === undefined) {
        text += ch;
        continue;
      }
      flush();
      pieces.push(f);
      i = close;
    } else if (ch === '\\' && next !== undefined && ESCAPES[next] !== undefined) {
      text += ESCAPES[next];
      i++;
    } else {
      text += ch;
    }
  }
  if (!pieces.some((p) => typeof p === 'string' && p.includes('\n')) && !text.includes('\n')) {
    text += '\n';
  }
  flush();
  return (r) => {
    const out: (Buffer | string)[] = pieces.map((p) => (typeof p === 'string' ? p : p(r)));
    return Buffer.concat(out.map((o) => (typeof o === 'string' ? Buffer.from(o) : o)));
  };
}

/** One JSON line per record: strings for key, value and header values (UTF-8). */
export function recordJson(r: ConsumedRecord): string {
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    headers: r.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : h.value.toString('utf8'),
    })),
  });
}

/**
 * How records and numbers are shown: a record's key, value and headers as text, pretty-printed
 * JSON or hex; one record as a JSON document for copying; byte sizes, rates and sparklines.
 * Pure functions, tested on their own.
 */

export type ValueFormat = 'text' | 'json' | 'hex';
export const VALUE_FORMATS: readonly ValueFormat[] = ['text', 'json', 'hex'];

export interface RecordView {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer | null }[];
}

const HEX_ROW_BYTES = 16;

/** Whether `data` is valid UTF-8 without control characters other than tab and newlines. */
export function isPrintable(data: Buffer): boolean {
  const text = data.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(data)) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
}

/** A hex dump: offset, 16 bytes in hex, the printable ASCII beside them. */
export function hexDump(data: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += HEX_ROW_BYTES) {
    const row = data.subarray(i, i + HEX_ROW_BYTES);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'));
    lines.push(
      `${i.toString(16).padStart(8, '0')}  ${hex.padEnd(HEX_ROW_BYTES * 3 - 1)}  ${ascii.join('')}`,
    );
  }
  return lines.join('\n');
}

/**
 * `data` shown as asked: text (bytes that are not printable UTF-8 fall back to hex), JSON
 * pretty-printed (text that is not JSON is shown as text) or hex. null is shown as null.
 */
export function formatBytes(data: Buffer | null, format: ValueFormat): string {
  if (data === null) return 'null';
  if (format === 'hex' || !isPrintable(data)) return hexDump(data);
  const text = data.toString('utf8');
  if (format === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

/** One record as a JSON document: text where it is printable UTF-8, else base64. */
export function recordJson(r: RecordView): string {
  const encode = (data: Buffer | null) =>
    data === null
      ? { value: null }
      : isPrintable(data)
        ? { value: data.toString('utf8') }
        : { base64: data.toString('base64') };
  const key = encode(r.key);
  const value = encode(r.value);
  return JSON.stringify(
    {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      timestampIso: r.timestamp >= 0 ? new Date(r.timestamp).toISOString() : null,
      key: 'base64' in key ? null : key.value,
      ...('base64' in key ? { keyBase64: key.base64 } : {}),
      value: 'base64' in value ? null : value.value,
      ...('base64' in value ? { valueBase64: value.base64 } : {}),
      headers: r.headers.map((h) => {
        const v = encode(h.value);
        return 'base64' in v
          ? { key: h.key, value: null, valueBase64: v.base64 }
          : { key: h.key, value: v.value };
      }),
    },
    null,
    2,
  );
}

/** Whether the record's key, value or one of its headers (key or value) contains `needle`. */
export function recordMatches(
  r: RecordView,
  needle: Buffer,
  field: 'key' | 'value' | 'header' | 'any',
): boolean {
  const has = (data: Buffer | null) => data?.includes(needle) === true;
  if ((field === 'key' || field === 'any') && has(r.key)) return true;
  if ((field === 'value' || field === 'any') && has(r.value)) return true;
  if (field === 'header' || field === 'any') {
    return r.headers.some((h) => Buffer.from(h.key, 'utf8').includes(needle) || has(h.value));
  }
  return false;
}

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatSize(bytes: number): string {
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < SIZE_UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${SIZE_UNITS[unit]}`;
}

/** Messages per second, with few digits. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** Thousands separated. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export const SPARK_WIDTH = 120;
export const SPARK_HEIGHT = 24;

/**
 * The points of a sparkline through `values`, scaled to a SPARK_WIDTH x SPARK_HEIGHT box (the
 * top is the largest value; all zero is a flat line at the bottom).
 */
export function sparklinePoints(values: readonly number[]): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? SPARK_WIDTH / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const y = max === 0 ? SPARK_HEIGHT - 1 : SPARK_HEIGHT - 1 - (v / max) * (SPARK_HEIGHT - 2);
      return `${round1(i * step)},${round1(y)}`;
    })
    .join(' ');
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * A strict parser of the Prometheus text format 0.0.4, for tests of `/metrics`: it throws on
 * anything a Prometheus server would reject or that the format forbids (a family's TYPE after its
 * samples or twice, a family's samples not in one group, bad names, bad escapes in label values,
 * a label twice, the same series twice, a value that is not a Go float).
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string | undefined;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'summary', 'histogram', 'untyped']);
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  summary: ['_sum', '_count'],
  histogram: ['_sum', '_count', '_bucket'],
};

/** Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case. */
function parseValue(text: string, where: string): number {
  const word = text.toLowerCase();
  if (word === 'nan') return Number.NaN;
  if (/^\+?inf(inity)?$/.test(word)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(word)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`${where}: not a number: ${text}`);
  }
  return Number(text);
}

/** `{a="x",b="y"}` from the start of `text`: the labels and what follows. */
function parseLabels(
  text: string,
  where: string,
): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = text.slice(1);
  for (;;) {
    s = s.trimStart();
    if (s.startsWith('}')) return { labels, rest: s.slice(1) };
    const name = LABEL_NAME.exec(s)?.[0];
    if (name === undefined) throw new Error(`${where}: bad label name in ${text}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} twice`);
    s = s.slice(name.length).trimStart();
    if (!s.startsWith('="')) throw new Error(`${where}: expected =" after ${name}`);
    let value = '';
    let i = 2;
    for (; ; i++) {
      const c = s[i];
      if (c === undefined || c === '\n') throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const next = s[++i];
      if (next === '\\' || next === '"') value += next;
      else if (next === 'n') value += '\n';
      else throw new Error(`${where}: bad escape \\${next} in a label value`);
    }
    labels[name] = value;
    s = s.slice(i + 1).trimStart();
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) throw new Error(`${where}: expected , or } after a label`);
  }
}

function parseSample(line: string, where: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error(`${where}: bad metric name: ${line}`);
  let rest = line.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
  if (!/^[ \t]/.test(rest)) throw new Error(`${where}: expected a space before the value`);
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length > 2) throw new Error(`${where}: trailing text: ${line}`);
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1] as string)) {
    throw new Error(`${where}: bad timestamp: ${line}`);
  }
  return { name, labels, value: parseValue(fields[0] as string, where) };
}

/** Which family a sample name belongs to: its own, or a summary's or histogram's by suffix. */
function familyOf(families: ReadonlyMap<string, Family>, name: string): string {
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const suffix of suffixes) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      if (families.get(base)?.type === type) return base;
    }
  }
  return name;
}

function seriesKey(s: Sample): string {
  const labels = Object.entries(s.labels).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return JSON.stringify([s.name, labels]);
}

/** Every family by name, in order of appearance. */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with \\n');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, where: string): Family => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`${where}: samples of ${name} are not in one group`);
      if (current !== null) closed.add(current);
      current = name;
    }
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    const meta = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta !== null) {
      const [, kind, name, arg = ''] = meta as unknown as [string, string, string, string?];
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) throw new Error(`${where}: ${name}`);
      const f = enter(name, where);
      if (kind === 'TYPE') {
        if (!TYPES.has(arg.trim())) throw new Error(`${where}: unknown type ${arg}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE of ${name} after its samples`);
        if (f.type !== 'untyped') throw new Error(`${where}: TYPE of ${name} twice`);
        f.type = arg.trim();
      } else {
        if (f.help !== undefined) throw new Error(`${where}: HELP of ${name} twice`);
        f.help = arg;
      }
      return;
    }
    if (line.startsWith('#')) return;
    const sample = parseSample(line, where);
    const f = enter(familyOf(families, sample.name), where);
    const key = seriesKey(sample);
    if (series.has(key)) throw new Error(`${where}: the same series twice: ${line}`);
    series.add(key);
    f.samples.push(sample);
  });
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
export function sampleValue(
  families: ReadonlyMap<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const found: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) found.push(s);
    }
  }
  if (found.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

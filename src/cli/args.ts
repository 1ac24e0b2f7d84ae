/**
 * Command line parsing: `--name value`, `--name=value`, boolean flags, repeatable options, and
 * positional arguments. Each command declares its options; anything else is a usage error.
 */

export type OptionKind = 'string' | 'int' | 'flag' | 'list';

export interface OptionSpec {
  readonly kind: OptionKind;
  /** Shown in help: what the value is, e.g. 'N' or 'k=v'. */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A mistake on the command line: exit code 2, with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A command that cannot be done as asked for a reason of the cluster's, not of the command line
 * (no such partition): exit code 1, one line, no usage text.
 */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export class ParsedArgs {
  readonly positionals: string[] = [];
  readonly #values = new Map<string, string[]>();

  set(name: string, value: string): void {
    const list = this.#values.get(name) ?? [];
    list.push(value);
    this.#values.set(name, list);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  string(name: string): string | undefined {
    const list = this.#values.get(name);
    return list === undefined ? undefined : list[list.length - 1];
  }

  flag(name: string): boolean {
    return this.#values.has(name);
  }

  list(name: string): string[] {
    return this.#values.get(name) ?? [];
  }

  /** An integer option; `undefined` when absent. */
  int(name: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const n = parseInteger(raw);
    if (n === undefined || n < min) {
      throw new UsageError(
        `--${name} needs an integer${min > 0 ? ` of at least ${min}` : ''}, not '${raw}'`,
      );
    }
    return n;
  }
}

export function parseInteger(raw: string): number | undefined {
  if (!/^-?\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses `argv` against `specs`. `--` ends the options. */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const out = new ParsedArgs();
  let optionsDone = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (optionsDone || !arg.startsWith('--') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsDone = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.set(name, 'true');
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[++i];
      if (value === undefined)
        throw new UsageError(`--${name} needs a value (${spec.value ?? 'VALUE'})`);
    }
    out.set(name, value);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.kind === 'int') out.int(name);
  }
  return out;
}

/** Help lines for `specs`, aligned. */
export function describeOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = s.kind === 'flag' ? `--${name}` : `--${name} ${s.value ?? 'VALUE'}`;
    return [left, s.help] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`).join('\n');
}

/**
 * Splits `k=v,k2=v2` into pairs. A value may hold commas inside square brackets
 * (`cleanup.policy=[compact,delete]`); the brackets are removed.
 */
export function parseKeyValues(raw: string, what: string): [string, string][] {
  const out: [string, string][] = [];
  for (const item of splitTopLevel(raw)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what}: expected key=value, not '${item}'`);
    let value = item.slice(eq + 1);
    if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
    out.push([item.slice(0, eq).trim(), value]);
  }
  return out;
}

/** Splits on commas outside square brackets. */
export function splitTopLevel(raw: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of raw) {
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

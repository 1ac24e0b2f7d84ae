/**
 * The broker's configuration: values given in server.properties or --override, checked against
 * the definitions, with typed getters and the effective config of a topic (its overrides, then
 * the broker configs it falls back to). Unknown keys are kept and reported, as Kafka does.
 */
import { TributaryError } from '../common/errors.ts';
import {
  brokerConfigByName,
  checkConfigValue,
  invalidConfig,
  type TopicConfigDef,
  topicConfigByName,
  topicConfigDefs,
} from './config-def.ts';

/** Broker synonyms counted in other units than their topic config (to milliseconds). */
const synonymScale: ReadonlyMap<string, number> = new Map([
  ['log.retention.minutes', 60_000],
  ['log.retention.hours', 3_600_000],
  ['log.roll.hours', 3_600_000],
]);

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export type ConfigSourceName = 'topic' | 'static_broker' | 'default';

export interface ResolvedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly source: ConfigSourceName;
  /** Where the value could come from, most specific first (DescribeConfigs synonyms). */
  readonly synonyms: readonly { name: string; value: string | null; source: ConfigSourceName }[];
}

export class BrokerConfig {
  readonly explicit: ReadonlyMap<string, string>;
  readonly unknownKeys: readonly string[];

  private constructor(explicit: Map<string, string>, unknownKeys: string[]) {
    this.explicit = explicit;
    this.unknownKeys = unknownKeys;
  }

  /** Validates every known key; throws TributaryError BRK_CONFIG_INVALID naming the key. */
  static from(values: ReadonlyMap<string, string>): BrokerConfig {
    const explicit = new Map<string, string>();
    const unknown: string[] = [];
    for (const [name, raw] of values) {
      const value = raw.trim();
      const d = brokerConfigByName.get(name);
      if (d === undefined) {
        unknown.push(name);
        explicit.set(name, value);
        continue;
      }
      const reason = checkConfigValue(d, value);
      if (reason !== undefined) throw invalidConfig(name, value, reason);
      explicit.set(name, value);
    }
    const config = new BrokerConfig(explicit, unknown);
    config.listeners();
    config.advertisedListeners();
    return config;
  }

  /** The value in force (explicit, else default), or null. */
  value(name: string): string | null {
    const v = this.explicit.get(name);
    if (v !== undefined) return v;
    const d = brokerConfigByName.get(name);
    if (d === undefined) throw new TributaryError('BRK_NOT_FOUND', `unknown config ${name}`);
    return d.defaultValue;
  }

  source(name: string): ConfigSourceName {
    return this.explicit.has(name) ? 'static_broker' : 'default';
  }

  int(name: string): number {
    const v = this.value(name);
    if (v === null) throw new TributaryError('BRK_CONFIG_INVALID', `${name} has no value`);
    return Number(v);
  }

  optionalInt(name: string): number | null {
    const v = this.value(name);
    return v === null ? null : Number(v);
  }

  bool(name: string): boolean {
    return this.value(name) === 'true';
  }

  list(name: string): string[] {
    const v = this.value(name);
    if (v === null || v.trim() === '') return [];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  get brokerId(): number {
    return this.int('broker.id');
  }

  get logDirs(): string[] {
    const dirs = this.list('log.dirs');
    return dirs.length > 0 ? dirs : [this.value('log.dir') ?? './data'];
  }

  listeners(): Listener[] {
    return parseListeners('listeners', this.list('listeners'));
  }

  /** Advertised listeners, or the bound ones; a listener named in neither is an error. */
  advertisedListeners(): Listener[] | null {
    const list = this.list('advertised.listeners');
    return list.length === 0 ? null : parseListeners('advertised.listeners', list);
  }

  /** The effective value of every topic config, given the topic's own overrides. */
  resolveTopicConfig(overrides: ReadonlyMap<string, string>): ResolvedConfig[] {
    return topicConfigDefs.map((d) => this.resolveTopicEntry(d, overrides));
  }

  topicConfigValue(name: string, overrides: ReadonlyMap<string, string>): string | null {
    const d = topicConfigByName.get(name);
    if (d === undefined) throw new TributaryError('BRK_NOT_FOUND', `unknown topic config ${name}`);
    return this.resolveTopicEntry(d, overrides).value;
  }

  private resolveTopicEntry(
    d: TopicConfigDef,
    overrides: ReadonlyMap<string, string>,
  ): ResolvedConfig {
    const synonyms: { name: string; value: string | null; source: ConfigSourceName }[] = [];
    const own = overrides.get(d.name);
    if (own !== undefined) synonyms.push({ name: d.name, value: own, source: 'topic' });
    for (const b of d.brokerSynonyms) {
      const v = this.explicit.get(b);
      if (v !== undefined) synonyms.push({ name: b, value: scaled(b, v), source: 'static_broker' });
    }
    for (const b of d.brokerSynonyms) {
      const bd = brokerConfigByName.get(b);
      if (bd?.defaultValue != null) {
        synonyms.push({ name: b, value: scaled(b, bd.defaultValue), source: 'default' });
        break;
      }
    }
    const first = synonyms[0];
    if (first === undefined)
      return { name: d.name, value: d.defaultValue, source: 'default', synonyms };
    return { name: d.name, value: first.value, source: first.source, synonyms };
  }
}

function scaled(name: string, value: string): string {
  const scale = synonymScale.get(name);
  return scale === undefined ? value : String(Number(value) * scale);
}

function parseListeners(key: string, entries: readonly string[]): Listener[] {
  const seen = new Set<string>();
  return entries.map((entry) => {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry);
    if (m === null) throw invalidConfig(key, entry, 'expected NAME://host:port');
    const name = (m[1] ?? '').toUpperCase();
    if (seen.has(name)) throw invalidConfig(key, entry, `listener ${name} is named twice`);
    seen.add(name);
    const port = Number(m[3]);
    if (port > 65535) throw invalidConfig(key, entry, 'port out of range');
    const host = (m[2] ?? '').replace(/^\[|\]$/g, '');
    return { name, host, port };
  });
}

/** Checks topic config overrides (CreateTopics, AlterConfigs); returns an error message or undefined. */
export function checkTopicConfig(name: string, value: string | null): string | undefined {
  const d = topicConfigByName.get(name);
  if (d === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return undefined;
  const reason = checkConfigValue(d, value);
  return reason === undefined
    ? undefined
    : `Invalid value ${value} for configuration ${name}: ${reason}`;
}

/**
 * The broker's configuration: values given in server.properties or --override, checked against
 * the definitions when loaded, with the typed settings and limits built once from them
 * (settings.ts, limits.ts), and the effective config of a topic (its overrides, then the broker
 * configs it falls back to) with its sources, which DescribeConfigs reports. Unknown keys are kept
 * and reported, as Kafka does; settings the broker does not implement are refused or reported
 * (unsupported.ts).
 */
import { TributaryError } from '../common/errors.ts';
import {
  brokerConfigByName,
  brokerConfigDefs,
  checkConfigValue,
  invalidConfig,
  isDefaultOnlyValue,
  type SecurityProtocol,
  type TopicConfigDef,
  topicConfigByName,
  topicConfigDefs,
} from './config-def.ts';
import { isListenerConnectionRateKey } from './dynamic-configs.ts';
import { checkLimitRelations, type Limits, limitsFrom } from './limits.ts';
import {
  checkAdvertisedListeners,
  checkListenerProtocols,
  isListenerSecurityKey,
  type Listener,
  parseListeners,
  parseSecurityProtocolMap,
  protocolOfListener,
} from './listeners.ts';
import { type BrokerSettings, buildSettings } from './settings.ts';
import { checkUnsupported, ignoredConfigsLine } from './unsupported.ts';

export type { Listener } from './listeners.ts';

/** Broker synonyms counted in other units than their topic config (to milliseconds). */
const synonymScale: ReadonlyMap<string, number> = new Map([
  ['log.retention.minutes', 60_000],
  ['log.retention.hours', 3_600_000],
  ['log.roll.hours', 3_600_000],
]);

export type ConfigSourceName =
  | 'topic'
  | 'dynamic_broker'
  | 'dynamic_default_broker'
  | 'static_broker'
  | 'default';

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
  /** Every broker setting, typed; built once when the config is loaded. */
  readonly settings: BrokerSettings;
  /** Every named limit (limits.ts), read from the settings. */
  readonly limits: Limits;
  /**
   * Dynamic broker configs (KIP-226): this broker's own, then the cluster-wide defaults; they
   * take precedence over the config file. Only DYNAMIC_BROKER_CONFIGS keys are ever set here.
   */
  #dynamicBroker: ReadonlyMap<string, string> = new Map();
  #dynamicDefault: ReadonlyMap<string, string> = new Map();
  readonly #dynamicListeners: (() => void)[] = [];

  private constructor(explicit: Map<string, string>, unknownKeys: string[]) {
    this.explicit = explicit;
    this.unknownKeys = unknownKeys;
    const listeners = parseListeners('listeners', this.list('listeners'));
    const advertised = this.list('advertised.listeners');
    const advertisedListeners =
      advertised.length === 0 ? null : parseListeners('advertised.listeners', advertised);
    const dirs = this.list('log.dirs');
    this.settings = buildSettings(brokerConfigDefs, (d) => this.value(d.name), {
      listeners,
      advertisedListeners,
      logDirs: dirs.length > 0 ? dirs : [this.value('log.dir') ?? './data'],
    });
    this.limits = limitsFrom(this.settings);
  }

  /**
   * Validates every known key, refuses what the broker does not implement where ignoring it
   * would change safety or topology, and checks the relations between limits; throws
   * TributaryError BRK_CONFIG_INVALID naming the key.
   */
  static from(values: ReadonlyMap<string, string>): BrokerConfig {
    const explicit = new Map<string, string>();
    const unknown: string[] = [];
    for (const [name, raw] of values) {
      const value = raw.trim();
      const d = brokerConfigByName.get(
        isListenerConnectionRateKey(name) ? 'max.connection.creation.rate' : name,
      );
      if (d === undefined) {
        // Per-listener TLS and SASL keys are read by the listeners (unsupported.ts refuses the
        // ones that are not).
        if (!isListenerSecurityKey(name)) unknown.push(name);
        explicit.set(name, value);
        continue;
      }
      const reason = checkConfigValue(d, value);
      if (reason !== undefined) throw invalidConfig(name, value, reason);
      explicit.set(name, value);
    }
    checkUnsupported(explicit);
    const config = new BrokerConfig(explicit, unknown);
    const s = config.settings;
    const protocolMap = s.listenerSecurityProtocolMap;
    const listenersValue = config.list('listeners').join(',');
    checkListenerProtocols(
      s.listeners,
      parseSecurityProtocolMap(protocolMap),
      listenersValue,
      protocolMap,
    );
    if (s.advertisedListeners !== null) {
      const advertisedValue = config.list('advertised.listeners').join(',');
      checkAdvertisedListeners(s.advertisedListeners, s.listeners, advertisedValue);
    }
    checkLimitRelations(s);
    return config;
  }

  /** A listener's security protocol (listener.security.protocol.map, or its name). */
  listenerProtocol(listenerName: string): SecurityProtocol {
    const map = parseSecurityProtocolMap(this.settings.listenerSecurityProtocolMap);
    return protocolOfListener(listenerName, map) ?? 'PLAINTEXT';
  }

  /** Keys set that the broker accepts and ignores: defined but not implemented, then unknown. */
  get ignoredKeys(): { readonly notImplemented: string[]; readonly unknown: readonly string[] } {
    const notImplemented = [...this.explicit.keys()].filter(
      (k) => brokerConfigByName.get(k)?.ignored === true,
    );
    return { notImplemented, unknown: this.unknownKeys };
  }

  /** The line to log once at start about ignored keys, or undefined when there are none. */
  ignoredKeysLine(): string | undefined {
    const { notImplemented, unknown } = this.ignoredKeys;
    return ignoredConfigsLine(notImplemented, unknown);
  }

  /** Replaces the dynamic configs (this broker's and the defaults), already validated. */
  setDynamic(perBroker: ReadonlyMap<string, string>, defaults: ReadonlyMap<string, string>): void {
    this.#dynamicBroker = new Map(perBroker);
    this.#dynamicDefault = new Map(defaults);
    for (const listener of this.#dynamicListeners) listener();
  }

  /**
   * Calls `listener` now and after every change of the dynamic configs, for the parts of the
   * broker that read a dynamic config once and keep it (the server's connection limits).
   */
  followDynamic(listener: () => void): void {
    this.#dynamicListeners.push(listener);
    listener();
  }

  /**
   * A key's value in force when it is set at some level (dynamic for this broker, dynamic
   * default, config file), for keys without a definition such as listener.name.<l>.ssl.*.
   */
  setValue(key: string): string | undefined {
    return this.#dynamicBroker.get(key) ?? this.#dynamicDefault.get(key) ?? this.explicit.get(key);
  }

  /** An int config's value in force (dynamic, file or default). */
  intValue(name: string): number {
    return Number(this.value(name));
  }

  get dynamicBroker(): ReadonlyMap<string, string> {
    return this.#dynamicBroker;
  }

  get dynamicDefault(): ReadonlyMap<string, string> {
    return this.#dynamicDefault;
  }

  /**
   * The value in force: this broker's dynamic config, the cluster-wide dynamic default, the
   * config file, else the default; or null. (`settings` holds the file's values, read at start;
   * code that follows dynamic changes reads here.)
   */
  value(name: string): string | null {
    const v =
      this.#dynamicBroker.get(name) ?? this.#dynamicDefault.get(name) ?? this.explicit.get(name);
    if (v !== undefined) return v;
    const d = brokerConfigByName.get(name);
    if (d === undefined) throw new TributaryError('BRK_NOT_FOUND', `unknown config ${name}`);
    return d.defaultValue;
  }

  source(name: string): ConfigSourceName {
    if (this.#dynamicBroker.has(name)) return 'dynamic_broker';
    if (this.#dynamicDefault.has(name)) return 'dynamic_default_broker';
    return this.explicit.has(name) ? 'static_broker' : 'default';
  }

  /** A broker config's value at each level that sets it, most specific first (its synonyms). */
  levels(name: string): { value: string; source: ConfigSourceName }[] {
    const out: { value: string; source: ConfigSourceName }[] = [];
    const b = this.#dynamicBroker.get(name);
    if (b !== undefined) out.push({ value: b, source: 'dynamic_broker' });
    const d = this.#dynamicDefault.get(name);
    if (d !== undefined) out.push({ value: d, source: 'dynamic_default_broker' });
    const e = this.explicit.get(name);
    if (e !== undefined) out.push({ value: e, source: 'static_broker' });
    return out;
  }

  /**
   * The getters by name below are for the call sites not yet on `settings` (and DescribeConfigs,
   * which walks the names); new code reads `settings`, whose field names the compiler checks.
   */
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
    return this.settings.brokerId;
  }

  get logDirs(): string[] {
    return [...this.settings.logDirs];
  }

  listeners(): Listener[] {
    return [...this.settings.listeners];
  }

  /** Advertised listeners (each named in listeners), or null to publish the bound ones. */
  advertisedListeners(): Listener[] | null {
    const advertised = this.settings.advertisedListeners;
    return advertised === null ? null : [...advertised];
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
      for (const level of this.levels(b)) {
        synonyms.push({ name: b, value: scaled(b, level.value), source: level.source });
      }
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

/** Checks topic config overrides (CreateTopics, AlterConfigs); returns an error message or undefined. */
export function checkTopicConfig(name: string, value: string | null): string | undefined {
  const d = topicConfigByName.get(name);
  if (d === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return undefined;
  const reason = checkConfigValue(d, value);
  if (reason !== undefined) return `Invalid value ${value} for configuration ${name}: ${reason}`;
  const only = d.defaultOnly;
  if (only !== undefined && !isDefaultOnlyValue(only, value)) {
    return `Configuration ${name} is not supported yet with a value other than its default ${only.defaultValue || '(empty)'}: ${only.why}`;
  }
  return undefined;
}

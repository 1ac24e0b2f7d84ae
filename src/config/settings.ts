/**
 * The broker's settings as one typed, frozen object, built once at start from the config
 * definitions: a field per broker config, named by its Kafka name in camelCase without the
 * `tributary.` prefix (`socket.request.max.bytes` is `socketRequestMaxBytes`,
 * `tributary.acks.all.fsync` is `acksAllFsync`). The type is derived from the definitions in
 * config-def.ts, so a field that does not exist, or is read as the wrong type, fails to compile.
 * A few fields are derived instead of read as they are: the parsed listeners and the log
 * directories in force.
 */
import type { BrokerConfigDef, BrokerConfigName, ConfigDef, TypedConfigDef } from './config-def.ts';
import type { Listener } from './listeners.ts';

type CamelCase<S extends string> = S extends `${infer Head}.${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The settings field of a config name (type level; settingName is the same at run time). */
export type SettingName<N extends string> = CamelCase<
  N extends `tributary.${infer Rest}` ? Rest : N
>;

type Allowed<D> = D extends TypedConfigDef<string, 'string', string | null, infer A> ? A : string;

type SettingValue<D extends ConfigDef> = D['type'] extends 'boolean'
  ? boolean
  : D['type'] extends 'list'
    ? readonly string[]
    : D['type'] extends 'string' | 'class' | 'password'
      ? Allowed<D>
      : number;

/** A config with no default reads as null while unset; an unset list is empty. */
type Unset<D extends ConfigDef> = D['type'] extends 'list'
  ? never
  : D['defaultValue'] extends null
    ? null
    : never;

type DefinedSettings = {
  readonly [D in BrokerConfigDef as SettingName<D['name']>]: SettingValue<D> | Unset<D>;
};

/** Fields computed from several configs, replacing the raw field of the same name. */
export interface DerivedSettings {
  /** `listeners`, parsed; every one PLAINTEXT (others are refused at load). */
  readonly listeners: readonly Listener[];
  /** `advertised.listeners`, parsed, or null when unset (the bound listeners are published). */
  readonly advertisedListeners: readonly Listener[] | null;
  /** `log.dirs`, else `log.dir`: never empty. */
  readonly logDirs: readonly string[];
}

type Flatten<T> = { readonly [K in keyof T]: T[K] };

export type BrokerSettings = Flatten<
  Omit<DefinedSettings, keyof DerivedSettings> & DerivedSettings
>;

/** A settings field that holds a number (what a limit may name). */
export type NumericSettingName = {
  [K in keyof BrokerSettings]: BrokerSettings[K] extends number ? K : never;
}[keyof BrokerSettings];

/** A broker config whose setting is a number (what a limit may name). */
export type NumericConfigName = {
  [N in BrokerConfigName]: SettingName<N> extends NumericSettingName ? N : never;
}[BrokerConfigName];

/** The settings field of a broker config, as SettingName does it for types. */
export function settingName<N extends BrokerConfigName>(configName: N): SettingName<N>;
export function settingName(configName: string): string;
export function settingName(configName: string): string {
  const bare = configName.startsWith('tributary.')
    ? configName.slice('tributary.'.length)
    : configName;
  return bare.replace(/\.([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Reads one config's value in force into its settings type. Longs beyond 2^53 (Kafka's
 * Long.MAX_VALUE as "never") become Number.MAX_SAFE_INTEGER, which the storage reads as never.
 */
export function settingValue(d: ConfigDef, value: string | null): unknown {
  if (value === null) return d.type === 'list' ? [] : null;
  switch (d.type) {
    case 'boolean':
      return value === 'true';
    case 'int':
    case 'short':
    case 'long':
    case 'double': {
      const n = Number(value);
      return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(n, Number.MAX_SAFE_INTEGER));
    }
    case 'list':
      return value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return value;
  }
}

/**
 * Builds the settings from the definitions and the values in force. The one place a settings
 * object is made; the cast is checked by a unit test that walks every definition.
 */
export function buildSettings(
  defs: readonly ConfigDef[],
  inForce: (d: ConfigDef) => string | null,
  derived: DerivedSettings,
): BrokerSettings {
  const fields: Record<string, unknown> = {};
  for (const d of defs) fields[settingName(d.name)] = settingValue(d, inForce(d));
  Object.assign(fields, derived);
  return Object.freeze(fields) as unknown as BrokerSettings;
}

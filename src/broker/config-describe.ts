/**
 * Config entries as the admin APIs report them (DescribeConfigs, CreateTopics v5+), and the
 * checks and edits shared by AlterConfigs and IncrementalAlterConfigs. Kafka's rules
 * (ConfigHelper, ConfigAdminManager):
 *
 * - Broker synonyms (ConfigHelper.configSynonyms): for a broker name, the names of its Kafka group
 *   (DynamicBrokerConfig.brokerConfigSynonyms: log.retention.ms, .minutes, .hours; log.roll.ms,
 *   .hours; log.roll.jitter.ms, .hours; log.flush.interval.ms, log.flush.scheduler.interval.ms),
 *   those set in the config file first, then those with a default, each with its own value as
 *   written (log.retention.hours=168, not converted to milliseconds). Everything before the first
 *   entry named exactly as the name asked for is dropped, so a name that is neither set nor has a
 *   default has no synonyms at all, even when another name of its group is set.
 * - A topic config's value is the effective one (the topic's override, else the broker configs it
 *   falls back to, else the default). Its synonyms are the override, then the broker synonyms of
 *   its first broker name (Kafka's ServerTopicConfigSynonyms: retention.ms -> log.retention.ms).
 *   Its source is the first synonym's, DEFAULT_CONFIG (5) when there is none: with only
 *   log.retention.hours set, retention.ms has Kafka's source DEFAULT_CONFIG and no synonyms, its
 *   value still the effective one. Topic configs are never read-only.
 * - A broker config (resource name = this broker's id) is every definition plus any unknown key
 *   from the config file; unknown keys are reported as Kafka does: type UNKNOWN, sensitive, value
 *   null. Its synonyms and source follow the same rule from its own name.
 *   Every broker config is reported read-only: this broker has no dynamic broker configs yet, so
 *   AlterConfigs cannot change any of them and saying otherwise would invite a failing edit.
 * - The empty broker name is the cluster-wide dynamic default, which Kafka answers with the
 *   dynamic defaults set; there are none here, so the list is empty.
 * - Sensitive values (passwords) are null.
 */

import { createSecureContext } from 'node:tls';
import { BROKER_DEFAULT_ENTITY } from '../cluster/metadata-store.ts';
import {
  type BrokerConfig,
  type ConfigSourceName,
  checkTopicConfig,
} from '../config/broker-config.ts';
import {
  brokerConfigByName,
  brokerConfigDefs,
  type ConfigDef,
  ConfigType,
  topicConfigByName,
} from '../config/config-def.ts';
import {
  checkDynamicChange,
  DYNAMIC_BROKER_CONFIGS,
  isDynamicListenerStoreKey,
} from '../config/dynamic-configs.ts';
import { parseSecurityProtocolMap } from '../config/listeners.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { listenerSecurity } from '../security/listener-security.ts';
import type { BrokerContext } from './context.ts';

/** Kafka's ConfigResource.Type ids. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
} as const;

/** Kafka's DescribeConfigsResponse.ConfigSource ids. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

const SOURCE_IDS: Record<ConfigSourceName, number> = {
  topic: ConfigSource.TOPIC_CONFIG,
  dynamic_broker: ConfigSource.DYNAMIC_BROKER_CONFIG,
  dynamic_default_broker: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  static_broker: ConfigSource.STATIC_BROKER_CONFIG,
  default: ConfigSource.DEFAULT_CONFIG,
};

/** Kafka's AlterConfigOp.OpType ids (IncrementalAlterConfigs). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const CONFIG_TYPE_UNKNOWN = 0;

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: number;
  readonly isSensitive: boolean;
  /** Always computed; callers drop them when the request did not ask for synonyms. */
  readonly synonyms: readonly ConfigSynonym[];
  readonly configType: number;
  readonly documentation: string;
}

function isSensitive(d: ConfigDef): boolean {
  return d.sensitive || d.type === 'password';
}

/**
 * Kafka's groups of broker names that set the same thing (DynamicBrokerConfig.brokerConfigSynonyms),
 * most specific first. Some members are not broker configs here (log.roll.jitter.hours,
 * log.flush.scheduler.interval.ms); they count when the config file sets them.
 */
const brokerSynonymGroups: readonly (readonly string[])[] = [
  ['log.roll.ms', 'log.roll.hours'],
  ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
];

/** The broker names that set the same thing as `name`, most specific first (Kafka's groups). */
export function brokerSynonymGroup(name: string): readonly string[] {
  return brokerSynonymGroups.find((g) => g.includes(name)) ?? [name];
}

/**
 * The synonyms of broker config `name`: its group set in the config file, then with a default,
 * from the first entry named `name` on (Kafka drops the ones before it, and all of them when
 * `name` itself is neither set nor defaulted).
 */
function brokerSynonyms(config: BrokerConfig, name: string, hide: boolean): ConfigSynonym[] {
  const group = brokerSynonymGroup(name);
  const all: ConfigSynonym[] = [];
  for (const n of group) {
    for (const level of config.levels(n)) {
      all.push({ name: n, value: hide ? null : level.value, source: SOURCE_IDS[level.source] });
    }
  }
  for (const n of group) {
    const v = brokerConfigByName.get(n)?.defaultValue;
    if (v !== null && v !== undefined) {
      all.push({ name: n, value: hide ? null : v, source: ConfigSource.DEFAULT_CONFIG });
    }
  }
  const at = all.findIndex((s) => s.name === name);
  return at < 0 ? [] : all.slice(at);
}

/** Every topic config of a topic with these overrides (a created topic, or one to be created). */
export function describeTopicConfigs(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): DescribedConfig[] {
  return config.resolveTopicConfig(overrides).map((r) => {
    const d = topicConfigByName.get(r.name);
    const hide = d === undefined || isSensitive(d);
    const synonyms: ConfigSynonym[] = [];
    const own = overrides.get(r.name);
    if (own !== undefined) {
      synonyms.push({ name: r.name, value: hide ? null : own, source: ConfigSource.TOPIC_CONFIG });
    }
    const brokerName = d?.brokerSynonyms[0];
    if (brokerName !== undefined) synonyms.push(...brokerSynonyms(config, brokerName, hide));
    return {
      name: r.name,
      value: hide ? null : r.value,
      readOnly: false,
      source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      isSensitive: hide,
      synonyms,
      configType: d === undefined ? CONFIG_TYPE_UNKNOWN : ConfigType[d.type],
      documentation: d?.doc ?? '',
    };
  });
}

function describeBrokerEntry(config: BrokerConfig, name: string): DescribedConfig {
  const d = brokerConfigByName.get(name);
  // Kafka treats a config whose type it cannot tell as sensitive.
  const hide = d === undefined || isSensitive(d);
  const synonyms = brokerSynonyms(config, name, hide);
  const value = config.levels(name)[0]?.value ?? d?.defaultValue ?? null;
  return {
    name,
    value: hide ? null : value,
    readOnly: !DYNAMIC_BROKER_CONFIGS.has(name),
    source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
    isSensitive: hide,
    synonyms,
    configType: d === undefined ? CONFIG_TYPE_UNKNOWN : ConfigType[d.type],
    documentation: d?.doc ?? '',
  };
}

/** The cluster-wide dynamic defaults set (the BROKER resource with the empty name). */
export function describeBrokerDefaults(config: BrokerConfig): DescribedConfig[] {
  return [...config.dynamicDefault].map(([name, value]) => {
    const d = brokerConfigByName.get(name);
    const hide = d === undefined || isSensitive(d);
    const synonym = {
      name,
      value: hide ? null : value,
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    };
    return {
      name,
      value: hide ? null : value,
      readOnly: false,
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      isSensitive: hide,
      synonyms: [synonym],
      configType: d === undefined ? CONFIG_TYPE_UNKNOWN : ConfigType[d.type],
      documentation: d?.doc ?? '',
    };
  });
}

/** Every config of this broker: the definitions, then unknown keys from the config file. */
export function describeBrokerConfigs(config: BrokerConfig): DescribedConfig[] {
  const names = brokerConfigDefs.map((d) => d.name);
  for (const k of config.unknownKeys) if (!brokerConfigByName.has(k)) names.push(k);
  return names.map((n) => describeBrokerEntry(config, n));
}

/**
 * Kafka's filter: a null or empty key list means every config; named ones come back in the
 * order asked for (once each; unknown names are left out). Kafka answers them in the order of
 * its own config map, which no client can rely on; clients that line entries up with the names
 * they asked for get them in that order here.
 */
export function filterConfigs(
  configs: readonly DescribedConfig[],
  keys: readonly string[] | null,
): DescribedConfig[] {
  if (keys === null || keys.length === 0) return [...configs];
  const byName = new Map(configs.map((c) => [c.name, c]));
  const out: DescribedConfig[] = [];
  for (const k of new Set(keys)) {
    const c = byName.get(k);
    if (c !== undefined) out.push(c);
  }
  return out;
}

/** Why a broker resource name is not this broker, or undefined. The empty name is the default. */
export function checkBrokerResourceName(name: string, nodeId: number): string | undefined {
  if (name === '') return undefined;
  if (!/^-?\d+$/.test(name)) return `Broker id must be an integer, but it is: ${name}`;
  if (Number(name) !== nodeId) {
    return `Unexpected broker id, expected ${nodeId} or empty string, but received ${name}`;
  }
  return undefined;
}

export function isListConfig(name: string): boolean {
  return topicConfigByName.get(name)?.type === 'list';
}

/** A comma-separated list value as items (Kafka splits on commas; blanks are dropped here). */
export function listItems(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface ResourceOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export const RESOURCE_OK: ResourceOutcome = { errorCode: 0, errorMessage: null };

export function resourceError(errorCode: number, errorMessage: string): ResourceOutcome {
  return { errorCode, errorMessage };
}

interface NamedResource {
  readonly resourceType: number;
  readonly resourceName: string;
}

/**
 * The loop both alter APIs share: a resource named more than once fails with INVALID_REQUEST
 * (as Kafka does), every other one is altered in request order.
 */
export async function alterEachResource<R extends NamedResource>(
  resources: readonly R[],
  alter: (resource: R) => Promise<ResourceOutcome>,
): Promise<(ResourceOutcome & NamedResource)[]> {
  const dupes = duplicateResources(resources);
  const out: (ResourceOutcome & NamedResource)[] = [];
  for (const r of resources) {
    const outcome = dupes.has(resourceKey(r.resourceType, r.resourceName))
      ? resourceError(ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.')
      : await alter(r);
    out.push({ ...outcome, resourceType: r.resourceType, resourceName: r.resourceName });
  }
  return out;
}

/** Keys of resources named more than once: Kafka fails each of them (INVALID_REQUEST). */
export function duplicateResources(
  resources: readonly { readonly resourceType: number; readonly resourceName: string }[],
): Set<string> {
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const r of resources) {
    const key = resourceKey(r.resourceType, r.resourceName);
    if (seen.has(key)) dupes.add(key);
    seen.add(key);
  }
  return dupes;
}

export function resourceKey(resourceType: number, resourceName: string): string {
  return `${resourceType}\u0000${resourceName}`;
}

/**
 * Dynamic broker configs (KIP-226) on a BROKER resource: the name is this broker's id or empty
 * (the cluster-wide default, Kafka's <default>); `change` gives the configs the resource has
 * after the request from those it has now. Only dynamic configs may change (Kafka's
 * INVALID_REQUEST "Cannot update these configs dynamically" otherwise); values are validated;
 * the result is stored (/config/brokers/<entity> with a change notification in a cluster) and
 * every broker concerned applies it.
 */
export async function alterBrokerConfigs(
  b: BrokerContext,
  resourceName: string,
  change: (current: ReadonlyMap<string, string>) => Map<string, string> | ResourceOutcome,
  validateOnly: boolean,
): Promise<ResourceOutcome> {
  if (resourceName !== '') {
    if (!/^-?\d+$/.test(resourceName)) {
      return resourceError(
        ErrorCode.INVALID_REQUEST,
        `Node id must be an integer, but it is: ${resourceName}`,
      );
    }
    if (Number(resourceName) !== b.nodeId) {
      return resourceError(
        ErrorCode.INVALID_REQUEST,
        `Unexpected broker id, expected ${b.nodeId}, but received ${resourceName}`,
      );
    }
  }
  const entity = resourceName === '' ? BROKER_DEFAULT_ENTITY : resourceName;
  const current = await b.controller.brokerConfigs(entity);
  const next = change(current);
  if (!(next instanceof Map)) return next;
  const deleted = [...current.keys()].filter((k) => !next.has(k));
  const changed = new Map([...next].filter(([k, v]) => current.get(k) !== v));
  const refused = checkDynamicChange(changed, deleted);
  if (refused !== undefined) {
    // A name that cannot change at run time is a bad request; a bad value is a bad config.
    const code = /^(Cannot update|Kafka updates)/.test(refused)
      ? ErrorCode.INVALID_REQUEST
      : ErrorCode.INVALID_CONFIG;
    return resourceError(code, refused);
  }
  const storeRefused = checkListenerStores(b, entity, next, [...changed.keys(), ...deleted]);
  if (storeRefused !== undefined) return storeRefused;
  if (validateOnly || (changed.size === 0 && deleted.length === 0)) return RESOURCE_OK;
  await b.controller.setBrokerConfigs(entity, next);
  return RESOURCE_OK;
}

/**
 * A listener's keystore or truststore changed: only per broker (as Kafka: certificates are a
 * broker's own), and only to stores that load, checked by building the listener's TLS context
 * with the new values before anything is stored.
 */
function checkListenerStores(
  b: BrokerContext,
  entity: string,
  next: ReadonlyMap<string, string>,
  keys: readonly string[],
): ResourceOutcome | undefined {
  const storeKeys = keys.filter(isDynamicListenerStoreKey);
  if (storeKeys.length === 0) return undefined;
  if (entity === BROKER_DEFAULT_ENTITY) {
    return resourceError(
      ErrorCode.INVALID_REQUEST,
      `Cannot update these configs at default cluster level, broker id must be specified: Set(${storeKeys.join(', ')})`,
    );
  }
  const config = b.config;
  const overlay = {
    value: (name: string) => config.value(name),
    setValue: (key: string) =>
      isDynamicListenerStoreKey(key)
        ? (next.get(key) ?? config.explicit.get(key))
        : config.setValue(key),
  };
  const map = parseSecurityProtocolMap(config.settings.listenerSecurityProtocolMap);
  for (const listener of config.settings.listeners) {
    const prefix = `listener.name.${listener.name.toLowerCase()}.`;
    if (!storeKeys.some((k) => k.startsWith(prefix))) continue;
    try {
      const tls = listenerSecurity(overlay, listener, map).tls;
      if (tls === null) {
        return resourceError(
          ErrorCode.INVALID_CONFIG,
          `Listener ${listener.name} does not use TLS`,
        );
      }
      createSecureContext(tls);
    } catch (err) {
      return resourceError(
        ErrorCode.INVALID_CONFIG,
        `Validation of dynamic config update of SSLFactory failed: ${(err as Error).message}`,
      );
    }
  }
  return undefined;
}

/** Kafka's checks of the topic resource itself, before its configs. */
export function checkTopicResource(b: BrokerContext, name: string): ResourceOutcome | undefined {
  if (name === '') {
    return resourceError(ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.');
  }
  if (b.metadata.get(name) === undefined) {
    return resourceError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `The topic '${name}' does not exist.`,
    );
  }
  return undefined;
}

/** Validates a full set of topic overrides and, unless validate-only, makes it the topic's. */
export async function replaceTopicConfigs(
  b: BrokerContext,
  topic: string,
  overrides: ReadonlyMap<string, string>,
  validateOnly: boolean,
): Promise<ResourceOutcome> {
  for (const [k, v] of overrides) {
    const reason = checkTopicConfig(k, v);
    if (reason !== undefined) return resourceError(ErrorCode.INVALID_CONFIG, reason);
  }
  if (validateOnly) return RESOURCE_OK;
  try {
    await b.controller.alterTopicConfigs(topic, overrides);
  } catch (err) {
    if (b.metadata.get(topic) === undefined) {
      return resourceError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `The topic '${topic}' does not exist.`,
      );
    }
    b.log(`altering the configs of topic ${topic} failed: ${String(err)}`);
    return resourceError(
      ErrorCode.KAFKA_STORAGE_ERROR,
      `Saving the topic configs failed: ${String(err)}`,
    );
  }
  return RESOURCE_OK;
}

/**
 * Dynamic broker configs (KIP-226): the broker configs that IncrementalAlterConfigs and
 * AlterConfigs on a BROKER resource may change while the broker runs, for one broker or as the
 * cluster-wide default. Kafka's DynamicBrokerConfig lists more; these are the ones Tributary
 * applies while running: the log defaults that topics fall back to (every broker synonym of a
 * topic config, Kafka's DynamicLogConfig) and the replication throttles. Any other config is
 * refused as Kafka refuses a config it cannot update dynamically.
 */
import { brokerConfigByName, checkConfigValue, topicConfigDefs } from './config-def.ts';

export const DYNAMIC_BROKER_CONFIGS: ReadonlySet<string> = new Set([
  ...topicConfigDefs.flatMap((d) => d.brokerSynonyms),
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
  'replica.alter.log.dirs.io.max.bytes.per.second',
]);

/**
 * Why these dynamic config changes cannot be made (Kafka's message), or undefined. `set` are the
 * configs given values, `deleted` those removed.
 */
export function checkDynamicChange(
  set: ReadonlyMap<string, string>,
  deleted: readonly string[],
): string | undefined {
  const notDynamic = [...set.keys(), ...deleted].filter((k) => !DYNAMIC_BROKER_CONFIGS.has(k));
  if (notDynamic.length > 0) {
    return `Cannot update these configs dynamically: ${[...new Set(notDynamic)].join(', ')}`;
  }
  for (const [name, value] of set) {
    const d = brokerConfigByName.get(name);
    if (d === undefined) return `Unknown config ${name}`;
    const reason = checkConfigValue(d, value);
    if (reason !== undefined) return `Invalid value ${value} for configuration ${name}: ${reason}`;
  }
  return undefined;
}

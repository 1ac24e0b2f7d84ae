/**
 * Dynamic broker configs (KIP-226): the broker configs that IncrementalAlterConfigs and
 * AlterConfigs on a BROKER resource may change while the broker runs, for one broker or as the
 * cluster-wide default. Kafka's DynamicBrokerConfig lists more; these are the ones Tributary
 * applies while running: the log defaults that topics fall back to (every broker synonym of a
 * topic config, Kafka's DynamicLogConfig), the replication throttles and the connection limits.
 * Any other config is refused: with Kafka's message where Kafka cannot update it either, with
 * one that says Tributary cannot yet where Kafka can.
 */
import { brokerConfigByName, checkConfigValue, topicConfigDefs } from './config-def.ts';

export const DYNAMIC_BROKER_CONFIGS: ReadonlySet<string> = new Set([
  ...topicConfigDefs.flatMap((d) => d.brokerSynonyms),
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
  'replica.alter.log.dirs.io.max.bytes.per.second',
  'max.connections',
  'max.connections.per.ip',
  'max.connection.creation.rate',
]);

/**
 * Configs Kafka 3.9 updates dynamically (DynamicBrokerConfig.AllDynamicConfigs) that this broker
 * does not update while running, or does not have: refused with a message that says so rather
 * than Kafka's "cannot update", so nobody mistakes them for settings Kafka would refuse too.
 */
const KAFKA_ONLY_DYNAMIC: ReadonlySet<string> = new Set([
  // Listeners and their security (DynamicListenerConfig, SslConfigs.RECONFIGURABLE_CONFIGS).
  'listeners',
  'advertised.listeners',
  'listener.security.protocol.map',
  'principal.builder.class',
  'ssl.protocol',
  'ssl.provider',
  'ssl.cipher.suites',
  'ssl.enabled.protocols',
  'ssl.keystore.type',
  'ssl.keystore.location',
  'ssl.keystore.password',
  'ssl.key.password',
  'ssl.keystore.key',
  'ssl.keystore.certificate.chain',
  'ssl.truststore.type',
  'ssl.truststore.location',
  'ssl.truststore.password',
  'ssl.truststore.certificates',
  'ssl.keymanager.algorithm',
  'ssl.trustmanager.algorithm',
  'ssl.endpoint.identification.algorithm',
  'ssl.secure.random.implementation',
  'ssl.client.auth',
  'ssl.engine.factory.class',
  'sasl.mechanism.inter.broker.protocol',
  'sasl.jaas.config',
  'sasl.enabled.mechanisms',
  'sasl.kerberos.service.name',
  'sasl.kerberos.kinit.cmd',
  'sasl.kerberos.ticket.renew.window.factor',
  'sasl.kerberos.ticket.renew.jitter',
  'sasl.kerberos.min.time.before.relogin',
  'sasl.kerberos.principal.to.local.rules',
  'sasl.login.refresh.window.factor',
  'sasl.login.refresh.window.jitter',
  'sasl.login.refresh.min.period.seconds',
  'sasl.login.refresh.buffer.seconds',
  // SocketServer and the thread pools.
  'max.connections.per.ip.overrides',
  'num.network.threads',
  'num.io.threads',
  'num.replica.fetchers',
  'num.recovery.threads.per.data.dir',
  'background.threads',
  // The log cleaner (its sizing is read once at start here).
  'log.cleaner.threads',
  'log.cleaner.dedupe.buffer.size',
  'log.cleaner.io.buffer.load.factor',
  'log.cleaner.io.buffer.size',
  'log.cleaner.io.max.bytes.per.second',
  'log.cleaner.backoff.ms',
  // The rest.
  'metric.reporters',
  'transaction.partition.verification.enable',
  'producer.id.expiration.ms',
  'remote.log.index.file.cache.total.size.bytes',
  'remote.fetch.max.wait.ms',
  'remote.log.manager.copy.max.bytes.per.second',
  'remote.log.manager.fetch.max.bytes.per.second',
]);

/** Per-listener overrides (listener.name.<listener>.<config>) are dynamic in Kafka, not here. */
const LISTENER_OVERRIDE = /^listener\.name\.[^.]+\./;

/**
 * A listener's keystore and truststore (listener.name.<listener>.ssl.keystore.location, ...):
 * dynamic per broker, as in Kafka, so certificates can be renewed without a restart.
 */
const LISTENER_SSL_STORE =
  /^listener\.name\.[^.]+\.ssl\.(keystore\.(location|password|type|key|certificate\.chain)|key\.password|truststore\.(location|password|type|certificates))$/;

export function isDynamicListenerStoreKey(key: string): boolean {
  return LISTENER_SSL_STORE.test(key);
}

/** listener.name.<listener>.max.connection.creation.rate: one listener's connection rate. */
const LISTENER_CONNECTION_RATE = /^listener\.name\.[^.]+\.max\.connection\.creation\.rate$/;

export function isListenerConnectionRateKey(key: string): boolean {
  return LISTENER_CONNECTION_RATE.test(key);
}

/** Whether `key` may be set as a dynamic broker config here. */
export function isDynamicBrokerConfig(key: string): boolean {
  return (
    DYNAMIC_BROKER_CONFIGS.has(key) ||
    isDynamicListenerStoreKey(key) ||
    isListenerConnectionRateKey(key)
  );
}

/** Scala's Set.toString, which Kafka's messages carry. */
function scalaSet(names: Iterable<string>): string {
  return `Set(${[...new Set(names)].join(', ')})`;
}

/**
 * Why these dynamic config changes cannot be made (Kafka's message where Kafka refuses them too),
 * or undefined. `set` are the configs given values, `deleted` those removed.
 */
export function checkDynamicChange(
  set: ReadonlyMap<string, string>,
  deleted: readonly string[],
): string | undefined {
  const refused = [...set.keys(), ...deleted].filter((k) => !isDynamicBrokerConfig(k));
  const kafkaOnly = (k: string) => KAFKA_ONLY_DYNAMIC.has(k) || LISTENER_OVERRIDE.test(k);
  const notDynamic = refused.filter((k) => !kafkaOnly(k));
  if (notDynamic.length > 0) {
    return `Cannot update these configs dynamically: ${scalaSet(notDynamic)}`;
  }
  if (refused.length > 0) {
    return `Kafka updates these configs dynamically but Tributary cannot yet: ${scalaSet(refused)}; set them in the broker's config file and restart it`;
  }
  for (const [name, value] of set) {
    // Keystores are checked by loading them (config-describe.ts).
    if (isDynamicListenerStoreKey(name)) continue;
    const d = brokerConfigByName.get(
      isListenerConnectionRateKey(name) ? 'max.connection.creation.rate' : name,
    );
    if (d === undefined) return `Unknown config ${name}`;
    const reason = checkConfigValue(d, value);
    if (reason !== undefined) return `Invalid value ${value} for configuration ${name}: ${reason}`;
  }
  return undefined;
}

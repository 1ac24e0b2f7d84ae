/**
 * Dynamic broker configs at run time: read this broker's and the cluster-wide defaults from the
 * metadata store at start and whenever they change, put them in the BrokerConfig (where they
 * take precedence over the config file), and have the replica manager apply them (throttle
 * rates, every partition's settings re-resolved).
 */
import { BROKER_DEFAULT_ENTITY } from '../cluster/metadata-store.ts';
import type { TopicControl } from '../cluster/topic-control.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { isDynamicBrokerConfig } from '../config/dynamic-configs.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';

function dynamicOnly(configs: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...configs].filter(([k]) => isDynamicBrokerConfig(k)));
}

export async function followDynamicConfigs(
  controller: TopicControl,
  config: BrokerConfig,
  partitions: ReplicaManager,
  log: (message: string) => void,
): Promise<void> {
  let applying = Promise.resolve();
  const apply = async (): Promise<void> => {
    const [mine, defaults] = await Promise.all([
      controller.brokerConfigs(String(config.settings.brokerId)),
      controller.brokerConfigs(BROKER_DEFAULT_ENTITY),
    ]);
    config.setDynamic(dynamicOnly(mine), dynamicOnly(defaults));
    partitions.applyBrokerConfigs((topic) => controller.cache.get(topic)?.configs ?? new Map());
  };
  controller.onBrokerConfigs(() => {
    applying = applying
      .then(apply)
      .catch((err: unknown) => log(`applying dynamic broker configs: ${String(err)}`));
  });
  await apply();
}

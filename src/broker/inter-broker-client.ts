/**
 * The one place that turns the inter-broker config (src/security/inter-broker.ts) into the
 * options of the broker's outbound connections: the replica fetchers, the controller's channel,
 * transaction markers and verification, and controlled shutdown all connect with these.
 *
 * The security is resolved again after each dynamic config change (a renewed keystore of the
 * inter-broker listener is the next connection's client certificate, as Kafka reconfigures its
 * inter-broker channel builders); a change that does not resolve keeps the previous security.
 */
import type { ClientSecurity } from '../client/lazy-connection.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { interBrokerListenerName, resolveInterBrokerSecurity } from '../security/inter-broker.ts';

export interface InterBrokerClient {
  /** The listener brokers reach each other on (its advertised endpoints). */
  readonly listener: string;
  /** TLS and SASL for a new connection to another broker. */
  readonly security: () => ClientSecurity;
}

const clients = new WeakMap<BrokerConfig, InterBrokerClient>();

/** The inter-broker listener of `config` (no check: Broker.start has resolved it). */
export function interBrokerListener(config: BrokerConfig): string {
  return interBrokerListenerName(config.settings);
}

/** The inter-broker client options of `config`, built once per config. */
export function interBrokerClient(
  config: BrokerConfig,
  log: (message: string) => void,
): InterBrokerClient {
  const known = clients.get(config);
  if (known !== undefined) return known;
  let current: ClientSecurity = resolveInterBrokerSecurity(config);
  let first = true;
  config.followDynamic(() => {
    if (first) {
      first = false;
      return;
    }
    try {
      current = resolveInterBrokerSecurity(config);
    } catch (err) {
      log(`inter-broker security: keeping the previous settings: ${String(err)}`);
    }
  });
  const client: InterBrokerClient = {
    listener: interBrokerListener(config),
    security: () => current,
  };
  clients.set(config, client);
  return client;
}

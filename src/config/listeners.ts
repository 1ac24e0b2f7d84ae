/**
 * Listeners (`NAME://host:port`) and their security protocols, by Kafka's rules: a listener's
 * protocol is its entry in `listener.security.protocol.map`, and a name with no entry must itself
 * be a protocol name (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); each is served with its
 * protocol (src/security/listener-security.ts).
 */
import { invalidConfig, type SecurityProtocol, securityProtocols } from './config-def.ts';

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** Parses `NAME://host:port,...`; names are case-insensitive (Kafka upper-cases them). */
export function parseListeners(key: string, entries: readonly string[]): Listener[] {
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

/** `NAME:PROTOCOL,...` (checked by its definition) as a map from listener name to protocol. */
export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const entry of value.split(',')) {
    const [name = '', protocol = ''] = entry.split(':').map((s) => s.trim().toUpperCase());
    map.set(name, protocol as SecurityProtocol);
  }
  return map;
}

/**
 * Throws unless every listener has a security protocol (its entry in the map, or its name). The
 * error names `listeners`.
 */
export function checkListenerProtocols(
  listeners: readonly Listener[],
  protocolMap: ReadonlyMap<string, SecurityProtocol>,
  listenersValue: string,
  _protocolMapValue: string,
): void {
  const isProtocol = (name: string) => (securityProtocols as readonly string[]).includes(name);
  for (const l of listeners) {
    if (protocolMap.has(l.name) || isProtocol(l.name)) continue;
    throw invalidConfig(
      'listeners',
      listenersValue,
      `listener ${l.name} has no security protocol: name it after one (${securityProtocols.join(', ')}) or map it in listener.security.protocol.map`,
    );
  }
}

/** Kafka's rules for advertised listeners: names the broker listens on, and a routable host. */
export function checkAdvertisedListeners(
  advertised: readonly Listener[],
  listeners: readonly Listener[],
  advertisedValue: string,
): void {
  const names = new Set(listeners.map((l) => l.name));
  for (const a of advertised) {
    if (!names.has(a.name)) {
      throw invalidConfig(
        'advertised.listeners',
        advertisedValue,
        `listener ${a.name} is not in listeners (${[...names].join(', ')})`,
      );
    }
    if (a.host === '0.0.0.0') {
      throw invalidConfig(
        'advertised.listeners',
        advertisedValue,
        'cannot advertise the non-routable address 0.0.0.0',
      );
    }
  }
}

/** Whether a key is a per-listener TLS or SASL setting the listeners read (src/security/). */
export function isListenerSecurityKey(key: string): boolean {
  const m = /^listener\.name\.[^.]+\.(.*)$/.exec(key);
  if (m === null) return false;
  const rest = m[1] as string;
  return (
    rest.startsWith('ssl.') ||
    rest === 'sasl.enabled.mechanisms' ||
    /^(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config$/.test(rest)
  );
}

/** A listener's security protocol: its map entry, or its name when that is a protocol. */
export function protocolOfListener(
  listenerName: string,
  protocolMap: ReadonlyMap<string, SecurityProtocol>,
): SecurityProtocol | undefined {
  const mapped = protocolMap.get(listenerName);
  if (mapped !== undefined) return mapped;
  return (securityProtocols as readonly string[]).includes(listenerName)
    ? (listenerName as SecurityProtocol)
    : undefined;
}

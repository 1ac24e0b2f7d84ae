/**
 * Settings the broker does not implement. Where ignoring one would change safety (an open port
 * where TLS or authentication was asked for, fewer copies than asked for) or topology (joining a KRaft cluster), the start is refused,
 * naming the key, until the work that implements it lands. Every other Kafka key that is
 * accepted and ignored is listed once at start (ignoredConfigsLine).
 */
import { TributaryError } from '../common/errors.ts';
import { brokerConfigByName, defaultOnlyConfigs, isDefaultOnlyValue } from './config-def.ts';

/** The error of a refused setting: one line, naming the key, never its value (may be secret). */
export function unsupportedConfig(key: string, why: string): TributaryError {
  return new TributaryError(
    'BRK_CONFIG_INVALID',
    `Configuration ${key} is not supported yet: ${why}`,
  );
}

interface Refusal {
  readonly matches: (key: string) => boolean;
  /** Whether this value is refused; by default any value but a blank one. */
  readonly refuses?: (value: string) => boolean;
  readonly why: string;
}

const key = (name: string) => (k: string) => k === name;

const refusals: readonly Refusal[] = [
  {
    // The ssl.* keys the listeners read are defined (config-def.ts); others (cipher suites,
    // principal mapping rules, key manager algorithms, ...) are not implemented.
    matches: (k) => k.startsWith('ssl.') && !brokerConfigByName.has(k),
    why: 'this TLS setting is not implemented yet, so the listener would not apply it',
  },
  {
    matches: (k) => k.startsWith('sasl.') && !brokerConfigByName.has(k),
    why: 'this SASL setting is not implemented yet (PLAIN and SCRAM are, configured with sasl.enabled.mechanisms and listener.name.<listener>.plain.sasl.jaas.config)',
  },
  {
    // Per-listener overrides: listener.name.<l>.ssl.<defined key>, .sasl.enabled.mechanisms,
    // .plain.sasl.jaas.config and .scram-sha-*.sasl.jaas.config are read; others are refused.
    matches: (k) => {
      const m = /^listener\.name\.[^.]+\.(.*)$/.exec(k);
      if (m === null) return false;
      const rest = m[1] as string;
      if (rest.startsWith('ssl.')) return !brokerConfigByName.has(rest);
      if (rest === 'sasl.enabled.mechanisms') return false;
      if (/^(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config$/.test(rest)) return false;
      return /(^|\.)(ssl|sasl)\./.test(rest);
    },
    why: 'this per-listener TLS or SASL setting is not implemented yet, so the listener would not apply it',
  },
  {
    matches: (k) =>
      k === 'process.roles' ||
      k === 'controller.quorum.voters' ||
      k === 'controller.quorum.bootstrap.servers',
    why: 'KRaft mode is not supported, so this broker would run as a separate single node',
  },
  {
    matches: key('zookeeper.set.acl'),
    refuses: (v) => v.trim().toLowerCase() === 'true',
    why: 'ZooKeeper ACLs are not set yet, so the cluster metadata would be writable by anyone',
  },
  {
    matches: (k) => k.startsWith('zookeeper.ssl.') || k === 'zookeeper.clientCnxnSocket',
    refuses: (v) => v.trim() !== '' && v.trim().toLowerCase() !== 'false',
    why: 'TLS to ZooKeeper is not implemented yet, so the connection would be plaintext',
  },
  {
    matches: key('replica.selector.class'),
    why: 'fetching from followers (KIP-392) is not implemented yet, so consumers would always read from leaders',
  },
  // Kafka 3.9's broker keys of the topic configs accepted only at their default (config-def.ts).
  ...defaultOnlyConfigs.flatMap((c): Refusal[] =>
    c.broker === null
      ? []
      : [
          {
            matches: key(c.broker),
            refuses: (v) => !isDefaultOnlyValue(c, v),
            why: `${c.why}; only its default ${c.defaultValue} is accepted`,
          },
        ],
  ),
];

/** Refuses the first setting that is refused (naming the others on the same line). */
export function checkUnsupported(values: ReadonlyMap<string, string>): void {
  const refused: { key: string; why: string }[] = [];
  for (const [k, v] of values) {
    const rule = refusals.find((r) => r.matches(k));
    if (rule === undefined) continue;
    if (rule.refuses === undefined ? v.trim() !== '' : rule.refuses(v)) {
      refused.push({ key: k, why: rule.why });
    }
  }
  const first = refused[0];
  if (first === undefined) return;
  const also = refused.slice(1).map((r) => r.key);
  const others = also.length === 0 ? '' : ` (also not supported yet: ${also.join(', ')})`;
  throw unsupportedConfig(first.key, `${first.why}${others}`);
}

/**
 * The line logged once at start: keys defined for compatibility and not implemented, then keys
 * that are not known at all (Kafka's own warning for those); undefined when there are none.
 */
export function ignoredConfigsLine(
  notImplemented: readonly string[],
  unknown: readonly string[],
): string | undefined {
  const parts: string[] = [];
  if (notImplemented.length > 0) {
    parts.push(`${notImplemented.join(', ')} (accepted for compatibility, not implemented)`);
  }
  if (unknown.length > 0) parts.push(`${unknown.join(', ')} (not a known config)`);
  return parts.length === 0 ? undefined : `Ignoring configuration: ${parts.join('; ')}`;
}

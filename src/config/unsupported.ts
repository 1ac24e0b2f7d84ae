/**
 * Settings the broker does not implement. Where ignoring one would change safety (an open port
 * where TLS, authentication or ACLs were asked for, fewer copies than asked for) or topology (joining a KRaft cluster), the start is refused,
 * naming the key, until the work that implements it lands. Every other Kafka key that is
 * accepted and ignored is listed once at start (ignoredConfigsLine).
 */
import { TributaryError } from '../common/errors.ts';
import { defaultOnlyConfigs, isDefaultOnlyValue } from './config-def.ts';

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
const prefix = (p: string) => (k: string) => k.startsWith(p);

const refusals: readonly Refusal[] = [
  {
    matches: prefix('ssl.'),
    why: 'TLS is not implemented yet, so the broker would serve plaintext',
  },
  {
    matches: prefix('sasl.'),
    why: 'SASL is not implemented yet, so the broker would accept every client unauthenticated',
  },
  {
    // listener.name.<listener>.ssl.* and listener.name.<listener>.<mechanism>.sasl.*
    matches: (k) => /^listener\.name\.[^.]+\.(?:[^.]+\.)?(?:ssl|sasl)\./.test(k),
    why: 'TLS and SASL are not implemented yet, so the listener would serve plaintext to anyone',
  },
  {
    matches: key('authorizer.class.name'),
    why: 'ACLs are not implemented yet, so every client would be allowed everything',
  },
  {
    matches: key('security.inter.broker.protocol'),
    refuses: (v) => v.trim().toUpperCase() !== 'PLAINTEXT',
    why: 'only PLAINTEXT is served',
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

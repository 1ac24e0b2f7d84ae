/**
 * SASL/PLAIN (RFC 4616) on the broker, as Kafka's PlainServerCallbackHandler: the users and
 * their passwords come from the listener's JAAS config,
 *
 *   listener.name.<listener>.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";
 *
 * (an option user_<name>="<password>" per user). The client's one message is
 * "authzid NUL authcid NUL password"; an authzid other than the user is refused, as Kafka does.
 */
import { timingSafeEqual } from 'node:crypto';
import { type JaasEntry, parseJaasConfig } from '../common/jaas.ts';

export { type JaasEntry, parseJaasConfig };

export const PLAIN_LOGIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
export const SCRAM_LOGIN_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';

/** The users of a PLAIN JAAS config: user_<name> options. */
export function plainUsers(entries: readonly JaasEntry[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const e of entries) {
    if (e.loginModule !== PLAIN_LOGIN_MODULE) continue;
    for (const [k, v] of e.options) if (k.startsWith('user_')) users.set(k.slice(5), v);
  }
  return users;
}

export class PlainError extends Error {}

/** Checks a PLAIN message; returns the user, or throws PlainError. */
export function authenticatePlain(message: Buffer, users: ReadonlyMap<string, string>): string {
  const parts = message.toString('utf8').split('\u0000');
  if (parts.length !== 3) {
    throw new PlainError('Invalid SASL/PLAIN response: expected 3 tokens');
  }
  const [authzid = '', user = '', password = ''] = parts;
  if (user === '') throw new PlainError('Authentication failed: username not specified');
  if (password === '') throw new PlainError('Authentication failed: password not specified');
  if (authzid !== '' && authzid !== user) {
    throw new PlainError(
      'Authentication failed: Client requested an authorization id that is different from username',
    );
  }
  const expected = users.get(user);
  const given = Buffer.from(password, 'utf8');
  const ok =
    expected !== undefined &&
    Buffer.byteLength(expected) === given.length &&
    timingSafeEqual(Buffer.from(expected, 'utf8'), given);
  if (!ok) throw new PlainError('Authentication failed: Invalid username or password');
  return user;
}

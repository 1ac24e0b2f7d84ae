/**
 * SCRAM (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka's KIP-84): the credentials a
 * broker keeps for a user (never the password: a salt, the stored key, the server key and the
 * iteration count, in Kafka's text form "salt=...,stored_key=...,server_key=...,iterations=N"),
 * and the server side of one authentication exchange.
 *
 * The exchange: client-first "n,,n=<user>,r=<client nonce>" -> server-first
 * "r=<client nonce><server nonce>,s=<salt>,i=<iterations>" -> client-final
 * "c=biws,r=<nonce>,p=<proof>" -> server-final "v=<server signature>". The proof is checked
 * against the stored key; an unknown user goes through the same steps with made-up credentials,
 * so that the answer does not tell which users exist.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type ScramMechanism,
  saltPassword,
  scramHash,
  scramHashLength,
  scramHmac,
  scramKeys,
  xorBuffers,
} from '../common/scram-crypto.ts';

export { type ScramMechanism, saltPassword };

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's ScramMechanism type ids (DescribeUserScramCredentials, AlterUserScramCredentials). */
export const SCRAM_MECHANISM_TYPES: ReadonlyMap<number, ScramMechanism> = new Map([
  [1, 'SCRAM-SHA-256'],
  [2, 'SCRAM-SHA-512'],
]);

export function scramMechanismType(m: ScramMechanism): number {
  return m === 'SCRAM-SHA-256' ? 1 : 2;
}

/** Kafka's lower bound on iterations (ScramMechanism.minIterations) and its upper bound. */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

export function isScramMechanism(name: string): name is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(name);
}

export interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

/** The credential of a salted password (what AlterUserScramCredentials carries, hashed). */
export function credentialFromSaltedPassword(
  m: ScramMechanism,
  saltedPassword: Buffer,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const { storedKey, serverKey } = scramKeys(m, saltedPassword);
  return { salt, storedKey, serverKey, iterations };
}

/** A new credential for a password, with a random salt (tools and tests). */
export function newCredential(
  m: ScramMechanism,
  password: string,
  iterations = SCRAM_MIN_ITERATIONS,
): ScramCredential {
  const salt = randomBytes(32);
  return credentialFromSaltedPassword(
    m,
    saltPassword(m, password, salt, iterations),
    salt,
    iterations,
  );
}

/** Kafka's text form of a credential, as kept in /config/users/<user>. */
export function formatCredential(c: ScramCredential): string {
  return [
    `salt=${c.salt.toString('base64')}`,
    `stored_key=${c.storedKey.toString('base64')}`,
    `server_key=${c.serverKey.toString('base64')}`,
    `iterations=${c.iterations}`,
  ].join(',');
}

/** Parses Kafka's text form; undefined when it is not one. */
export function parseCredential(text: string): ScramCredential | undefined {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const salt = fields.get('salt');
  const storedKey = fields.get('stored_key');
  const serverKey = fields.get('server_key');
  const iterations = Number(fields.get('iterations'));
  if (salt === undefined || storedKey === undefined || serverKey === undefined) return undefined;
  if (!Number.isInteger(iterations) || iterations <= 0) return undefined;
  return {
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
    iterations,
  };
}

/** RFC 5802 saslname: "=2C" is a comma, "=3D" an equals sign; any other "=" is malformed. */
function decodeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

/** Attributes "a=value" of a SCRAM message, in order. */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length < 2 || part[1] !== '=') continue;
    const k = part[0] as string;
    if (!out.has(k)) out.set(k, part.slice(2));
  }
  return out;
}

export class ScramError extends Error {}

/** Looks up a user's credential for a mechanism. */
export type CredentialLookup = (
  user: string,
  m: ScramMechanism,
) => Promise<ScramCredential | undefined>;

/** The server side of one SCRAM exchange (two client messages). */
export class ScramServer {
  readonly mechanism: ScramMechanism;
  readonly #lookup: CredentialLookup;
  #state: 'first' | 'final' | 'done' = 'first';
  #user = '';
  #credential: ScramCredential | undefined;
  #fake: ScramCredential | undefined;
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';
  #gs2Header = '';

  readonly #serverNonce: () => string;

  /** `serverNonce` is for tests (RFC test vectors); a random one otherwise. */
  constructor(
    mechanism: ScramMechanism,
    lookup: CredentialLookup,
    serverNonce: () => string = () => randomBytes(24).toString('base64url'),
  ) {
    this.mechanism = mechanism;
    this.#lookup = lookup;
    this.#serverNonce = serverNonce;
  }

  /** The authenticated user once the exchange is complete. */
  get user(): string | undefined {
    return this.#state === 'done' ? this.#user : undefined;
  }

  get complete(): boolean {
    return this.#state === 'done';
  }

  /** Answers one client message; throws ScramError when the exchange fails. */
  async evaluate(message: Buffer): Promise<Buffer> {
    const text = message.toString('utf8');
    if (this.#state === 'first') return Buffer.from(await this.#first(text));
    if (this.#state === 'final') return Buffer.from(this.#final(text));
    throw new ScramError('SCRAM exchange already complete');
  }

  async #first(text: string): Promise<string> {
    // gs2-header: channel binding flag ("n" or "y"; "p=" is refused: no channel binding), an
    // optional authzid, then the client-first-message-bare.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (m === null) throw new ScramError('Invalid SCRAM client first message');
    this.#gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.#clientFirstBare = m[3] as string;
    const attrs = attributes(this.#clientFirstBare);
    const name = decodeSaslName(attrs.get('n') ?? '');
    const clientNonce = attrs.get('r');
    if (name === undefined || name === '' || clientNonce === undefined || clientNonce === '') {
      throw new ScramError('Invalid SCRAM client first message');
    }
    const authzid = m[2]?.slice(2);
    if (authzid !== undefined && authzid !== '' && decodeSaslName(authzid) !== name) {
      throw new ScramError(
        'Authentication failed: Client requested an authorization id that is different from username',
      );
    }
    this.#user = name;
    this.#credential = await this.#lookup(name, this.mechanism);
    const credential = this.#credential ?? this.#fakeCredential();
    this.#nonce = clientNonce + this.#serverNonce();
    this.#serverFirst = `r=${this.#nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.#state = 'final';
    return this.#serverFirst;
  }

  #fakeCredential(): ScramCredential {
    this.#fake ??= {
      salt: randomBytes(32),
      storedKey: randomBytes(scramHashLength(this.mechanism)),
      serverKey: randomBytes(scramHashLength(this.mechanism)),
      iterations: SCRAM_MIN_ITERATIONS,
    };
    return this.#fake;
  }

  #final(text: string): string {
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('Invalid SCRAM client final message');
    const withoutProof = text.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    // Kafka's ScramSaslServer accepts a nonce that ends with the server's (librdkafka before
    // 2.x sends the client nonce once more in front of it); the proof covers what was sent.
    if (!(attrs.get('r') ?? '').endsWith(this.#nonce)) throw new ScramError('Invalid SCRAM nonce');
    const binding = Buffer.from(attrs.get('c') ?? '', 'base64').toString('utf8');
    if (binding !== this.#gs2Header) throw new ScramError('Invalid SCRAM channel binding');
    const credential = this.#credential;
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const failed = new ScramError(
      `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`,
    );
    if (credential === undefined || proof.length !== credential.storedKey.length) throw failed;
    const signature = scramHmac(this.mechanism, credential.storedKey, authMessage);
    const stored = scramHash(this.mechanism, xorBuffers(proof, signature));
    if (!timingSafeEqual(stored, credential.storedKey)) throw failed;
    this.#state = 'done';
    const serverSignature = scramHmac(this.mechanism, credential.serverKey, authMessage);
    return `v=${serverSignature.toString('base64')}`;
  }
}

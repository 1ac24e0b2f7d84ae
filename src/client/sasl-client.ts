/**
 * The client's side of SASL on a Kafka connection: SaslHandshake v1 naming the mechanism, then
 * SaslAuthenticate carrying the tokens. PLAIN sends the user and password in one message;
 * SCRAM-SHA-256/512 (RFC 5802) proves the password without sending it and checks the server's
 * signature, so a broker that does not hold the credential cannot pass for one that does.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type ScramMechanism,
  saltPassword,
  scramHmac,
  scramKeys,
  xorBuffers,
} from '../common/scram-crypto.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { SaslAuthenticateResponse } from '../protocol/messages/sasl-authenticate-response.ts';
import type { SaslHandshakeResponse } from '../protocol/messages/sasl-handshake-response.ts';
import type { Connection } from './connection.ts';
import { KafkaError } from './errors.ts';

const SASL_AUTHENTICATION_FAILED = 58;

export interface SaslCredentials {
  readonly mechanism: 'PLAIN' | ScramMechanism;
  readonly username: string;
  readonly password: string;
}

/** RFC 5802 saslname: "," and "=" escaped. */
function saslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** What a login tells the client: how long the session lasts (KIP-368; 0: no limit). */
export interface SaslSession {
  readonly sessionLifetimeMs: number;
}

async function authenticateToken(
  conn: Connection,
  token: Buffer,
  session?: { sessionLifetimeMs: number },
): Promise<Buffer> {
  const r = await conn.send<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 1, {
    authBytes: token,
  });
  if (r.errorCode !== 0) throw new KafkaError(r.errorCode, 'SASL authentication', r.errorMessage);
  if (session !== undefined) session.sessionLifetimeMs = r.sessionLifetimeMs;
  return r.authBytes;
}

/**
 * Authenticates `conn` with the credentials: once it has just been opened, or again on the same
 * connection before its session ends (KIP-368), with nothing in flight.
 */
export async function saslAuthenticate(
  conn: Connection,
  sasl: SaslCredentials,
): Promise<SaslSession> {
  const session = { sessionLifetimeMs: 0 };
  const hs = await conn.send<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, {
    mechanism: sasl.mechanism,
  });
  if (hs.errorCode !== 0) {
    throw new KafkaError(
      hs.errorCode,
      `SASL mechanism ${sasl.mechanism}`,
      `the broker offers ${hs.mechanisms.join(', ') || 'none'}`,
    );
  }
  if (sasl.mechanism === 'PLAIN') {
    await authenticateToken(
      conn,
      Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`),
      session,
    );
    return session;
  }
  const m = sasl.mechanism;
  const clientNonce = randomBytes(24).toString('base64url');
  const clientFirstBare = `n=${saslName(sasl.username)},r=${clientNonce}`;
  const serverFirst = (
    await authenticateToken(conn, Buffer.from(`n,,${clientFirstBare}`))
  ).toString();
  const fields = new Map(serverFirst.split(',').map((p) => [p.slice(0, 1), p.slice(2)]));
  const nonce = fields.get('r') ?? '';
  const salt = Buffer.from(fields.get('s') ?? '', 'base64');
  const iterations = Number(fields.get('i'));
  if (!nonce.startsWith(clientNonce) || salt.length === 0 || !(iterations > 0)) {
    throw new KafkaError(SASL_AUTHENTICATION_FAILED, 'SCRAM', 'invalid server-first message');
  }
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const keys = scramKeys(m, saltPassword(m, sasl.password, salt, iterations));
  const proof = xorBuffers(keys.clientKey, scramHmac(m, keys.storedKey, authMessage));
  const serverFinal = (
    await authenticateToken(
      conn,
      Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
      session,
    )
  ).toString();
  const expected = scramHmac(m, keys.serverKey, authMessage);
  const given = Buffer.from(serverFinal.startsWith('v=') ? serverFinal.slice(2) : '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new KafkaError(
      SASL_AUTHENTICATION_FAILED,
      'SCRAM',
      'the broker did not prove it knows the credential',
    );
  }
  return session;
}

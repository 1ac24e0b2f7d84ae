/**
 * The arithmetic of SCRAM (RFC 5802) with SHA-256 and SHA-512, shared by the broker's SCRAM server
 * (src/security/scram.ts) and the client library's SCRAM login (src/client/sasl-client.ts).
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

function hashName(m: ScramMechanism): 'sha256' | 'sha512' {
  return m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function scramHashLength(m: ScramMechanism): number {
  return m === 'SCRAM-SHA-256' ? 32 : 64;
}

export function scramHmac(m: ScramMechanism, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(hashName(m), key).update(data).digest();
}

export function scramHash(m: ScramMechanism, data: Buffer): Buffer {
  return createHash(hashName(m)).update(data).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC. */
export function saltPassword(
  m: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): Buffer {
  return pbkdf2Sync(
    Buffer.from(password, 'utf8'),
    salt,
    iterations,
    scramHashLength(m),
    hashName(m),
  );
}

/** The client key, stored key and server key of a salted password. */
export function scramKeys(
  m: ScramMechanism,
  saltedPassword: Buffer,
): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = scramHmac(m, saltedPassword, 'Client Key');
  return {
    clientKey,
    storedKey: scramHash(m, clientKey),
    serverKey: scramHmac(m, saltedPassword, 'Server Key'),
  };
}

export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

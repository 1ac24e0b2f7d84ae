import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  credentialFromSaltedPassword,
  formatCredential,
  newCredential,
  parseCredential,
  ScramError,
  ScramServer,
  saltPassword,
} from './scram.ts';

// RFC 7677 section 3: the SCRAM-SHA-256 exchange of user "user" with password "pencil".
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const CLIENT_FIRST = `n,,n=user,r=${CLIENT_NONCE}`;
const SERVER_FIRST = `r=${CLIENT_NONCE}${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const CLIENT_FINAL = `c=biws,r=${CLIENT_NONCE}${SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

function rfcServer() {
  const credential = credentialFromSaltedPassword(
    'SCRAM-SHA-256',
    saltPassword('SCRAM-SHA-256', 'pencil', SALT, 4096),
    SALT,
    4096,
  );
  return new ScramServer(
    'SCRAM-SHA-256',
    async (user) => (user === 'user' ? credential : undefined),
    () => SERVER_NONCE,
  );
}

describe('SCRAM', () => {
  it('answers RFC 7677 test vector exactly', async () => {
    const server = rfcServer();
    assert.equal((await server.evaluate(Buffer.from(CLIENT_FIRST))).toString(), SERVER_FIRST);
    assert.equal((await server.evaluate(Buffer.from(CLIENT_FINAL))).toString(), SERVER_FINAL);
    assert.equal(server.user, 'user');
  });

  it('refuses a wrong proof, a wrong nonce, and an unknown user alike', async () => {
    const badProof = rfcServer();
    await badProof.evaluate(Buffer.from(CLIENT_FIRST));
    await assert.rejects(
      badProof.evaluate(Buffer.from(CLIENT_FINAL.replace('p=dH', 'p=eH'))),
      /invalid credentials with SASL mechanism SCRAM-SHA-256/,
    );
    const badNonce = rfcServer();
    await badNonce.evaluate(Buffer.from(CLIENT_FIRST));
    await assert.rejects(
      badNonce.evaluate(Buffer.from(CLIENT_FINAL.replace('k0,p=', 'k1,p='))),
      ScramError,
    );
    const unknown = rfcServer();
    const first = (await unknown.evaluate(Buffer.from('n,,n=nobody,r=abc'))).toString();
    assert.match(first, /^r=abc.+,s=.+,i=4096$/, 'an unknown user gets a plausible challenge');
    await assert.rejects(
      unknown.evaluate(Buffer.from(`c=biws,r=${first.slice(2, first.indexOf(','))},p=AAAA`)),
      /invalid credentials/,
    );
    await assert.rejects(rfcServer().evaluate(Buffer.from('garbage')), ScramError);
  });

  it("keeps credentials in Kafka's text form", () => {
    const c = newCredential('SCRAM-SHA-512', 'secret', 8192);
    const text = formatCredential(c);
    assert.match(text, /^salt=[^,]+,stored_key=[^,]+,server_key=[^,]+,iterations=8192$/);
    assert.deepEqual(parseCredential(text), c);
    assert.equal(parseCredential('salt=x'), undefined);
  });
});

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { ConnectionSecurity, type SaslSettings } from './session.ts';

const settings = (reauthMs = 0): SaslSettings => ({
  mechanisms: ['PLAIN'],
  plainUsers: new Map([
    ['alice', 'a'],
    ['bob', 'b'],
  ]),
  scramCredentials: async () => undefined,
  reauthMs,
  failedDelayMs: 0,
});
const plain = (user: string, password: string) => Buffer.from(`\u0000${user}\u0000${password}`);

describe("a connection's SASL state", () => {
  it('serves only ApiVersions and SASL until authenticated, then everything', async () => {
    const s = new ConnectionSecurity('SASL_PLAINTEXT', settings());
    assert.equal(s.refusal(ApiKey.ApiVersions), undefined);
    assert.match(s.refusal(ApiKey.Metadata) ?? '', /during SASL handshake/);
    assert.equal(s.handshake('SCRAM-SHA-256'), ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.equal(s.handshake('PLAIN'), ErrorCode.NONE);
    const ok = await s.authenticate(plain('alice', 'a'));
    assert.equal(ok.errorCode, 0);
    assert.equal(s.principal, 'User:alice');
    assert.equal(s.refusal(ApiKey.Metadata), undefined);
  });

  it('a failed login is answered, then the connection closes', async () => {
    const s = new ConnectionSecurity('SASL_PLAINTEXT', settings());
    s.handshake('PLAIN');
    const r = await s.authenticate(plain('alice', 'x'));
    assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(s.closeAfterResponse, true);
  });

  it('a session expires (KIP-368); re-authentication keeps it, with the same principal only', async () => {
    let now = 0;
    const s = new ConnectionSecurity('SASL_PLAINTEXT', settings(1000), undefined, () => now);
    s.handshake('PLAIN');
    assert.equal((await s.authenticate(plain('alice', 'a'))).sessionLifetimeMs, 1000);
    now = 1500;
    assert.match(s.refusal(ApiKey.Fetch) ?? '', /expired/);
    assert.equal(s.refusal(ApiKey.SaslHandshake), undefined);
    s.handshake('PLAIN');
    assert.equal((await s.authenticate(plain('alice', 'a'))).errorCode, 0);
    assert.equal(s.refusal(ApiKey.Fetch), undefined);
    now = 3000;
    s.handshake('PLAIN');
    const other = await s.authenticate(plain('bob', 'b'));
    assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.match(other.errorMessage ?? '', /Cannot change principals/);
  });

  it('a PLAINTEXT connection needs nothing and refuses a handshake', () => {
    const s = new ConnectionSecurity('PLAINTEXT', null);
    assert.equal(s.refusal(ApiKey.Produce), undefined);
    assert.equal(s.handshake('PLAIN'), ErrorCode.ILLEGAL_SASL_STATE);
  });
});

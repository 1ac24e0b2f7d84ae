import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { authenticatePlain, PlainError, parseJaasConfig, plainUsers } from './plain.ts';

describe('SASL/PLAIN and JAAS configs', () => {
  it('parses a JAAS config with quoted and escaped values', () => {
    const entries = parseJaasConfig(
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a\\"b" user_admin="admin-secret" user_alice=alice-secret;',
    );
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.options.get('password'), 'a"b');
    assert.deepEqual(
      plainUsers(entries),
      new Map([
        ['admin', 'admin-secret'],
        ['alice', 'alice-secret'],
      ]),
    );
    assert.throws(() => parseJaasConfig('x required a="b"'), /does not end/);
    assert.throws(() => parseJaasConfig('x sometimes;'), /required/);
  });

  it('checks the user, the password and the authorization id', () => {
    const users = new Map([['alice', 'alice-secret']]);
    assert.equal(authenticatePlain(Buffer.from('\u0000alice\u0000alice-secret'), users), 'alice');
    assert.equal(
      authenticatePlain(Buffer.from('alice\u0000alice\u0000alice-secret'), users),
      'alice',
    );
    assert.throws(
      () => authenticatePlain(Buffer.from('\u0000alice\u0000wrong'), users),
      PlainError,
    );
    assert.throws(
      () => authenticatePlain(Buffer.from('\u0000bob\u0000alice-secret'), users),
      /Invalid username or password/,
    );
    assert.throws(
      () => authenticatePlain(Buffer.from('bob\u0000alice\u0000alice-secret'), users),
      /authorization id/,
    );
    assert.throws(() => authenticatePlain(Buffer.from('alice'), users), /3 tokens/);
  });
});

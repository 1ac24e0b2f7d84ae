import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AclOperation, ResourceType } from '../common/acl.ts';
import { apiDescriptors } from '../protocol/messages/api-table.ts';
import { Authorizer } from '../security/authorizer.ts';
import { API_AUTHORIZATION, clientHost, RequestAuthorization } from './authorization.ts';
import type { BrokerContext } from './context.ts';
import { Dispatcher } from './dispatcher.ts';
import { createHandlers } from './handlers/index.ts';

/** A context whose every member is a stub: handler factories only keep it. */
function stubContext(cluster: boolean): BrokerContext {
  const stub: object = new Proxy(() => stub, { get: () => stub, apply: () => stub });
  return new Proxy({} as BrokerContext, {
    get: (_t, key) => (key === 'cluster' ? (cluster ? stub : undefined) : stub),
  });
}

describe('the authorization table', () => {
  it('has a row for every API the broker can advertise (single node and cluster)', () => {
    for (const cluster of [false, true]) {
      const handlers = createHandlers(stubContext(cluster));
      for (const h of handlers) {
        const name = apiDescriptors.get(h.apiKey)?.name;
        assert.ok(API_AUTHORIZATION.has(h.apiKey), `${name} has no row`);
      }
      // The dispatcher refuses to start with a handler that has no row.
      assert.doesNotThrow(() => new Dispatcher(handlers));
    }
  });

  it('every handler whose row checks something asks ctx.auth', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const files = readdirSync(join(here, 'handlers')).filter((f) => /^\d\d-.*\.js$/.test(f));
    const registered = new Set(createHandlers(stubContext(true)).map((h) => h.apiKey));
    for (const [apiKey, row] of API_AUTHORIZATION) {
      // A row may be ready before its handler exists (client quotas).
      if (row.checks.length === 0 || !registered.has(apiKey)) continue;
      const prefix = `${String(apiKey).padStart(2, '0')}-`;
      const file = files.find((f) => f.startsWith(prefix));
      assert.ok(file !== undefined, `no handler file for API key ${apiKey}`);
      const source = readFileSync(join(here, 'handlers', file), 'utf8');
      assert.match(source, /ctx\.auth\.|\.auth\.(allowed|cluster)|configResourceRefusal/, file);
    }
  });

  it('a handler may ask only what its row declares', () => {
    const authorizer = new Authorizer({ superUsers: new Set(), allowEveryoneIfNoAclFound: false });
    const auth = new RequestAuthorization(authorizer, 12, { principal: 'User:a', host: 'h' });
    assert.equal(auth.allowed(AclOperation.READ, ResourceType.GROUP, 'g'), false);
    assert.throws(
      () => auth.allowed(AclOperation.WRITE, ResourceType.TOPIC, 't'),
      /does not declare/,
    );
  });

  it('with no authorizer every check is allowed', () => {
    const auth = new RequestAuthorization(null, 0, { principal: 'User:a', host: 'h' });
    assert.equal(auth.enabled, false);
    assert.equal(auth.allowed(AclOperation.WRITE, ResourceType.TOPIC, 't'), true);
  });

  it("a client's IPv4-mapped address is compared as the IPv4 address", () => {
    assert.equal(clientHost('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(clientHost('::1'), '::1');
  });
});

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  type AclBinding,
  type AclBindingFilter,
  AclPermission,
  bindingMatches,
  bindingProblem,
  CLUSTER_NAME,
  AclOperation as Op,
  PatternType,
  ResourceType as RT,
} from '../common/acl.ts';
import { Authorizer, parseSuperUsers } from './authorizer.ts';

const alice = { principal: 'User:alice', host: '10.0.0.1' };
const bob = { principal: 'User:bob', host: '10.0.0.2' };

function acl(
  resourceType: number,
  name: string,
  operation: number,
  opts: { principal?: string; host?: string; deny?: boolean; prefixed?: boolean } = {},
): AclBinding {
  return {
    pattern: {
      resourceType,
      name,
      patternType: opts.prefixed === true ? PatternType.PREFIXED : PatternType.LITERAL,
    },
    entry: {
      principal: opts.principal ?? 'User:alice',
      host: opts.host ?? '*',
      operation,
      permission: opts.deny === true ? AclPermission.DENY : AclPermission.ALLOW,
    },
  };
}

function authorizer(bindings: AclBinding[], superUsers = '', allowEveryone = false): Authorizer {
  const a = new Authorizer({
    superUsers: parseSuperUsers(superUsers),
    allowEveryoneIfNoAclFound: allowEveryone,
  });
  a.load(bindings);
  return a;
}

describe('Authorizer (Kafka AclAuthorizer semantics)', () => {
  it('a literal ALLOW allows that principal, that operation, that resource only', () => {
    const a = authorizer([acl(RT.TOPIC, 'T', Op.READ)]);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'T'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'T'), false);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'T2'), false);
    assert.equal(a.authorize(bob, Op.READ, RT.TOPIC, 'T'), false);
    assert.equal(a.authorize(alice, Op.READ, RT.GROUP, 'T'), false);
  });

  it('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS', () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      assert.equal(
        authorizer([acl(RT.TOPIC, 'T', op)]).authorize(alice, Op.DESCRIBE, RT.TOPIC, 'T'),
        true,
      );
    }
    assert.equal(
      authorizer([acl(RT.TOPIC, 'T', Op.CREATE)]).authorize(alice, Op.DESCRIBE, RT.TOPIC, 'T'),
      false,
    );
    const configs = authorizer([acl(RT.TOPIC, 'T', Op.ALTER_CONFIGS)]);
    assert.equal(configs.authorize(alice, Op.DESCRIBE_CONFIGS, RT.TOPIC, 'T'), true);
    assert.equal(configs.authorize(alice, Op.DESCRIBE, RT.TOPIC, 'T'), false);
  });

  it('ALL allows every operation; a wildcard name, principal and host match all', () => {
    const a = authorizer([acl(RT.TOPIC, '*', Op.ALL, { principal: 'User:*' })]);
    assert.equal(a.authorize(bob, Op.DELETE, RT.TOPIC, 'anything'), true);
    const host = authorizer([acl(RT.TOPIC, 'T', Op.READ, { host: '10.0.0.1' })]);
    assert.equal(host.authorize(alice, Op.READ, RT.TOPIC, 'T'), true);
    assert.equal(host.authorize({ ...alice, host: '10.0.0.9' }, Op.READ, RT.TOPIC, 'T'), false);
  });

  it('a prefixed pattern covers the names that start with it', () => {
    const a = authorizer([acl(RT.TOPIC, 'orders-', Op.WRITE, { prefixed: true })]);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'orders-eu'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'orders-'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'order'), false);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'payments'), false);
  });

  it('a DENY beats an ALLOW, from any matching pattern', () => {
    const a = authorizer([
      acl(RT.TOPIC, 'orders-', Op.ALL, { prefixed: true }),
      acl(RT.TOPIC, 'orders-secret', Op.READ, { deny: true }),
    ]);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'orders-eu'), true);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'orders-secret'), false);
    // A DENY of READ does not deny DESCRIBE (implied operations only widen ALLOWs).
    assert.equal(a.authorize(alice, Op.DESCRIBE, RT.TOPIC, 'orders-secret'), true);
    const everyone = authorizer([
      acl(RT.TOPIC, 'T', Op.READ),
      acl(RT.TOPIC, '*', Op.ALL, { principal: 'User:*', deny: true }),
    ]);
    assert.equal(everyone.authorize(alice, Op.READ, RT.TOPIC, 'T'), false);
  });

  it('super users bypass every ACL, DENYs included', () => {
    const a = authorizer(
      [acl(RT.TOPIC, '*', Op.ALL, { principal: 'User:*', deny: true })],
      ' User:admin ; User:CN=broker ',
    );
    assert.equal(a.authorize({ principal: 'User:admin', host: 'x' }, Op.ALL, RT.TOPIC, 'T'), true);
    assert.equal(
      a.authorize(
        { principal: 'User:CN=broker', host: 'x' },
        Op.CLUSTER_ACTION,
        RT.CLUSTER,
        CLUSTER_NAME,
      ),
      true,
    );
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'T'), false);
  });

  it('no ACL on a resource: refused, unless allow.everyone.if.no.acl.found', () => {
    assert.equal(authorizer([]).authorize(alice, Op.READ, RT.TOPIC, 'T'), false);
    const open = authorizer(
      [acl(RT.TOPIC, 'guarded', Op.READ, { principal: 'User:bob' })],
      '',
      true,
    );
    assert.equal(open.authorize(alice, Op.READ, RT.TOPIC, 'T'), true);
    // An ACL on the resource (someone else's) closes it.
    assert.equal(open.authorize(alice, Op.READ, RT.TOPIC, 'guarded'), false);
  });

  it('authorizeByResourceType: some topic allowed and not denied', () => {
    assert.equal(authorizer([]).authorizeByResourceType(alice, Op.WRITE, RT.TOPIC), false);
    const some = authorizer([acl(RT.TOPIC, 'T', Op.WRITE)]);
    assert.equal(some.authorizeByResourceType(alice, Op.WRITE, RT.TOPIC), true);
    assert.equal(some.authorizeByResourceType(bob, Op.WRITE, RT.TOPIC), false);
    const denied = authorizer([
      acl(RT.TOPIC, 'T', Op.WRITE),
      acl(RT.TOPIC, 'T', Op.WRITE, { deny: true, prefixed: true }),
    ]);
    assert.equal(denied.authorizeByResourceType(alice, Op.WRITE, RT.TOPIC), false);
    const wildcardDeny = authorizer([
      acl(RT.TOPIC, 'orders-', Op.WRITE, { prefixed: true }),
      acl(RT.TOPIC, '*', Op.WRITE, { deny: true }),
    ]);
    assert.equal(wildcardDeny.authorizeByResourceType(alice, Op.WRITE, RT.TOPIC), false);
  });

  it('authorized operations as a bit field of the supported operations', () => {
    const a = authorizer([acl(RT.GROUP, 'g', Op.READ)]);
    assert.equal(a.authorizedOperations(alice, RT.GROUP, 'g'), (1 << Op.READ) | (1 << Op.DESCRIBE));
  });

  it('setAcls replaces one pattern; an empty list removes it', () => {
    const a = authorizer([acl(RT.TOPIC, 'T', Op.READ)]);
    const pattern = { resourceType: RT.TOPIC, name: 'T', patternType: PatternType.LITERAL };
    a.setAcls(pattern, []);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'T'), false);
    assert.deepEqual(a.acls(anyFilter()), []);
  });
});

function anyFilter(over: Partial<AclBindingFilter> = {}): AclBindingFilter {
  return {
    resourceType: RT.ANY,
    name: null,
    patternType: PatternType.ANY,
    principal: null,
    host: null,
    operation: Op.ANY,
    permission: AclPermission.ANY,
    ...over,
  };
}

describe('ACL filters (DescribeAcls, DeleteAcls)', () => {
  const literal = acl(RT.TOPIC, 'orders-eu', Op.READ);
  const wildcard = acl(RT.TOPIC, '*', Op.READ);
  const prefix = acl(RT.TOPIC, 'orders-', Op.WRITE, { prefixed: true });
  const other = acl(RT.TOPIC, 'payments', Op.READ);
  const all = [literal, wildcard, prefix, other];
  const names = (f: AclBindingFilter) =>
    all.filter((b) => bindingMatches(f, b)).map((b) => b.pattern.name);

  it('MATCH finds every pattern that applies to a name', () => {
    assert.deepEqual(names(anyFilter({ name: 'orders-eu', patternType: PatternType.MATCH })), [
      'orders-eu',
      '*',
      'orders-',
    ]);
  });

  it('ANY and a concrete pattern type compare names exactly', () => {
    assert.deepEqual(names(anyFilter({ name: 'orders-eu' })), ['orders-eu']);
    assert.deepEqual(names(anyFilter({ patternType: PatternType.PREFIXED })), ['orders-']);
    assert.deepEqual(names(anyFilter({ name: 'orders-', patternType: PatternType.LITERAL })), []);
  });

  it('entry fields filter by principal, host, operation and permission', () => {
    assert.deepEqual(names(anyFilter({ operation: Op.WRITE })), ['orders-']);
    assert.deepEqual(names(anyFilter({ principal: 'User:bob' })), []);
    assert.deepEqual(names(anyFilter({ permission: AclPermission.DENY })), []);
    assert.equal(names(anyFilter({ host: '*' })).length, 4);
  });

  it('bindings that cannot be created', () => {
    assert.equal(bindingProblem(literal), undefined);
    assert.match(String(bindingProblem(acl(RT.CLUSTER, 'c', Op.ALTER))), /kafka-cluster/);
    assert.match(String(bindingProblem(acl(RT.TOPIC, '', Op.READ))), /empty/);
    assert.match(
      String(bindingProblem(acl(RT.TOPIC, 'T', Op.READ, { principal: 'alice' }))),
      /principal/,
    );
    assert.match(String(bindingProblem(acl(RT.TOPIC, 'T', Op.ANY))), /unknown/);
    assert.match(String(bindingProblem(acl(RT.GROUP, 'a/b', Op.READ))), /invalid resource name/);
  });
});

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  type AccessControlEntry,
  AclOperation,
  AclPermission,
  PatternType,
  ResourceType,
} from '../common/acl.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryZooKeeper } from './memory-coordination.ts';
import {
  aclPath,
  decodeAclChange,
  decodeAcls,
  EXTENDED_CHANGES,
  encodeAclChange,
  encodeAcls,
  LITERAL_CHANGES,
  ZkAcls,
} from './zk-acls.ts';

const read: AccessControlEntry = {
  principal: 'User:alice',
  host: '*',
  operation: AclOperation.READ,
  permission: AclPermission.ALLOW,
};
const literal = { resourceType: ResourceType.TOPIC, name: 'T', patternType: PatternType.LITERAL };
const prefixed = {
  resourceType: ResourceType.TRANSACTIONAL_ID,
  name: 'app-',
  patternType: PatternType.PREFIXED,
};

describe("ACL znodes in Kafka 3.9's layout", () => {
  it('paths: /kafka-acl for literal patterns, /kafka-acl-extended/prefixed for prefixed ones', () => {
    assert.equal(aclPath(literal), '/kafka-acl/Topic/T');
    assert.equal(aclPath(prefixed), '/kafka-acl-extended/prefixed/TransactionalId/app-');
  });

  it("the resource znode's JSON, both ways (Kafka writes DescribeConfigs and ClusterAction so)", () => {
    const entries: AccessControlEntry[] = [
      read,
      { ...read, operation: AclOperation.DESCRIBE_CONFIGS, permission: AclPermission.DENY },
    ];
    assert.deepEqual(JSON.parse(encodeAcls(entries).toString()), {
      version: 1,
      acls: [
        { principal: 'User:alice', permissionType: 'Allow', operation: 'Read', host: '*' },
        {
          principal: 'User:alice',
          permissionType: 'Deny',
          operation: 'DescribeConfigs',
          host: '*',
        },
      ],
    });
    assert.deepEqual(decodeAcls('/p', encodeAcls(entries)), entries);
    const kafka = Buffer.from(
      '{"version":1,"acls":[{"principal":"User:broker","permissionType":"Allow","operation":"ClusterAction","host":"10.0.0.1"}]}',
    );
    assert.deepEqual(decodeAcls('/p', kafka), [
      {
        principal: 'User:broker',
        host: '10.0.0.1',
        operation: AclOperation.CLUSTER_ACTION,
        permission: AclPermission.ALLOW,
      },
    ]);
  });

  it('change notifications: "TOPIC:T" for literal, an extended event for prefixed', () => {
    const l = encodeAclChange(literal);
    assert.equal(l.path, `${LITERAL_CHANGES}/acl_changes_`);
    assert.equal(l.data.toString(), 'TOPIC:T');
    assert.deepEqual(decodeAclChange(LITERAL_CHANGES, l.data), literal);
    const p = encodeAclChange(prefixed);
    assert.equal(p.path, `${EXTENDED_CHANGES}/acl_changes_`);
    assert.deepEqual(JSON.parse(p.data.toString()), {
      version: 1,
      resourceType: 'TRANSACTIONAL_ID',
      name: 'app-',
      patternType: 'PREFIXED',
    });
    assert.deepEqual(decodeAclChange(EXTENDED_CHANGES, p.data), prefixed);
    // A name with a colon keeps it (Kafka splits at the first one).
    assert.equal(decodeAclChange(LITERAL_CHANGES, Buffer.from('GROUP:a:b'))?.name, 'a:b');
  });

  it('update writes the znode with its notification; changes reads them after a mark', async () => {
    const server = new MemoryZooKeeper();
    const zk = await server.connect({
      connectString: 'memory',
      sessionTimeoutMs: 6_000,
      connectionTimeoutMs: 1_000,
    });
    const acls = new ZkAcls(zk, new ManualClock(0));
    await acls.createPaths();
    const mark = await acls.changes(LITERAL_CHANGES, -1, () => undefined);
    assert.deepEqual(mark.patterns, []);
    let fired = false;
    await acls.changes(LITERAL_CHANGES, mark.last, () => {
      fired = true;
    });
    await acls.update(literal, (current) => [...current, read]);
    assert.equal(fired, true);
    assert.deepEqual(await acls.entriesOf(literal), [read]);
    assert.deepEqual(await acls.all(), [{ pattern: literal, entry: read }]);
    const seen = await acls.changes(LITERAL_CHANGES, mark.last, () => undefined);
    assert.deepEqual(seen.patterns, [literal]);
    // Unchanged: nothing is written, no notification.
    await acls.update(literal, (current) => [...current]);
    assert.deepEqual(
      (await acls.changes(LITERAL_CHANGES, seen.last, () => undefined)).patterns,
      [],
    );
    // Emptied: the znode goes.
    await acls.update(literal, () => []);
    assert.equal(await zk.exists(aclPath(literal)), null);
    await zk.close();
  });
});

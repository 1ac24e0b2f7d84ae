/**
 * ACLs with an authorizer (issue 18), on one broker process with a PLAINTEXT listener for the
 * broker's own traffic (User:ANONYMOUS, a super user as the docs say) and a SASL_PLAINTEXT one
 * whose PLAIN users are the principals under test:
 * - a principal with only Read on topic T and its group reads T with kcat in a group, and sees
 *   nothing else (Metadata hides the other topics from kcat and kafkajs); it cannot write;
 * - Write on a prefixed pattern lets a principal produce to the matching topics only;
 * - a DENY beats an ALLOW; super.users bypass every ACL;
 * - every API of the authorization table that the broker advertises, sent by a principal
 *   without ACLs (refused, with Kafka's error) and by one given exactly the ACLs of its row
 *   (no authorization error), with the repo's own client over SASL;
 * - Kafka 3.9's kafka-acls (AclCommand) adds, lists and removes ACLs; `tributary acls` too.
 */
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_AUTHORIZATION } from '../src/broker/authorization.ts';
import { Connection } from '../src/client/connection.ts';
import { saslAuthenticate } from '../src/client/sasl-client.ts';
import {
  AclPermission,
  AclOperation as Op,
  PatternType,
  ResourceType as RT,
} from '../src/common/acl.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import type { ApiVersionsResponse } from '../src/protocol/messages/api-versions-response.ts';
import type { CreateAclsResponse } from '../src/protocol/messages/create-acls-response.ts';
import type { DeleteAclsResponse } from '../src/protocol/messages/delete-acls-response.ts';
import type { DescribeAclsResponse } from '../src/protocol/messages/describe-acls-response.ts';
import {
  API_CASES,
  type ApiCase,
  AUTHORIZATION_ERRORS,
  collectErrorCodes,
} from '../src/testing/acl-cases.ts';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { KCAT, kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

const PASSWORD = 'secret';
const FIXED_USERS = ['admin', 'alice', 'bob', 'carol', 'dave', 'frank'];
const caseUser = (i: number) => `case${i}`;

function jaas(users: readonly string[]): string {
  const entries = users.map((u) => `user_${u}="${PASSWORD}"`).join(' ');
  return `org.apache.kafka.common.security.plain.PlainLoginModule required ${entries};`;
}

const sasl = (user: string) => [
  '-X',
  'security.protocol=SASL_PLAINTEXT',
  '-X',
  'sasl.mechanisms=PLAIN',
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${PASSWORD}`,
];

const MAIN = new URL('../src/main.js', import.meta.url).href;

function cli(args: readonly string[]) {
  const script = `const { main } = await import(${JSON.stringify(MAIN)});\nawait main(process.argv.slice(1));`;
  return run(process.execPath, ['--input-type=module', '-e', script, ...args], {
    timeoutMs: 60_000,
  });
}

/** A connection to `address` logged in as `user` with PLAIN. */
async function login(address: string, user: string): Promise<Connection> {
  const [host, port] = address.split(':');
  const conn = await Connection.open({
    host: host as string,
    port: Number(port),
    clientId: `acls-${user}`,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
  });
  await saslAuthenticate(conn, { mechanism: 'PLAIN', username: user, password: PASSWORD });
  return conn;
}

async function grant(
  admin: Connection,
  user: string,
  acls: readonly {
    op: number;
    type: number;
    name: string;
    prefixed?: boolean;
    deny?: boolean;
    principal?: string;
  }[],
): Promise<void> {
  if (acls.length === 0) return;
  const r = await admin.send<CreateAclsResponse>(ApiKey.CreateAcls, 3, {
    creations: acls.map((a) => ({
      resourceType: a.type,
      resourceName: a.name,
      resourcePatternType: a.prefixed === true ? PatternType.PREFIXED : PatternType.LITERAL,
      principal: a.principal ?? `User:${user}`,
      host: '*',
      operation: a.op,
      permissionType: a.deny === true ? AclPermission.DENY : AclPermission.ALLOW,
    })),
  });
  assert.deepEqual(
    r.results.map((x) => x.errorCode),
    acls.map(() => 0),
    JSON.stringify(r.results),
  );
}

/** kcat -L as `user`: the topic names it is shown. */
async function kcatTopics(address: string, user: string): Promise<string[]> {
  const r = await run(KCAT, ['-L', '-J', '-b', address, '-m', '10', ...sasl(user)], {
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, describeRun(r));
  const json = JSON.parse(r.stdout.toString()) as { topics: { topic: string }[] };
  return json.topics.map((t) => t.topic).sort();
}

/** kafkajs (in a child process) lists the topics as `user`. */
async function kafkajsTopics(address: string, user: string): Promise<string[]> {
  const script = `
    import kafkajs from 'kafkajs';
    const kafka = new kafkajs.Kafka({ brokers: [${JSON.stringify(address)}], logLevel: 0,
      sasl: { mechanism: 'plain', username: ${JSON.stringify(user)}, password: ${JSON.stringify(PASSWORD)} } });
    const admin = kafka.admin();
    await admin.connect();
    console.log(JSON.stringify((await admin.listTopics()).sort()));
    await admin.disconnect();`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout.toString().trim()) as string[];
}

describe('ACLs on one broker', () => {
  let broker: BrokerProcess;
  let admin: Connection;
  let address: string;

  before(async () => {
    requireKcat();
    const users = [...FIXED_USERS, ...API_CASES.map((_, i) => caseUser(i))];
    broker = await BrokerProcess.start({
      overrides: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'PLAINTEXT',
        'sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas(users),
        'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
        'super.users': 'User:admin;User:ANONYMOUS',
        'connection.failed.authentication.delay.ms': '0',
      },
    });
    address = broker.listenerAddress('SASL_PLAINTEXT');
    admin = await login(address, 'admin');
    for (const topic of ['acl-read', 'acl-other', 'orders-eu', 'payments', 'secret', 'acl-t']) {
      await kafkaTool('topics', [
        '--bootstrap-server',
        broker.bootstrap,
        '--create',
        '--topic',
        topic,
        '--partitions',
        '1',
      ]);
    }
    await kcatProduce(broker.bootstrap, 'acl-read', 'one\ntwo\nthree\n');
    await kcatProduce(broker.bootstrap, 'secret', 'classified\n');
    await kcatProduce(broker.bootstrap, 'acl-t', 'x\n');
  });

  after(async () => {
    await admin?.close();
    await broker?.cleanup();
  });

  it('a principal with Read on a topic and its group reads it in a group and sees nothing else', {
    timeout: 120_000,
  }, async () => {
    await grant(admin, 'alice', [
      { op: Op.READ, type: RT.TOPIC, name: 'acl-read' },
      { op: Op.READ, type: RT.GROUP, name: 'acl-read-g' },
    ]);
    const consumed = await run(
      KCAT,
      [
        '-b',
        address,
        '-G',
        'acl-read-g',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%s\\n',
        ...sasl('alice'),
        'acl-read',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(consumed.code, 0, describeRun(consumed));
    assert.deepEqual(consumed.stdout.toString().trim().split('\n'), ['one', 'two', 'three']);
    // Metadata hides what alice may not describe.
    assert.deepEqual(await kcatTopics(address, 'alice'), ['acl-read']);
    assert.deepEqual(await kafkajsTopics(address, 'alice'), ['acl-read']);
    // No Write: kcat's produce fails with Kafka's error.
    const produced = await run(
      KCAT,
      ['-P', '-b', address, '-t', 'acl-read', '-p', '0', ...sasl('alice')],
      { input: 'nope\n', timeoutMs: 30_000 },
    );
    assert.match(
      `${produced.stdout}${produced.stderr}`,
      /Topic authorization failed|TOPIC_AUTHORIZATION_FAILED/,
    );
    // Another group is refused.
    const other = await run(
      KCAT,
      ['-b', address, '-G', 'other-g', '-o', 'beginning', '-e', ...sasl('alice'), 'acl-read'],
      { timeoutMs: 30_000 },
    );
    assert.match(
      `${other.stdout}${other.stderr}`,
      /GROUP_AUTHORIZATION_FAILED|[Gg]roup authorization failed/,
    );
  });

  it('Write on a prefix lets a principal produce to the matching topics only', {
    timeout: 60_000,
  }, async () => {
    await grant(admin, 'bob', [{ op: Op.WRITE, type: RT.TOPIC, name: 'orders-', prefixed: true }]);
    const ok = await run(
      KCAT,
      ['-P', '-b', address, '-t', 'orders-eu', '-p', '0', ...sasl('bob')],
      { input: 'order 1\n', timeoutMs: 30_000 },
    );
    assert.equal(ok.code, 0, describeRun(ok));
    assert.doesNotMatch(`${ok.stderr}`, /authorization failed/i);
    const refused = await run(
      KCAT,
      ['-P', '-b', address, '-t', 'payments', '-p', '0', ...sasl('bob')],
      { input: 'payment 1\n', timeoutMs: 30_000 },
    );
    assert.match(`${refused.stdout}${refused.stderr}`, /Topic authorization failed/);
    // bob sees (describes) the prefixed topics, as WRITE implies DESCRIBE.
    assert.deepEqual(await kcatTopics(address, 'bob'), ['orders-eu']);
  });

  it('a DENY beats an ALLOW', { timeout: 30_000 }, async () => {
    await grant(admin, 'carol', [
      { op: Op.READ, type: RT.TOPIC, name: '*' },
      { op: Op.READ, type: RT.TOPIC, name: 'secret', deny: true },
    ]);
    const carol = await login(address, 'carol');
    try {
      const fetch = async (topic: string) =>
        collectErrorCodes(
          await carol.send(ApiKey.Fetch, 12, {
            ...fetchBody(topic),
          }),
        );
      assert.deepEqual(await fetch('acl-t'), [0, 0]);
      assert.ok((await fetch('secret')).includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    } finally {
      await carol.close();
    }
  });

  it('super users bypass every ACL, a DENY for everyone included', {
    timeout: 30_000,
  }, async () => {
    await grant(admin, '', [
      { op: Op.ALL, type: RT.TOPIC, name: 'secret', deny: true, principal: 'User:*' },
    ]);
    const codes = collectErrorCodes(await admin.send(ApiKey.Fetch, 12, fetchBody('secret')));
    assert.deepEqual(codes, [0, 0]);
    const dave = await login(address, 'dave');
    try {
      const refused = collectErrorCodes(await dave.send(ApiKey.Fetch, 12, fetchBody('secret')));
      assert.ok(refused.includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    } finally {
      await dave.close();
    }
  });

  it('every API of the table: refused without its ACLs, served with exactly them', {
    timeout: 300_000,
  }, async () => {
    const versions = await admin.send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'acls-test',
      clientSoftwareVersion: '1',
    });
    const advertised = new Set(versions.apiKeys.map((k) => k.apiKey));
    // Every advertised API with checks in its row has a case (the cluster-only ones are in
    // acls-cluster.test.ts).
    for (const [apiKey, row] of API_AUTHORIZATION) {
      if (row.checks.length === 0 || !advertised.has(apiKey)) continue;
      assert.ok(
        API_CASES.some((c) => c.apiKey === apiKey),
        `no case for ${apiDescriptors.get(apiKey)?.name}`,
      );
    }
    const dave = await login(address, 'dave');
    try {
      for (const [i, c] of API_CASES.entries()) {
        if (!advertised.has(c.apiKey)) continue;
        await setUp(admin, c);
        await checkRefused(dave, c);
        await grant(admin, caseUser(i), c.grants);
        const allowed = await login(address, caseUser(i));
        try {
          await checkAllowed(allowed, c);
        } finally {
          await allowed.close();
        }
      }
    } finally {
      await dave.close();
    }
  });

  it('CreateAcls, DescribeAcls and DeleteAcls at every version', { timeout: 60_000 }, async () => {
    for (const version of [0, 1, 2, 3]) {
      const name = `acl-v${version}`;
      const created = await admin.send<CreateAclsResponse>(ApiKey.CreateAcls, version, {
        creations: [
          {
            resourceType: RT.GROUP,
            resourceName: name,
            resourcePatternType: PatternType.LITERAL,
            principal: 'User:frank',
            host: '10.1.2.3',
            operation: Op.DELETE,
            permissionType: AclPermission.DENY,
          },
        ],
      });
      assert.deepEqual(collectErrorCodes(created), [0], `CreateAcls v${version}`);
      const filter = {
        resourceTypeFilter: RT.GROUP,
        resourceNameFilter: name,
        patternTypeFilter: PatternType.LITERAL,
        principalFilter: 'User:frank',
        hostFilter: null,
        operation: Op.ANY,
        permissionType: AclPermission.ANY,
      };
      const described = await admin.send<DescribeAclsResponse>(
        ApiKey.DescribeAcls,
        version,
        filter,
      );
      assert.equal(described.errorCode, 0);
      assert.deepEqual(
        described.resources.map((r) => [
          r.resourceType,
          r.resourceName,
          r.acls.map((a) => [a.host, a.operation, a.permissionType]),
        ]),
        [[RT.GROUP, name, [['10.1.2.3', Op.DELETE, AclPermission.DENY]]]],
        `DescribeAcls v${version}`,
      );
      const deleted = await admin.send<DeleteAclsResponse>(ApiKey.DeleteAcls, version, {
        filters: [filter],
      });
      assert.deepEqual(
        deleted.filterResults.map((f) => f.matchingAcls.map((m) => m.resourceName)),
        [[name]],
        `DeleteAcls v${version}`,
      );
    }
    // An ACL that cannot be: INVALID_REQUEST, each creation answered on its own.
    const bad = await admin.send<CreateAclsResponse>(ApiKey.CreateAcls, 3, {
      creations: [
        {
          resourceType: RT.CLUSTER,
          resourceName: 'not-the-cluster',
          resourcePatternType: PatternType.LITERAL,
          principal: 'User:frank',
          host: '*',
          operation: Op.ALTER,
          permissionType: AclPermission.ALLOW,
        },
      ],
    });
    assert.equal(bad.results[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(String(bad.results[0]?.errorMessage), /kafka-cluster/);
  });

  it("Kafka 3.9's kafka-acls adds, lists and removes ACLs", { timeout: 180_000 }, async () => {
    const props = join(broker.dataDir, 'admin.properties');
    await writeFile(
      props,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=PLAIN',
        `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${PASSWORD}";`,
      ].join('\n'),
    );
    const b = ['--bootstrap-server', address, '--command-config', props];
    const added = await kafkaTool('acls', [
      ...b,
      '--add',
      '--allow-principal',
      'User:frank',
      '--operation',
      'Read',
      '--operation',
      'Describe',
      '--topic',
      'acl-t',
      '--group',
      'frank-g',
    ]);
    assert.match(
      added,
      /Adding ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=acl-t, patternType=LITERAL\)`/,
    );
    const listed = await kafkaTool('acls', [...b, '--list', '--topic', 'acl-t']);
    assert.match(listed, /principal=User:frank, host=\*, operation=READ, permissionType=ALLOW/);
    assert.match(listed, /principal=User:frank, host=\*, operation=DESCRIBE, permissionType=ALLOW/);
    // frank can now read acl-t.
    const frank = await login(address, 'frank');
    try {
      assert.deepEqual(
        collectErrorCodes(await frank.send(ApiKey.Fetch, 12, fetchBody('acl-t'))),
        [0, 0],
      );
      await kafkaTool('acls', [
        ...b,
        '--remove',
        '--force',
        '--allow-principal',
        'User:frank',
        '--operation',
        'Read',
        '--operation',
        'Describe',
        '--topic',
        'acl-t',
      ]);
      const after = await kafkaTool('acls', [...b, '--list', '--principal', 'User:frank']);
      assert.doesNotMatch(after, /resourceType=TOPIC, name=acl-t/);
      assert.match(after, /name=frank-g/);
      const refused = collectErrorCodes(await frank.send(ApiKey.Fetch, 12, fetchBody('acl-t')));
      assert.ok(refused.includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    } finally {
      await frank.close();
    }
    // Prefixed patterns and the MATCH filter of --list --resource-pattern-type match.
    await kafkaTool('acls', [
      ...b,
      '--add',
      '--deny-principal',
      'User:frank',
      '--operation',
      'Write',
      '--topic',
      'frank-',
      '--resource-pattern-type',
      'prefixed',
    ]);
    const matched = await kafkaTool('acls', [
      ...b,
      '--list',
      '--topic',
      'frank-topic',
      '--resource-pattern-type',
      'match',
    ]);
    assert.match(matched, /name=frank-, patternType=PREFIXED/);
    assert.match(matched, /operation=WRITE, permissionType=DENY/);
  });

  it('ACLs are kept across a restart (the local metadata file)', { timeout: 120_000 }, async () => {
    await admin.close();
    await broker.restart();
    address = broker.listenerAddress('SASL_PLAINTEXT');
    admin = await login(address, 'admin');
    // alice's and bob's ACLs from the first tests still apply.
    assert.deepEqual(await kcatTopics(address, 'alice'), ['acl-read']);
    assert.deepEqual(await kcatTopics(address, 'bob'), ['orders-eu']);
  });

  it('tributary acls add, list and remove', { timeout: 120_000 }, async () => {
    const props = join(broker.dataDir, 'cli.properties');
    await writeFile(
      props,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=PLAIN',
        'sasl.username=admin',
        `sasl.password=${PASSWORD}`,
      ].join('\n'),
    );
    const b = ['--bootstrap-server', address, '--command-config', props];
    const added = await cli([
      'acls',
      'add',
      ...b,
      '--allow-principal',
      'User:dave',
      '--operation',
      'Write',
      '--topic',
      'cli-',
      '--resource-pattern-type',
      'prefixed',
    ]);
    assert.equal(added.code, 0, describeRun(added));
    const listed = await cli(['acls', 'list', ...b, '--principal', 'User:dave']);
    assert.equal(listed.code, 0, describeRun(listed));
    assert.match(
      listed.stdout.toString(),
      /TOPIC\s+PREFIXED\s+cli-\s+User:dave\s+\*\s+WRITE\s+ALLOW/,
    );
    const removed = await cli([
      'acls',
      'remove',
      ...b,
      '--allow-principal',
      'User:dave',
      '--operation',
      'Write',
      '--topic',
      'cli-',
      '--resource-pattern-type',
      'prefixed',
    ]);
    assert.equal(removed.code, 0, describeRun(removed));
    assert.match(removed.stdout.toString(), /removed 1 ACL/);
    const empty = await cli(['acls', 'list', ...b, '--principal', 'User:dave']);
    assert.doesNotMatch(empty.stdout.toString(), /cli-/);
    // Without an admin principal the CLI reports Kafka's error.
    await writeFile(
      props,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=PLAIN',
        'sasl.username=dave',
        `sasl.password=${PASSWORD}`,
      ].join('\n'),
    );
    const denied = await cli(['acls', 'list', ...b]);
    assert.equal(denied.code, 1, describeRun(denied));
    assert.match(denied.stderr.toString(), /CLUSTER_AUTHORIZATION_FAILED/);
    await rm(props, { force: true });
  });
});

function fetchBody(topic: string) {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1_000_000,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 100_000,
            replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

async function setUp(admin: Connection, c: ApiCase): Promise<void> {
  if (c.setUp !== undefined)
    await c.setUp((apiKey, version, body) => admin.send(apiKey, version, body));
}

async function checkRefused(conn: Connection, c: ApiCase): Promise<void> {
  const res = await conn.send(c.apiKey, c.version, c.body());
  const what = `${c.name}, refused`;
  if (c.refused !== undefined) {
    c.refused(res);
    return;
  }
  const codes = collectErrorCodes(res);
  assert.ok(codes.includes(c.error ?? -1), `${what}: ${JSON.stringify(codes)}`);
}

async function checkAllowed(conn: Connection, c: ApiCase): Promise<void> {
  const res = await conn.send(c.apiKey, c.version, c.body());
  const what = `${c.name}, allowed`;
  if (c.allowed !== undefined) {
    c.allowed(res);
    return;
  }
  const codes = collectErrorCodes(res);
  assert.ok(!codes.some((x) => AUTHORIZATION_ERRORS.has(x)), `${what}: ${JSON.stringify(codes)}`);
}

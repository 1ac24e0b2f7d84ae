/**
 * ACLs in a 3-broker ZooKeeper cluster (issue 18), against a real ZooKeeper: an ACL added
 * through one broker applies on the others within a second (the /kafka-acl-changes
 * notification), and one removed through another broker stops applying as fast; the znodes are
 * Kafka 3.9's (/kafka-acl/<Type>/<name>, /kafka-acl-extended/prefixed/<Type>/<name>, their JSON,
 * the sequential change znodes); an ACL written straight into ZooKeeper by Kafka 3.9's own
 * kafka-acls (--authorizer-properties zookeeper.connect, Kafka's AclAuthorizer) reaches every
 * broker; the brokers' own requests (replication, the controller's) pass as the inter-broker
 * principal, a super user; the controller's APIs and a follower's fetch are refused to anyone
 * else with CLUSTER_AUTHORIZATION_FAILED / TOPIC_AUTHORIZATION_FAILED.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../src/client/connection.ts';
import { saslAuthenticate } from '../src/client/sasl-client.ts';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import {
  AclPermission,
  AclOperation as Op,
  PatternType,
  ResourceType as RT,
} from '../src/common/acl.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateAclsResponse } from '../src/protocol/messages/create-acls-response.ts';
import type { DeleteAclsResponse } from '../src/protocol/messages/delete-acls-response.ts';
import { defaultLeaderAndIsrRequest } from '../src/protocol/messages/leader-and-isr-request.ts';
import { defaultStopReplicaRequest } from '../src/protocol/messages/stop-replica-request.ts';
import { defaultUpdateMetadataRequest } from '../src/protocol/messages/update-metadata-request.ts';
import { collectErrorCodes } from '../src/testing/acl-cases.ts';
import { kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const PASSWORD = 'secret';
const USERS = ['admin', 'alice', 'bob', 'dave'];
const JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required ${USERS.map(
  (u) => `user_${u}="${PASSWORD}"`,
).join(' ')};`;
const ZERO_ID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** The requirement: a change made through one broker applies on the others within a second. */
const PROPAGATION_MS_MAX = 1_000;

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

function fetchBody(topic: string, replicaId = -1) {
  return {
    clusterId: null,
    replicaId,
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
        topicId: ZERO_ID,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 100_000,
            replicaDirectoryId: ZERO_ID,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** Whether `conn`'s principal may list the offsets of `topic` (DESCRIBE, implied by READ). */
async function canDescribe(conn: Connection, topic: string): Promise<boolean> {
  const r = await conn.send(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 0,
    topics: [
      {
        name: topic,
        partitions: [
          { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
        ],
      },
    ],
  });
  return !collectErrorCodes(r).includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
}

function binding(principal: string, name: string, prefixed: boolean) {
  return {
    resourceType: RT.TOPIC,
    resourceName: name,
    resourcePatternType: prefixed ? PatternType.PREFIXED : PatternType.LITERAL,
    principal,
    host: '*',
    operation: Op.READ,
    permissionType: AclPermission.ALLOW,
  };
}

describe('ACLs in a 3-broker ZooKeeper cluster', () => {
  let zookeeper: ZooKeeperServer;
  let cluster: ZkCluster | undefined;
  const conns: Connection[] = [];

  before(async () => {
    requireKcat();
    zookeeper = await ZooKeeperServer.start();
    cluster = await ZkCluster.start(zookeeper, 3, {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'inter.broker.listener.name': 'PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': JAAS,
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:admin;User:ANONYMOUS',
    });
    // Replicated to all three: the followers fetch as the inter-broker principal.
    for (const topic of ['shared', 'orders-eu']) {
      await kafkaTool('topics', [
        '--bootstrap-server',
        cluster.broker(1).bootstrap,
        '--create',
        '--topic',
        topic,
        '--partitions',
        '1',
        '--replication-factor',
        '3',
      ]);
    }
    await kcatProduce(cluster.broker(1).bootstrap, 'shared', 'replicated\n', {
      extra: ['-X', 'acks=all'],
    });
  });

  after(async () => {
    for (const c of conns) await c.close();
    await cluster?.stop();
    await zookeeper?.stop();
  });

  const sasl = (id: number) => (cluster as ZkCluster).broker(id).listenerAddress('SASL_PLAINTEXT');
  const open = async (id: number, user: string) => {
    const c = await login(sasl(id), user);
    conns.push(c);
    return c;
  };

  it('an ACL added through one broker applies on the others within a second, and its removal too', {
    timeout: 120_000,
  }, async () => {
    const admin1 = await open(1, 'admin');
    const alice2 = await open(2, 'alice');
    const alice3 = await open(3, 'alice');
    assert.equal(await canDescribe(alice2, 'shared'), false);
    const created = await admin1.send<CreateAclsResponse>(ApiKey.CreateAcls, 3, {
      creations: [binding('User:alice', 'shared', false), binding('User:bob', 'orders-', true)],
    });
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [0, 0],
    );
    for (const conn of [alice2, alice3]) {
      await until(
        'the ACL on the other broker',
        async () => ((await canDescribe(conn, 'shared')) ? true : undefined),
        PROPAGATION_MS_MAX,
      );
    }
    // alice may now fetch there (broker 3 may not lead the partition: no authorization error).
    const fetched = collectErrorCodes(await alice3.send(ApiKey.Fetch, 12, fetchBody('shared')));
    assert.ok(!fetched.includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED), String(fetched));

    const admin3 = await open(3, 'admin');
    const deleted = await admin3.send<DeleteAclsResponse>(ApiKey.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: RT.TOPIC,
          resourceNameFilter: 'shared',
          patternTypeFilter: PatternType.LITERAL,
          principalFilter: 'User:alice',
          hostFilter: null,
          operation: Op.ANY,
          permissionType: AclPermission.ANY,
        },
      ],
    });
    assert.equal(deleted.filterResults[0]?.matchingAcls.length, 1);
    const alice1 = await open(1, 'alice');
    await until(
      'the removal on the other broker',
      async () => ((await canDescribe(alice1, 'shared')) ? undefined : true),
      PROPAGATION_MS_MAX,
    );
  });

  it("the znodes are Kafka 3.9's", { timeout: 60_000 }, async () => {
    const zk = await ZooKeeperClient.connect({
      connectString: (cluster as ZkCluster).connect,
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 10_000,
    });
    try {
      const prefixed = await zk.getData('/kafka-acl-extended/prefixed/Topic/orders-');
      assert.deepEqual(JSON.parse(prefixed.data.toString()), {
        version: 1,
        acls: [{ principal: 'User:bob', permissionType: 'Allow', operation: 'Read', host: '*' }],
      });
      // alice's literal ACL was removed: its znode is gone.
      assert.equal(await zk.exists('/kafka-acl/Topic/shared'), null);
      for (const type of [
        'Topic',
        'Group',
        'Cluster',
        'TransactionalId',
        'DelegationToken',
        'User',
      ]) {
        assert.notEqual(await zk.exists(`/kafka-acl/${type}`), null, type);
      }
      const literalChanges = await zk.getChildren('/kafka-acl-changes');
      assert.ok(
        literalChanges.every((n) => /^acl_changes_\d{10}$/.test(n)),
        String(literalChanges),
      );
      const texts = await Promise.all(
        literalChanges.map(async (n) =>
          (await zk.getData(`/kafka-acl-changes/${n}`)).data.toString(),
        ),
      );
      assert.ok(texts.includes('TOPIC:shared'), String(texts));
      const extended = await zk.getChildren('/kafka-acl-extended-changes');
      const events = await Promise.all(
        extended.map(async (n) =>
          JSON.parse((await zk.getData(`/kafka-acl-extended-changes/${n}`)).data.toString()),
        ),
      );
      assert.deepEqual(events, [
        { version: 1, resourceType: 'TOPIC', name: 'orders-', patternType: 'PREFIXED' },
      ]);
    } finally {
      await zk.close();
    }
  });

  it("an ACL Kafka 3.9's kafka-acls writes into ZooKeeper reaches every broker", {
    timeout: 120_000,
  }, async () => {
    const out = await kafkaTool('acls', [
      '--authorizer-properties',
      `zookeeper.connect=${(cluster as ZkCluster).connect}`,
      '--add',
      '--allow-principal',
      'User:dave',
      '--operation',
      'Describe',
      '--topic',
      'shared',
    ]);
    assert.match(out, /Adding ACLs for resource/);
    for (const id of [1, 2, 3]) {
      const dave = await open(id, 'dave');
      await until(`dave's ACL on broker ${id}`, async () =>
        (await canDescribe(dave, 'shared')) ? true : undefined,
      );
    }
  });

  it('the controller APIs and a follower fetch need CLUSTER_ACTION', {
    timeout: 60_000,
  }, async () => {
    const dave = await open(2, 'dave');
    const codes = async (apiKey: number, version: number, body: unknown) =>
      collectErrorCodes(await dave.send(apiKey, version, body));
    const denied = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    assert.ok(
      (
        await codes(ApiKey.UpdateMetadata, 8, {
          ...defaultUpdateMetadataRequest(),
          controllerId: 1,
        })
      ).includes(denied),
    );
    assert.ok(
      (
        await codes(ApiKey.LeaderAndIsr, 7, { ...defaultLeaderAndIsrRequest(), controllerId: 1 })
      ).includes(denied),
    );
    assert.ok(
      (
        await codes(ApiKey.StopReplica, 4, { ...defaultStopReplicaRequest(), controllerId: 1 })
      ).includes(denied),
    );
    assert.ok(
      (await codes(ApiKey.ControlledShutdown, 3, { brokerId: 2, brokerEpoch: -1 })).includes(
        denied,
      ),
    );
    // A fetch that claims to be a follower's, from a principal that is not a broker.
    const follower = await codes(ApiKey.Fetch, 12, fetchBody('shared', 3));
    assert.ok(follower.includes(ErrorCode.TOPIC_AUTHORIZATION_FAILED), String(follower));
  });
});

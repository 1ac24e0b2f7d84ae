/**
 * The expected JSON below is what Apache Kafka 3.x brokers write into ZooKeeper (as zkCli shows
 * it on a 3.x cluster): field names and types must match, the order of fields need not.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import type { TopicId } from '../common/ids.ts';
import {
  decodeBrokerRegistration,
  decodeClusterId,
  decodeConfigChange,
  decodeController,
  decodeControllerEpoch,
  decodeEntityConfig,
  decodeIsrChange,
  decodeLogDirEvent,
  decodePartitionState,
  decodeProducerIdBlock,
  decodeReassignment,
  decodeTopicAssignment,
  encodeBrokerRegistration,
  encodeClusterId,
  encodeConfigChange,
  encodeController,
  encodeControllerEpoch,
  encodeEntityConfig,
  encodeIsrChange,
  encodeLogDirEvent,
  encodePartitionState,
  encodeProducerIdBlock,
  encodeReassignment,
  encodeTopicAssignment,
  PERSISTENT_PATHS,
  sequenceNumberOf,
  ZkPaths,
} from './zk-layout.ts';

const json = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const TOPIC_ID = 'ZOLr9CLNQjSW70hyIHx6BQ' as TopicId;

describe('Kafka ZooKeeper paths', () => {
  it('names the znodes as ZkData does', () => {
    assert.equal(ZkPaths.broker(3), '/brokers/ids/3');
    assert.equal(ZkPaths.partitionState('t', 2), '/brokers/topics/t/partitions/2/state');
    assert.equal(ZkPaths.topicConfig('t'), '/config/topics/t');
    assert.equal(ZkPaths.deleteTopic('t'), '/admin/delete_topics/t');
    assert.equal(ZkPaths.configChangePrefix, '/config/changes/config_change_');
    assert.equal(ZkPaths.isrChangePrefix, '/isr_change_notification/isr_change_');
  });

  it('lists the persistent paths a broker creates at start', () => {
    for (const p of [
      '/consumers',
      '/brokers/ids',
      '/brokers/topics',
      '/config/changes',
      '/admin/delete_topics',
      '/brokers/seqid',
      '/isr_change_notification',
      '/latest_producer_id_block',
      '/log_dir_event_notification',
      '/config/topics',
      '/config/clients',
      '/config/users',
      '/config/brokers',
      '/config/ips',
    ]) {
      assert.ok(PERSISTENT_PATHS.includes(p), p);
    }
  });

  it('reads sequence numbers of sequential znodes', () => {
    assert.equal(sequenceNumberOf('config_change_0000000042', 'config_change_'), 42);
    assert.equal(sequenceNumberOf('isr_change_0000000000', 'isr_change_'), 0);
    assert.equal(sequenceNumberOf('config_change_42', 'config_change_'), undefined);
    assert.equal(sequenceNumberOf('other_0000000001', 'config_change_'), undefined);
  });
});

describe('Kafka ZooKeeper formats', () => {
  it('/cluster/id has a string version', () => {
    const written = encodeClusterId('Sfr7YvlkRHSHrmSrwq9mug');
    assert.deepEqual(json(written), { version: '1', id: 'Sfr7YvlkRHSHrmSrwq9mug' });
    assert.equal(decodeClusterId(bytes('{"version":"1","id":"abc"}')), 'abc');
  });

  it('/controller is version 2 with a string timestamp and kraftControllerEpoch -1', () => {
    assert.deepEqual(json(encodeController(101, 1707276552920)), {
      version: 2,
      brokerid: 101,
      timestamp: '1707276552920',
      kraftControllerEpoch: -1,
    });
    const kafka =
      '{"version":2,"brokerid":0,"timestamp":"1719917952299","kraftControllerEpoch":-1}';
    assert.deepEqual(decodeController(bytes(kafka)), { brokerId: 0, kraftControllerEpoch: -1 });
    // Written by 2.x brokers.
    const v1 = '{"version":1,"brokerid":4,"timestamp":"1"}';
    assert.deepEqual(decodeController(bytes(v1)), { brokerId: 4, kraftControllerEpoch: -1 });
  });

  it('/controller_epoch is the number as text', () => {
    assert.equal(encodeControllerEpoch(17).toString('utf8'), '17');
    assert.equal(decodeControllerEpoch(bytes('0')), 0);
    assert.throws(() => decodeControllerEpoch(bytes('{"epoch":1}')), TributaryError);
  });

  it('/brokers/ids/N is version 5 with endpoints, protocol map, features and a string timestamp', () => {
    const written = encodeBrokerRegistration({
      endpoints: [
        { listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: 'localhost', port: 9091 },
        { listenerName: 'REPLICATION', securityProtocol: 'PLAINTEXT', host: '::1', port: 9093 },
      ],
      rack: 'dc1',
      jmxPort: -1,
      timestampMs: 1707276552023,
    });
    assert.deepEqual(json(written), {
      features: {},
      listener_security_protocol_map: { PLAINTEXT: 'PLAINTEXT', REPLICATION: 'PLAINTEXT' },
      endpoints: ['PLAINTEXT://localhost:9091', 'REPLICATION://[::1]:9093'],
      jmx_port: -1,
      port: 9091,
      host: 'localhost',
      version: 5,
      timestamp: '1707276552023',
      rack: 'dc1',
    });
    const back = decodeBrokerRegistration(1, written);
    assert.equal(back.endpoints[1]?.host, '::1');
    assert.equal(back.rack, 'dc1');
    assert.equal(back.timestampMs, 1707276552023);
  });

  it('a registration without a rack has no rack field; without PLAINTEXT, host null, port -1', () => {
    const written = json(
      encodeBrokerRegistration({
        endpoints: [{ listenerName: 'SECURE', securityProtocol: 'SSL', host: 'h', port: 1 }],
        rack: null,
        jmxPort: -1,
        timestampMs: 5,
      }),
    ) as Record<string, unknown>;
    assert.equal('rack' in written, false);
    assert.equal(written['host'], null);
    assert.equal(written['port'], -1);
  });

  it('reads a registration written by Kafka 3.x, and one of version 1', () => {
    const kafka =
      '{"features":{},"listener_security_protocol_map":{"CLIENT":"PLAINTEXT","INTERNAL":"SASL_SSL"},' +
      '"endpoints":["CLIENT://kafka-0.svc:9092","INTERNAL://kafka-0.svc:9091"],"jmx_port":-1,' +
      '"port":9092,"host":"kafka-0.svc","version":5,"timestamp":"1710691902130"}';
    assert.deepEqual(decodeBrokerRegistration(0, bytes(kafka)), {
      endpoints: [
        { listenerName: 'CLIENT', securityProtocol: 'PLAINTEXT', host: 'kafka-0.svc', port: 9092 },
        { listenerName: 'INTERNAL', securityProtocol: 'SASL_SSL', host: 'kafka-0.svc', port: 9091 },
      ],
      rack: null,
      jmxPort: -1,
      timestampMs: 1710691902130,
    });
    const v1 = '{"version":1,"host":"old","port":9092,"jmx_port":9999,"timestamp":"2233345666"}';
    assert.deepEqual(decodeBrokerRegistration(2, bytes(v1)).endpoints, [
      { listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: 'old', port: 9092 },
    ]);
  });

  it('/brokers/topics/T is version 3 with string partition keys and the topic id', () => {
    const written = encodeTopicAssignment({
      topicId: TOPIC_ID,
      partitions: [
        [0, 1],
        [1, 2],
      ],
      addingReplicas: new Map(),
      removingReplicas: new Map(),
    });
    assert.deepEqual(json(written), {
      removing_replicas: {},
      partitions: { '0': [0, 1], '1': [1, 2] },
      topic_id: TOPIC_ID,
      adding_replicas: {},
      version: 3,
    });
    const kafka =
      '{"removing_replicas":{},"partitions":{"0":[0]},"topic_id":"ZOLr9CLNQjSW70hyIHx6BQ",' +
      '"adding_replicas":{},"version":3}';
    assert.deepEqual(decodeTopicAssignment('test', bytes(kafka)).partitions, [[0]]);
  });

  it('reads an assignment without a topic id (written before 2.8) and refuses gaps', () => {
    const old = decodeTopicAssignment('t', bytes('{"version":1,"partitions":{"1":[2],"0":[1]}}'));
    assert.equal(old.topicId, null);
    assert.deepEqual(old.partitions, [[1], [2]]);
    assert.throws(
      () => decodeTopicAssignment('t', bytes('{"version":1,"partitions":{"1":[2]}}')),
      /partition 0 is missing/,
    );
  });

  it('a partition state is version 1; leader_recovery_state only while RECOVERING', () => {
    const state = { leader: 1, leaderEpoch: 4, isr: [1, 2], controllerEpoch: 3 };
    assert.deepEqual(json(encodePartitionState({ ...state, leaderRecoveryState: 0 })), {
      controller_epoch: 3,
      leader: 1,
      version: 1,
      leader_epoch: 4,
      isr: [1, 2],
    });
    const recovering = json(encodePartitionState({ ...state, leaderRecoveryState: 1 }));
    assert.equal((recovering as Record<string, unknown>)['leader_recovery_state'], 1);
    const kafka = '{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}';
    assert.deepEqual(decodePartitionState('t', 0, bytes(kafka)), {
      leader: 0,
      leaderEpoch: 0,
      isr: [0],
      controllerEpoch: 1,
      leaderRecoveryState: 0,
    });
  });

  it('a state with a string where Kafka writes a number is refused', () => {
    const bad = '{"controller_epoch":1,"leader":"0","version":1,"leader_epoch":0,"isr":[0]}';
    assert.throws(() => decodePartitionState('t', 0, bytes(bad)), /"leader" is not an integer/);
  });

  it('/config/topics/T holds string values under "config"', () => {
    const written = encodeEntityConfig(new Map([['retention.ms', '100000']]));
    assert.deepEqual(json(written), { version: 1, config: { 'retention.ms': '100000' } });
    assert.deepEqual(
      decodeEntityConfig('/config/topics/t', written),
      new Map([['retention.ms', '100000']]),
    );
    assert.deepEqual(decodeEntityConfig('/config/topics/t', Buffer.alloc(0)), new Map());
  });

  it('a config change notification is version 2 with entity_path; version 1 is read too', () => {
    assert.deepEqual(json(encodeConfigChange('topics', 'orders')), {
      version: 2,
      entity_path: 'topics/orders',
    });
    const v1 = '{"version":1,"entity_type":"topics","entity_name":"a"}';
    assert.deepEqual(decodeConfigChange('/c', bytes(v1)), {
      entityType: 'topics',
      entityName: 'a',
    });
  });

  it("a log dir event names the broker, in Kafka's JSON", () => {
    const written = encodeLogDirEvent(2);
    assert.deepEqual(json(written), { version: 1, broker: 2, event: 1 });
    assert.equal(decodeLogDirEvent('/l', written), 2);
    assert.equal(ZkPaths.logDirEventPrefix, '/log_dir_event_notification/log_dir_event_');
  });

  it('an ISR change notification lists topic and partition', () => {
    const written = encodeIsrChange([{ topic: 't', partition: 3 }]);
    assert.deepEqual(json(written), { version: 1, partitions: [{ topic: 't', partition: 3 }] });
    assert.deepEqual(decodeIsrChange('/i', written), [{ topic: 't', partition: 3 }]);
  });

  it('the legacy reassignment znode', () => {
    const written = encodeReassignment([{ topic: 't', partition: 0, replicas: [1, 2] }]);
    assert.deepEqual(json(written), {
      version: 1,
      partitions: [{ topic: 't', partition: 0, replicas: [1, 2] }],
    });
    assert.deepEqual(decodeReassignment(written), [{ topic: 't', partition: 0, replicas: [1, 2] }]);
  });

  it('/latest_producer_id_block has a numeric version and string bounds', () => {
    const written = encodeProducerIdBlock({ brokerId: 2, blockStart: 1000, blockEnd: 1999 });
    assert.deepEqual(json(written), {
      version: 1,
      broker: 2,
      block_start: '1000',
      block_end: '1999',
    });
    const kafka = '{"version":1,"broker":0,"block_start":"0","block_end":"999"}';
    assert.deepEqual(decodeProducerIdBlock(bytes(kafka)), {
      brokerId: 0,
      blockStart: 0,
      blockEnd: 999,
    });
    assert.equal(decodeProducerIdBlock(Buffer.alloc(0)), null);
  });
});

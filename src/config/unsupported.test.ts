import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import { BrokerConfig, checkTopicConfig } from './broker-config.ts';

function load(values: Record<string, string>): BrokerConfig {
  return BrokerConfig.from(new Map(Object.entries(values)));
}

/** Loading `values` is refused as not supported yet, on one line naming `key`. */
function unsupported(values: Record<string, string>, key: string): string {
  let message = '';
  assert.throws(
    () => load(values),
    (err: unknown) => {
      if (!(err instanceof TributaryError)) return false;
      message = err.message;
      return err.code === 'BRK_CONFIG_INVALID';
    },
  );
  assert.match(message, /not supported yet/);
  assert.ok(message.includes(`Configuration ${key} `), `${message} names ${key}`);
  assert.ok(!message.includes('\n'), 'one line');
  return message;
}

test('listeners of every security protocol load; their TLS and SASL settings are checked by src/security', () => {
  for (const protocol of ['SSL', 'SASL_PLAINTEXT', 'SASL_SSL', 'sasl_ssl']) {
    const config = load({ listeners: `${protocol}://127.0.0.1:9093` });
    assert.equal(config.listenerProtocol(protocol.toUpperCase()), protocol.toUpperCase());
  }
  const mapped = load({
    listeners: 'CLIENT://127.0.0.1:9093',
    'listener.security.protocol.map': 'CLIENT:SASL_SSL',
  });
  assert.equal(mapped.listenerProtocol('CLIENT'), 'SASL_SSL');
});

test("listener names follow Kafka's rule: mapped, or named after a protocol", () => {
  const mapped = load({
    listeners: 'CLIENT://127.0.0.1:9093',
    'listener.security.protocol.map': 'client:plaintext',
  });
  assert.deepEqual(mapped.settings.listeners, [{ name: 'CLIENT', host: '127.0.0.1', port: 9093 }]);
  assert.throws(
    () => load({ listeners: 'CLIENT://127.0.0.1:9093' }),
    (e: unknown) =>
      e instanceof TributaryError && /listeners.*CLIENT has no security protocol/.test(e.message),
  );
  assert.throws(
    () => load({ 'listener.security.protocol.map': 'CLIENT:TLS' }),
    (e: unknown) =>
      e instanceof TributaryError && /listener\.security\.protocol\.map.*TLS/.test(e.message),
  );
});

test("advertised listeners follow Kafka's rules: a bound listener's name, a routable host", () => {
  assert.throws(
    () => load({ 'advertised.listeners': 'EXTERNAL://example.com:9092' }),
    (e: unknown) =>
      e instanceof TributaryError && /advertised\.listeners.*EXTERNAL/.test(e.message),
  );
  assert.throws(
    () => load({ 'advertised.listeners': 'PLAINTEXT://0.0.0.0:9092' }),
    (e: unknown) =>
      e instanceof TributaryError && /advertised\.listeners.*0\.0\.0\.0/.test(e.message),
  );
});

test('security and KRaft settings that would be ignored are refused', () => {
  // TLS and SASL settings not implemented (the ones the listeners read load: listener-security).
  unsupported({ 'ssl.keymanager.algorithm': 'SunX509' }, 'ssl.keymanager.algorithm');
  unsupported({ 'sasl.kerberos.service.name': 'kafka' }, 'sasl.kerberos.service.name');
  unsupported(
    { 'listener.name.client.gssapi.sasl.jaas.config': 'x' },
    'listener.name.client.gssapi.sasl.jaas.config',
  );
  unsupported(
    { 'listener.name.internal.ssl.engine.factory.class': 'x' },
    'listener.name.internal.ssl.engine.factory.class',
  );
  load({ 'listener.name.client.plain.sasl.jaas.config': 'x', 'ssl.keystore.location': '/k.p12' });
  unsupported({ 'process.roles': 'broker,controller' }, 'process.roles');
  unsupported({ 'controller.quorum.voters': '1@localhost:9093' }, 'controller.quorum.voters');
  unsupported({ 'zookeeper.set.acl': 'true' }, 'zookeeper.set.acl');
  unsupported({ 'zookeeper.ssl.client.enable': 'true' }, 'zookeeper.ssl.client.enable');
  unsupported(
    { 'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector' },
    'replica.selector.class',
  );
});

test('the secret values of refused keys are never printed; further keys are named too', () => {
  const message = unsupported(
    {
      'sasl.jaas.config': 'secret-jaas',
      'sasl.login.callback.handler.class': 'hunter2',
      'process.roles': 'broker',
    },
    'sasl.jaas.config',
  );
  assert.ok(!message.includes('hunter2') && !message.includes('secret-jaas'));
  assert.match(
    message,
    /also not supported yet: sasl\.login\.callback\.handler\.class, process\.roles/,
  );
});

test('the harmless forms of the same keys load', () => {
  load({ 'authorizer.class.name': '', 'zookeeper.connect': '127.0.0.1:2181/tributary' });
  load({ 'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer' });
  load({ 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' });
  load({ 'security.inter.broker.protocol': 'plaintext' });
  load({ 'offsets.topic.replication.factor': '3', 'log.cleanup.policy': 'compact,delete' });
  // Compaction exists: a broker whose topics are compacted by default starts.
  load({ 'log.cleanup.policy': 'compact' });
});

test('ignored keys: defined for compatibility and set, then unknown, on one line', () => {
  assert.equal(load({}).ignoredKeysLine(), undefined);
  const config = load({
    'queued.max.requests': '100',
    'num.partitions': '3',
    'log.preallocate': 'true',
    'num.network.threads': '3',
  });
  assert.deepEqual(config.ignoredKeys, {
    notImplemented: ['queued.max.requests', 'log.preallocate'],
    unknown: ['num.network.threads'],
  });
  assert.equal(
    config.ignoredKeysLine(),
    'Ignoring configuration: queued.max.requests, log.preallocate (accepted for compatibility, not implemented); num.network.threads (not a known config)',
  );
});

test("Kafka 3.9's not-yet-implemented configs: accepted at their default only", () => {
  // Broker keys, at start.
  load({ 'log.cleaner.min.compaction.lag.ms': '1000', 'log.local.retention.ms': '-2' });
  unsupported({ 'log.local.retention.ms': '1000' }, 'log.local.retention.ms');
  unsupported({ 'compression.zstd.level': '10' }, 'compression.zstd.level');
  // Topic configs (CreateTopics, AlterConfigs).
  assert.equal(checkTopicConfig('remote.storage.enable', 'false'), undefined);
  // Compaction is implemented: its configs take any valid value.
  assert.equal(checkTopicConfig('min.cleanable.dirty.ratio', '0.1'), undefined);
  for (const [name, value] of [
    ['local.retention.ms', '1000'],
    ['remote.storage.enable', 'true'],
  ] as const) {
    assert.match(checkTopicConfig(name, value) ?? '', /is not supported yet/, name);
  }
  // Throttled replicas are implemented: any valid list, a bad one refused.
  assert.equal(checkTopicConfig('leader.replication.throttled.replicas', '*'), undefined);
  assert.equal(checkTopicConfig('follower.replication.throttled.replicas', '0:1,1:2'), undefined);
  assert.match(
    checkTopicConfig('leader.replication.throttled.replicas', '0-1') ?? '',
    /partition:brokerId/,
  );
  // The deprecated configs Kafka 3.9 accepts.
  assert.equal(checkTopicConfig('message.format.version', '0.10.2'), undefined);
  assert.match(checkTopicConfig('message.format.version', 'x') ?? '', /not a Kafka version/);
  assert.equal(checkTopicConfig('message.timestamp.difference.max.ms', '1000'), undefined);
});

test("authorizer.class.name: Kafka's two ACL authorizers turn ACLs on; any other class is refused", () => {
  const config = load({
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:admin;User:ANONYMOUS',
    'allow.everyone.if.no.acl.found': 'true',
  });
  assert.equal(config.settings.superUsers, 'User:admin;User:ANONYMOUS');
  assert.equal(config.settings.allowEveryoneIfNoAclFound, true);
  assert.throws(
    () => load({ 'authorizer.class.name': 'com.example.CustomAuthorizer' }),
    (err: unknown) =>
      err instanceof TributaryError &&
      err.code === 'BRK_CONFIG_INVALID' &&
      /authorizer\.class\.name: only Kafka's ACL authorizers are implemented/.test(err.message),
  );
});

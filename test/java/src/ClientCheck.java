import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Drives one broker with the official Java client (kafka-clients 3.9 and 4.x compile this same
 * file): AdminClient topics, configs, cluster, offsets and DeleteRecords; an idempotent acks=all
 * producer with every codec; consumer groups with the eager and the cooperative-sticky assignor
 * and with static membership. One JVM runs every check, since a JVM start costs seconds here.
 *
 * Prints "ok <check>" or "FAIL <check>: <why>" per check and exits 1 when any failed.
 * Usage: java -cp CLASSPATH ClientCheck.java BOOTSTRAP NAME_PREFIX
 */
public class ClientCheck {
  interface Check {
    void run() throws Exception;
  }

  static boolean failed = false;
  static String bootstrap;
  static String prefix;

  static void check(String name, Check body) {
    try {
      body.run();
      System.out.println("ok " + name);
    } catch (Throwable e) {
      failed = true;
      String why = String.valueOf(e).replace('\n', ' ');
      Throwable cause = e.getCause();
      if (cause != null) why += " (cause: " + String.valueOf(cause).replace('\n', ' ') + ")";
      System.out.println("FAIL " + name + ": " + why);
    }
    System.out.flush();
  }

  static void expect(boolean condition, String message) {
    if (!condition) throw new AssertionError(message);
  }

  static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
  static final int PER_CODEC = 100;
  static final int PARTITIONS = 3;
  static final int GROUP_PARTITIONS = 4;
  static final int GROUP_RECORDS = 200;

  public static void main(String[] args) throws Exception {
    bootstrap = args[0];
    prefix = args[1];
    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000);
    try (Admin admin = Admin.create(adminProps)) {
      run(admin);
    }
    System.exit(failed ? 1 : 0);
  }

  static void run(Admin admin) throws Exception {
    String topic = prefix + "-codecs";
    String groupTopic = prefix + "-groups";

    check("admin describe cluster", () -> {
      DescribeClusterResult cluster = admin.describeCluster();
      expect(cluster.nodes().get().size() == 1, "nodes: " + cluster.nodes().get());
      expect(cluster.controller().get() != null, "no controller");
      expect(cluster.clusterId().get() != null, "no cluster id");
    });

    check("admin create topics", () -> {
      admin.createTopics(List.of(
              new NewTopic(topic, PARTITIONS, (short) 1),
              new NewTopic(groupTopic, GROUP_PARTITIONS, (short) 1)
                  .configs(Map.of("retention.ms", "86400000"))))
          .all().get();
      expect(admin.listTopics().names().get().containsAll(List.of(topic, groupTopic)),
          "created topics not listed");
    });

    check("admin describe topics", () -> {
      TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      expect(d.partitions().size() == PARTITIONS, "partitions: " + d.partitions());
      expect(!d.isInternal(), "internal");
      for (TopicPartitionInfo p : d.partitions()) {
        expect(p.leader() != null && p.replicas().size() == 1 && p.isr().size() == 1,
            "partition " + p);
      }
    });

    check("admin describe and alter configs", () -> {
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, groupTopic);
      Config before = admin.describeConfigs(List.of(resource)).all().get().get(resource);
      ConfigEntry retention = before.get("retention.ms");
      expect(retention != null && retention.value().equals("86400000"),
          "retention.ms at create: " + retention);
      expect(retention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
          "source of a create-time config: " + retention.source());
      expect(before.get("cleanup.policy") != null, "cleanup.policy missing");
      Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(resource, List.of(
          new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET)));
      admin.incrementalAlterConfigs(ops).all().get();
      Config after = admin.describeConfigs(List.of(resource)).all().get().get(resource);
      expect(after.get("retention.ms").value().equals("3600000"), "retention.ms after alter");
      expect(after.get("max.message.bytes").value().equals("2000000"), "max.message.bytes after alter");
      admin.incrementalAlterConfigs(Map.of(resource, List.of(
              new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE))))
          .all().get();
      ConfigEntry reset = admin.describeConfigs(List.of(resource)).all().get().get(resource)
          .get("max.message.bytes");
      expect(reset.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
          "max.message.bytes still a topic config after DELETE: " + reset);
    });

    Map<String, List<RecordMetadata>> acked = new HashMap<>();
    for (String codec : CODECS) {
      check("produce idempotent acks=all " + codec, () -> {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        try (KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
          List<Future<RecordMetadata>> futures = new ArrayList<>();
          for (int i = 0; i < PER_CODEC; i++) {
            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, i % PARTITIONS,
                bytes("key-" + i), bytes(value(codec, i)));
            r.headers().add("codec", bytes(codec));
            futures.add(producer.send(r));
          }
          producer.flush();
          List<RecordMetadata> metas = new ArrayList<>();
          for (Future<RecordMetadata> f : futures) metas.add(f.get(20, TimeUnit.SECONDS));
          acked.put(codec, metas);
        }
      });
    }

    check("consume every codec back, in order per partition", () -> {
      Map<String, Integer> seen = new HashMap<>();
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < PARTITIONS; i++) tps.add(new TopicPartition(topic, i));
      try (KafkaConsumer<byte[], byte[]> c = consumer(null, null, null)) {
        c.assign(tps);
        c.seekToBeginning(tps);
        Map<Integer, Long> lastOffset = new HashMap<>();
        long deadline = System.currentTimeMillis() + 20000;
        int total = 0;
        while (total < CODECS.length * PER_CODEC && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            total++;
            Long prev = lastOffset.put(r.partition(), r.offset());
            expect(prev == null || r.offset() == prev + 1,
                "partition " + r.partition() + " offset " + r.offset() + " after " + prev);
            Header h = r.headers().lastHeader("codec");
            expect(h != null, "no codec header at " + r.partition() + "/" + r.offset());
            String codec = str(h.value());
            int i = seen.merge(codec, 1, Integer::sum) - 1;
            int expectedI = -1;
            // Records of one codec were sent round-robin over the partitions; check the value
            // against the key, which carries the index.
            String key = str(r.key());
            expectedI = Integer.parseInt(key.substring(4));
            expect(str(r.value()).equals(value(codec, expectedI)),
                "value at " + r.partition() + "/" + r.offset() + ": " + str(r.value()));
            expect(r.partition() == expectedI % PARTITIONS, "record " + key + " on " + r.partition());
          }
        }
        for (String codec : CODECS) {
          expect(seen.getOrDefault(codec, 0) == PER_CODEC, codec + ": " + seen.get(codec) + " records");
        }
        expect(total == CODECS.length * PER_CODEC, "consumed " + total);
      }
      for (String codec : CODECS) {
        List<RecordMetadata> metas = acked.get(codec);
        expect(metas != null && metas.size() == PER_CODEC, codec + " acks missing");
      }
    });

    check("admin list offsets (earliest, latest, max timestamp, by time)", () -> {
      Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      Map<TopicPartition, OffsetSpec> maxTs = new HashMap<>();
      Map<TopicPartition, OffsetSpec> byTime = new HashMap<>();
      for (int i = 0; i < PARTITIONS; i++) {
        TopicPartition tp = new TopicPartition(topic, i);
        earliest.put(tp, OffsetSpec.earliest());
        latest.put(tp, OffsetSpec.latest());
        maxTs.put(tp, OffsetSpec.maxTimestamp());
        byTime.put(tp, OffsetSpec.forTimestamp(0));
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e = admin.listOffsets(earliest).all().get();
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> l = admin.listOffsets(latest).all().get();
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> m = admin.listOffsets(maxTs).all().get();
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> t = admin.listOffsets(byTime).all().get();
      long sum = 0;
      for (int i = 0; i < PARTITIONS; i++) {
        TopicPartition tp = new TopicPartition(topic, i);
        expect(e.get(tp).offset() == 0, "earliest " + tp + " = " + e.get(tp).offset());
        expect(t.get(tp).offset() == 0, "offset for time 0 " + tp + " = " + t.get(tp).offset());
        long end = l.get(tp).offset();
        sum += end;
        long maxOffset = m.get(tp).offset();
        expect(maxOffset >= 0 && maxOffset < end, "max timestamp offset " + maxOffset + " end " + end);
        expect(m.get(tp).timestamp() > 0, "max timestamp " + m.get(tp).timestamp());
      }
      expect(sum == CODECS.length * PER_CODEC, "end offsets add up to " + sum);
    });

    check("admin delete records", () -> {
      TopicPartition tp = new TopicPartition(topic, 0);
      long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(10)))
          .lowWatermarks().get(tp).get().lowWatermark();
      expect(low == 10, "low watermark " + low);
      long earliest = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset();
      expect(earliest == 10, "earliest after delete " + earliest);
      try (KafkaConsumer<byte[], byte[]> c = consumer(null, null, null)) {
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        expect(c.position(tp) == 10, "consumer position at beginning " + c.position(tp));
      }
    });

    check("produce group topic", () -> {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < GROUP_RECORDS; i++) {
          producer.send(new ProducerRecord<>(groupTopic, i % GROUP_PARTITIONS, null, bytes("g-" + i)));
        }
        producer.flush();
      }
    });

    groupCheck(admin, "eager (range)", groupTopic, prefix + "-eager", RangeAssignor.class.getName(), false);
    groupCheck(admin, "cooperative-sticky", groupTopic, prefix + "-coop",
        CooperativeStickyAssignor.class.getName(), false);
    groupCheck(admin, "static membership", groupTopic, prefix + "-static", RangeAssignor.class.getName(), true);

    check("admin list and describe groups", () -> {
      Set<String> ids = new HashSet<>();
      for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) ids.add(g.groupId());
      for (String g : List.of(prefix + "-eager", prefix + "-coop", prefix + "-static")) {
        expect(ids.contains(g), g + " not listed in " + ids);
      }
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(prefix + "-eager"))
          .all().get().get(prefix + "-eager");
      expect(d.members().isEmpty(), "members left after close: " + d.members());
      expect(d.state().toString().equalsIgnoreCase("empty"), "state after every member left: " + d.state());
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(prefix + "-eager").partitionsToOffsetAndMetadata().get();
      long sum = 0;
      for (OffsetAndMetadata o : committed.values()) sum += o.offset();
      expect(committed.size() == GROUP_PARTITIONS && sum == GROUP_RECORDS,
          "committed offsets " + committed);
    });

    check("transactions: commit, abort, offsets in the transaction, read_committed", () -> {
      String txnTopic = prefix + "-txn";
      String txnGroup = prefix + "-txn-group";
      admin.createTopics(List.of(new NewTopic(txnTopic, 2, (short) 1))).all().get();
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, prefix + "-txn-id");
      p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20000);
      p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
      p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
        producer.initTransactions();
        producer.beginTransaction();
        for (int i = 0; i < 10; i++) {
          producer.send(new ProducerRecord<>(txnTopic, i % 2, bytes("k" + i), bytes("committed-" + i)));
        }
        // The group's offsets commit with the records, as a consume-transform-produce loop does.
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        offsets.put(new TopicPartition(groupTopic, 0), new OffsetAndMetadata(7));
        producer.sendOffsetsToTransaction(offsets,
            new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(txnGroup));
        producer.commitTransaction();
        producer.beginTransaction();
        for (int i = 0; i < 5; i++) {
          producer.send(new ProducerRecord<>(txnTopic, i % 2, bytes("a" + i), bytes("aborted-" + i)));
        }
        producer.flush();
        producer.abortTransaction();
      }
      Properties cp = new Properties();
      cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      List<String> values = new ArrayList<>();
      List<TopicPartition> tps =
          List.of(new TopicPartition(txnTopic, 0), new TopicPartition(txnTopic, 1));
      try (KafkaConsumer<byte[], byte[]> c =
          new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        c.assign(tps);
        c.seekToBeginning(tps);
        long deadline = System.currentTimeMillis() + 20000;
        while (System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            values.add(str(r.value()));
          }
          // Positions past the abort marker: everything up to the end was read.
          Map<TopicPartition, Long> ends = c.endOffsets(tps);
          if (c.position(tps.get(0)) >= ends.get(tps.get(0))
              && c.position(tps.get(1)) >= ends.get(tps.get(1))) break;
        }
      }
      expect(values.size() == 10, "read_committed saw " + values);
      expect(values.stream().allMatch(v -> v.startsWith("committed-")), "saw " + values);
      Map<TopicPartition, OffsetAndMetadata> committed = admin
          .listConsumerGroupOffsets(txnGroup).partitionsToOffsetAndMetadata().get();
      OffsetAndMetadata o = committed.get(new TopicPartition(groupTopic, 0));
      expect(o != null && o.offset() == 7, "offsets committed in the transaction: " + committed);
      admin.deleteTopics(List.of(txnTopic)).all().get();
    });

    check("admin delete group and topics", () -> {
      admin.deleteConsumerGroups(List.of(prefix + "-coop")).all().get();
      admin.deleteTopics(List.of(topic, groupTopic)).all().get();
      Set<String> names = admin.listTopics().names().get();
      expect(!names.contains(topic) && !names.contains(groupTopic), "still listed: " + names);
    });
  }

  /** Records partitions revoked and assigned, for checking what a rebalance moved. */
  static final class Tracker implements ConsumerRebalanceListener {
    final Set<TopicPartition> revoked = new HashSet<>();
    int assignments = 0;
    int revocations = 0;

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty()) revocations++;
      revoked.addAll(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assignments++;
    }
  }

  /**
   * Two members of one group share the topic: the first gets every partition, the second joins
   * and the partitions are split. Eager revokes everything first; cooperative revokes only what
   * moves. With static membership, the second member is closed and a new consumer with its
   * instance id takes its partitions back without a rebalance of the first.
   */
  static void groupCheck(Admin admin, String label, String topic, String group, String assignor,
      boolean staticMembers) {
    check("group " + label, () -> {
      Set<String> consumed = new HashSet<>();
      Tracker t1 = new Tracker();
      Tracker t2 = new Tracker();
      KafkaConsumer<byte[], byte[]> c1 = consumer(group, assignor, staticMembers ? group + "-1" : null);
      KafkaConsumer<byte[], byte[]> c2 = null;
      try {
        c1.subscribe(List.of(topic), t1);
        pollUntil(List.of(c1), consumed, () -> c1.assignment().size() == GROUP_PARTITIONS,
            "first member assigned every partition");
        Set<TopicPartition> firstAssignment = new HashSet<>(c1.assignment());
        KafkaConsumer<byte[], byte[]> second = consumer(group, assignor, staticMembers ? group + "-2" : null);
        c2 = second;
        second.subscribe(List.of(topic), t2);
        pollUntil(List.of(c1, second), consumed,
            () -> c1.assignment().size() == GROUP_PARTITIONS / 2
                && second.assignment().size() == GROUP_PARTITIONS / 2
                && consumed.size() == GROUP_RECORDS
                && caughtUp(c1) && caughtUp(second),
            "partitions split two and two, every record consumed");
        Set<TopicPartition> union = new HashSet<>(c1.assignment());
        union.addAll(second.assignment());
        expect(union.size() == GROUP_PARTITIONS, "overlapping assignments " + c1.assignment()
            + " " + second.assignment());
        if (assignor.equals(CooperativeStickyAssignor.class.getName())) {
          for (TopicPartition kept : c1.assignment()) {
            expect(!t1.revoked.contains(kept), "cooperative revoked a partition it kept: " + kept);
          }
        } else {
          expect(t1.revoked.containsAll(firstAssignment), "eager revoked only " + t1.revoked);
        }
        c1.commitSync();
        second.commitSync();

        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        expect(d.state().toString().equalsIgnoreCase("stable"), "state " + d.state());
        expect(d.members().size() == 2, "members " + d.members());
        String expectedProtocol = assignor.equals(RangeAssignor.class.getName()) ? "range" : "cooperative-sticky";
        expect(d.partitionAssignor().equals(expectedProtocol), "assignor " + d.partitionAssignor());
        Set<TopicPartition> described = new HashSet<>();
        for (MemberDescription m : d.members()) {
          described.addAll(m.assignment().topicPartitions());
          expect(m.groupInstanceId().isPresent() == staticMembers, "instance id " + m.groupInstanceId());
        }
        expect(described.size() == GROUP_PARTITIONS, "described assignment " + described);

        if (staticMembers) {
          Set<TopicPartition> secondAssignment = new HashSet<>(second.assignment());
          int rebalancesBefore = t1.assignments;
          second.close();
          c2 = null;
          Tracker t3 = new Tracker();
          KafkaConsumer<byte[], byte[]> third = consumer(group, assignor, group + "-2");
          c2 = third;
          third.subscribe(List.of(topic), t3);
          pollUntil(List.of(c1, third), consumed, () -> third.assignment().size() == GROUP_PARTITIONS / 2,
              "the returning static member gets partitions");
          expect(third.assignment().equals(secondAssignment),
              "returning static member got " + third.assignment() + ", had " + secondAssignment);
          expect(t1.assignments == rebalancesBefore,
              "the other static member rebalanced when its peer came back");
        }
      } finally {
        c1.close();
        if (c2 != null) c2.close();
      }
    });
  }

  static void pollUntil(List<KafkaConsumer<byte[], byte[]>> consumers, Set<String> consumed,
      java.util.function.BooleanSupplier done, String what) {
    long deadline = System.currentTimeMillis() + 30000;
    while (!done.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        StringBuilder state = new StringBuilder();
        for (KafkaConsumer<byte[], byte[]> c : consumers) state.append(' ').append(new TreeSet<>(
            c.assignment().stream().map(TopicPartition::toString).toList()));
        throw new AssertionError("not reached in 30 s: " + what + "; assignments" + state
            + ", consumed " + consumed.size());
      }
      for (KafkaConsumer<byte[], byte[]> c : consumers) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
          consumed.add(r.partition() + "/" + r.offset());
        }
      }
    }
  }

  /**
   * Whether the consumer's position is at the end of every partition it holds, so that a commit
   * covers them all. Records seen before a rebalance do not count: after an eager rebalance a
   * member starts again from the committed offsets.
   */
  static boolean caughtUp(KafkaConsumer<byte[], byte[]> c) {
    Set<TopicPartition> assigned = c.assignment();
    Map<TopicPartition, Long> ends = c.endOffsets(assigned);
    for (TopicPartition tp : assigned) {
      if (c.position(tp) < ends.get(tp)) return false;
    }
    return true;
  }

  static KafkaConsumer<byte[], byte[]> consumer(String group, String assignor, String instanceId) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000);
    if (group != null) {
      p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
      p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
      p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
    }
    if (instanceId != null) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  static String value(String codec, int i) {
    return codec + " record " + i + " " + "compressible text ".repeat(1 + i % 7);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}

import java.util.*;
import kafka.cluster.Broker;
import kafka.controller.LeaderIsrAndControllerEpoch;
import kafka.zk.KafkaZkClient;
import kafka.zk.TopicZNode;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.apache.zookeeper.client.ZKClientConfig;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Reads a ZooKeeper-mode cluster with Apache Kafka 3.9's own ZooKeeper client (KafkaZkClient,
 * what its brokers, controller and ZooKeeper-era tools used) and prints what Kafka sees, one
 * fact per line ("key value"), for test/zk-kafka-read.test.ts to compare with what Tributary
 * wrote. Usage: ZkClusterRead <host:port/chroot> <topic>...
 */
public class ZkClusterRead {
  public static void main(String[] args) throws Exception {
    KafkaZkClient zk = KafkaZkClient.apply(args[0], false, 10_000, 10_000, 10, Time.SYSTEM,
        "zk-cluster-read", new ZKClientConfig(), "kafka.server", "SessionExpireListener", false, false);
    try {
      System.out.println("cluster_id " + zk.getClusterId().get());
      System.out.println("controller " + zk.getControllerId().get());
      System.out.println("controller_epoch " + zk.getControllerEpoch().get()._1());
      for (Broker b : CollectionConverters.asJava(zk.getAllBrokersInCluster())) {
        List<String> endpoints = new ArrayList<>();
        for (var e : CollectionConverters.asJava(b.endPoints())) {
          endpoints.add(e.listenerName().value() + "/" + e.securityProtocol() + "/" + e.host() + ":" + e.port());
        }
        System.out.println("broker " + b.id() + " " + String.join(",", endpoints) + " rack=" + (b.rack().isDefined() ? b.rack().get() : "none"));
      }
      List<String> topics = Arrays.asList(args).subList(1, args.length);
      var assignments = zk.getReplicaAssignmentAndTopicIdForTopics(
          CollectionConverters.asScala(new HashSet<>(topics)).toSet());
      for (TopicZNode.TopicIdReplicaAssignment a : CollectionConverters.asJava(assignments)) {
        TreeMap<Integer, String> parts = new TreeMap<>();
        List<TopicPartition> tps = new ArrayList<>();
        for (var entry : CollectionConverters.asJava(a.assignment()).entrySet()) {
          parts.put(entry.getKey().partition(), CollectionConverters.asJava(entry.getValue().replicas()).toString());
          tps.add(entry.getKey());
        }
        System.out.println("topic " + a.topic() + " id=" + a.topicId().get() + " " + parts);
        var states = zk.getTopicPartitionStates(CollectionConverters.asScala(tps).toSeq());
        for (var s : CollectionConverters.asJava(states).entrySet()) {
          LeaderIsrAndControllerEpoch l = s.getValue();
          System.out.println("state " + s.getKey() + " leader=" + l.leaderAndIsr().leader()
              + " epoch=" + l.leaderAndIsr().leaderEpoch() + " isr=" + CollectionConverters.asJava(l.leaderAndIsr().isr())
              + " controller_epoch=" + l.controllerEpoch() + " zk_version=" + l.leaderAndIsr().partitionEpoch());
        }
        System.out.println("config " + a.topic() + " " + new TreeMap<>(zk.getEntityConfigs("topics", a.topic())));
      }
      System.out.println("deletions " + CollectionConverters.asJava(zk.getTopicDeletions()));
    } finally {
      zk.close();
    }
  }
}

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * A Kafka Streams word count against one broker, at-least-once: lines in, words re-keyed
 * through a repartition topic, counted in a RocksDB store backed by a changelog topic, counts
 * out. Checks the final counts on the output topic and the internal topics Streams created
 * (the changelog compacted, as Streams asks for).
 *
 * Prints "ok <check>" or "FAIL <check>: <why>" and exits 1 when any failed.
 * Usage: java -cp CLASSPATH StreamsCheck.java BOOTSTRAP NAME_PREFIX STATE_DIR
 */
public class StreamsCheck {
  static boolean failed = false;

  interface Check {
    void run() throws Exception;
  }

  static void check(String name, Check body) {
    try {
      body.run();
      System.out.println("ok " + name);
    } catch (Throwable e) {
      failed = true;
      System.out.println("FAIL " + name + ": " + String.valueOf(e).replace('\n', ' '));
    }
    System.out.flush();
  }

  static void expect(boolean condition, String message) {
    if (!condition) throw new AssertionError(message);
  }

  static final List<String> LINES = List.of(
      "the quick brown fox", "jumps over the lazy dog", "the dog barks",
      "a fox is quick", "the end");

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String prefix = args[1];
    String stateDir = args[2];
    // at_least_once, or exactly_once_v2 (transactions: the output read with read_committed).
    String guarantee = args.length > 3 ? args[3] : StreamsConfig.AT_LEAST_ONCE;
    String input = prefix + "-lines";
    String output = prefix + "-counts";
    String app = prefix + "-wordcount";

    Map<String, Long> expected = new HashMap<>();
    for (String line : LINES) {
      for (String w : line.split(" ")) expected.merge(w, 1L, Long::sum);
    }

    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(adminProps)) {
      admin.createTopics(List.of(new NewTopic(input, 2, (short) 1), new NewTopic(output, 2, (short) 1)))
          .all().get(20, TimeUnit.SECONDS);

      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
        int i = 0;
        for (String line : LINES) producer.send(new ProducerRecord<>(input, "line-" + i++, line));
        producer.flush();
      }

      StreamsBuilder builder = new StreamsBuilder();
      builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
          .flatMapValues(line -> Arrays.asList(line.split(" ")))
          .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
          .count(Materialized.as("counts"))
          .toStream()
          .to(output, Produced.with(Serdes.String(), Serdes.Long()));

      Properties s = new Properties();
      s.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
      s.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      s.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
      s.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
      s.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
      s.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
      s.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
      s.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

      try (KafkaStreams streams = new KafkaStreams(builder.build(), s)) {
        streams.start();
        check("streams word count", () -> {
          Properties c = new Properties();
          c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
          c.put(ConsumerConfig.GROUP_ID_CONFIG, prefix + "-reader");
          c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
          c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
          Map<String, Long> latest = new HashMap<>();
          try (KafkaConsumer<String, Long> consumer =
              new KafkaConsumer<>(c, new StringDeserializer(), new LongDeserializer())) {
            consumer.subscribe(List.of(output));
            long deadline = System.currentTimeMillis() + 60000;
            while (!latest.equals(expected) && System.currentTimeMillis() < deadline) {
              for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
                latest.put(r.key(), r.value());
              }
              expect(streams.state() != KafkaStreams.State.ERROR, "streams in state ERROR");
            }
          }
          expect(latest.equals(expected), "counts " + latest + ", want " + expected
              + ", streams " + streams.state());
        });
        check("streams internal topics: repartition and compacted changelog", () -> {
          Set<String> names = admin.listTopics().names().get();
          String repartition = app + "-words-repartition";
          String changelog = app + "-counts-changelog";
          expect(names.contains(repartition), repartition + " missing from " + names);
          expect(names.contains(changelog), changelog + " missing from " + names);
          ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, changelog);
          Config config = admin.describeConfigs(List.of(r)).all().get().get(r);
          expect(config.get("cleanup.policy").value().equals("compact"),
              "changelog cleanup.policy " + config.get("cleanup.policy"));
        });
      }
    }
    System.exit(failed ? 1 : 0);
  }
}

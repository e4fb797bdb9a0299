import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
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
 * The three Java parts of the exactly-once Streams suite, one per mode:
 *
 *   streams <bootstrap> <input> <output> <application.id> <state.dir>
 *     A word count with processing.guarantee=exactly_once_v2: lines from <input> split on
 *     spaces, counted per word in a RocksDB store, every new count written to <output> (key
 *     the word, value the count as a long; no record cache, so no count is skipped). Prints "state <STATE>" on every state change and runs
 *     until SIGTERM, when it closes cleanly (committing what it has processed).
 *   produce <bootstrap> <input>
 *     An idempotent producer (acks=all): every line read from stdin is one record, keyed by
 *     its number so the lines spread over every partition; an empty line flushes and prints
 *     "acked <lines so far>".
 *   dump <bootstrap> <topic>
 *     A read_committed consumer that reads every partition of <topic> from the start to its
 *     end (the last stable offset) and prints "<partition> <key> <long value>" per record.
 */
public class WordCount {
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "streams" -> streams(args[1], args[2], args[3], args[4], args[5]);
      case "produce" -> produce(args[1], args[2]);
      case "dump" -> dump(args[1], args[2]);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  static void streams(String bootstrap, String input, String output, String appId, String stateDir) throws InterruptedException {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.split(" ")))
        .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.as("counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // No record cache: every count is written, so the output holds each word's counts one by one.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch closed = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      System.out.println("state " + now);
      System.out.flush();
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      closed.countDown();
    }));
    streams.start();
    closed.await();
  }

  static void produce(String bootstrap, String input) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      long sent = 0;
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) {
          producer.flush();
          System.out.println("acked " + sent);
          System.out.flush();
        } else {
          producer.send(new ProducerRecord<>(input, Long.toString(sent), line), (meta, err) -> {
            if (err != null) {
              err.printStackTrace();
              System.exit(2);
            }
          });
          sent++;
        }
      }
      producer.flush();
    }
  }

  static void dump(String bootstrap, String topic) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new LongDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic)) partitions.add(new TopicPartition(topic, p.partition()));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions));
      StringBuilder out = new StringBuilder();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(500))) {
          out.append(r.partition()).append(' ').append(r.key()).append(' ').append(r.value()).append('\n');
        }
      }
      System.out.print(out);
      System.out.flush();
    }
  }
}

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's transactional producer: TXNS transactions over the topic's partitions,
 * even ones committed, odd ones flushed and aborted; then a second producer with the same
 * transactional.id fences the first, whose next commit must fail with ProducerFencedException.
 * A read_committed consumer then reads every partition to its end. Prints one line per
 * record read ("partition value"), then "fenced true|false".
 *
 * usage: TransactionalClient BOOTSTRAP TOPIC PARTITIONS TXNS
 */
public class TransactionalClient {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int partitions = Integer.parseInt(args[2]), txns = Integer.parseInt(args[3]);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("transactional.id", "java-txn-" + topic);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    KafkaProducer<String, String> producer = new KafkaProducer<>(p);
    producer.initTransactions();
    for (int t = 0; t < txns; t++) {
      boolean commit = t % 2 == 0;
      producer.beginTransaction();
      for (int j = 0; j < 4; j++) {
        producer.send(new ProducerRecord<>(topic, (t + j) % partitions, null, (commit ? "c-" : "a-") + t + "-" + j));
      }
      if (commit) producer.commitTransaction();
      else {
        producer.flush();
        producer.abortTransaction();
      }
    }
    producer.beginTransaction();
    producer.send(new ProducerRecord<>(topic, 0, null, "zombie")).get();
    KafkaProducer<String, String> successor = new KafkaProducer<>(p);
    successor.initTransactions();
    boolean fenced = false;
    try {
      producer.commitTransaction();
    } catch (ProducerFencedException e) {
      fenced = true;
    }
    producer.close(Duration.ofSeconds(5));
    successor.close(Duration.ofSeconds(5));

    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("isolation.level", "read_committed");
    c.put("key.deserializer", StringDeserializer.class.getName());
    c.put("value.deserializer", StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      var ends = consumer.endOffsets(tps);
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) System.out.println(r.partition() + " " + r.value());
        boolean done = true;
        for (TopicPartition tp : tps) if (consumer.position(tp) < ends.get(tp)) done = false;
        if (done) break;
      }
    }
    System.out.println("fenced " + fenced);
  }
}

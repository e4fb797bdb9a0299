import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One transactional producer (Kafka's Java client, its default settings) against one broker.
 *
 *   java -cp 'bench/peers/kafka/lib/*:CLASSES' TransactionsBench key=value...
 *
 * mode=create makes the topic (partitions, replication factor 1) unless it exists. Otherwise each
 * transaction is beginTransaction(), recordsPerTxn sends dealt round-robin over the partitions,
 * then commitTransaction(); the first warmupSeconds are not recorded, then seconds are.
 * rate=0: closed loop, the next transaction begins as soon as the last commit returns.
 * rate=N: a transaction is due every 1/N s (a late one begins at once, the schedule does not
 * move); before committing, flush() sends the records and waits for their acknowledgements, so
 * the commit's time is the EndTxn round alone. Prints one line: RESULT followed by JSON.
 */
public final class TransactionsBench {
    public static void main(String[] argv) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (String kv : argv) {
            int eq = kv.indexOf('=');
            a.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        String bootstrap = a.get("bootstrap");
        String topic = a.get("topic");
        int partitions = Integer.parseInt(a.get("partitions"));
        if ("create".equals(a.get("mode"))) {
            createTopic(bootstrap, topic, partitions);
            return;
        }
        int recordsPerTxn = Integer.parseInt(a.get("recordsPerTxn"));
        int recordSize = Integer.parseInt(a.get("recordSize"));
        double rate = Double.parseDouble(a.get("rate"));
        long warmupNs = (long) (Double.parseDouble(a.get("warmupSeconds")) * 1e9);
        long measureNs = (long) (Double.parseDouble(a.get("seconds")) * 1e9);

        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("transactional.id", a.get("transactionalId"));
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        byte[] value = new byte[recordSize];
        new Random(1).nextBytes(value);

        List<Long> commitUs = new ArrayList<>();
        List<Long> flushUs = new ArrayList<>();
        long txns = 0;
        long late = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            long t0 = System.nanoTime();
            producer.initTransactions();
            long initUs = (System.nanoTime() - t0) / 1000;
            long start = System.nanoTime();
            long measureFrom = start + warmupNs;
            long end = measureFrom + measureNs;
            long intervalNs = rate > 0 ? (long) (1e9 / rate) : 0;
            long due = start;
            long windowStart = -1;
            long windowEnd = -1;
            for (long n = 0; ; n++) {
                if (intervalNs > 0) {
                    due = start + n * intervalNs;
                    long now = System.nanoTime();
                    if (now >= end) break;
                    if (due > now) LockSupport.parkNanos(due - now);
                    else if (now - due > intervalNs / 10 && due >= measureFrom) late++;
                } else if (System.nanoTime() >= end) {
                    break;
                }
                long begun = System.nanoTime();
                boolean measured = begun >= measureFrom;
                if (measured && windowStart < 0) windowStart = begun;
                producer.beginTransaction();
                for (int i = 0; i < recordsPerTxn; i++) {
                    producer.send(new ProducerRecord<>(topic, i % partitions, null, value));
                }
                long f0 = System.nanoTime();
                if (intervalNs > 0) producer.flush();
                long c0 = System.nanoTime();
                producer.commitTransaction();
                long c1 = System.nanoTime();
                if (measured) {
                    txns++;
                    windowEnd = c1;
                    commitUs.add((c1 - c0) / 1000);
                    if (intervalNs > 0) flushUs.add((c0 - f0) / 1000);
                }
            }
            double seconds = (windowEnd - windowStart) / 1e9;
            System.out.println("RESULT {\"txns\":" + txns + ",\"records\":" + txns * recordsPerTxn + ",\"seconds\":" + seconds
                + ",\"late\":" + late + ",\"initUs\":" + initUs + ",\"commitUs\":" + commitUs + ",\"flushUs\":" + flushUs + "}");
        }
    }

    private static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) throw e;
        }
    }
}

// The package's API running brokers as child processes, used as a test suite would use it
// (the built package): a single broker in its own process serves kafkajs and stops cleanly;
// in a three-broker cluster a broker killed with SIGKILL really dies, the other two keep
// taking acks=all writes, and the restarted one comes back as a new process and serves clients.
import { existsSync } from 'node:fs';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, startCluster } from '../../dist/index.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('startBroker in a child process', async (t) => {
  const broker = await startBroker({ mode: 'child-process', config: { 'num.partitions': 1 } });
  t.teardown(() => (alive(broker.pid) ? process.kill(broker.pid, 'SIGKILL') : undefined));
  t.not(broker.pid, process.pid, 'the broker has a process of its own');
  t.ok(alive(broker.pid), 'which runs');
  const kafka = new Kafka({ clientId: 'child', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const [written] = await producer.send({ topic: 'child', acks: -1, messages: [{ value: 'v' }] });
  await producer.disconnect();
  t.equal(written?.errorCode, 0, 'it takes a write');
  await broker.stop();
  t.notOk(alive(broker.pid), 'stop ends the process (cleanly, or stop would reject)');
  t.notOk(existsSync(broker.dataDir), 'and removes its temp dir');
});

t.test('startCluster: kill and restart a broker process', async (t) => {
  const cluster = await startCluster({ brokers: 3, config: { 'broker.session.timeout.ms': 3000, 'broker.heartbeat.interval.ms': 500, 'num.partition.workers': 1 } });
  t.teardown(() => cluster.stop());
  const kafka = new Kafka({ clientId: 'cluster', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'kept', acks: -1, messages: [{ value: 'before' }] });

  const leader = (await admin.fetchTopicMetadata({ topics: ['kept'] })).topics[0]!.partitions[0]!.leader;
  const victim = cluster.brokers[leader - 1]!;
  const proc = victim.process!;
  await cluster.kill(leader);
  t.equal(proc.signalCode, 'SIGKILL', `broker ${leader} (the partition's leader) died of SIGKILL`);
  t.equal(victim.process, null, 'and is reported as not running');

  const [after] = await producer.send({ topic: 'kept', acks: -1, messages: [{ value: 'after' }] });
  t.equal(after?.errorCode, 0, 'the two others take an acks=all write');

  await cluster.restart(leader);
  t.ok(victim.process && victim.process.pid !== proc.pid, `broker ${leader} runs again as a new process`);
  const alone = new Kafka({ clientId: 'restarted', brokers: [victim.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  const check = alone.admin();
  await check.connect();
  t.teardown(() => check.disconnect());
  const { brokers } = await check.describeCluster();
  t.equal(brokers.length, 3, 'it serves clients and sees the whole cluster');
  const offsets = await check.fetchTopicOffsets('kept');
  t.equal(offsets[0]?.high, '2', 'both writes are there');
});

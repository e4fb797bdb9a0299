// Two brokers whose controller listener is SSL (the metadata quorum runs over mutual TLS) and
// whose inter-broker listener is SASL_SSL: followers connect to their leader over
// TLS and log in with SCRAM-SHA-512 (sasl.mechanism.inter.broker.protocol, credentials from the
// listener's JAAS setting, the user created by --add-scram), under an authorizer that lets only
// super users replicate. An acks=all produce with min.insync.replicas=2 succeeds only once the
// follower has fetched the records; kcat reads them back through the cluster.
import t from 'tap';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { freePort, hasCommand, startBroker, waitForPort, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, eventually, run } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { makePki } from './certs.js';
import { scramLogin } from './sasl-client.js';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";';

t.test('quorum over mutual TLS, replication over SASL_SSL with SCRAM-SHA-512', async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const ports = [await freePort(), await freePort()];
  const controllers = [await freePort(), await freePort()];
  const voters = controllers.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
  const brokers: BrokerProcess[] = [];
  for (const i of [0, 1]) {
    const b = await startBroker({
      nodeId: i + 1,
      port: ports[i],
      controllerPort: controllers[i],
      voters,
      wait: false,
      overrides: {
        listeners: `SECURE://127.0.0.1:${ports[i]},CONTROLLER://127.0.0.1:${controllers[i]}`,
        'listener.security.protocol.map': 'SECURE:SASL_SSL,CONTROLLER:SSL',
        'inter.broker.listener.name': 'SECURE',
        'ssl.keystore.location': pki.serverKeystore,
        'ssl.truststore.location': pki.caCert,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'listener.name.secure.scram-sha-512.sasl.jaas.config': SCRAM,
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:broker;User:admin',
        'default.replication.factor': 2,
        'min.insync.replicas': 2,
        'offsets.topic.replication.factor': 2,
        'num.partitions': 1,
      },
      args: ['--add-scram', 'SCRAM-SHA-512=[name=broker,password=broker-secret]', '--add-scram', 'SCRAM-SHA-512=[name=admin,password=admin-secret]'],
    });
    brokerTeardown(t, b);
    brokers.push(b);
  }
  await Promise.all(brokers.map((b) => waitForPort(b.port, 60_000, b)));

  const refused = await new Promise<boolean>((resolve) => {
    const s = tls.connect({ port: controllers[0]!, host: '127.0.0.1', ca: [readFileSync(pki.caCert)] });
    s.on('error', () => resolve(true));
    s.on('secureConnect', () => {
      s.write(Buffer.alloc(64, 1));
      s.once('close', () => resolve(true));
    });
    setTimeout(() => resolve(false), 5000).unref();
  });
  t.ok(refused, 'a client without a certificate cannot talk to the controller listener');

  const connect = (port: number) => new Promise<WireClient>((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: [readFileSync(pki.caCert)] });
    s.once('secureConnect', () => resolve(WireClient.over(s)));
    s.once('error', reject);
  });
  const admin = await connect(brokers[0]!.port);
  t.teardown(() => admin.close());
  t.equal((await scramLogin(admin, 'SCRAM-SHA-512', 'admin', 'admin-secret')).errorCode, ErrorCode.NONE, 'admin logs in');
  const created = await admin.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'replicated', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }], timeoutMs: 10_000,
  });
  t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'a topic with two replicas is created');

  let leader = -1;
  await eventually('the partition to have a leader and both replicas in sync', async () => {
    const md = await admin.request(ApiKey.Metadata, 12, { topics: [{ name: 'replicated', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const p = md.topics[0]?.partitions[0];
    leader = p?.leaderId ?? -1;
    return leader > 0 && p.isrNodes.length === 2;
  }, 20_000);
  const client = await connect(brokers[leader - 1]!.port);
  t.teardown(() => client.close());
  await scramLogin(client, 'SCRAM-SHA-512', 'admin', 'admin-secret');
  const res = await client.request(ApiKey.Produce, 9, {
    transactionalId: null, acks: -1, timeoutMs: 15_000,
    topicData: [{ name: 'replicated', partitionData: [{ index: 0, records: buildRecordBatch({ records: Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`r${i}`) })) }) }] }],
  });
  t.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, `acks=all with min.insync.replicas=2 is acknowledged by leader ${leader}: the follower fetched over SASL_SSL`);

  if (hasCommand('kcat')) {
    const sasl = ['-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', 'sasl.password=admin-secret'];
    const c = await run('kcat', ['-b', brokers[0]!.bootstrap, ...sasl, '-C', '-t', 'replicated', '-p', '0', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
    t.same(c.stdout.toString().split('\n').filter(Boolean), Array.from({ length: 10 }, (_, i) => `r${i}`), 'kcat reads the ten records back');
  } else {
    t.pass('kcat not installed: skipped');
  }
});

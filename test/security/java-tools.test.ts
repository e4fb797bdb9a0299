// Kafka 4.3's own tools and Java client against a three-broker cluster whose client and
// inter-broker listener is SASL_SSL (SCRAM-SHA-512 between brokers) and whose quorum runs over
// mutual TLS: kafka-configs creates and describes a SCRAM user, kafka-acls grants it a family of
// topics and a group and lists the ACLs, the console producer and consumer (Java client,
// SCRAM-SHA-256) write and read back, and the user cannot manage ACLs. Optional: runs when
// `java` is installed (Kafka's jars are fetched by bench/peers/kafka/fetch.sh when missing).
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startBroker, waitForPort, type BrokerProcess } from '../helpers/broker.js';
import { KAFKA_LIB, kafkaJarsMissing } from '../helpers/kafka-jars.js';
import { brokerTeardown, run } from '../clients/harness.js';
import { makePki } from './certs.js';

const missing = await kafkaJarsMissing();
const SCRAM = (user: string, pw: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${pw}";`;

if (missing !== null) {
  t.skip(`skipped: ${missing}`);
} else {
  t.test('kafka-configs, kafka-acls and the Java client against a SASL_SSL cluster', async (t) => {
    const pki = makePki();
    t.teardown(() => pki.cleanup());
    const dir = mkdtempSync(path.join(os.tmpdir(), 'java-tools-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const ports = [await freePort(), await freePort(), await freePort()];
    const controllers = [await freePort(), await freePort(), await freePort()];
    const voters = controllers.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const brokers: BrokerProcess[] = [];
    for (const i of [0, 1, 2]) {
      const b = await startBroker({
        nodeId: i + 1, port: ports[i], controllerPort: controllers[i], voters, wait: false,
        overrides: {
          listeners: `SECURE://127.0.0.1:${ports[i]},CONTROLLER://127.0.0.1:${controllers[i]}`,
          'listener.security.protocol.map': 'SECURE:SASL_SSL,CONTROLLER:SSL',
          'inter.broker.listener.name': 'SECURE',
          'ssl.keystore.location': pki.serverKeystore,
          'ssl.truststore.location': pki.caCert,
          'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
          'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
          'listener.name.secure.scram-sha-512.sasl.jaas.config': SCRAM('broker', 'broker-secret'),
          'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          'super.users': 'User:broker;User:admin',
          'num.partitions': 1,
          'default.replication.factor': 3,
          'group.initial.rebalance.delay.ms': 0,
        },
        args: ['--add-scram', 'SCRAM-SHA-512=[name=broker,password=broker-secret]', '--add-scram', 'SCRAM-SHA-512=[name=admin,password=admin-secret]'],
      });
      brokerTeardown(t, b);
      brokers.push(b);
    }
    await Promise.all(brokers.map((b) => waitForPort(b.port, 60_000, b)));
    const bootstrap = brokers.map((b) => b.bootstrap).join(',');

    const props = (name: string, mechanism: string, user: string, pw: string) => {
      const file = path.join(dir, `${name}.properties`);
      writeFileSync(file, [
        'security.protocol=SASL_SSL', `sasl.mechanism=${mechanism}`, `sasl.jaas.config=${SCRAM(user, pw)}`,
        'ssl.truststore.type=PEM', `ssl.truststore.location=${pki.caCert}`, '',
      ].join('\n'));
      return file;
    };
    const admin = props('admin', 'SCRAM-SHA-512', 'admin', 'admin-secret');
    const alice = props('alice', 'SCRAM-SHA-256', 'alice', 'alice-secret');
    const java = async (main: string, args: string[], input?: string) => {
      const r = await run('java', ['-cp', `${KAFKA_LIB}/*`, main, '--bootstrap-server', bootstrap, ...args], { input, timeoutMs: 60_000 });
      return { code: r.code, out: `${r.stdout.toString()}${r.stderr}`.split('\n').filter((l) => !l.startsWith('SLF4J')).join('\n') };
    };

    const alter = await java('kafka.admin.ConfigCommand', ['--command-config', admin, '--alter', '--add-config', 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]', '--entity-type', 'users', '--entity-name', 'alice']);
    t.match(alter.out, /Completed updating config for user alice/, `kafka-configs --alter creates alice's SCRAM-SHA-256 credential (exit ${alter.code})`);
    const describe = await java('kafka.admin.ConfigCommand', ['--command-config', admin, '--describe', '--entity-type', 'users', '--entity-name', 'alice']);
    t.match(describe.out, /SCRAM-SHA-256=iterations=8192/, 'kafka-configs --describe shows the mechanism and iterations');

    const grant = await java('org.apache.kafka.tools.AclCommand', ['--command-config', admin, '--add', '--allow-principal', 'User:alice', '--operation', 'All', '--topic', 'java-', '--group', 'java-', '--resource-pattern-type', 'prefixed']);
    t.equal(grant.code, 0, `kafka-acls --add exits 0${grant.code === 0 ? '' : `: ${grant.out.slice(-300)}`}`);
    const list = await java('org.apache.kafka.tools.AclCommand', ['--command-config', admin, '--list']);
    t.match(list.out, /name=java-, patternType=PREFIXED[\s\S]*principal=User:alice, host=\*, operation=ALL, permissionType=ALLOW/, 'kafka-acls --list shows the prefixed grant');

    const lines = ['one', 'two', 'three'];
    const produced = await java('org.apache.kafka.tools.ConsoleProducer', ['--command-config', alice, '--topic', 'java-topic'], `${lines.join('\n')}\n`);
    t.equal(produced.code, 0, `the console producer as alice exits 0${produced.code === 0 ? '' : `: ${produced.out.slice(-300)}`}`);
    const consumed = await java('org.apache.kafka.tools.consumer.ConsoleConsumer', ['--command-config', alice, '--topic', 'java-topic', '--from-beginning', '--max-messages', '3', '--group', 'java-group', '--timeout-ms', '30000']);
    t.same(consumed.out.split('\n').filter((l) => lines.includes(l)), lines, 'the console consumer as alice (group java-group) reads them back');

    const denied = await java('org.apache.kafka.tools.AclCommand', ['--command-config', alice, '--list']);
    t.match(denied.out, /ClusterAuthorization/, 'alice cannot list ACLs');
  });
}

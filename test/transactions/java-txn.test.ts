// The Java client (Kafka 4.3's kafka-clients) as a transactional producer: committed and
// aborted transactions over 3 partitions, a zombie fenced by a successor with the same
// transactional.id, and a read_committed consumer that sees exactly the committed records in
// order (the zombie's open transaction is aborted when the successor initializes). The client
// runs transactions v2, as against Kafka 4.x: it adds no partitions itself (no
// AddPartitionsToTxn reaches the broker), its produce adds them. Runs when java, javac and mvn
// are installed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, run } from '../clients/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const depsDir = path.join(here, '../idempotence/java');
const TOPIC = 'java-txn';
const PARTITIONS = 3;
const TXNS = 12;

const haveJava = hasCommand('mvn') && hasCommand('javac') && hasCommand('java');
t.test('Java transactional producer and read_committed consumer', { skip: !haveJava && 'mvn, javac or java not installed' }, async (t) => {
  const lib = path.join(depsDir, 'lib');
  if (!fs.existsSync(lib)) {
    execFileSync('mvn', ['-q', '-B', '-f', path.join(depsDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`, '-DincludeScope=runtime'], { stdio: 'ignore', timeout: 240_000 });
  }
  const classes = path.join(here, 'java/classes');
  execFileSync('javac', ['-cp', `${lib}/*`, '-d', classes, path.join(here, 'java/TransactionalClient.java')], { timeout: 120_000 });

  const metricsPort = await freePort();
  const broker = await startBroker({ overrides: { 'transaction.state.log.num.partitions': 2, 'metrics.listener': `http://127.0.0.1:${metricsPort}` } });
  brokerTeardown(t, broker);
  const admin = new Kafka({ clientId: 'java-txn-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();

  const r = await run('java', ['-cp', `${classes}:${lib}/*`, 'TransactionalClient', broker.bootstrap, TOPIC, String(PARTITIONS), String(TXNS)], { timeoutMs: 120_000 });
  if (r.code !== 0) t.comment(r.stderr.toString().slice(-2000));
  t.equal(r.code, 0, 'the Java client exits cleanly');
  const lines = r.stdout.toString().trim().split('\n');
  t.equal(lines.pop(), 'fenced true', 'the zombie producer is fenced by its successor');
  const expected: string[] = [];
  for (let txn = 0; txn < TXNS; txn += 2) for (let j = 0; j < 4; j++) expected.push(`${(txn + j) % PARTITIONS} c-${txn}-${j}`);
  const byPartition = (xs: string[]) => [0, 1, 2].map((p) => xs.filter((x) => x.startsWith(`${p} `)));
  t.same(byPartition(lines), byPartition(expected), 'read_committed: exactly the committed records, in order per partition');

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const requests = (request: string): number => Number(new RegExp(`^kafka_network_requestmetrics_requests_total\\{request="${request}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
  t.ok(requests('EndTxn') >= TXNS, 'every transaction ended with EndTxn');
  t.equal(requests('AddPartitionsToTxn'), 0, 'transactions v2: the client sent no AddPartitionsToTxn, its produce added the partitions');
});

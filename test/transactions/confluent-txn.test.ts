// librdkafka's transactional producer (confluent_kafka, confluent_txn.py) against one broker:
// 20 committed and 20 aborted transactions interleaved over 6 partitions. A read_committed
// reader sees exactly the committed records, in order, and no control records; a
// read_uncommitted reader sees every record, aborted ones included. Twice: Debian's
// librdkafka 2.0.2 and a current one from pip (both run transactions v1).
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { venvPython } from '../helpers/current-librdkafka.js';
import { brokerTeardown, commandWorks, run } from '../clients/harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'confluent_txn.py');
const TOPIC = 'py-txn';
const PARTITIONS = 6;
const TXNS = 40;
const RECORDS = 5;

interface Output {
  committed: Record<string, string[]>;
  uncommitted: Record<string, string[]>;
  errors: string[];
}

/** What each partition should hold: the values of the transactions `keep` accepts, in order. */
function expected(keep: (txn: number) => boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < PARTITIONS; i++) out[String(i)] = [];
  for (let txn = 0; txn < TXNS; txn++) {
    if (!keep(txn)) continue;
    for (let j = 0; j < RECORDS; j++) out[String((txn + j) % PARTITIONS)]!.push(`${txn % 2 === 0 ? 'c' : 'a'}-${txn}-${j}`);
  }
  return out;
}

function suite(python: string, label: string): void {
  t.test(`${label}: committed visible, aborted not`, async (t) => {
    const broker = await startBroker({ overrides: { 'transaction.state.log.num.partitions': 4 } });
    brokerTeardown(t, broker);
    const kafka = new Kafka({ clientId: 'py-txn-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    const r = await run(python, [SCRIPT, broker.bootstrap, TOPIC, String(PARTITIONS), String(TXNS), String(RECORDS)], { timeoutMs: 120_000 });
    t.equal(r.code, 0, `confluent_txn.py exits cleanly: ${r.stderr.toString().slice(-500)}`);
    const out = JSON.parse(r.stdout.toString()) as Output;
    t.same(out.errors, [], 'no errors');
    t.same(out.committed, expected((txn) => txn % 2 === 0), 'read_committed: exactly the committed records, in order');
    t.same(out.uncommitted, expected(() => true), 'read_uncommitted: every record');
  });
}

// Made first: the root test ends once what was registered before an await has run.
const current = await venvPython();
if (commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) suite(PYTHON, 'Debian confluent_kafka (librdkafka 2.0.2)');
else t.pass(`confluent_kafka not importable by ${PYTHON}: skipping (CI installs python3-confluent-kafka)`);
if (current !== null) suite(current, 'current confluent_kafka from pip');
else t.pass('no venv with pip confluent-kafka (registry unreachable?): skipped');

// librdkafka's admin client (confluent_kafka, Debian's python3-confluent-kafka) alters topic and
// broker configs with AlterConfigs and reads them back with DescribeConfigs: values, sources
// and synonyms as Kafka reports them, and Kafka's errors for a bad value and a read-only
// setting (confluent_configs.py).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, run } from './harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'confluent_configs.py');
const TOPIC_SOURCE = 1;
const DYNAMIC_BROKER = 2;
const DEFAULT = 5;

if (!commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) {
  t.plan(1);
  t.pass(`confluent_kafka not importable by ${PYTHON}: skipping (CI installs python3-confluent-kafka)`);
} else {
  t.test('confluent_kafka alters and describes configs', async (t) => {
    const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
    brokerTeardown(t, broker);
    const r = await run(PYTHON, [SCRIPT, broker.bootstrap, 'librdkafka-configs'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString());
    t.same(out.topic['retention.ms'], { value: '3600000', source: TOPIC_SOURCE, synonyms: [['retention.ms', '3600000', TOPIC_SOURCE], ['log.retention.ms', '604800000', DEFAULT]] }, 'a topic value, then the default behind it');
    // The client keeps synonyms by name: of log.retention.bytes' two layers it shows the last.
    t.same(out.topic['retention.bytes'], { value: '5555', source: DYNAMIC_BROKER, synonyms: [['log.retention.bytes', '-1', DEFAULT]] }, 'the per-broker setting is the topic\'s default');
    t.same([out.topic['segment.bytes'].value, out.topic['segment.ms'].source], ['1048576', DEFAULT]);
    t.same([out.broker['log.retention.bytes'].value, out.broker['log.retention.bytes'].source], ['5555', DYNAMIC_BROKER]);
    t.same([out.badValue, out.readOnly], ['INVALID_CONFIG', 'INVALID_REQUEST'], 'a bad value and a read-only setting are refused with Kafka\'s errors');
  });
}

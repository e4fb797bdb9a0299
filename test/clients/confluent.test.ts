// The Python librdkafka client (confluent_kafka, Debian's python3-confluent-kafka) against a
// real broker process: lz4 batches, then zstd batches, each flushed with acks=all, then read
// back by partition assignment (confluent_roundtrip.py). Runs the system interpreter, where
// the Debian package lives, not whatever python3 comes first on PATH.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, run } from './harness.js';
import { WireClient } from './wire-client.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'confluent_roundtrip.py');
const TOPIC = 'confluent-data';
const PARTITIONS = 3;

interface Delivered {
  partition: number;
  offset: number;
  value: string;
  error: string | null;
}

if (!commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) {
  t.plan(1);
  t.pass(`confluent_kafka not importable by ${PYTHON}: skipping (CI installs python3-confluent-kafka)`);
} else {
  t.test('confluent_kafka lz4 and zstd round trip', async (t) => {
    const broker = await startBroker();
    brokerTeardown(t, broker);
    const client = await WireClient.connect(broker.port);
    const created = await client.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    client.close();
    t.equal(created.topics[0].errorCode, 0, 'topic created');

    const rounds = ['lz4', 'zstd'].map((compression) => ({
      compression,
      messages: Array.from({ length: 3000 }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `${compression}-${i}-${'compressible '.repeat(1 + (i % 20))}${i * 7919}`,
      })),
    }));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'confluent-test-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const input = path.join(dir, 'input.json');
    writeFileSync(input, JSON.stringify({ topic: TOPIC, partitions: PARTITIONS, rounds }));

    const res = await run(PYTHON, [SCRIPT, broker.bootstrap, input], { timeoutMs: 80_000 });
    t.equal(res.code, 0, `the client script exits 0${res.code === 0 ? '' : `: ${res.stderr.slice(-600)}`}`);
    if (res.code !== 0) return;
    const out = JSON.parse(res.stdout.toString()) as { delivered: Delivered[]; consumed: Omit<Delivered, 'error'>[]; errors: string[] };

    const sent = rounds.flatMap((r) => r.messages);
    t.equal(out.delivered.length, sent.length, 'a delivery report for every message');
    t.same(out.delivered.filter((d) => d.error !== null).slice(0, 5), [], 'every delivery succeeded');
    t.same(out.errors, [], 'the consumer saw no errors');

    for (let p = 0; p < PARTITIONS; p++) {
      const expected = sent.filter((m) => m.partition === p).map((m) => m.value);
      const delivered = out.delivered.filter((d) => d.partition === p).sort((a, b) => a.offset - b.offset);
      const consumed = out.consumed.filter((c) => c.partition === p);
      t.same(delivered.map((d) => d.offset), expected.map((_, i) => i), `partition ${p}: delivered offsets are 0..${expected.length - 1}`);
      t.same(consumed.map((c) => c.offset), expected.map((_, i) => i), `partition ${p}: consumed every offset once, in order`);
      const mismatch = consumed.findIndex((c, i) => c.value !== expected[i]);
      t.equal(mismatch, -1, `partition ${p}: every consumed value equals what was produced, lz4 then zstd`);
    }
  });
}

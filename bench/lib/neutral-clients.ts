/**
 * Produce throughput measured by clients this project did not write, to check the load
 * generator against: Kafka's own ProducerPerformance (kafka-producer-perf-test, from the
 * jars in bench/peers/kafka/lib) and kcat (librdkafka). Both get the same batch size and
 * linger; each reports records/s over its whole run, start-up excluded where it can be.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KAFKA_PEER_DIR } from './brokers.js';

const run = promisify(execFile);

export interface NeutralResult {
  client: string;
  recordsPerSec: number;
  mibPerSec: number;
}

export interface NeutralCase {
  bootstrap: string;
  topic: string;
  records: number;
  recordSize: number;
  acks: number;
  batchBytes: number;
  lingerMs: number;
}

export async function producerPerformance(c: NeutralCase): Promise<NeutralResult> {
  const { stdout } = await run('java', [
    '-Xmx512m', '-cp', `${KAFKA_PEER_DIR}/lib/*`, 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', c.topic, '--num-records', String(c.records), '--record-size', String(c.recordSize), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${c.bootstrap}`, `acks=${c.acks}`, `batch.size=${c.batchBytes}`,
    `linger.ms=${c.lingerMs}`, 'compression.type=none', 'enable.idempotence=false',
  ], { maxBuffer: 16 * 2 ** 20 });
  const last = stdout.trim().split('\n').pop() ?? '';
  const m = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(last);
  if (!m) throw new Error(`ProducerPerformance printed no summary: ${last}`);
  return { client: 'ProducerPerformance', recordsPerSec: Number(m[1]), mibPerSec: Number(m[2]) };
}

export async function kcatProduce(c: NeutralCase): Promise<NeutralResult> {
  const file = join(tmpdir(), `bench-kcat-${c.recordSize}-${c.records}.txt`);
  const line = 'x'.repeat(c.recordSize - 1) + '\n';
  writeFileSync(file, line.repeat(c.records));
  const start = performance.now();
  await run('kcat', ['-P', '-b', c.bootstrap, '-t', c.topic, '-l', '-X', `acks=${c.acks}`, '-X', `batch.size=${c.batchBytes}`,
    '-X', `linger.ms=${c.lingerMs}`, '-X', 'compression.codec=none', '-X', 'enable.idempotence=false', file]);
  const secs = (performance.now() - start) / 1000;
  return { client: 'kcat', recordsPerSec: c.records / secs, mibPerSec: (c.records * (c.recordSize - 1)) / secs / 2 ** 20 };
}

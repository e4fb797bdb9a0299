/**
 * Kafka 4.3's jars for the optional suites that run Kafka's own tools or Java client: fetched
 * into bench/peers/kafka/lib by its fetch.sh (Maven) when java is installed and they are not
 * there yet. Resolves with why they cannot be used, or null when they can.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run } from '../clients/harness.js';
import { hasCommand, repoRoot } from './broker.js';

export const KAFKA_PEER = path.join(repoRoot, 'bench/peers/kafka');
export const KAFKA_LIB = path.join(KAFKA_PEER, 'lib');

export async function kafkaJarsMissing(): Promise<string | null> {
  if (!hasCommand('java')) return 'java is not installed';
  // fetch.sh returns at once when the jars are there already, and runs one at a time.
  const fetched = await run('bash', [path.join(KAFKA_PEER, 'fetch.sh')], { timeoutMs: 300_000 });
  if (fetched.code !== 0 || !existsSync(KAFKA_LIB)) return `Kafka's jars could not be fetched (bench/peers/kafka/fetch.sh): ${fetched.stderr.toString().slice(-200)}`;
  return null;
}

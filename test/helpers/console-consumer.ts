/**
 * Kafka 4.3's console consumer (from Kafka's jars, see kafka-jars.ts) with
 * group.protocol=consumer (KIP-848), reading a topic from the earliest offset in a group and
 * keeping the lines that start with `prefix`. `stop()` sends SIGTERM, on which it makes a last
 * commit and leaves the group; with `failOnError` it then throws what the consumer logged at
 * ERROR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { KAFKA_LIB, KAFKA_PEER } from './kafka-jars.js';

export interface ConsoleConsumer {
  proc: ChildProcess;
  lines: string[];
  stop(): Promise<void>;
}

export function consoleConsumer(o: { bootstrap: string; topic: string; group: string; prefix: string; failOnError?: boolean }): ConsoleConsumer {
  const proc = spawn(
    'java',
    [
      '-cp', `${KAFKA_LIB}/*`,
      `-Dlog4j2.configurationFile=${path.join(KAFKA_PEER, 'log4j2.properties')}`,
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server', o.bootstrap,
      '--topic', o.topic,
      '--group', o.group,
      '--command-property', 'group.protocol=consumer',
      '--command-property', 'auto.offset.reset=earliest',
      '--command-property', 'auto.commit.interval.ms=500',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter((l) => l.startsWith(o.prefix)));
  });
  let errors = '';
  proc.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  return {
    proc,
    lines,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
      if (o.failOnError && errors.includes('ERROR')) throw new Error(errors);
    },
  };
}

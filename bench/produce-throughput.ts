/**
 * Produce throughput against any Kafka-compatible bootstrap address: for each record size,
 * partition count and acks, a closed-loop load of pre-built batches (no compression),
 * printed as a table with records/s, MiB/s of record values, the broker's CPU seconds per
 * GiB and the client's own CPU. Flags: bench/README.md.
 *
 *   node dist-bench/bench/produce-throughput.js --bootstrap 127.0.0.1:9092
 */
import { parseArgs } from 'node:util';
import { acksList, keyValues, numberList, throughputOptions } from './lib/args.js';
import { parseBootstrap } from './lib/cluster.js';
import { pidListeningOn } from './lib/process-cpu.js';
import { plainTable } from './lib/table.js';
import { runThroughputCase, THROUGHPUT_HEADERS, throughputCells, type ThroughputRow } from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    ...throughputOptions,
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    'replication-factor': { type: 'string', default: '1' },
    'topic-config': { type: 'string', default: '' },
    'broker-pid': { type: 'string', default: '' },
  },
});

const bootstrap = v.bootstrap!;
const pids = v['broker-pid'] ? numberList(v['broker-pid']) : parseBootstrap(bootstrap).map((a) => pidListeningOn(a.port)).filter((p): p is number => p !== null);
const settings = {
  bootstrap,
  brokerPids: pids,
  batchBytes: Number(v['batch-bytes']),
  connectionsPerBroker: Number(v.connections),
  inFlight: Number(v['in-flight']),
  threads: Number(v.threads),
  warmupMs: Number(v.warmup) * 1000,
  durationMs: Number(v.duration) * 1000,
  replicationFactor: Number(v['replication-factor']),
  topicConfigs: keyValues(v['topic-config']!),
  topicPrefix: 'bench-tput',
};
console.log(`bootstrap ${bootstrap}, broker pids ${pids.join(',') || 'unknown'}; batch ${settings.batchBytes} B of record values ` +
  `(linger: none, batches are pre-built full), no compression, ${settings.connectionsPerBroker} connections per broker x ` +
  `${settings.inFlight} requests in flight, ${settings.threads} client thread(s), replication factor ${settings.replicationFactor}, ` +
  `${v.warmup} s warm-up + ${v.duration} s measured${Object.keys(settings.topicConfigs).length ? `, topic configs ${v['topic-config']}` : ''}`);
const rows: ThroughputRow[] = [];
for (const recordSize of numberList(v['record-sizes']!)) {
  for (const partitions of numberList(v.partitions!)) {
    for (const acks of acksList(v.acks!)) {
      const row = await runThroughputCase({ recordSize, partitions, acks }, settings);
      rows.push(row);
      console.error(plainTable(THROUGHPUT_HEADERS, [throughputCells(row)]).split('\n')[1]);
    }
  }
}
console.log(plainTable(THROUGHPUT_HEADERS, rows.map(throughputCells)));

/**
 * One produce-throughput case: a fresh topic, a closed-loop load (load.ts) against its
 * partition leaders, the topic deleted afterwards. Shared by bench/produce-throughput and
 * bench/compare.
 */
import { runLoad, type LoadReport } from './load-run.js';
import { onFreshTopic } from './plan.js';

export interface ThroughputCase {
  recordSize: number;
  partitions: number;
  acks: number;
}

export interface ThroughputSettings {
  bootstrap: string;
  brokerPids: number[];
  /** Bytes of record values per batch; a batch holds max(1, floor(batchBytes / recordSize)) records. */
  batchBytes: number;
  connectionsPerBroker: number;
  inFlight: number;
  threads: number;
  warmupMs: number;
  durationMs: number;
  replicationFactor: number;
  topicConfigs: Record<string, string>;
  topicPrefix: string;
}

export interface ThroughputRow extends ThroughputCase {
  recordsPerBatch: number;
  report: LoadReport;
}

export function recordsPerBatch(batchBytes: number, recordSize: number): number {
  return Math.max(1, Math.floor(batchBytes / recordSize));
}

export function ackName(acks: number): string {
  return acks === -1 ? 'all' : String(acks);
}

export async function runThroughputCase(c: ThroughputCase, s: ThroughputSettings): Promise<ThroughputRow> {
  const perBatch = recordsPerBatch(s.batchBytes, c.recordSize);
  const topic = {
    bootstrap: s.bootstrap,
    name: `${s.topicPrefix}-${c.recordSize}b-${c.partitions}p-acks${ackName(c.acks)}-${Date.now()}`,
    partitions: c.partitions,
    replicationFactor: s.replicationFactor,
    configs: s.topicConfigs,
    connectionsPerBroker: s.connectionsPerBroker,
  };
  const report = await onFreshTopic(topic, (connections) => runLoad({
    mode: 'closed',
    connections,
    topic: topic.name,
    acks: c.acks,
    recordSize: c.recordSize,
    recordsPerBatch: perBatch,
    inFlight: s.inFlight,
    rate: 0,
    warmupMs: s.warmupMs,
    durationMs: s.durationMs,
    drainMs: 0,
  }, { threads: s.threads, brokerPids: s.brokerPids }));
  return { ...c, recordsPerBatch: perBatch, report };
}

export const THROUGHPUT_HEADERS = ['record', 'partitions', 'acks', 'records/s', 'MiB/s', 'broker CPU s/GiB', 'client CPU %', 'errors'];

export function throughputCells(r: ThroughputRow): Array<string | number | null> {
  const rep = r.report;
  const errs = Object.entries(rep.errors).map(([k, v]) => `${k} x${v}`).join('; ');
  return [
    `${r.recordSize} B`,
    r.partitions,
    ackName(r.acks),
    rep.recordsPerSec,
    rep.mibPerSec,
    rep.brokerCpuSecPerGiB,
    (rep.clientCpuSec / rep.windowSec) * 100,
    errs || '0',
  ];
}

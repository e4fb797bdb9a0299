/**
 * One acks=all latency run at a fixed rate: a fresh topic, an open-loop load (load.ts)
 * against its partition leaders, the topic deleted afterwards. Shared by bench/acks-all and
 * bench/compare.
 */
import { runLoad, type LoadReport } from './load-run.js';
import { onFreshTopic } from './plan.js';
import type { Cell } from './table.js';

export interface LatencySettings {
  bootstrap: string;
  brokerPids: number[];
  recordSize: number;
  partitions: number;
  recordsPerBatch: number;
  connectionsPerBroker: number;
  threads: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
  replicationFactor: number;
  topicConfigs: Record<string, string>;
  topicPrefix: string;
}

export interface LatencyRow {
  /** Scheduled records per second. */
  rate: number;
  report: LoadReport;
}

export async function runLatencyCase(rate: number, s: LatencySettings): Promise<LatencyRow> {
  const topic = {
    bootstrap: s.bootstrap,
    name: `${s.topicPrefix}-${s.recordSize}b-${s.partitions}p-${Math.round(rate)}rps-${Date.now()}`,
    partitions: s.partitions,
    replicationFactor: s.replicationFactor,
    configs: s.topicConfigs,
    connectionsPerBroker: s.connectionsPerBroker,
  };
  const report = await onFreshTopic(topic, (connections) => runLoad({
    mode: 'open',
    connections,
    topic: topic.name,
    acks: -1,
    recordSize: s.recordSize,
    recordsPerBatch: s.recordsPerBatch,
    inFlight: 0,
    rate,
    warmupMs: s.warmupMs,
    durationMs: s.durationMs,
    drainMs: s.drainMs,
  }, { threads: s.threads, brokerPids: s.brokerPids }));
  return { rate, report };
}

export const LATENCY_HEADERS = ['rate rec/s', 'achieved rec/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'p99 sched ms', 'samples', 'errors'];

function ms(us: number | undefined): number | null {
  return us === undefined ? null : us / 1000;
}

export function latencyCells(r: LatencyRow): Cell[] {
  const h = r.report.latency;
  const s = r.report.scheduled;
  const errs = Object.entries(r.report.errors).map(([k, v]) => `${k} x${v}`).join('; ');
  // A percentile is reported as the top of its HDR bucket, which may pass the exact max.
  const at = (q: number) => (h ? Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 : null);
  return [
    Math.round(r.rate),
    r.report.recordsPerSec,
    at(50),
    at(99),
    at(99.9),
    ms(h?.maxValue),
    ms(s?.getValueAtPercentile(99)),
    h?.totalCount ?? 0,
    errs || '0',
  ];
}

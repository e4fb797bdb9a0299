/**
 * Runs a load (load.ts) from one or more threads, samples the broker's and this process's
 * CPU over the measurement window, and merges what the threads measured.
 *
 * With `threads` > 1 the connections are dealt round-robin to worker threads, each with
 * its share of an open-loop rate; the parent only waits and samples. Histograms are
 * merged whole (every sample of every thread).
 */
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { epochMs, runLoadHere, type LoadResult, type LoadSpec } from './load.js';
import { processCpuSeconds } from './process-cpu.js';

export interface LoadReport {
  records: number;
  requests: number;
  errors: Record<string, number>;
  windowSec: number;
  recordsPerSec: number;
  mibPerSec: number;
  /** CPU seconds the broker processes used in the window (null when no pid is known). */
  brokerCpuSec: number | null;
  brokerCpuSecPerGiB: number | null;
  clientCpuSec: number;
  fenceMs: number;
  unanswered: number;
  maxLagMs: number;
  latency: hdr.Histogram | null;
  scheduled: hdr.Histogram | null;
}

export interface RunOptions {
  threads: number;
  brokerPids: number[];
}

let wasmReady = false;

function merge(encoded: Array<string | null>): hdr.Histogram | null {
  const present = encoded.filter((e): e is string => e !== null);
  if (present.length === 0) return null;
  if (!wasmReady) {
    hdr.initWebAssemblySync();
    wasmReady = true;
  }
  const total = hdr.build({ bitBucketSize: 32, autoResize: true, useWebAssembly: true, numberOfSignificantValueDigits: 3 });
  for (const e of present) total.add(hdr.decodeFromCompressedBase64(e, 32, true));
  return total;
}

function inWorker(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: spec });
    w.once('message', (m: { result?: LoadResult; error?: string }) => {
      if (m.result) resolve(m.result);
      else reject(new Error(m.error ?? 'load worker failed'));
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function brokerCpu(pids: number[]): number | null {
  if (pids.length === 0) return null;
  let s = 0;
  for (const p of pids) s += processCpuSeconds(p);
  return s;
}

export async function runLoad(base: Omit<LoadSpec, 'startAt'>, opts: RunOptions): Promise<LoadReport> {
  const threads = Math.max(1, Math.min(opts.threads, base.connections.length));
  const startAt = epochMs() + (threads > 1 ? 1000 : 300);
  const windowStart = startAt + base.warmupMs;
  const windowEnd = windowStart + base.durationMs;
  let cpu0: { broker: number | null; client: NodeJS.CpuUsage } | null = null;
  let cpu1: { broker: number | null; client: NodeJS.CpuUsage } | null = null;
  const sample = () => ({ broker: brokerCpu(opts.brokerPids), client: process.cpuUsage() });
  const t0 = setTimeout(() => { cpu0 = sample(); }, windowStart - epochMs());
  const t1 = setTimeout(() => { cpu1 = sample(); }, windowEnd - epochMs());

  let results: LoadResult[];
  try {
    if (threads === 1) {
      results = [await runLoadHere({ ...base, startAt })];
    } else {
      const shares = Array.from({ length: threads }, (_, t) => base.connections.filter((_, ci) => ci % threads === t));
      results = await Promise.all(shares.map((connections) => inWorker({
        ...base,
        startAt,
        connections,
        rate: (base.rate * connections.length) / base.connections.length,
      })));
    }
  } finally {
    clearTimeout(t0);
    clearTimeout(t1);
  }
  const c0 = cpu0 as { broker: number | null; client: NodeJS.CpuUsage } | null;
  const c1 = cpu1 as { broker: number | null; client: NodeJS.CpuUsage } | null;
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const records = results.reduce((s, r) => s + r.records, 0);
  const fenceMs = Math.max(...results.map((r) => r.fenceMs));
  const windowSec = (base.durationMs + fenceMs) / 1000;
  const bytes = records * base.recordSize;
  const brokerCpuSec = c0 && c1 && c0.broker !== null && c1.broker !== null ? c1.broker - c0.broker : null;
  const clientCpuSec = c0 && c1 ? (c1.client.user - c0.client.user + c1.client.system - c0.client.system) / 1e6 : NaN;
  return {
    records,
    requests: results.reduce((s, r) => s + r.requests, 0),
    errors,
    windowSec,
    recordsPerSec: records / windowSec,
    mibPerSec: bytes / windowSec / 2 ** 20,
    brokerCpuSec,
    brokerCpuSecPerGiB: brokerCpuSec !== null && bytes > 0 ? brokerCpuSec / (bytes / 2 ** 30) : null,
    clientCpuSec,
    fenceMs,
    unanswered: results.reduce((s, r) => s + r.unanswered, 0),
    maxLagMs: Math.max(...results.map((r) => r.maxLagMs)),
    latency: merge(results.map((r) => r.latency)),
    scheduled: merge(results.map((r) => r.scheduled)),
  };
}

/**
 * The metrics endpoint (`metrics.listener`, default http://127.0.0.1:9644): Prometheus text at
 * `/metrics`, from a prom-client registry holding the process metrics (CPU, memory, event-loop
 * delay and GC of the main thread) and the request metrics under the names Kafka's JMX
 * exporter gives them (`kafka_network_requestmetrics_totaltimems{request="Produce"}` ...), as
 * histograms in milliseconds with a bucket at every power of two microseconds (exact bounds of
 * the recording histograms), and every thread's GC pauses and event-loop delay
 * (thread-stats.ts). `/metrics/requests` serves the full-resolution histograms as JSON
 * for tools that compare two moments (bench/latency-breakdown.ts).
 *
 * A scrape reads the histograms where they are; nothing on the request path waits for it.
 */
import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { ThreadStats, type ThreadStatsLayout } from '../shared/metrics/thread-stats.js';
import { OCTAVES, type LogHistogram } from '../shared/metrics/log-histogram.js';
import type { RequestMetrics, Stage } from './request-metrics.js';

/** Kafka's RequestMetrics names for our stages; queued and sync are ours (Kafka has no fsync stage). */
const STAGE_NAMES: Record<Stage, string> = {
  requestQueue: 'requestqueuetimems',
  local: 'localtimems',
  queued: 'groupcommitqueuetimems',
  sync: 'fsynctimems',
  remote: 'remotetimems',
  responseQueue: 'responsequeuetimems',
  responseSend: 'responsesendtimems',
  total: 'totaltimems',
};

const STAGE_HELP: Record<Stage, string> = {
  requestQueue: 'Frame read until a partition worker (or the handler) takes the request up, ms.',
  local: 'Time the request is worked on locally (validate and write), ms.',
  queued: 'Written, waiting for a group-commit round to start, ms.',
  sync: 'The group-commit fdatasync round, ms.',
  remote: 'Durable on this broker, waiting for the in-sync replicas, ms.',
  responseQueue: 'The result on its way back to the main thread, ms.',
  responseSend: 'Encoding the response and handing it to the socket, ms.',
  total: 'Frame read until the response is handed to the socket, ms.',
};

/** Cumulative bucket bounds: every power of two microseconds, as milliseconds. */
const OCTAVE_BOUNDS_US = Array.from({ length: OCTAVES }, (_, k) => 2 ** (k + 1));

function histogramMetric(name: string, help: string, stage: Stage, requests: RequestMetrics) {
  return {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    async get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const [request, stages] of requests.histograms()) {
        const h: LogHistogram = stages[stage];
        for (const us of OCTAVE_BOUNDS_US) values.push({ metricName: `${name}_bucket`, labels: { request, le: us / 1000 }, value: h.countAtMost(us) });
        values.push({ metricName: `${name}_bucket`, labels: { request, le: '+Inf' }, value: h.count });
        values.push({ metricName: `${name}_sum`, labels: { request }, value: h.sum / 1000 });
        values.push({ metricName: `${name}_count`, labels: { request }, value: h.count });
      }
      return { name, help, type: 'histogram' as const, aggregator: 'sum' as const, values };
    },
    reset() {},
  };
}

function requestsMetric(requests: RequestMetrics) {
  const name = 'kafka_network_requestmetrics_requests_total';
  return {
    name,
    help: 'Requests answered, by request type.',
    type: 'counter' as const,
    aggregator: 'sum' as const,
    async get() {
      const values = [...requests.histograms()].map(([request, stages]) => ({ labels: { request }, value: stages.total.count }));
      return { name, help: 'Requests answered, by request type.', type: 'counter' as const, aggregator: 'sum' as const, values };
    },
    reset() {},
  };
}

/** Every thread's GC pauses (histogram, seconds) and event-loop delay (gauges, seconds). */
function threadMetrics(layout: ThreadStatsLayout) {
  const threads = layout.threads.map((name, i) => ({ name, stats: new ThreadStats(layout, i) }));
  const gcName = 'kafka_ts_thread_gc_pause_seconds';
  const gcHelp = 'GC pauses by thread, seconds.';
  const delayName = 'kafka_ts_thread_eventloop_delay_seconds';
  const delayHelp = 'Event-loop delay by thread over the last 5 s (quantile "mean", 0.5, 0.99, 1 = max), seconds.';
  return [
    {
      name: gcName,
      help: gcHelp,
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      async get() {
        const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
        for (const { name: thread, stats } of threads) {
          const h = stats.gcPauses;
          for (const us of OCTAVE_BOUNDS_US) values.push({ metricName: `${gcName}_bucket`, labels: { thread, le: us / 1e6 }, value: h.countAtMost(us) });
          values.push({ metricName: `${gcName}_bucket`, labels: { thread, le: '+Inf' }, value: h.count });
          values.push({ metricName: `${gcName}_sum`, labels: { thread }, value: h.sum / 1e6 });
          values.push({ metricName: `${gcName}_count`, labels: { thread }, value: h.count });
        }
        return { name: gcName, help: gcHelp, type: 'histogram' as const, aggregator: 'sum' as const, values };
      },
      reset() {},
    },
    {
      name: delayName,
      help: delayHelp,
      type: 'gauge' as const,
      aggregator: 'average' as const,
      async get() {
        const values = threads.flatMap(({ name: thread, stats }) => {
          const d = stats.loopDelay;
          return [
            { labels: { thread, quantile: 'mean' }, value: d.mean / 1000 },
            { labels: { thread, quantile: 0.5 }, value: d.p50 / 1000 },
            { labels: { thread, quantile: 0.99 }, value: d.p99 / 1000 },
            { labels: { thread, quantile: 1 }, value: d.max / 1000 },
          ];
        });
        return { name: delayName, help: delayHelp, type: 'gauge' as const, aggregator: 'average' as const, values };
      },
      reset() {},
    },
  ];
}

export function metricsRegistry(requests: RequestMetrics, threads: ThreadStatsLayout): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const m of threadMetrics(threads)) registry.registerMetric(m as never);
  for (const [stage, suffix] of Object.entries(STAGE_NAMES) as [Stage, string][]) {
    registry.registerMetric(histogramMetric(`kafka_network_requestmetrics_${suffix}`, STAGE_HELP[stage], stage, requests) as never);
  }
  registry.registerMetric(requestsMetric(requests) as never);
  return registry;
}

/** The full-resolution histograms: { request: { stage: [bucket counts..., count, sum] } }. */
export function requestHistogramsJson(requests: RequestMetrics): string {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [request, stages] of requests.histograms()) {
    out[request] = Object.fromEntries(Object.entries(stages).map(([s, h]) => [s, [...h.slots]]));
  }
  return JSON.stringify(out);
}

/**
 * Serves the registry at `host:port`. A port already taken (a second broker on the machine)
 * is a warning naming the setting: the broker serves its clients without metrics.
 */
export async function startMetricsServer(
  listener: { host: string; port: number },
  requests: RequestMetrics,
  threads: ThreadStatsLayout,
  log: Logger,
): Promise<http.Server | null> {
  const registry = metricsRegistry(requests, threads);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
    } else if (path === '/metrics/requests') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(requestHistogramsJson(requests));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      log.warn({ err: e.message, setting: 'metrics.listener', listener: `http://${listener.host}:${listener.port}` }, 'metrics endpoint not served: set metrics.listener to a free port, or none');
      resolve(null);
    });
    server.listen(listener.port, listener.host, () => {
      log.info({ listener: `http://${listener.host}:${listener.port}/metrics` }, 'metrics endpoint');
      resolve(server);
    });
  });
}

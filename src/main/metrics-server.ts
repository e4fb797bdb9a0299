/**
 * The metrics endpoint (`metrics.listener`, default http://127.0.0.1:9644): Prometheus text at
 * `/metrics`, from a prom-client registry holding the process metrics (CPU, memory, event-loop
 * delay and GC of the main thread) and the broker's metrics under the names Kafka's JMX
 * exporter gives them (`kafka_network_requestmetrics_totaltimems{request="Produce"}`,
 * `kafka_server_brokertopicmetrics_bytesin_total{topic="t"}` ...): request stages as
 * histograms in milliseconds with a bucket at every power of two microseconds (exact bounds of
 * the recording histograms), per-topic traffic (topic-metrics.ts), the partition workers'
 * replica gauges and group-commit rounds (partition-stats.ts), the replication throttles'
 * byte rates (replication-quota.ts), the controller's view of the
 * cluster, the metadata quorum's commit and election latencies and leader changes
 * (raft-stats.ts), consumer groups by state, the rings between the main thread and the
 * partition workers (ring.ts), errors by code per request type, and every thread's GC pauses
 * and event-loop delay (thread-stats.ts). `/metrics/requests` serves the full-resolution request histograms as JSON
 * for tools that compare two moments (bench/latency-breakdown.ts). `/health` answers 200 while
 * the main thread runs; `/ready` answers 200 while the broker is registered and unfenced with
 * its logs loaded and 503 otherwise, for orchestrators.
 *
 * A scrape reads the counters where they are, one metric per event-loop turn (nextTurn); nothing
 * on the request path waits for it.
 */
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { ThreadStats, type ThreadStatsLayout } from '../shared/metrics/thread-stats.js';
import { LogHistogram, OCTAVES } from '../shared/metrics/log-histogram.js';
import { PartitionStats, partitionStatsWorkers } from '../shared/metrics/partition-stats.js';
import { RaftStats } from '../shared/metrics/raft-stats.js';
import type { ReplicationQuota } from '../shared/replication-quota.js';
import { ringStats, type RingStats } from '../shared/ring.js';
import type { GroupState } from '../shared/groups/group.js';
import type { RequestMetrics, Stage } from './request-metrics.js';
import type { TopicMetrics } from './topic-metrics.js';
import type { MetadataCache } from './metadata-cache.js';
import type { WorkerRing } from './partition-workers.js';

/** What the endpoint reads from; each is read only when scraped. */
export interface MetricsSources {
  nodeId: number;
  requests: RequestMetrics;
  threads: ThreadStatsLayout;
  topics: TopicMetrics;
  /** The partition workers' slots (partition-stats.ts). */
  partitions: SharedArrayBuffer;
  /** The rings between the main thread and each partition worker. */
  rings: readonly WorkerRing[];
  /** The raft worker's figures (raft-stats.ts). */
  raft: SharedArrayBuffer;
  /** The replication throttles' rates (the follower one shared with the partition workers). */
  replicationQuotas: { leader: ReplicationQuota; follower: ReplicationQuota };
  metadata: MetadataCache;
  /** The state of every consumer group this broker coordinates. */
  groupStates(): string[];
  /** Registered, unfenced, logs loaded, not stopping. */
  ready(): boolean;
}

type Sample = { labels?: Record<string, string | number>; value: number; metricName?: string };

/**
 * The event-loop turns a scrape's metrics are read in: each call resolves one turn (setImmediate)
 * after the call before it has. The main thread serves clients between two metrics, so a scrape
 * holds it for one metric at a time (the request-type histograms of one stage at most) rather
 * than for all of them, whatever the number of topics or request types.
 */
let lastTurn: Promise<void> = Promise.resolve();
function nextTurn(): Promise<void> {
  lastTurn = lastTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  return lastTurn;
}

/** A metric whose values are read from `collect` at each scrape, in a turn of its own. */
function custom(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Sample[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    async get() {
      await nextTurn();
      return { name, help, type, aggregator: 'sum' as const, values: collect() };
    },
    reset() {},
  };
}

/** Where histogramSamples reads a histogram's cumulative counts into (a scrape reads one histogram at a time). */
const scratch = new Float64Array(OCTAVES);

/** Histogram samples of a log histogram, bucket bounds scaled from its unit by `scale`. */
function histogramSamples(name: string, h: LogHistogram, labels: Record<string, string | number>, scale: number): Sample[] {
  const out: Sample[] = [];
  const cumulative = h.cumulativeByOctave(scratch);
  for (let k = 0; k < OCTAVES; k++) out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: OCTAVE_BOUNDS_US[k]! * scale }, value: cumulative[k]! });
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum * scale });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
  return out;
}

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

/** A stage's histogram per request type; types that never pass the stage (answered on the main thread: no group commit) have none. */
function histogramMetric(name: string, help: string, stage: Stage, requests: RequestMetrics) {
  return custom(name, help, 'histogram', () =>
    [...requests.histograms()].flatMap(([request, stages]) => (stages[stage].count > 0 ? histogramSamples(name, stages[stage], { request }, 1 / 1000) : [])),
  );
}

function requestsMetric(requests: RequestMetrics) {
  return custom('kafka_network_requestmetrics_requests_total', 'Requests answered, by request type.', 'counter', () =>
    [...requests.histograms()].map(([request, stages]) => ({ labels: { request }, value: stages.total.count })),
  );
}

/** Kafka's ErrorsPerSec: every error code of every response, NONE included, by request type. */
function errorsMetric(requests: RequestMetrics) {
  return custom('kafka_network_requestmetrics_errors_total', 'Error codes in responses (NONE included; partition-level codes each count), by request type and error.', 'counter', () =>
    [...requests.errors()].map(([request, error, n]) => ({ labels: { request, error }, value: n })),
  );
}

/** Kafka's raft-metrics (the quorum as this node sees it), its leader-change count, and our commit latency histogram. */
function raftMetrics(buffer: SharedArrayBuffer) {
  const raft = new RaftStats(buffer);
  const rm = 'kafka_server_raft_metrics_';
  const gauge = (name: string, help: string, read: () => number) => custom(`${rm}${name}`, help, 'gauge', () => [{ value: read() }]);
  const hist = 'kafka_ts_raft_commit_latency_seconds';
  return [
    gauge('current_leader', 'The metadata quorum leader\'s id; -1 when none is known.', () => raft.leader),
    gauge('current_epoch', 'The metadata quorum\'s epoch (raft term).', () => raft.epoch),
    gauge('high_watermark', 'Metadata log entries committed, as this node knows.', () => raft.highWatermark),
    gauge('log_end_offset', 'Metadata log entries in this node\'s log.', () => raft.logEnd),
    gauge('commit_latency_avg', 'Average time from a metadata batch\'s append by this leader to its commit, ms, over the last 60 s (NaN: none).', () => raft.commitLatency.avg(Date.now())),
    gauge('commit_latency_max', 'Longest time from a metadata batch\'s append by this leader to its commit, ms, over the last 60 s (NaN: none).', () => raft.commitLatency.max(Date.now())),
    gauge('election_latency_avg', 'Average time from this node starting to campaign to a leader being known, ms, over the last 60 s (NaN: none).', () => raft.electionLatency.avg(Date.now())),
    gauge('election_latency_max', 'Longest time from this node starting to campaign to a leader being known, ms, over the last 60 s (NaN: none).', () => raft.electionLatency.max(Date.now())),
    custom('kafka_controller_kafkacontroller_newactivecontrollerscount', 'Metadata quorum leaders this node has seen elected, the first one known at start included.', 'counter', () => [
      { value: raft.leaderChanges },
    ]),
    custom(hist, 'Time from a metadata batch\'s append by this leader to its commit (fsync and a quorum\'s acknowledgement), seconds.', 'histogram', () =>
      histogramSamples(hist, raft.commitLatencyUs, {}, 1e-6),
    ),
  ];
}

/** The rings to and from each partition worker, read where they are at the scrape. */
function ringMetrics(rings: readonly WorkerRing[]) {
  const each = (pick: (s: RingStats) => number) => () => rings.map((r) => ({ labels: { thread: r.thread, ring: r.ring }, value: pick(ringStats(r.buffer)) }));
  const rn = 'kafka_ts_ring_';
  return [
    custom(`${rn}used_bytes`, 'Bytes in a ring not yet taken by its consumer, by partition worker and ring (requests: to the worker, responses: from it).', 'gauge', each((s) => s.used)),
    custom(`${rn}peak_used_bytes`, 'The most bytes a ring has held at once.', 'gauge', each((s) => s.peakUsed)),
    custom(`${rn}capacity_bytes`, 'A ring\'s size.', 'gauge', each((s) => s.capacity)),
    custom(`${rn}wakeups_total`, 'Times a ring\'s producer woke its sleeping consumer (a futex call and a task on the consumer\'s event loop each).', 'counter', each((s) => s.wakeups)),
    custom(`${rn}consumer_sleeps_total`, 'Times a ring\'s consumer found it empty and slept.', 'counter', each((s) => s.consumerSleeps)),
    custom(`${rn}missed_wakeups_total`, 'Times a ring\'s consumer woke by its own timeout and found messages waiting: a wake-up that did not come.', 'counter', each((s) => s.missedWakeups)),
    custom(`${rn}producer_waits_total`, 'Times a ring\'s producer found it full and waited for space (messages queue in front meanwhile).', 'counter', each((s) => s.producerWaits)),
  ];
}

/** Every thread's GC pauses (histogram, seconds) and event-loop delay (gauges, seconds). */
function threadMetrics(layout: ThreadStatsLayout) {
  const threads = layout.threads.map((name, i) => ({ name, stats: new ThreadStats(layout, i) }));
  const gcName = 'kafka_ts_thread_gc_pause_seconds';
  return [
    custom(gcName, 'GC pauses by thread, seconds.', 'histogram', () =>
      threads.flatMap(({ name: thread, stats }) => histogramSamples(gcName, stats.gcPauses, { thread }, 1 / 1e6)),
    ),
    custom('kafka_ts_thread_eventloop_delay_seconds', 'Event-loop delay by thread over the last 5 s (quantile "mean", 0.5, 0.99, 1 = max), seconds.', 'gauge', () =>
      threads.flatMap(({ name: thread, stats }) => {
        const d = stats.loopDelay;
        return [
          { labels: { thread, quantile: 'mean' }, value: d.mean / 1000 },
          { labels: { thread, quantile: 0.5 }, value: d.p50 / 1000 },
          { labels: { thread, quantile: 0.99 }, value: d.p99 / 1000 },
          { labels: { thread, quantile: 1 }, value: d.max / 1000 },
        ];
      }),
    ),
  ];
}

/** Kafka's BrokerTopicMetrics, one sample per topic. */
function topicMetrics(topics: TopicMetrics) {
  const perTopic = (name: string, help: string, pick: (c: { messagesIn: number; bytesIn: number; bytesOut: number; replicationBytesOut: number }) => number) =>
    custom(`kafka_server_brokertopicmetrics_${name}_total`, help, 'counter', () => [...topics.topics()].map(([topic, c]) => ({ labels: { topic }, value: pick(c) })));
  return [
    perTopic('messagesin', 'Records appended, by topic.', (c) => c.messagesIn),
    perTopic('bytesin', 'Record batch bytes appended from producers, by topic.', (c) => c.bytesIn),
    perTopic('bytesout', 'Record batch bytes sent to consumers, by topic.', (c) => c.bytesOut),
    perTopic('replicationbytesout', 'Record batch bytes sent to follower replicas, by topic.', (c) => c.replicationBytesOut),
  ];
}

/** The partition workers' slots summed: Kafka's ReplicaManager gauges and our group commit. */
function replicaMetrics(buffer: SharedArrayBuffer) {
  const workers = Array.from({ length: partitionStatsWorkers(buffer) }, (_, i) => new PartitionStats(buffer, i));
  const sum = (pick: (w: PartitionStats) => number) => () => [{ value: workers.reduce((n, w) => n + pick(w), 0) }];
  const merged = (pick: (w: PartitionStats) => LogHistogram) => {
    const h = new LogHistogram();
    for (const w of workers) h.add(pick(w));
    return h;
  };
  const rm = 'kafka_server_replicamanager_';
  return [
    custom(`${rm}partitioncount`, 'Partitions with a replica on this broker.', 'gauge', sum((w) => w.partitions)),
    custom(`${rm}leadercount`, 'Partitions this broker leads.', 'gauge', sum((w) => w.leaders)),
    custom(`${rm}underreplicatedpartitions`, 'Partitions this broker leads whose ISR is smaller than their replica set.', 'gauge', sum((w) => w.underReplicated)),
    custom(`${rm}isrshrinks_total`, 'ISR shrinks of partitions this broker leads, as committed to the metadata.', 'counter', sum((w) => w.isrShrinks)),
    custom(`${rm}isrexpands_total`, 'ISR expansions of partitions this broker leads, as committed to the metadata.', 'counter', sum((w) => w.isrExpands)),
    custom('kafka_ts_groupcommit_round_bytes', 'Bytes of appends each group-commit round made durable.', 'histogram', () =>
      histogramSamples('kafka_ts_groupcommit_round_bytes', merged((w) => w.roundBytes), {}, 1),
    ),
    custom('kafka_ts_groupcommit_fdatasync_seconds', 'Latency of each fdatasync call of the group commit, seconds.', 'histogram', () =>
      histogramSamples('kafka_ts_groupcommit_fdatasync_seconds', merged((w) => w.fdatasyncUs), {}, 1e-6),
    ),
  ];
}

/** Kafka's replication quota sensors (kafka.server:type=LeaderReplication and FollowerReplication, byte-rate). */
function throttleMetrics(q: MetricsSources['replicationQuotas']) {
  const rate = (quota: ReplicationQuota) => () => [{ value: quota.rate(Date.now()) }];
  return [
    custom('kafka_server_leaderreplication_byte_rate', 'Bytes/s of throttled replicas sent to followers, over the leader throttle\'s sample windows.', 'gauge', rate(q.leader)),
    custom('kafka_server_followerreplication_byte_rate', 'Bytes/s of throttled replicas fetched from leaders, over the follower throttle\'s sample windows.', 'gauge', rate(q.follower)),
  ];
}

const GROUP_STATES: Array<[GroupState, string]> = [
  ['PreparingRebalance', 'preparingrebalance'],
  ['CompletingRebalance', 'completingrebalance'],
  ['Stable', 'stable'],
  ['Dead', 'dead'],
  ['Empty', 'empty'],
];

/** The controller's view (reported by the active controller only, as Kafka's are) and consumer groups. */
function clusterMetrics(s: MetricsSources) {
  const active = () => s.metadata.controllerId === s.nodeId;
  const offline = () => {
    let n = 0;
    for (const t of s.metadata.topics()) for (const p of t.partitions) if (p.leader < 0) n++;
    return n;
  };
  const kc = 'kafka_controller_kafkacontroller_';
  const gm = 'kafka_coordinator_group_groupmetadatamanager_';
  return [
    custom(`${kc}activecontrollercount`, '1 on the broker whose node leads the metadata quorum, else 0.', 'gauge', () => [{ value: active() ? 1 : 0 }]),
    custom(`${kc}offlinepartitionscount`, 'Partitions without a leader (active controller only, else 0).', 'gauge', () => [{ value: active() ? offline() : 0 }]),
    custom(`${kc}globalpartitioncount`, 'Partitions in the cluster (active controller only, else 0).', 'gauge', () => [
      { value: active() ? s.metadata.topics().reduce((n, t) => n + t.partitions.length, 0) : 0 },
    ]),
    custom(`${kc}globaltopiccount`, 'Topics in the cluster (active controller only, else 0).', 'gauge', () => [{ value: active() ? s.metadata.topics().length : 0 }]),
    custom(`${gm}numgroups`, 'Consumer groups this broker coordinates.', 'gauge', () => [{ value: s.groupStates().length }]),
    ...GROUP_STATES.map(([state, suffix]) =>
      custom(`${gm}numgroups${suffix}`, `Consumer groups this broker coordinates in state ${state}.`, 'gauge', () => [
        { value: s.groupStates().filter((g) => g === state).length },
      ]),
    ),
  ];
}

/**
 * prom-client's process_open_fds lists /proc/self/fd with readdirSync, on the thread that serves
 * clients, for as long as the listing of every segment file takes (about 1 ms per 3,000 open
 * files). The same count, listed on libuv's thread pool.
 */
function openFdsMetric() {
  return {
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    type: 'gauge' as const,
    aggregator: 'sum' as const,
    async get() {
      // The listing holds a descriptor of its own while it reads.
      const fds = (await readdir('/proc/self/fd')).length - 1;
      return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [{ value: fds }] };
    },
    reset() {},
  };
}

export function metricsRegistry(s: MetricsSources): Registry {
  const { requests, threads } = s;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (registry.getSingleMetric('process_open_fds')) {
    registry.removeSingleMetric('process_open_fds');
    registry.registerMetric(openFdsMetric() as never);
  }
  for (const m of [...topicMetrics(s.topics), ...replicaMetrics(s.partitions), ...throttleMetrics(s.replicationQuotas), ...clusterMetrics(s), ...raftMetrics(s.raft), ...ringMetrics(s.rings)]) registry.registerMetric(m as never);
  for (const m of threadMetrics(threads)) registry.registerMetric(m as never);
  for (const [stage, suffix] of Object.entries(STAGE_NAMES) as [Stage, string][]) {
    registry.registerMetric(histogramMetric(`kafka_network_requestmetrics_${suffix}`, STAGE_HELP[stage], stage, requests) as never);
  }
  registry.registerMetric(requestsMetric(requests) as never);
  registry.registerMetric(errorsMetric(requests) as never);
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
export async function startMetricsServer(listener: { host: string; port: number }, sources: MetricsSources, log: Logger): Promise<http.Server | null> {
  const registry = metricsRegistry(sources);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else if (path === '/ready') {
      const ready = sources.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
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
      res.end(requestHistogramsJson(sources.requests));
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
    server.listen(listener.port, listener.host, () => resolve(server));
  });
}

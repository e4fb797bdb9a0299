/**
 * How long a scrape of `/metrics` takes on a broker holding many partitions, and whether produce
 * latency moves while it is scraped. One single-node broker; `--topics` topics totalling
 * `--partitions` partitions, one batch produced to every partition (so every topic has its
 * series); then:
 *   - `--scrapes` scrapes back to back on the idle broker: p50, p99 and max time from the GET
 *     to the last byte of the body, the body's size and its number of samples;
 *   - `--rounds` pairs of open-loop produce runs at `--rate` records/s (acks as `--acks`, to a
 *     fresh topic of `--load-partitions` partitions), one quiet and one scraped the whole time
 *     (back to back, far harder than any Prometheus interval, or every `--scrape-interval`
 *     seconds), the order swapped from pair to pair: produce latency p50, p99, p99.9 and max of
 *     each, and the scrapes made meanwhile.
 * The scrapes come from a worker thread (lib/scrapes.ts), so timing them delays none of the
 * load generator's sends.
 *
 *   npm run build && npm run bench:build
 *   node dist-bench/bench/metrics-scrape.js [--partitions 1000] [--topics 100]
 *
 * Flags: bench/README.md. Writes its section of bench/RESULTS.md.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ApiKey } from '../src/shared/protocol/generated/api-keys.js';
import { ClientConnection } from '../src/shared/client-connection.js';
import { acksList } from './lib/args.js';
import { startOurs } from './lib/brokers.js';
import { createTopic } from './lib/cluster.js';
import { runLoad, type LoadReport } from './lib/load-run.js';
import { onFreshTopic } from './lib/plan.js';
import { buildBatch, buildProduceFrame, PRODUCE_VERSION } from './lib/produce-frames.js';
import { loadAverage, sectionOpening, writeResultsSection } from './lib/results-section.js';
import { scrapes, type ScrapeResult } from './lib/scrapes.js';
import { markdownTable, plainTable, type Cell } from './lib/table.js';
import { recordsPerBatch } from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    partitions: { type: 'string', default: '1000' },
    topics: { type: 'string', default: '100' },
    scrapes: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    'scrape-interval': { type: 'string', default: '0' },
    rate: { type: 'string', default: '10000' },
    acks: { type: 'string', default: '1' },
    'record-size': { type: 'string', default: '1024' },
    'batch-bytes': { type: 'string', default: '16384' },
    'load-partitions': { type: 'string', default: '6' },
    connections: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '10' },
    drain: { type: 'string', default: '10' },
    port: { type: 'string', default: '28720' },
    'metrics-port': { type: 'string', default: '28729' },
    'data-dir': { type: 'string', default: '/tmp/bench-metrics-scrape' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
  },
});

const SECTION = '## Metrics endpoint: scrape time with many partitions';
const url = `http://127.0.0.1:${v['metrics-port']}/metrics`;
const totalPartitions = Number(v.partitions);
const topics = Number(v.topics);
const acks = acksList(v.acks!)[0]!;
const scrapeIntervalMs = Number(v['scrape-interval']) * 1000;
const scrapedHow = scrapeIntervalMs > 0 ? `scraped every ${v['scrape-interval']} s` : 'scraped back to back';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function scrapeCells(label: string, r: ScrapeResult): Cell[] {
  const s = [...r.timesMs].sort((a, b) => a - b);
  return [label, s.length, quantile(s, 0.5), quantile(s, 0.99), s[s.length - 1]!, `${(r.bytes / 1024).toFixed(0)} KiB`, r.series];
}

/** Every topic's partitions created, one batch of ten 100-byte records produced to each. */
async function fill(bootstrap: string): Promise<void> {
  const batch = buildBatch(100, 10);
  for (let t = 0; t < topics; t++) {
    const count = Math.floor(totalPartitions / topics) + (t < totalPartitions % topics ? 1 : 0);
    const name = `scrape-${t}`;
    const layout = await createTopic(bootstrap, name, count, 1);
    const { host, port } = layout.leaders[0]!;
    const conn = await ClientConnection.connect(host, port, { clientId: 'bench' });
    try {
      const res = await conn.exchange(ApiKey.Produce, PRODUCE_VERSION, buildProduceFrame(name, [...Array(count).keys()], batch, -1, 30_000));
      const failed = res.responses.flatMap((r) => r.partitionResponses).filter((p) => p.errorCode !== 0);
      if (failed.length) throw new Error(`${name}: ${failed.length} partitions refused the batch (error ${failed[0]!.errorCode})`);
    } finally {
      conn.close();
    }
  }
}

interface Round {
  index: number;
  scraped: boolean;
  report: LoadReport;
  scrape: ScrapeResult | null;
}

async function produceRound(bootstrap: string, pids: number[], index: number, scraped: boolean): Promise<Round> {
  const topic = {
    bootstrap,
    name: `scrape-load-${index}-${scraped ? 'scraped' : 'quiet'}-${Date.now()}`,
    partitions: Number(v['load-partitions']),
    replicationFactor: 1,
    configs: {},
    connectionsPerBroker: Number(v.connections),
  };
  let scraper: ReturnType<typeof scrapes> | null = null;
  const report = await onFreshTopic(topic, async (connections) => {
    scraper = scraped ? scrapes(url, 0, scrapeIntervalMs) : null;
    try {
      return await runLoad({
        mode: 'open',
        connections,
        topic: topic.name,
        acks,
        recordSize: Number(v['record-size']),
        recordsPerBatch: recordsPerBatch(Number(v['batch-bytes']), Number(v['record-size'])),
        inFlight: 0,
        rate: Number(v.rate),
        warmupMs: Number(v.warmup) * 1000,
        durationMs: Number(v.duration) * 1000,
        drainMs: Number(v.drain) * 1000,
      }, { threads: 1, brokerPids: pids });
    } finally {
      scraper?.stop();
    }
  });
  const s = scraper as ReturnType<typeof scrapes> | null;
  return { index, scraped, report, scrape: s ? await s.done : null };
}

const ROUND_HEADERS = ['round', 'scrapes', 'achieved rec/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'scrape p50 ms', 'scrape p99 ms', 'scrape max ms', 'errors'];
function roundCells(r: Round): Cell[] {
  const h = r.report.latency;
  const at = (q: number) => (h ? Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 : null);
  const s = r.scrape ? [...r.scrape.timesMs].sort((a, b) => a - b) : null;
  const errs = Object.values(r.report.errors).reduce((n, e) => n + e, 0) + r.report.unanswered;
  return [
    `${r.index + 1} ${r.scraped ? scrapedHow : 'quiet'}`, s ? s.length : 0, r.report.recordsPerSec, at(50), at(99), at(99.9), h ? h.maxValue / 1000 : null,
    s ? quantile(s, 0.5) : null, s ? quantile(s, 0.99) : null, s ? s[s.length - 1]! : null, errs,
  ];
}

const SCRAPE_HEADERS = ['when', 'scrapes', 'p50 ms', 'p99 ms', 'max ms', 'body', 'samples'];

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const dataDir = v['data-dir']!;
  const broker = await startOurs({
    port: Number(v.port),
    dataDir,
    main: resolve(v['broker-main']!),
    overrides: [`metrics.listener=http://127.0.0.1:${v['metrics-port']}`],
  });
  const rounds: Round[] = [];
  let idle: ScrapeResult;
  try {
    console.error(`creating ${topics} topics, ${totalPartitions} partitions, one batch to each`);
    await fill(broker.bootstrap);
    console.error(`${v.scrapes} scrapes of the idle broker`);
    idle = await scrapes(url, Number(v.scrapes), 0).done;
    console.error(plainTable(SCRAPE_HEADERS, [scrapeCells('idle', idle)]));
    for (let i = 0; i < Number(v.rounds); i++) {
      for (const scraped of i % 2 === 0 ? [false, true] : [true, false]) {
        const r = await produceRound(broker.bootstrap, broker.pids, i, scraped);
        rounds.push(r);
        console.error(plainTable(ROUND_HEADERS, [roundCells(r)]).split('\n')[1]);
      }
    }
  } finally {
    await broker.stop();
  }
  const loadAfter = loadAverage();
  const under = rounds.filter((r) => r.scrape).map((r) => r.scrape!);
  const underLoad: ScrapeResult = { timesMs: under.flatMap((s) => s.timesMs), bytes: under.at(-1)?.bytes ?? 0, series: under.at(-1)?.series ?? 0 };
  const scrapeRows = [scrapeCells('idle broker', idle), scrapeCells(`under ${v.rate} records/s of produce`, underLoad)];
  console.log(plainTable(SCRAPE_HEADERS, scrapeRows));
  console.log();
  console.log(plainTable(ROUND_HEADERS, rounds.map(roundCells)));
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);

  const text = [
    ...sectionOpening(SECTION, 'metrics-scrape', startedAt, dataDir, loadBefore, loadAfter),
    '',
    `One single-node broker of this tree with its defaults, \`/metrics\` on \`metrics.listener=http://127.0.0.1:${v['metrics-port']}\`; ` +
      `${topics} topics totalling ${totalPartitions} partitions, one batch of ten 100-byte records produced to each partition. ` +
      'Scrape time: from the GET to the last byte of the body, one scrape after the other from a worker thread of the bench. ' +
      `Produce latency: open loop at ${v.rate} records/s (${v['record-size']} B records, ${v['batch-bytes']} B of record values per request, ` +
      `acks=${v.acks}, ${v['load-partitions']} partitions, ${v.connections} connections, ${v.warmup} s warm-up then ${v.duration} s recorded), ` +
      `quiet against ${scrapedHow} the whole time, in pairs that alternate which goes first.`,
    '',
    markdownTable(SCRAPE_HEADERS, scrapeRows),
    '',
    markdownTable(ROUND_HEADERS, rounds.map(roundCells)),
    '',
  ].join('\n');
  writeResultsSection(v.results!, SECTION, text);
}

await main();

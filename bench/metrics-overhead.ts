/**
 * What the metrics endpoint costs produce throughput: two brokers started alike, one serving
 * `/metrics` (`metrics.listener` on a loopback port, scraped every `--scrape-interval` seconds
 * while it is measured, as Prometheus would, from a worker thread of the bench) and one with
 * `metrics.listener=none`, both up throughout. For each case, pairs of closed-loop produce runs (throughput-cases.ts), one on
 * each broker, the order swapped from pair to pair so that a machine growing slower or faster
 * weighs on both alike, and half of the pairs with the two brokers' places (start order, ports)
 * swapped; each pair gives a ratio on/off of records/s and of broker CPU per GiB.
 * Prints every pair and, per case, the median ratio with its minimum and maximum.
 *
 * Request timings and per-topic counters are recorded whether or not the endpoint is served
 * (they are a few increments per request); the endpoint decides whether anyone reads them.
 *
 *   npm run build && npm run bench:build
 *   node dist-bench/bench/metrics-overhead.js [--pairs 6] [--acks 1,all]
 *
 * Flags: bench/README.md. Writes its section of bench/RESULTS.md.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { acksList, numberList, throughputOptions } from './lib/args.js';
import { startOurs, type RunningBroker } from './lib/brokers.js';
import { loadAverage, sectionOpening, writeResultsSection } from './lib/results-section.js';
import { scrapes } from './lib/scrapes.js';
import { markdownTable, plainTable, type Cell } from './lib/table.js';
import { ackName, runThroughputCase, type ThroughputCase, type ThroughputRow, type ThroughputSettings } from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    ...throughputOptions,
    'record-sizes': { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '6' },
    acks: { type: 'string', default: '1,all' },
    pairs: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    'broker-warmup': { type: 'string', default: '5' },
    'scrape-interval': { type: 'string', default: '1' },
    control: { type: 'boolean', default: false },
    port: { type: 'string', default: '28700' },
    'metrics-port': { type: 'string', default: '28709' },
    'data-dir': { type: 'string', default: '/tmp/bench-metrics-overhead' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
  },
});

const SECTION = v.control ? '## Metrics endpoint: control, two brokers both off' : '## Metrics endpoint: produce throughput on and off';
const port = Number(v.port);
const metricsUrl = `http://127.0.0.1:${Number(v['metrics-port'])}/metrics`;
const scrapeIntervalMs = Number(v['scrape-interval']) * 1000;
const pairs = Number(v.pairs);

interface Target {
  name: 'on' | 'off';
  broker: RunningBroker;
}

interface Pair {
  c: ThroughputCase;
  index: number;
  /** The slot the on broker ran in: 1 started first, on the lower ports. */
  onSlot: 1 | 2;
  first: 'on' | 'off';
  on: ThroughputRow;
  off: ThroughputRow;
  scrapes: number;
}

function settings(t: Target, warmupMs: number, durationMs: number): ThroughputSettings {
  return {
    bootstrap: t.broker.bootstrap,
    brokerPids: t.broker.pids,
    batchBytes: Number(v['batch-bytes']),
    connectionsPerBroker: Number(v.connections),
    inFlight: Number(v['in-flight']),
    threads: Number(v.threads),
    warmupMs,
    durationMs,
    replicationFactor: 1,
    topicConfigs: {},
    topicPrefix: `bench-metrics-${t.name}`,
  };
}

async function run(t: Target, c: ThroughputCase): Promise<{ row: ThroughputRow; scrapes: number }> {
  // From a worker thread, so that scraping delays none of the load generator's sends.
  const scraper = t.name === 'on' && !v.control && scrapeIntervalMs > 0 ? scrapes(metricsUrl, 0, scrapeIntervalMs) : null;
  try {
    const row = await runThroughputCase(c, settings(t, Number(v.warmup) * 1000, Number(v.duration) * 1000));
    scraper?.stop();
    return { row, scrapes: scraper ? (await scraper.done).timesMs.length : 0 };
  } finally {
    scraper?.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const caseName = (c: ThroughputCase) => `${c.recordSize} B, ${c.partitions} p, acks=${ackName(c.acks)}`;
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : NaN);
const pct = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`;
const errs = (r: ThroughputRow) => Object.values(r.report.errors).reduce((s, n) => s + n, 0);

const PAIR_HEADERS = ['case', 'pair', 'on in slot', 'first', 'on records/s', 'off records/s', 'on/off', 'on CPU s/GiB', 'off CPU s/GiB', 'CPU on/off', 'scrapes', 'errors'];
const pairCells = (p: Pair): Cell[] => [
  caseName(p.c), p.index + 1, p.onSlot, p.first, p.on.report.recordsPerSec, p.off.report.recordsPerSec,
  ratio(p.on.report.recordsPerSec, p.off.report.recordsPerSec).toFixed(3),
  p.on.report.brokerCpuSecPerGiB, p.off.report.brokerCpuSecPerGiB,
  ratio(p.on.report.brokerCpuSecPerGiB, p.off.report.brokerCpuSecPerGiB).toFixed(3),
  p.scrapes, errs(p.on) + errs(p.off),
];

const SUMMARY_HEADERS = ['case', 'pairs', 'records/s on/off: median', 'min', 'max', 'broker CPU/GiB on/off: median', 'min', 'max', 'median on records/s', 'median off records/s'];
function summaryCells(c: ThroughputCase, ps: Pair[]): Cell[] {
  // A run whose broker CPU could not be sampled has no CPU ratio.
  const t = ps.map((p) => ratio(p.on.report.recordsPerSec, p.off.report.recordsPerSec)).filter(Number.isFinite);
  const cpu = ps.map((p) => ratio(p.on.report.brokerCpuSecPerGiB, p.off.report.brokerCpuSecPerGiB)).filter(Number.isFinite);
  return [
    caseName(c), ps.length,
    `${median(t).toFixed(3)} (${pct(median(t))})`, Math.min(...t).toFixed(3), Math.max(...t).toFixed(3),
    `${median(cpu).toFixed(3)} (${pct(median(cpu))})`, Math.min(...cpu).toFixed(3), Math.max(...cpu).toFixed(3),
    median(ps.map((p) => p.on.report.recordsPerSec)), median(ps.map((p) => p.off.report.recordsPerSec)),
  ];
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const dataDir = v['data-dir']!;
  const main = resolve(v['broker-main']!);
  const cases: ThroughputCase[] = [];
  for (const recordSize of numberList(v['record-sizes']!)) {
    for (const partitions of numberList(v.partitions!)) for (const acks of acksList(v.acks!)) cases.push({ recordSize, partitions, acks });
  }
  // --control: both brokers alike (metrics.listener=none, no scrapes), to see how far two
  // identical brokers measured this way differ.
  const onListener = v.control ? 'none' : `http://127.0.0.1:${v['metrics-port']}`;
  const all: Pair[] = [];
  // Two identical brokers on one machine do not run equally fast (which started first, which
  // ports): each setting runs half of the pairs in each slot, the brokers started anew between.
  for (const onSlot of [1, 2] as const) {
    const start = (n: 1 | 2): Promise<RunningBroker> => startOurs({
      port: n === 1 ? port : port + 2,
      dataDir: `${dataDir}/slot${n}`,
      main,
      overrides: [`metrics.listener=${n === onSlot ? onListener : 'none'}`],
    });
    const first = await start(1);
    const second = await start(2).catch(async (e: unknown) => {
      await first.stop();
      throw e;
    });
    const on: Target = { name: 'on', broker: onSlot === 1 ? first : second };
    const off: Target = { name: 'off', broker: onSlot === 1 ? second : first };
    try {
      // The endpoint must be served, or "on" measures nothing of it (a port taken is only a warning).
      if (!v.control) await scrapes(metricsUrl, 1, 0).done;
      console.error(`on in slot ${onSlot}: warming up both brokers, ${v['broker-warmup']} s of 1 KiB acks=1 produce each, not counted`);
      for (const t of [on, off]) {
        await runThroughputCase({ recordSize: 1024, partitions: 6, acks: 1 }, settings(t, 0, Number(v['broker-warmup']) * 1000));
      }
      const from = onSlot === 1 ? 0 : Math.ceil(pairs / 2);
      const to = onSlot === 1 ? Math.ceil(pairs / 2) : pairs;
      for (const c of cases) {
        for (let i = from; i < to; i++) {
          const order = i % 2 === 0 ? [on, off] : [off, on];
          const got: Partial<Record<'on' | 'off', { row: ThroughputRow; scrapes: number }>> = {};
          for (const t of order) got[t.name] = await run(t, c);
          const p: Pair = { c, index: i, onSlot, first: order[0]!.name, on: got.on!.row, off: got.off!.row, scrapes: got.on!.scrapes };
          all.push(p);
          console.error(plainTable(PAIR_HEADERS, [pairCells(p)]).split('\n')[1]);
        }
      }
    } finally {
      await Promise.all([on.broker.stop(), off.broker.stop()]);
    }
  }
  all.sort((x, y) => cases.indexOf(x.c) - cases.indexOf(y.c) || x.index - y.index);
  const loadAfter = loadAverage();
  const summary = cases.map((c) => summaryCells(c, all.filter((p) => p.c === c)));
  console.log(plainTable(PAIR_HEADERS, all.map(pairCells)));
  console.log();
  console.log(plainTable(SUMMARY_HEADERS, summary));
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);

  const text = [
    ...sectionOpening(SECTION, 'metrics-overhead', startedAt, dataDir, loadBefore, loadAfter),
    '',
    (v.control
      ? 'A control run: two single-node brokers of this tree up together, each with its defaults, both with `metrics.listener=none` ' +
        'and never scraped, measured exactly as in the on/off run (**on** is the one started first, on the lower ports).'
      : `Two single-node brokers of this tree up together, each with its defaults (one partition worker per core): **on** serves ` +
        `\`/metrics\` on \`metrics.listener=http://127.0.0.1:${v['metrics-port']}\` and is scraped every ${v['scrape-interval']} s ` +
        `while measured (Prometheus' default interval is 15 s); **off** runs with \`metrics.listener=none\`. Both record request ` +
        'timings and per-topic counters either way.') +
      ' Load: the load generator of `bench/lib` (pre-built uncompressed batches of ' +
      `${v['batch-bytes']} B of record values, ${v.connections} connections x ${v['in-flight']} requests in flight, ${v.threads} client thread(s)), ` +
      `replication factor 1, a fresh topic per run; ${v.warmup} s warm-up then ${v.duration} s measured per run, after ` +
      `${v['broker-warmup']} s of unmeasured load on each broker. Pairs alternate which broker goes first; the first half of the pairs ` +
      'runs **on** in slot 1 (the broker started first, on the lower ports), the second half with the two brokers started anew in ' +
      'swapped slots. CPU s/GiB: the broker ' +
      'process\'s CPU seconds (all threads) per GiB of record values.',
    '',
    markdownTable(SUMMARY_HEADERS, summary),
    '',
    markdownTable(PAIR_HEADERS, all.map(pairCells)),
    '',
  ].join('\n');
  writeResultsSection(v.results!, SECTION, text);
}

await main();

/**
 * Worker-thread entry that scrapes a metrics URL, back to back or one every `intervalMs`, each
 * scrape a GET read to its last byte, timed from the request to the end of the body: `count`
 * scrapes, or (count 0) until the parent sets `stop[0]`. Off the thread that drives the produce load, so that reading and
 * timing scrapes delays none of its sends. Posts { timesMs, bytes, series } or { error }.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';

export interface ScrapeSpec {
  url: string;
  count: number;
  /** Start to start; 0: the next scrape starts when one ends. */
  intervalMs: number;
  /** Int32Array over a SharedArrayBuffer; the loop ends when [0] is not 0. */
  stop: Int32Array;
}

export interface ScrapeResult {
  timesMs: number[];
  /** Size of the last response body. */
  bytes: number;
  /** Samples in the last response (lines that are not comments). */
  series: number;
}

async function scrapeLoop(s: ScrapeSpec): Promise<ScrapeResult> {
  const timesMs: number[] = [];
  let body = '';
  while (s.count > 0 ? timesMs.length < s.count : Atomics.load(s.stop, 0) === 0) {
    const t0 = performance.now();
    const res = await fetch(s.url);
    body = await res.text();
    timesMs.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${s.url} answered ${res.status}`);
    if (s.intervalMs > 0) await sleep(Math.max(0, t0 + s.intervalMs - performance.now()));
  }
  return { timesMs, bytes: Buffer.byteLength(body), series: body.split('\n').filter((l) => l && !l.startsWith('#')).length };
}

scrapeLoop(workerData as ScrapeSpec).then(
  (result) => parentPort!.postMessage({ result }),
  (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);

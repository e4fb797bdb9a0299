/**
 * Scrapes of a metrics URL from a worker thread (scrape-worker.ts), so that making and timing
 * them delays nothing on the thread that drives a load.
 */
import { Worker } from 'node:worker_threads';
import type { ScrapeResult } from './scrape-worker.js';

export type { ScrapeResult };

export interface Scrapes {
  /** Ends a run started with count 0 after the scrape in progress. */
  stop(): void;
  done: Promise<ScrapeResult>;
}

/** One scrape every `intervalMs` (0: back to back): `count` of them, or until stop() when count is 0. */
export function scrapes(url: string, count: number, intervalMs: number): Scrapes {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(new URL('./scrape-worker.js', import.meta.url), { workerData: { url, count, intervalMs, stop } });
  const done = new Promise<ScrapeResult>((resolve, reject) => {
    w.once('message', (m: { result?: ScrapeResult; error?: string }) => {
      if (m.result) resolve(m.result);
      else reject(new Error(m.error ?? 'scrape worker failed'));
      void w.terminate();
    });
    w.once('error', reject);
  });
  return { stop: () => Atomics.store(stop, 0, 1), done };
}

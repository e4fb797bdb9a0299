/**
 * Event-loop delay and GC pauses of every thread of the broker (main, raft worker, partition
 * workers), kept in one SharedArrayBuffer so the main thread's metrics endpoint reads them
 * without asking the threads. Each thread writes only its own slot:
 * - GC pauses, one record per collection (a PerformanceObserver), in a log histogram of
 *   microseconds;
 * - event-loop delay from `monitorEventLoopDelay` (sampling every 20 ms), copied into the slot
 *   every few seconds as the mean, p50, p99 and max of the samples since the last copy.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { HISTOGRAM_SLOTS, LogHistogram } from './log-histogram.js';

const LOOP_SLOTS = 4;
const SLOT_BYTES = (HISTOGRAM_SLOTS + LOOP_SLOTS) * 8;
const SAMPLE_MS = 20;
const COPY_MS = 5000;

/** Where each thread's slot is: thread names in slot order. */
export interface ThreadStatsLayout {
  buffer: SharedArrayBuffer;
  threads: string[];
}

export function threadStatsLayout(threads: string[]): ThreadStatsLayout {
  return { buffer: new SharedArrayBuffer(SLOT_BYTES * threads.length), threads };
}

/** One thread's figures, read from anywhere. */
export class ThreadStats {
  readonly gcPauses: LogHistogram;
  private readonly loop: Float64Array;

  constructor(layout: ThreadStatsLayout, index: number) {
    this.gcPauses = new LogHistogram(layout.buffer, index * SLOT_BYTES);
    this.loop = new Float64Array(layout.buffer, index * SLOT_BYTES + HISTOGRAM_SLOTS * 8, LOOP_SLOTS);
  }

  /** Event-loop delay over the last copy interval, milliseconds. */
  get loopDelay(): { mean: number; p50: number; p99: number; max: number } {
    const l = this.loop;
    return { mean: l[0]!, p50: l[1]!, p99: l[2]!, max: l[3]! };
  }

  setLoopDelay(mean: number, p50: number, p99: number, max: number): void {
    this.loop.set([mean, p50, p99, max]);
  }
}

/** Starts recording the calling thread's figures into its slot; returns the stop function. */
export function recordThreadStats(layout: ThreadStatsLayout, index: number): () => void {
  const stats = new ThreadStats(layout, index);
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) stats.gcPauses.record(e.duration * 1000);
  });
  gc.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: SAMPLE_MS });
  delay.enable();
  const ns = 1e6;
  const copy = setInterval(() => {
    // The sampler's own resolution is counted as delay by Node; it is taken off here.
    const off = (v: number) => Math.max(0, v / ns - SAMPLE_MS);
    stats.setLoopDelay(off(delay.mean || 0), off(delay.percentile(50)), off(delay.percentile(99)), off(delay.max));
    delay.reset();
  }, COPY_MS);
  copy.unref();
  return () => {
    gc.disconnect();
    delay.disable();
    clearInterval(copy);
  };
}

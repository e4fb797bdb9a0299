/**
 * What each partition worker counts for the metrics endpoint, in one SharedArrayBuffer with a
 * slot per worker: the worker writes only its own slot, the main thread sums the slots when
 * scraped, and nothing is sent between the two.
 *
 * - replica gauges (Kafka's ReplicaManager): partitions hosted, partitions led, led partitions
 *   whose ISR is smaller than their replica set (under-replicated); rewritten whenever the
 *   worker applies metadata;
 * - counters of ISR shrinks and expansions of the partitions it leads, as metadata commits them;
 * - the group commit's rounds: bytes made durable per round, and the latency of each
 *   fdatasync call (log histograms, log-histogram.ts; the byte histogram holds bytes where the
 *   other holds microseconds).
 */
import { HISTOGRAM_SLOTS, LogHistogram } from './log-histogram.js';

const PARTITIONS = 0;
const LEADERS = 1;
const UNDER_REPLICATED = 2;
const ISR_SHRINKS = 3;
const ISR_EXPANDS = 4;
const COUNTERS = 5;
const SLOT_BYTES = (COUNTERS + 2 * HISTOGRAM_SLOTS) * 8;

export function partitionStatsBuffer(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOT_BYTES * workers);
}

export function partitionStatsWorkers(buffer: SharedArrayBuffer): number {
  return buffer.byteLength / SLOT_BYTES;
}

/** One worker's figures: written by that worker, read by the metrics endpoint. */
export class PartitionStats {
  private readonly c: Float64Array;
  readonly roundBytes: LogHistogram;
  readonly fdatasyncUs: LogHistogram;

  constructor(buffer: SharedArrayBuffer, worker: number) {
    const at = worker * SLOT_BYTES;
    this.c = new Float64Array(buffer, at, COUNTERS);
    this.roundBytes = new LogHistogram(buffer, at + COUNTERS * 8);
    this.fdatasyncUs = new LogHistogram(buffer, at + (COUNTERS + HISTOGRAM_SLOTS) * 8);
  }

  setReplicas(partitions: number, leaders: number, underReplicated: number): void {
    this.c[PARTITIONS] = partitions;
    this.c[LEADERS] = leaders;
    this.c[UNDER_REPLICATED] = underReplicated;
  }

  isrChanged(before: number, after: number): void {
    if (after < before) this.c[ISR_SHRINKS]!++;
    else if (after > before) this.c[ISR_EXPANDS]!++;
  }

  get partitions(): number {
    return this.c[PARTITIONS]!;
  }

  get leaders(): number {
    return this.c[LEADERS]!;
  }

  get underReplicated(): number {
    return this.c[UNDER_REPLICATED]!;
  }

  get isrShrinks(): number {
    return this.c[ISR_SHRINKS]!;
  }

  get isrExpands(): number {
    return this.c[ISR_EXPANDS]!;
  }
}

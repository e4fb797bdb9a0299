/**
 * What the raft worker measures of the metadata quorum, in one SharedArrayBuffer that it alone
 * writes and the main thread's metrics endpoint reads when scraped:
 *
 * - commit latency: for every metadata batch this node proposed as leader, the time from its
 *   append to its commit (a log histogram of microseconds, and Kafka's commit-latency-avg/max
 *   over a sliding window);
 * - election latency: from the moment this node campaigns to the moment it knows a leader
 *   (Kafka's election-latency-avg/max, same window);
 * - leader changes: each time a new leader becomes known, a first one at start included
 *   (Kafka's NewActiveControllersCount);
 * - the current leader (-1: none known), epoch (term), high watermark and log end offset, in
 *   raft entries (one entry per metadata batch, where Kafka counts records).
 *
 * The avg/max are Kafka's sampled stats with its defaults (metrics.sample.window.ms 30000,
 * metrics.num.samples 2): two samples of 30 s, and a sample older than 60 s no longer counts;
 * with nothing in the window they are NaN, as Kafka reports them.
 */
import { HISTOGRAM_SLOTS, LogHistogram } from './log-histogram.js';

const WINDOW_MS = 30_000;
const SAMPLES = 2;
/** Per sample: start (ms since the epoch), count, sum, max. */
const SAMPLE_SLOTS = 4;
const WINDOWED_SLOTS = 1 + SAMPLES * SAMPLE_SLOTS;

const LEADER = 0;
const EPOCH = 1;
const HIGH_WATERMARK = 2;
const LOG_END = 3;
const LEADER_CHANGES = 4;
const GAUGES = 5;
const COMMIT_WINDOW = GAUGES;
const ELECTION_WINDOW = COMMIT_WINDOW + WINDOWED_SLOTS;
const HISTOGRAM_AT = (ELECTION_WINDOW + WINDOWED_SLOTS) * 8;
const BYTES = HISTOGRAM_AT + HISTOGRAM_SLOTS * 8;

export function raftStatsBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(BYTES);
  new Float64Array(buffer, 0, 1)[LEADER] = -1;
  return buffer;
}

/** Kafka's Avg and Max over the last SAMPLES windows, in slots [current, samples...] at `at`. */
export class WindowedStat {
  constructor(
    private readonly s: Float64Array,
    private readonly at: number,
  ) {}

  record(value: number, nowMs: number): void {
    const s = this.s;
    let base = this.at + 1 + s[this.at]! * SAMPLE_SLOTS;
    if (nowMs - s[base]! >= WINDOW_MS) {
      const next = (s[this.at]! + 1) % SAMPLES;
      base = this.at + 1 + next * SAMPLE_SLOTS;
      s[base] = nowMs;
      s[base + 1] = 0;
      s[base + 2] = 0;
      s[base + 3] = -Infinity;
      s[this.at] = next;
    }
    s[base + 1]!++;
    s[base + 2]! += value;
    if (value > s[base + 3]!) s[base + 3] = value;
  }

  /** Count, sum and max of the samples that started within the last SAMPLES windows. */
  private live(nowMs: number): { count: number; sum: number; max: number } {
    let count = 0;
    let sum = 0;
    let max = -Infinity;
    for (let i = 0; i < SAMPLES; i++) {
      const base = this.at + 1 + i * SAMPLE_SLOTS;
      if (nowMs - this.s[base]! >= SAMPLES * WINDOW_MS) continue;
      count += this.s[base + 1]!;
      sum += this.s[base + 2]!;
      max = Math.max(max, this.s[base + 3]!);
    }
    return { count, sum, max };
  }

  avg(nowMs: number): number {
    const l = this.live(nowMs);
    return l.count === 0 ? NaN : l.sum / l.count;
  }

  max(nowMs: number): number {
    const l = this.live(nowMs);
    return l.count === 0 ? NaN : l.max;
  }
}

export class RaftStats {
  private readonly s: Float64Array;
  /** The leader and epoch last counted as a change (the writer's own memory). */
  private counted = { leader: -1, epoch: -1 };
  /** Append to commit of the batches this node proposed as leader, microseconds. */
  readonly commitLatencyUs: LogHistogram;
  /** Milliseconds, as Kafka's commit-latency-avg/max. */
  readonly commitLatency: WindowedStat;
  /** Milliseconds, as Kafka's election-latency-avg/max. */
  readonly electionLatency: WindowedStat;

  constructor(buffer: SharedArrayBuffer) {
    this.s = new Float64Array(buffer, 0, HISTOGRAM_AT / 8);
    this.commitLatencyUs = new LogHistogram(buffer, HISTOGRAM_AT);
    this.commitLatency = new WindowedStat(this.s, COMMIT_WINDOW);
    this.electionLatency = new WindowedStat(this.s, ELECTION_WINDOW);
  }

  committed(latencyMs: number, nowMs: number): void {
    this.commitLatencyUs.record(latencyMs * 1000);
    this.commitLatency.record(latencyMs, nowMs);
  }

  elected(latencyMs: number, nowMs: number): void {
    this.electionLatency.record(latencyMs, nowMs);
  }

  /** The quorum's state after a round of the raft loop; a leader newly known counts as a change. */
  setState(leader: number, epoch: number, highWatermark: number, logEnd: number): void {
    const s = this.s;
    if (leader >= 0 && (leader !== this.counted.leader || epoch !== this.counted.epoch)) {
      this.counted = { leader, epoch };
      s[LEADER_CHANGES]!++;
    }
    s[LEADER] = leader;
    s[EPOCH] = epoch;
    s[HIGH_WATERMARK] = highWatermark;
    s[LOG_END] = logEnd;
  }

  get leader(): number {
    return this.s[LEADER]!;
  }

  get epoch(): number {
    return this.s[EPOCH]!;
  }

  get highWatermark(): number {
    return this.s[HIGH_WATERMARK]!;
  }

  get logEnd(): number {
    return this.s[LOG_END]!;
  }

  get leaderChanges(): number {
    return this.s[LEADER_CHANGES]!;
  }
}

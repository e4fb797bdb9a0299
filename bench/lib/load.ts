/**
 * The load generator's inner loop, run by one thread over its share of the connections.
 *
 * Closed loop (throughput): each connection keeps `inFlight` Produce requests outstanding,
 * each carrying one pre-built batch for every partition the connection writes; an answer
 * sends the next request at once. acks=0 has no answers: a send completes when the socket
 * has taken the bytes (TCP backpressure paces it), and at the end every connection sends
 * one acks=1 request whose answer shows when the broker has caught up (`fenceMs`).
 *
 * Open loop (latency): sends are scheduled at fixed intervals from the start time, one
 * batch to one partition each, cycling over connections and partitions, whatever the
 * broker does: a slow answer never delays the next send (no coordinated omission). Each
 * answer records two latencies in microseconds in HDR histograms that keep every sample:
 * from the actual write, and from the scheduled time (which adds this generator's timer
 * lateness, 1 ms resolution). Requests unanswered after the drain time are recorded as
 * waiting until then and counted.
 *
 * Only answers that arrive inside the measurement window (after the warm-up) count.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import { decodeProduceResponse } from '../../src/shared/protocol/generated/produce-response.js';
import { decodeResponseHeader } from '../../src/shared/protocol/headers.js';
import { Reader } from '../../src/shared/protocol/reader.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildBatch, buildProduceFrame, FramePool, PRODUCE_VERSION } from './produce-frames.js';
import { ClientConnection } from '../../src/shared/client-connection.js';

export interface ConnectionPlan {
  host: string;
  port: number;
  partitions: number[];
}

export interface LoadSpec {
  mode: 'closed' | 'open';
  connections: ConnectionPlan[];
  topic: string;
  acks: number;
  recordSize: number;
  recordsPerBatch: number;
  /** Closed loop: requests outstanding per connection. */
  inFlight: number;
  /** Open loop: records per second over all of this thread's connections. */
  rate: number;
  /** Epoch milliseconds at which sending starts, shared by all threads. */
  startAt: number;
  warmupMs: number;
  durationMs: number;
  /** Open loop: how long to wait for answers after the last scheduled send. */
  drainMs: number;
}

export interface LoadResult {
  records: number;
  requests: number;
  errors: Record<string, number>;
  /** acks=0: how long after the window the broker answered the closing acks=1 requests. */
  fenceMs: number;
  unanswered: number;
  /** Open loop: the furthest the sender fell behind its schedule, ms. */
  maxLagMs: number;
  /** HDR histograms (compressed base64, microseconds). */
  latency: string | null;
  scheduled: string | null;
}

const PRODUCE_TIMEOUT_MS = 30_000;

export function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

class Tally {
  records = 0;
  requests = 0;
  errors: Record<string, number> = {};

  error(name: string, n = 1): void {
    this.errors[name] = (this.errors[name] ?? 0) + n;
  }

  /** Counts an answer's accepted records; returns false when the answer carries errors. */
  answer(frame: Buffer, recordsPerBatch: number, counted: boolean): boolean {
    const r = new Reader(frame);
    decodeResponseHeader(r, ApiKey.Produce, PRODUCE_VERSION);
    const res = decodeProduceResponse(r, PRODUCE_VERSION);
    let ok = 0;
    let failed = false;
    for (const t of res.responses) {
      for (const p of t.partitionResponses) {
        if (p.errorCode === 0) ok++;
        else {
          failed = true;
          if (counted) this.error(`error code ${p.errorCode}`);
        }
      }
    }
    if (counted) {
      this.records += ok * recordsPerBatch;
      this.requests++;
    }
    return !failed;
  }
}

async function openConnections(spec: LoadSpec): Promise<ClientConnection[]> {
  return Promise.all(spec.connections.map((c) => ClientConnection.connect(c.host, c.port, { clientId: 'bench' })));
}

async function waitUntil(at: number): Promise<void> {
  const d = at - epochMs();
  if (d > 0) await sleep(d);
}

export async function runClosedLoop(spec: LoadSpec): Promise<LoadResult> {
  const conns = await openConnections(spec);
  const batch = buildBatch(spec.recordSize, spec.recordsPerBatch);
  const windowStart = spec.startAt + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const tally = new Tally();
  const expectsResponse = spec.acks !== 0;
  await waitUntil(spec.startAt);

  const finished = conns.map((conn, ci) => new Promise<void>((resolve) => {
    const plan = spec.connections[ci]!;
    const pool = new FramePool(buildProduceFrame(spec.topic, plan.partitions, batch, spec.acks, PRODUCE_TIMEOUT_MS));
    const sentRecords = plan.partitions.length * spec.recordsPerBatch;
    let outstanding = 0;
    let stopped = false;
    const sendOne = (): void => {
      const frame = pool.take();
      outstanding++;
      conn.send(frame, expectsResponse, (response, error) => {
        outstanding--;
        pool.give(frame);
        const now = epochMs();
        const counted = now >= windowStart && now < windowEnd;
        if (error) {
          if (counted || !stopped) tally.error(error.message);
          stopped = true;
        } else if (response) {
          tally.answer(response, spec.recordsPerBatch, counted);
        } else if (counted) {
          tally.records += sentRecords;
          tally.requests++;
        }
        if (now >= windowEnd) stopped = true;
        if (!stopped) sendOne();
        else if (outstanding === 0) resolve();
      });
    };
    for (let i = 0; i < spec.inFlight; i++) sendOne();
  }));
  await Promise.all(finished);

  let fenceMs = 0;
  if (!expectsResponse) {
    await Promise.all(conns.map((conn, ci) => new Promise<void>((resolve) => {
      const plan = spec.connections[ci]!;
      conn.send(buildProduceFrame(spec.topic, plan.partitions, batch, 1, PRODUCE_TIMEOUT_MS), true, (response, error) => {
        if (error) tally.error(`fence: ${error.message}`);
        fenceMs = Math.max(fenceMs, epochMs() - windowEnd);
        resolve();
      });
    })));
  }
  for (const c of conns) c.close();
  return { records: tally.records, requests: tally.requests, errors: tally.errors, fenceMs, unanswered: 0, maxLagMs: 0, latency: null, scheduled: null };
}

export async function runOpenLoop(spec: LoadSpec): Promise<LoadResult> {
  const conns = await openConnections(spec);
  const batch = buildBatch(spec.recordSize, spec.recordsPerBatch);
  const slots: Array<{ conn: ClientConnection; pool: FramePool }> = [];
  const widest = Math.max(...spec.connections.map((c) => c.partitions.length));
  for (let k = 0; k < widest; k++) {
    spec.connections.forEach((plan, ci) => {
      const partition = plan.partitions[k];
      if (partition === undefined) return;
      slots.push({ conn: conns[ci]!, pool: new FramePool(buildProduceFrame(spec.topic, [partition], batch, spec.acks, PRODUCE_TIMEOUT_MS)) });
    });
  }
  const intervalMs = (spec.recordsPerBatch * 1000) / spec.rate;
  const windowStart = spec.startAt + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const latency = newHistogram();
  const scheduled = newHistogram();
  const tally = new Tally();
  const waiting = new Set<number>();
  let maxLagMs = 0;
  let sendingDone = false;
  let next = spec.startAt;
  let k = 0;
  let resolveDrained: () => void = () => {};
  const drained = new Promise<void>((r) => { resolveDrained = r; });

  const send = (intended: number): void => {
    const slot = slots[k++ % slots.length]!;
    const frame = slot.pool.take();
    const sentAt = epochMs();
    waiting.add(intended);
    slot.conn.send(frame, true, (response, error) => {
      const now = epochMs();
      slot.pool.give(frame);
      if (!waiting.delete(intended)) return;
      const counted = intended >= windowStart;
      if (error) {
        if (counted) tally.error(error.message);
      } else if (response) {
        tally.answer(response, spec.recordsPerBatch, counted);
        if (counted) {
          latency.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
          scheduled.recordValue(Math.max(1, Math.round((now - intended) * 1000)));
        }
      }
      if (sendingDone && waiting.size === 0) resolveDrained();
    });
  };

  await waitUntil(spec.startAt);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = epochMs();
      if (next <= now) maxLagMs = Math.max(maxLagMs, now - next);
      while (next <= now && next < windowEnd) {
        send(next);
        next += intervalMs;
      }
      if (next >= windowEnd) resolve();
      else setTimeout(tick, Math.max(0, next - epochMs()));
    };
    tick();
  });
  sendingDone = true;
  if (waiting.size > 0) {
    const deadline = epochMs() + spec.drainMs;
    await Promise.race([drained, sleep(spec.drainMs)]);
    for (const intended of waiting) {
      if (intended < windowStart) continue;
      tally.error('unanswered');
      scheduled.recordValue(Math.round((deadline - intended) * 1000));
      latency.recordValue(Math.round((deadline - intended) * 1000));
    }
  }
  const unanswered = tally.errors['unanswered'] ?? 0;
  waiting.clear();
  for (const c of conns) c.close();
  return {
    records: tally.records,
    requests: tally.requests,
    errors: tally.errors,
    fenceMs: 0,
    unanswered,
    maxLagMs,
    latency: hdr.encodeIntoCompressedBase64(latency),
    scheduled: hdr.encodeIntoCompressedBase64(scheduled),
  };
}

export function runLoadHere(spec: LoadSpec): Promise<LoadResult> {
  return spec.mode === 'closed' ? runClosedLoop(spec) : runOpenLoop(spec);
}

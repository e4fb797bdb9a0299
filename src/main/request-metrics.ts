/**
 * Where each request's time went, per API and stage, the way Kafka's RequestMetrics splits
 * it, recorded into log histograms (log-histogram.ts) when the response leaves:
 *
 *   requestQueue   frame read -> its part taken up by a partition worker (main-thread
 *                  dispatch and the ring hop; for APIs served on the main thread, frame read
 *                  -> handler start)
 *   local          the worker validating and writing the batch (main-thread APIs: the handler)
 *   queued         written, waiting for a group-commit round to start
 *   sync           the group-commit fdatasync round
 *   remote         durable on this broker, waiting for the in-sync replicas (acks=all)
 *   responseQueue  the result's ring hop back and the main thread taking it up
 *   responseSend   encoding and handing the response to the socket
 *   total          frame read -> response handed to the socket
 *
 * A request with several partition parts is attributed by its slowest part, the one the
 * response waited for. All times are clock.ts milliseconds; histograms hold microseconds.
 *
 * Error codes are counted per API as Kafka's ErrorsPerSec counts them: every error code field
 * of each response (NONE included), so a Produce answer with two partitions, one written and
 * one refused, counts one NONE and one NOT_LEADER_OR_FOLLOWER.
 */
import { processNow } from '../shared/clock.js';
import { ErrorCode } from '../shared/errors.js';
import { LogHistogram } from '../shared/metrics/log-histogram.js';
import type { Encodable } from '../shared/protocol/codec.js';
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import type { FetchResponse } from '../shared/protocol/generated/fetch-response.js';
import type { ProduceResponse } from '../shared/protocol/generated/produce-response.js';
import { apiInfoByKey } from '../shared/protocol/index.js';

export const STAGES = ['requestQueue', 'local', 'queued', 'sync', 'remote', 'responseQueue', 'responseSend', 'total'] as const;
export type Stage = (typeof STAGES)[number];

/** A request's timestamps and worker-measured stages, filled as it goes (fields of its response slot). */
export interface RequestTiming {
  apiKey: number;
  /** The frame was read whole. */
  readAt: number;
  /** A worker took the request up (or the handler started on the main thread). */
  startedAt: number;
  /** Worker stages of the slowest part, microseconds (0: not reached). */
  localUs: number;
  queuedUs: number;
  syncUs: number;
  remoteUs: number;
  /** When the worker sent the slowest part's result (0: served on the main thread). */
  resultSentAt: number;
  /** The handler's answer was ready to encode. */
  answeredAt: number;
}

/** Fills a timing from the results of a request's parts: the slowest part is the one it waited for. */
export function attributeParts(
  t: RequestTiming,
  results: ReadonlyArray<{ sentAt?: number; toWorkerUs: number; localUs: number; queuedUs: number; syncUs: number; remoteUs: number }>,
): void {
  let slowest = -1;
  let worst = -1;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const spent = r.toWorkerUs + r.localUs + r.queuedUs + r.syncUs + r.remoteUs;
    if (spent > worst) {
      worst = spent;
      slowest = i;
    }
  }
  if (slowest < 0) return;
  const r = results[slowest]!;
  // Results read from a ring carry the time they were sent; one made here for a dead worker does not.
  const sentAt = r.sentAt ?? processNow();
  t.startedAt = sentAt - (r.localUs + r.queuedUs + r.syncUs + r.remoteUs) / 1000;
  t.localUs = r.localUs;
  t.queuedUs = r.queuedUs;
  t.syncUs = r.syncUs;
  t.remoteUs = r.remoteUs;
  t.resultSentAt = sentAt;
}

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** Kafka's name of an error code (the number itself for a code it does not know). */
export function errorName(code: number): string {
  return ERROR_NAMES.get(code) ?? String(code);
}

/**
 * Error codes lie at most this deep in a response (WriteTxnMarkers: markers, topics,
 * partitions); the bound also keeps the walk off anything that is not response data.
 */
const MAX_ERROR_DEPTH = 4;

/** Codes -1 (UNKNOWN_SERVER_ERROR) to 254 are counted in an array slot each, any other in a map. */
const ERROR_SLOTS = 256;

/** How many times each error code was answered, for one API. */
export class ErrorCounts {
  private readonly slots = new Float64Array(ERROR_SLOTS);
  private readonly other = new Map<number, number>();

  add(code: number | undefined): void {
    // An absent field is encoded as its default, NONE.
    const c = code ?? ErrorCode.NONE;
    if (c >= -1 && c < ERROR_SLOTS - 1) this.slots[c + 1]!++;
    else this.other.set(c, (this.other.get(c) ?? 0) + 1);
  }

  /** [code, count] of every code counted at least once. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < ERROR_SLOTS; i++) if (this.slots[i]! > 0) yield [i - 1, this.slots[i]!];
    yield* this.other;
  }
}

/**
 * Adds every error code of a response body to `into`. Produce and Fetch, answered at the
 * request rate, are read where their codes are; any other API's body is searched (nested
 * arrays of plain objects) for its `errorCode` fields.
 */
export function countErrorCodes(apiKey: number, body: object, into: ErrorCounts): void {
  if (apiKey === ApiKey.Produce) {
    for (const t of (body as Encodable<ProduceResponse>).responses ?? []) for (const p of t.partitionResponses ?? []) into.add(p.errorCode);
  } else if (apiKey === ApiKey.Fetch) {
    const f = body as Encodable<FetchResponse>;
    into.add(f.errorCode);
    for (const t of f.responses ?? []) for (const p of t.partitions ?? []) into.add(p.errorCode);
  } else {
    searchErrorCodes(body as Record<string, unknown>, into, 0);
  }
}

function searchErrorCodes(v: Record<string, unknown>, into: ErrorCounts, depth: number): void {
  for (const k in v) {
    const x = v[k];
    if (typeof x === 'number') {
      if (k === 'errorCode' || k === 'partitionErrorCode') into.add(x);
    } else if (depth < MAX_ERROR_DEPTH && Array.isArray(x)) {
      for (const e of x) {
        if (!isPlainObject(e)) break;
        searchErrorCodes(e, into, depth + 1);
      }
    } else if (depth < MAX_ERROR_DEPTH && isPlainObject(x)) {
      searchErrorCodes(x, into, depth + 1);
    }
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

interface ApiHistograms {
  name: string;
  stages: LogHistogram[];
  /** Responses' error codes, and how many times each was answered. */
  errors: ErrorCounts;
}

export class RequestMetrics {
  private readonly byApi = new Map<number, ApiHistograms>();

  private of(apiKey: number): ApiHistograms {
    let a = this.byApi.get(apiKey);
    if (!a) {
      a = { name: apiInfoByKey[apiKey]?.name ?? `api${apiKey}`, stages: STAGES.map(() => new LogHistogram()), errors: new ErrorCounts() };
      this.byApi.set(apiKey, a);
    }
    return a;
  }

  /** Counts the error codes of a response about to be encoded. */
  answered(apiKey: number, body: object): void {
    countErrorCodes(apiKey, body, this.of(apiKey).errors);
  }

  /** Records a request whose response was handed to the socket at `sentAt`. */
  record(t: RequestTiming, sentAt: number): void {
    const h = this.of(t.apiKey).stages;
    const started = t.startedAt || t.readAt;
    h[0]!.record((started - t.readAt) * 1000);
    if (t.resultSentAt) {
      h[1]!.record(t.localUs);
      h[2]!.record(t.queuedUs);
      h[3]!.record(t.syncUs);
      h[4]!.record(t.remoteUs);
      h[5]!.record((t.answeredAt - t.resultSentAt) * 1000);
    } else {
      h[1]!.record((t.answeredAt - started) * 1000);
    }
    h[6]!.record((sentAt - t.answeredAt) * 1000);
    h[7]!.record((sentAt - t.readAt) * 1000);
  }

  /** Every API's histograms by stage (live objects: snapshot them to compare later). */
  histograms(): Map<string, Record<Stage, LogHistogram>> {
    const out = new Map<string, Record<Stage, LogHistogram>>();
    for (const a of this.byApi.values()) {
      out.set(a.name, Object.fromEntries(STAGES.map((s, i) => [s, a.stages[i]!])) as Record<Stage, LogHistogram>);
    }
    return out;
  }

  /** Every API's error counts: [request, error name, count]. */
  *errors(): IterableIterator<[string, string, number]> {
    for (const a of this.byApi.values()) for (const [code, n] of a.errors.entries()) yield [a.name, errorName(code), n];
  }
}

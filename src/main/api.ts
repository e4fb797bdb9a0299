/**
 * What an API served by this broker is: its key, the versions served, its handler and its
 * error answer, typed by the request and response messages the codecs generate for that
 * key, so tsc checks every answer a handler gives against the response schema.
 */
import type { Encodable } from '../shared/protocol/codec.js';
import type { ApiMessages, RequestOf, ResponseOf } from '../shared/protocol/generated/codecs.js';
import type { RequestHeaderInfo } from '../shared/protocol/headers.js';
import type { Connection } from './connection.js';
import type { BrokerContext } from './context.js';
import type { RequestTiming } from './request-metrics.js';

export type ApiKeyNumber = keyof ApiMessages;

/** A response body for API K as handlers give it: any field may be left at its default. */
export type Answer<K extends ApiKeyNumber> = Encodable<ResponseOf<K>>;

/**
 * A handler answers with a response body, or null for no response (acks=0 produce). The
 * connection is there for the APIs that act on it (SASL) and for authorization; handlers that
 * send parts to the partition workers attribute the request's time with `timing`.
 */
export type Handler<K extends ApiKeyNumber> = (
  ctx: BrokerContext,
  req: RequestOf<K>,
  h: RequestHeaderInfo,
  conn: Connection,
  timing: RequestTiming,
) => Answer<K> | null | Promise<Answer<K> | null>;

/** API K's answer to a request that failed as a whole, with `errorCode` wherever the client looks for it. */
export type ErrorResponse<K extends ApiKeyNumber> = (req: RequestOf<K>, errorCode: number) => Answer<K>;

/** The error answer of the APIs whose response carries one error code for the whole request. */
export function onlyErrorCode(_req: unknown, errorCode: number): { errorCode: number } {
  return { errorCode };
}

export interface Api<K extends ApiKeyNumber> {
  apiKey: K;
  minVersion: number;
  maxVersion: number;
  handler: Handler<K>;
  /**
   * The answer when the whole request fails (a version out of range, a handler that throws,
   * a refusal by the authorizer): the error code on every item the request named, as Kafka's
   * broker answers, so the client sees the error where it looks for it.
   */
  errorResponse: ErrorResponse<K>;
}

/**
 * An entry as the dispatcher sees it, whatever its key. The request it is given is the one
 * the codec of the entry's own API key decoded, which is why one type can hold every entry:
 * the methods take the request as `unknown` and TypeScript compares method parameters both
 * ways, so each `Api<K>` is one.
 */
export interface ServedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  handler(ctx: BrokerContext, req: unknown, h: RequestHeaderInfo, conn: Connection, timing: RequestTiming): object | null | Promise<object | null>;
  errorResponse(req: unknown, errorCode: number): object;
}

/** An entry of the table, its types taken from its API key. */
export function api<K extends ApiKeyNumber>(entry: Api<K>): Api<K> {
  return entry;
}

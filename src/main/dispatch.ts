/**
 * Request dispatch: decodes the header and body of a frame, checks the version against the
 * registry, runs the API's handler and encodes its answer at the request's version.
 *
 * Failure modes, as a Kafka broker has them:
 * - unknown API key, or a header/body that does not decode: the connection is closed (the
 *   client's state is unknowable); one log line.
 * - ApiVersions at a version above ours: a v0 answer with UNSUPPORTED_VERSION listing what we
 *   serve (KIP-511), so the client can retry at a version we know.
 * - any other API at a version outside our range (but inside the schema's): the API's own
 *   error answer with UNSUPPORTED_VERSION.
 * - a handler that throws: the API's error answer with UNKNOWN_SERVER_ERROR; nothing crashes.
 */
import { processNow } from '../shared/clock.js';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { childLogger } from '../shared/logger.js';
import { decodeRequestHeader, type RequestHeaderInfo } from '../shared/protocol/headers.js';
import { encodeResponseFrame } from '../shared/protocol/frames.js';
import { requestCodecs } from '../shared/protocol/generated/codecs.js';
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import { Reader } from '../shared/protocol/reader.js';
import { Writer } from '../shared/protocol/writer.js';
import { onlyErrorCode, type ServedApi } from './api.js';
import { isSupported, SUPPORTED_APIS, VERSION_RANGES } from './api-table.js';
import type { Connection, ResponseSlot } from './connection.js';
import type { BrokerContext } from './context.js';
import { unsupportedApiVersionsResponse } from './handlers/api-versions.js';
import { authenticateToken } from './handlers/sasl.js';
import { guardRequest } from './security/api-authorization.js';

/** What a SASL listener serves before authentication. */
const PRE_AUTHENTICATION_APIS = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export class Dispatcher {
  private readonly log: Logger = childLogger({ thread: 'main', component: 'dispatch' });
  private readonly writer = new Writer(64 * 1024);

  constructor(private readonly ctx: BrokerContext) {}

  handle(frame: Buffer, slot: ResponseSlot, conn: Connection): void {
    const sasl = conn.sasl;
    if (sasl?.rawTokens && sasl.state === 'authenticate') {
      this.rawToken(frame, slot, conn);
      return;
    }
    let h: RequestHeaderInfo;
    try {
      h = decodeRequestHeader(frame);
    } catch (e) {
      slot.fail(`malformed request header: ${(e as Error).message}`);
      return;
    }
    if (h.apiKey === ApiKey.ApiVersions && !isSupported(h.apiKey, h.apiVersion)) {
      slot.complete(encodeResponseFrame(ApiKey.ApiVersions, 0, h.correlationId, unsupportedApiVersionsResponse(VERSION_RANGES), this.writer));
      return;
    }
    const codec = requestCodecs[h.apiKey];
    const served = SUPPORTED_APIS.get(h.apiKey);
    if (!codec) {
      slot.fail(`unknown API key ${h.apiKey}`);
      return;
    }
    const timing = slot.timing;
    timing.apiKey = h.apiKey;
    // A SASL listener serves nothing but the handshake until the client has authenticated,
    // and nothing once its session expired without re-authentication (Kafka closes both).
    if (sasl !== null && !PRE_AUTHENTICATION_APIS.has(h.apiKey)) {
      if (!sasl.mayServe) {
        slot.fail(`${codec.name} request before SASL authentication`);
        return;
      }
      if (sasl.expired()) {
        conn.close(`SASL session of ${conn.principal} expired (connections.max.reauth.ms)`, 'info');
        return;
      }
    }
    let req: unknown;
    try {
      req = codec.decode(new Reader(frame, h.headerLength), h.apiVersion);
    } catch (e) {
      slot.fail(`malformed ${codec.name} v${h.apiVersion} request: ${(e as Error).message}`);
      return;
    }
    if (!served || !isSupported(h.apiKey, h.apiVersion)) {
      this.log.debug({ api: codec.name, version: h.apiVersion, client: h.clientId }, 'unsupported version');
      this.answer(slot, h, (served?.errorResponse ?? onlyErrorCode)(req, ErrorCode.UNSUPPORTED_VERSION), conn);
      return;
    }
    let finish: ((resp: object | null) => object | null) | undefined;
    const access = this.ctx.access;
    if (access !== null) {
      const guard = guardRequest({
        can: (op, type, name) => access.allowed(conn, op, type, name),
        canAny: (op, type) => access.allowedOnAny(conn, op, type),
        metadata: this.ctx.metadata,
      }, req, h, served.errorResponse);
      if ('answer' in guard) {
        this.log.debug({ api: codec.name, principal: conn.principal, remote: conn.remote }, 'request refused by the authorizer');
        this.answer(slot, h, guard.answer, conn);
        return;
      }
      req = guard.req;
      finish = guard.finish;
    }
    let result: object | null | Promise<object | null>;
    timing.startedAt = processNow();
    try {
      result = served.handler(this.ctx, req, h, conn, timing);
      if (finish !== undefined) result = result instanceof Promise ? result.then(finish) : finish(result);
    } catch (e) {
      result = this.failed(h, served, req, e as Error);
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.answer(slot, h, r, conn),
        (e: Error) => this.answer(slot, h, this.failed(h, served, req, e), conn),
      );
    } else {
      this.answer(slot, h, result, conn);
    }
  }

  /** A bare SASL token after a v0 SaslHandshake (KIP-43): answered with a bare token frame. */
  private rawToken(frame: Buffer, slot: ResponseSlot, conn: Connection): void {
    authenticateToken(this.ctx, conn, frame).then(
      (r) => {
        // Without a header there is no error field: a refused token just closes the connection.
        if (r.errorCode !== ErrorCode.NONE) {
          slot.complete(null);
          return;
        }
        const size = Buffer.allocUnsafe(4);
        size.writeInt32BE(r.authBytes.length);
        slot.complete([size, r.authBytes]);
      },
      (e: Error) => slot.fail(`SASL token failed: ${e.message}`),
    );
  }

  private failed(h: RequestHeaderInfo, served: ServedApi, req: unknown, e: Error): object {
    this.log.error({ apiKey: h.apiKey, version: h.apiVersion, err: e.message, stack: e.stack }, 'request handler failed');
    return served.errorResponse(req, ErrorCode.UNKNOWN_SERVER_ERROR);
  }

  private answer(slot: ResponseSlot, h: RequestHeaderInfo, body: object | null, conn: Connection): void {
    slot.timing.answeredAt = processNow();
    if (body === null) {
      slot.complete(null);
      return;
    }
    if (conn.closed) return;
    this.ctx.requestMetrics.answered(h.apiKey, body);
    try {
      slot.complete(encodeResponseFrame(h.apiKey, h.apiVersion, h.correlationId, body, this.writer));
    } catch (e) {
      slot.fail(`cannot encode response: ${(e as Error).message}`);
    }
  }
}

/**
 * Request and response frame headers, and which header version each API version uses.
 *
 *   request header v0   api_key int16, api_version int16, correlation_id int32
 *   request header v1   v0 + client_id nullable string (int16 length)
 *   request header v2   v1 + tagged fields; client_id stays a classic int16-length
 *                       string even though the header is flexible
 *   response header v0  correlation_id int32
 *   response header v1  v0 + tagged fields
 *
 * Flexible API versions use request header v2 and response header v1, the others v1
 * and v0. Two exceptions: ControlledShutdown v0 uses request header v0, and an
 * ApiVersions response always uses response header v0 so that a client can read it
 * whatever version it asked for. Flexible ranges are open-ended, so a version newer than
 * this broker knows still resolves (a client probing ApiVersions v5 gets an answer).
 */
import { apiInfoByKey, ApiKey } from './generated/api-keys.js';
import { decodeRequestHeader as decodeRequestHeaderFields, encodeRequestHeader as encodeRequestHeaderFields } from './generated/request-header.js';
import { decodeResponseHeader as decodeResponseHeaderFields, encodeResponseHeader as encodeResponseHeaderFields } from './generated/response-header.js';
import { ProtocolDecodeError } from './errors.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

function isFlexible(flexibleFrom: number | null, apiVersion: number): boolean {
  return flexibleFrom !== null && apiVersion >= flexibleFrom;
}

/** Request header version for an API version, or -1 when the API key is unknown. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const info = apiInfoByKey[apiKey];
  if (info === undefined) return -1;
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return isFlexible(info.request.flexibleFrom, apiVersion) ? 2 : 1;
}

/** Response header version for an API version, or -1 when the API key is unknown. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const info = apiInfoByKey[apiKey];
  if (info === undefined) return -1;
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(info.response.flexibleFrom, apiVersion) ? 1 : 0;
}

export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Bytes the header takes; the request body starts here. */
  headerLength: number;
}

/**
 * Decodes the header of one request frame (the bytes after the 4-byte size prefix).
 * Only the API key and version are needed to choose the header layout.
 */
export function decodeRequestHeader(frame: Buffer): RequestHeaderInfo {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  if (headerVersion < 0) throw new ProtocolDecodeError(`unknown API key ${apiKey}`);
  r.pos = 0;
  const h = decodeRequestHeaderFields(r, headerVersion);
  return {
    apiKey,
    apiVersion,
    correlationId: h.correlationId,
    clientId: h.clientId,
    headerLength: r.pos,
  };
}

export function encodeRequestHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
): void {
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  encodeRequestHeaderFields(w, headerVersion, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId });
}

export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  encodeResponseHeaderFields(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}

/** Reads a response header; the caller knows which request it answers. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): { correlationId: number } {
  const headerVersion = responseHeaderVersion(apiKey, apiVersion);
  if (headerVersion < 0) throw new ProtocolDecodeError(`unknown API key ${apiKey}`);
  return decodeResponseHeaderFields(r, headerVersion);
}

import { ErrorCode } from '../../shared/errors.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ApiVersionsResponse, ApiVersionsResponseApiVersion } from '../../shared/protocol/generated/api-versions-response.js';

/** What the ApiVersions answer lists of an API. */
export type ApiVersionRange = Encodable<ApiVersionsResponseApiVersion>;

export function apiVersionsResponse(served: readonly ApiVersionRange[]): Encodable<ApiVersionsResponse> {
  return { errorCode: ErrorCode.NONE, apiKeys: served, throttleTimeMs: 0 };
}

/** KIP-511: a client asking with a newer version than ours gets this v0 answer and retries. */
export function unsupportedApiVersionsResponse(served: readonly ApiVersionRange[]): Encodable<ApiVersionsResponse> {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: served };
}

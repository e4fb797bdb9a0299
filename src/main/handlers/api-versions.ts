import { ErrorCode } from '../../shared/errors.js';
import { SUPPORTED_APIS } from '../api-versions.js';

function apiKeys(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...SUPPORTED_APIS.values()].map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));
}

export function handleApiVersions(): object {
  return { errorCode: ErrorCode.NONE, apiKeys: apiKeys(), throttleTimeMs: 0 };
}

/** KIP-511: a client asking with a newer version than ours gets this v0 answer and retries. */
export function unsupportedApiVersionsResponse(): object {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiKeys() };
}

import { ErrorCode } from '../../shared/errors.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ApiVersionsResponse, ApiVersionsResponseApiVersion } from '../../shared/protocol/generated/api-versions-response.js';
import { EPOCH_BUMP_VERSION } from '../../shared/transactions/txn-metadata.js';

/** What the ApiVersions answer lists of an API. */
export type ApiVersionRange = Encodable<ApiVersionsResponseApiVersion>;

/**
 * The features this broker serves (ApiVersions v3+, KIP-584), at the levels a Kafka 4.x
 * cluster finalizes by default. `transaction.version` 2 tells clients to use transactions v2
 * (KIP-890: the epoch bumped at every end, partitions added by the produce itself); clients
 * that do not read features go on with v1, which is served alongside. The levels never change
 * here, so the epoch of the finalized set is fixed.
 */
const FEATURES = [{ name: 'transaction.version', minVersion: 0, maxVersion: EPOCH_BUMP_VERSION, finalized: EPOCH_BUMP_VERSION }];
const FINALIZED_FEATURES_EPOCH = 0;

export function apiVersionsResponse(served: readonly ApiVersionRange[]): Encodable<ApiVersionsResponse> {
  return {
    errorCode: ErrorCode.NONE,
    apiKeys: served,
    throttleTimeMs: 0,
    supportedFeatures: FEATURES.map((f) => ({ name: f.name, minVersion: f.minVersion, maxVersion: f.maxVersion })),
    finalizedFeaturesEpoch: FINALIZED_FEATURES_EPOCH,
    finalizedFeatures: FEATURES.map((f) => ({ name: f.name, minVersionLevel: f.finalized, maxVersionLevel: f.finalized })),
  };
}

/** KIP-511: a client asking with a newer version than ours gets this v0 answer and retries. */
export function unsupportedApiVersionsResponse(served: readonly ApiVersionRange[]): Encodable<ApiVersionsResponse> {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: served };
}

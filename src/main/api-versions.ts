/**
 * The one registry of what this broker serves: API key -> supported version range. Both the
 * ApiVersions answer and the dispatcher read it, so they cannot disagree.
 */
import { ApiKey } from '../shared/protocol/generated/api-keys.js';

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

const ranges: [number, number, number][] = [
  [ApiKey.Produce, 3, 11],
  [ApiKey.Fetch, 4, 15],
  [ApiKey.ListOffsets, 1, 8],
  [ApiKey.Metadata, 0, 12],
  [ApiKey.ApiVersions, 0, 3],
  [ApiKey.CreateTopics, 2, 7],
  [ApiKey.DeleteTopics, 1, 6],
  [ApiKey.CreatePartitions, 0, 3],
  [ApiKey.DescribeConfigs, 0, 4],
  [ApiKey.DescribeCluster, 0, 1],
];

export const SUPPORTED_APIS: ReadonlyMap<number, SupportedApi> = new Map(
  ranges.map(([apiKey, minVersion, maxVersion]) => [apiKey, { apiKey, minVersion, maxVersion }]),
);

export function isSupported(apiKey: number, version: number): boolean {
  const a = SUPPORTED_APIS.get(apiKey);
  return a !== undefined && version >= a.minVersion && version <= a.maxVersion;
}

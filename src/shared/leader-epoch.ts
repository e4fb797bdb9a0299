/**
 * The leader epoch check Kafka makes on every request that names the epoch it expects
 * (Fetch, ListOffsets, OffsetsForLeaderEpoch): a request for an older epoch than the leader
 * was given comes from someone who missed a leader change (FENCED_LEADER_EPOCH); one for a
 * newer epoch means this leader has not been given that epoch yet (UNKNOWN_LEADER_EPOCH).
 * Both are retriable: the sender refreshes its metadata, or waits for the leader's. A
 * negative request epoch skips the check, as clients that do not track epochs send -1.
 */
import { ErrorCode } from './errors.js';

export function leaderEpochError(givenEpoch: number, requestEpoch: number): number {
  if (requestEpoch < 0) return ErrorCode.NONE;
  if (requestEpoch < givenEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (requestEpoch > givenEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}

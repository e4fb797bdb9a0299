/**
 * Thrown by the decompressors (snappy.ts, lz4-frame.ts, zstd.ts) when a body would expand past
 * the bound their caller set, as opposed to a body that does not decode: the two get
 * different answers (compression.ts).
 */
export class OverBoundError extends Error {
  override readonly name = 'OverBoundError';
}

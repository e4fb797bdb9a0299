/**
 * The compression codecs of Kafka record batches (attributes bits 0-2): 0 none, 1 gzip,
 * 2 snappy, 3 lz4, 4 zstd; 5-7 are unassigned. Decompression of a batch's records section,
 * for the leader to check what it is about to store. Pure: bytes in, bytes out.
 *
 * Kafka's leader reads a compressed batch as a stream and never holds it whole; here the
 * records are decompressed into one buffer, so the size is bounded (uncompressedLimit), and a
 * small body that would expand past the bound is refused before or as soon as it passes it,
 * never after allocating it: gzip stops at zlib's maxOutputLength, snappy and lz4 read the
 * sizes their headers declare first, zstd checks its frame headers and stops between blocks.
 */
import { gunzipSync } from 'node:zlib';
import { ErrorCode } from './errors.js';
import { lz4FrameDecompress } from './lz4-frame.js';
import { OverBoundError } from './over-bound-error.js';
import { snappyDecompress } from './snappy.js';
import { zstdDecompress } from './zstd.js';

export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export type Decompressed = { ok: true; records: Buffer } | { ok: false; errorCode: number; errorMessage: string };

/**
 * The most a batch may decompress to. Real producers stay far below it: librdkafka caps a
 * batch's uncompressed size at batch.size (1 MB by default, and at most message.max.bytes);
 * the Java producer fills batch.size (16 KiB by default) with compressed bytes, so even text
 * that compresses 100:1 stays under 2 MiB. A batch may be message.max.bytes compressed, so the
 * bound grows with it, at 16 times, more than text or JSON usually compresses. The floor keeps
 * a small message.max.bytes from refusing batches of highly compressible data. Above the bound
 * the answer is MESSAGE_TOO_LARGE, on which the Java producer splits the batch and retries.
 * Meanwhile gzip can expand 1,000 times and zstd or snappy's copies far more, so without a
 * bound a 1 MiB body could ask for gigabytes.
 */
export function uncompressedLimit(maxMessageBytes: number): number {
  return Math.max(64 * 1024 * 1024, 16 * maxMessageBytes);
}

/**
 * Decompresses a batch's records section. An unknown codec is UNSUPPORTED_COMPRESSION_TYPE,
 * a body over `maxBytes` MESSAGE_TOO_LARGE, and any other failure to decode CORRUPT_MESSAGE:
 * no input makes this throw.
 */
export function decompressRecords(codec: number, body: Uint8Array, maxBytes: number): Decompressed {
  const name = CODEC_NAMES[codec];
  if (name === undefined || codec === Codec.NONE) {
    return { ok: false, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, errorMessage: `unknown compression codec ${codec}` };
  }
  try {
    return { ok: true, records: decode(codec, body, maxBytes) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof OverBoundError || (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')) {
      return { ok: false, errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMessage: `${name} records larger than ${maxBytes} bytes: ${message}` };
    }
    return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: `${name} records do not decompress: ${message}` };
  }
}

function decode(codec: number, body: Uint8Array, maxBytes: number): Buffer {
  switch (codec) {
    case Codec.GZIP: // past maxOutputLength zlib throws ERR_BUFFER_TOO_LARGE
      return gunzipSync(body, { maxOutputLength: maxBytes });
    case Codec.SNAPPY:
      return snappyDecompress(body, maxBytes);
    case Codec.LZ4:
      return lz4FrameDecompress(body, maxBytes);
    default:
      return zstdDecompress(body, maxBytes);
  }
}

/**
 * Topic ids: metadata keeps them as 32 hex chars; the wire codecs use Kafka's string form
 * (url-safe base64 of the 16 bytes, no padding).
 */
export function hexToWireUuid(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

export function wireUuidToHex(uuid: string): string {
  return Buffer.from(uuid, 'base64url').toString('hex').padStart(32, '0');
}

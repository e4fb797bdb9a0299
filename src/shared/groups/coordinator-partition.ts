/**
 * Which partition of `__consumer_offsets` holds a group: Kafka's rule,
 * `abs(groupId.hashCode()) % partitions`, with Java's String.hashCode over UTF-16 code units,
 * so a group lands on the same partition number as on a Kafka broker.
 */

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's `String.hashCode()`: s[0]*31^(n-1) + ... + s[n-1], in 32-bit two's complement. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Kafka's `Utils.abs` maps Integer.MIN_VALUE to 0 (Math.abs would overflow in Java), so the
 * same is done here.
 */
export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHashCode(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

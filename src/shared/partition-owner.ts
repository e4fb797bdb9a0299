/**
 * Which partition worker owns a partition: a stable hash of "topic-partition", so the same
 * worker count maps a partition to the same worker on every start.
 */
export function partitionOwner(topic: string, partition: number, workers: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= partition & 0xff;
  h = Math.imul(h, 0x01000193);
  h ^= (partition >>> 8) & 0xffffff;
  h = Math.imul(h, 0x01000193);
  return (h >>> 0) % workers;
}

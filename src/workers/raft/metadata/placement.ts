/**
 * Replica placement, Kafka's rack-unaware scheme (`assignReplicasToBrokersRackUnaware`):
 * the first replica of partition p goes to broker (startIndex + p) mod n, so partition
 * leaders spread evenly; the followers are shifted by a step that grows every n partitions,
 * so the followers of one broker's partitions spread over the others as well.
 */

/**
 * @param brokerIds live brokers, sorted; at least `replicationFactor` of them
 * @param startIndex position in brokerIds of partition `firstPartition`'s first replica (0..n-1)
 * @param replicaShift initial follower shift (0..n-1)
 * @returns replicas of partitions firstPartition .. firstPartition + count - 1
 */
export function placeReplicas(
  brokerIds: readonly number[],
  count: number,
  replicationFactor: number,
  firstPartition: number,
  startIndex: number,
  replicaShift: number,
): number[][] {
  const n = brokerIds.length;
  const out: number[][] = [];
  let shift = replicaShift;
  for (let p = firstPartition; p < firstPartition + count; p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const first = (p + startIndex) % n;
    const replicas = [brokerIds[first]!];
    for (let j = 0; j < replicationFactor - 1; j++) {
      replicas.push(brokerIds[(first + 1 + ((shift + j) % (n - 1))) % n]!);
    }
    out.push(replicas);
  }
  return out;
}

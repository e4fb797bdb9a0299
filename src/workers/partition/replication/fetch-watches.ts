/**
 * Long-poll fetches waiting on partitions of this worker. A fetch request (one id, many
 * partitions) found nothing to return and waits: a consumer's fetch wakes when a partition's
 * high watermark moves, a follower's when new data is appended. Waking a request once ends its
 * watch on every partition (the main thread then fetches them all again). Pure bookkeeping.
 */
export class FetchWatches<K> {
  /** partition -> request id -> whether the request is a follower's */
  private readonly byPartition = new Map<K, Map<number, boolean>>();
  private readonly byRequest = new Map<number, K[]>();

  watch(req: number, partition: K, follower: boolean): void {
    let reqs = this.byPartition.get(partition);
    if (!reqs) this.byPartition.set(partition, (reqs = new Map()));
    reqs.set(req, follower);
    const keys = this.byRequest.get(req);
    if (keys) keys.push(partition);
    else this.byRequest.set(req, [partition]);
  }

  unwatch(req: number): void {
    const keys = this.byRequest.get(req);
    if (!keys) return;
    this.byRequest.delete(req);
    for (const k of keys) {
      const reqs = this.byPartition.get(k);
      if (!reqs) continue;
      reqs.delete(req);
      if (reqs.size === 0) this.byPartition.delete(k);
    }
  }

  /** The requests to wake on `partition`: followers' (new data) or consumers' (new high watermark). */
  wake(partition: K, followers: boolean): number[] {
    const reqs = this.byPartition.get(partition);
    if (!reqs) return [];
    const woken: number[] = [];
    for (const [req, follower] of [...reqs]) {
      if (follower !== followers) continue;
      this.unwatch(req);
      woken.push(req);
    }
    return woken;
  }
}

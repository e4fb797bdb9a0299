/**
 * What a checker client knows of the cluster, learned the way Kafka's clients learn it: ask one
 * broker (a bootstrap address at first, then any broker an answer named) for Metadata, use its
 * answer, and ask again after an error. Nothing here asks every broker and picks the best
 * answer: a broker that answers from stale metadata sends the client to the wrong leader, and
 * the checker sees what a real client would.
 *
 * As in Kafka's client (KIP-320), a partition's state from an answer with an older leader
 * epoch than the one already known is ignored. Each refresh starts at the next broker in turn,
 * so a broker that keeps answering badly does not hold every refresh; one that does not answer
 * within the deadline is skipped for the next.
 */
import type { Address, BrokerLinks, PartitionState } from './client.js';

/** Kafka's retry.backoff.ms: however many callers ask, at most one refresh per this many ms. */
const REFRESH_BACKOFF_MS = 100;

export interface Leader {
  id: number;
  address: Address;
  epoch: number;
}

export class MetadataView {
  private readonly brokers = new Map<number, Address>();
  private state: PartitionState[] = [];
  private turn = 0;
  private refreshing: Promise<boolean> | undefined;
  private refreshedAt = 0;

  constructor(
    private readonly bootstrap: Address[],
    private readonly topic: string,
    private readonly links: BrokerLinks,
    private readonly deadlineMs = 1500,
  ) {
    if (bootstrap.length === 0) throw new Error('no bootstrap address');
  }

  /** The partition's leader as last learned, or undefined when none is known. */
  leader(partition: number): Leader | undefined {
    const p = this.state[partition];
    if (!p || p.leader < 0) return undefined;
    const address = this.brokers.get(p.leader);
    return address === undefined ? undefined : { id: p.leader, address, epoch: p.leaderEpoch };
  }

  partitions(): readonly PartitionState[] {
    return this.state;
  }

  /** A broker's address, once any answer has named it. */
  address(nodeId: number): Address | undefined {
    return this.brokers.get(nodeId);
  }

  /** The node ids of every broker an answer has named. */
  brokerIds(): number[] {
    return [...this.brokers.keys()].sort((a, b) => a - b);
  }

  /** Asks one broker (the next in turn that answers) and takes its answer; false when none answered. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const wait = Math.max(0, this.refreshedAt + REFRESH_BACKOFF_MS - Date.now());
      this.refreshing = new Promise<void>((r) => setTimeout(r, wait))
        .then(() => this.askOne())
        .finally(() => {
          this.refreshedAt = Date.now();
          this.refreshing = undefined;
        });
    }
    return this.refreshing;
  }

  private candidates(): Address[] {
    const all = [...new Set([...[...this.brokers].sort((a, b) => a[0] - b[0]).map(([, a]) => a), ...this.bootstrap])];
    const start = this.turn++ % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  private async askOne(): Promise<boolean> {
    for (const address of this.candidates()) {
      const r = await this.links.metadata(address, this.topic, this.deadlineMs);
      if (r.kind !== 'ok') continue;
      for (const [id, a] of r.value.brokers) this.brokers.set(id, a);
      if (r.value.partitions.length === 0) continue;
      this.state = r.value.partitions.map((p) => {
        const known = this.state[p.partition];
        return known && known.leaderEpoch > p.leaderEpoch ? known : p;
      });
      return true;
    }
    return false;
  }
}

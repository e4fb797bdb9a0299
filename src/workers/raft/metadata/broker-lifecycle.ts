/**
 * Broker lifecycle (Kafka's ClusterControlManager and BrokerHeartbeatManager): a registration
 * creates (or replaces) a fenced broker; a heartbeat from a broker that has applied the log up
 * to its own registration unfences it; a broker silent for `brokerSessionTimeoutMs` is fenced
 * by `fenceDue`, and so is one asking for a controlled shutdown. A process that dies closes its
 * sockets, so a closed connection to a broker is a strong hint that it is gone: `fenceDue`
 * fences it `brokerFastFenceMs` after the close unless a heartbeat or registration of the same
 * incarnation arrives first. Fencing a live broker by mistake costs availability, never data:
 * its leader epochs are stale from then on, so it cannot grow an ISR or acknowledge a write,
 * and it is unfenced again by its next heartbeat. Fencing removes the broker from every ISR it
 * is in (except as the last member) and moves its leaderships to a live ISR member, or to -1
 * when there is none: no unclean election. Unfencing gives the broker back the leaderless
 * partitions whose ISR holds it.
 *
 * The one state of its own is each broker's last heartbeat time (and last connection close),
 * which is not replicated: a new leader gives every broker a full session from the moment it
 * takes over (as Kafka's controller does).
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { ListenerEndpoint } from '../../../shared/metadata-types.js';
import type { ControllerSettings } from './controller-settings.js';
import type { MetadataImage } from './image.js';
import type { Decision, MetadataRecord } from './records.js';
import { sameMembers } from './replica-sets.js';

export interface BrokerRegistration {
  brokerId: number;
  incarnationId: string;
  host: string;
  port: number;
  listeners: ListenerEndpoint[];
  rack: string | null;
}

export interface BrokerHeartbeat {
  brokerId: number;
  brokerEpoch: number;
  /** Offset of the last metadata entry the broker has applied. */
  metadataOffset: number;
  /** Controlled shutdown: fence now and move leaderships away. */
  wantShutDown: boolean;
}

export interface HeartbeatReply { errorCode: number; fenced: boolean }

export class BrokerLifecycle {
  private readonly lastHeartbeatMs = new Map<number, number>();
  /** Unfenced brokers whose connection closed, and when, with no heartbeat from them since. */
  private readonly disconnectedAtMs = new Map<number, number>();

  constructor(
    private readonly image: MetadataImage,
    private readonly settings: Pick<ControllerSettings, 'brokerSessionTimeoutMs' | 'brokerFastFenceMs'>,
    private readonly activatedAtMs: number,
  ) {}

  registerBroker(req: BrokerRegistration, nowMs: number): Decision<{ errorCode: number }> {
    this.lastHeartbeatMs.set(req.brokerId, nowMs);
    this.disconnectedAtMs.delete(req.brokerId);
    const existing = this.image.brokers.get(req.brokerId);
    if (existing !== undefined && existing.incarnationId === req.incarnationId) {
      return { records: [], result: { errorCode: ErrorCode.NONE } };
    }
    // A new incarnation means the previous one is gone: its leaderships and ISR places go too.
    const records: MetadataRecord[] = [{
      type: 'registerBroker', brokerId: req.brokerId, brokerEpoch: 0, incarnationId: req.incarnationId,
      host: req.host, port: req.port, listeners: req.listeners, rack: req.rack, fenced: true,
    }];
    if (existing !== undefined) records.push(...this.removeFromPartitions(req.brokerId));
    return { records, result: { errorCode: ErrorCode.NONE } };
  }

  heartbeat(req: BrokerHeartbeat, nowMs: number): Decision<HeartbeatReply> {
    const broker = this.image.brokers.get(req.brokerId);
    if (broker === undefined) {
      return { records: [], result: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, fenced: true } };
    }
    if (broker.epoch !== req.brokerEpoch) {
      return { records: [], result: { errorCode: ErrorCode.STALE_BROKER_EPOCH, fenced: true } };
    }
    this.lastHeartbeatMs.set(req.brokerId, nowMs);
    this.disconnectedAtMs.delete(req.brokerId);
    if (req.wantShutDown) {
      return { records: broker.fenced ? [] : this.fence(req.brokerId), result: { errorCode: ErrorCode.NONE, fenced: true } };
    }
    if (broker.fenced && req.metadataOffset >= broker.epoch) {
      return { records: this.unfence(req.brokerId), result: { errorCode: ErrorCode.NONE, fenced: false } };
    }
    return { records: [], result: { errorCode: ErrorCode.NONE, fenced: broker.fenced } };
  }

  /**
   * The connection to a broker closed at `atMs`. Only the first close counts until the broker
   * is heard from again, so that reconnect attempts that fail do not push its fencing back.
   */
  brokerDisconnected(brokerId: number, atMs: number): void {
    const broker = this.image.brokers.get(brokerId);
    if (broker === undefined || broker.fenced || this.settings.brokerFastFenceMs === undefined) return;
    if (!this.disconnectedAtMs.has(brokerId)) this.disconnectedAtMs.set(brokerId, atMs);
  }

  /** When `tick` must next run to fence a disconnected broker on time, or undefined when none is. */
  nextFastFenceMs(): number | undefined {
    const grace = this.settings.brokerFastFenceMs;
    const closes = [...this.disconnectedAtMs].filter(([id]) => this.image.isLive(id)).map(([, at]) => at);
    return grace === undefined || closes.length === 0 ? undefined : Math.min(...closes) + grace;
  }

  /**
   * Fences at most one broker: one whose connection closed the grace period ago, else one
   * whose session expired (the next call takes the next one). Empty when none is due.
   */
  fenceDue(nowMs: number): MetadataRecord[] {
    const grace = this.settings.brokerFastFenceMs;
    for (const [id, closedAt] of this.disconnectedAtMs) {
      // Fenced since (the fence committed, or the broker left by itself): nothing left to do.
      if (!this.image.isLive(id)) {
        this.disconnectedAtMs.delete(id);
      } else if (grace !== undefined && nowMs - closedAt >= grace) {
        return this.fence(id);
      }
    }
    for (const broker of this.image.brokers.values()) {
      if (broker.fenced) continue;
      const last = this.lastHeartbeatMs.get(broker.id) ?? this.activatedAtMs;
      if (nowMs - last > this.settings.brokerSessionTimeoutMs) return this.fence(broker.id);
    }
    return [];
  }

  private fence(brokerId: number): MetadataRecord[] {
    const epoch = this.image.brokers.get(brokerId)!.epoch;
    return [{ type: 'fenceBroker', brokerId, brokerEpoch: epoch }, ...this.removeFromPartitions(brokerId)];
  }

  /**
   * Takes a departing broker out of every ISR (keeping it when it is the last member, so the
   * partition waits for it rather than losing data) and hands its leaderships to the first
   * live ISR member in replica order, or to nobody.
   */
  private removeFromPartitions(brokerId: number): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const topic of this.image.topicsById.values()) {
      for (const p of topic.partitions) {
        if (p.leader !== brokerId && !p.isr.includes(brokerId)) continue;
        const others = p.isr.filter((id) => id !== brokerId);
        const isr = others.length > 0 ? others : p.isr;
        let leader = p.leader;
        if (leader === brokerId || leader === -1) {
          leader = p.replicas.find((id) => id !== brokerId && others.includes(id) && this.image.isLive(id)) ?? -1;
        }
        if (leader === p.leader && sameMembers(isr, p.isr)) continue;
        out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader, isr });
      }
    }
    return out;
  }

  private unfence(brokerId: number): MetadataRecord[] {
    const epoch = this.image.brokers.get(brokerId)!.epoch;
    const out: MetadataRecord[] = [{ type: 'unfenceBroker', brokerId, brokerEpoch: epoch }];
    for (const topic of this.image.topicsById.values()) {
      for (const p of topic.partitions) {
        if (p.leader !== -1 || !p.isr.includes(brokerId)) continue;
        out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: brokerId, isr: p.isr });
      }
    }
    return out;
  }
}

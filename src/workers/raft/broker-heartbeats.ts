/**
 * This broker's side of its lifecycle (Kafka's BrokerLifecycleManager): registers with
 * whichever node leads the metadata quorum, registers again when the controller no longer
 * knows it, and heartbeats every `brokerHeartbeatIntervalMs` (more often while fenced, so it
 * is unfenced soon after it caught up). A leader change or a closed connection with the leader
 * wakes it to heartbeat at once, so a live broker is rarely fenced by mistake. At a stop it
 * asks for a controlled shutdown.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { RaftWorkerData } from '../../shared/metadata-types.js';
import type { ControllerRpc, RpcReplies } from './metadata/rpc.js';

/** How long a stopping broker waits for the controller to move its leaderships away. */
const CONTROLLED_SHUTDOWN_MS = 2_000;
/** While fenced, heartbeat this often so the broker is unfenced soon after it caught up. */
const FENCED_HEARTBEAT_MS = 100;

/** A request to the controller, retried across leader changes until `deadlineMs`. */
type CallController = <R extends ControllerRpc>(rpc: R, deadlineMs: number, signal?: AbortSignal) => Promise<RpcReplies[R['op']]>;

export class BrokerHeartbeats {
  private readonly incarnationId = randomBytes(16).toString('hex');
  /** Ends the broker's wait for its next heartbeat, when it is waiting. */
  private wakeHeartbeat: (() => void) | undefined;
  /** -1 until registered, and again once the controller no longer knows this registration. */
  brokerEpoch = -1;
  private fenced = true;

  constructor(
    private readonly data: RaftWorkerData,
    private readonly callController: CallController,
    /** Offset of the last metadata entry this broker applied. */
    private readonly metadataOffset: () => number,
    /** The registration at `brokerEpoch` committed. */
    private readonly registered: (brokerEpoch: number) => void,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {}

  /** Heartbeat now instead of at the end of the interval. */
  wake(): void {
    this.wakeHeartbeat?.();
  }

  async run(): Promise<void> {
    const signal = this.signal;
    const interval = this.data.settings.brokerHeartbeatIntervalMs;
    while (!signal.aborted) {
      const deadline = Date.now() + Math.max(interval * 2, 1000);
      try {
        if (this.brokerEpoch < 0) {
          const r = await this.callController({
            op: 'registerBroker',
            registration: {
              brokerId: this.data.nodeId, incarnationId: this.incarnationId,
              host: this.data.advertised.host, port: this.data.advertised.port, listeners: this.data.advertisedListeners, rack: this.data.rack,
            },
          }, deadline, signal);
          if (r.errorCode === ErrorCode.NONE) {
            this.brokerEpoch = r.brokerEpoch;
            this.log.info({ brokerEpoch: r.brokerEpoch, metadataOffset: this.metadataOffset() }, 'broker registered');
            this.registered(r.brokerEpoch);
            continue;
          }
        } else {
          const r = await this.callController({
            op: 'heartbeat',
            heartbeat: { brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch, metadataOffset: this.metadataOffset(), wantShutDown: false },
          }, deadline, signal);
          if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
            this.brokerEpoch = -1;
            continue;
          }
          if (r.fenced !== this.fenced) this.log.info({ fenced: r.fenced }, r.fenced ? 'broker fenced' : 'broker unfenced');
          this.fenced = r.fenced;
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.debug({ err }, 'broker heartbeat failed');
      }
      await this.untilNextHeartbeat(this.fenced ? Math.min(interval, FENCED_HEARTBEAT_MS) : interval);
    }
  }

  /** Waits `ms`, or less when woken by a leader change or a closed connection with the leader. */
  private untilNextHeartbeat(ms: number): Promise<void> {
    const signal = this.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wakeHeartbeat = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.wakeHeartbeat = done;
    });
  }

  /** A registered broker asks the controller to fence it now and move its leaderships away. */
  async controlledShutdown(): Promise<void> {
    if (this.brokerEpoch < 0) return;
    try {
      await this.callController({
        op: 'heartbeat',
        heartbeat: { brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch, metadataOffset: this.metadataOffset(), wantShutDown: true },
      }, Date.now() + CONTROLLED_SHUTDOWN_MS);
    } catch (err) {
      this.log.warn({ err }, 'controlled shutdown not acknowledged');
    }
  }
}

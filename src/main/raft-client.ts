/**
 * The main thread's handle on the raft worker: starts it, forwards admin requests (answered
 * after their records commit), and passes every published metadata snapshot on.
 *
 * It also hands out producer ids (InitProducerId) from blocks the controller allocates to
 * this broker, asking for the next block when a tenth of the current one is left, as
 * Kafka's broker does, so that a producer rarely waits for the controller.
 *
 * A raft worker that exits unasked (it crashed) answers nothing more: every request waiting on
 * it, and every later one, gets NOT_CONTROLLER at once, and `onExit` tells the broker, which
 * cannot go on without metadata.
 */
import { Worker } from 'node:worker_threads';
import { failAcls, failAllTopics, failConfigs, failElections, failUsers } from '../shared/admin-results.js';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type {
  AdminRequest,
  AlterConfigsRequest,
  AlterPartitionResult,
  AlterScramRequest,
  ConfigResult,
  ElectLeadersRequest,
  ElectionResult,
  AlterReassignmentsRequest,
  ReassignmentResult,
  AclResult,
  CreateAclsRequest,
  DeleteAclsRequest,
  MainToRaftMessage,
  MetadataSnapshot,
  ProducerIdBlock,
  RaftToMainMessage,
  RaftWorkerData,
  TopicResult,
  UserResult,
} from '../shared/metadata-types.js';

const GONE = 'The metadata quorum of this broker stopped.';

/** How long an InitProducerId may wait for the controller before it answers a retriable error. */
const PRODUCER_ID_BLOCK_TIMEOUT_MS = 5_000;

export class RaftClient {
  private readonly worker: Worker;
  /** Request id -> the caller waiting for its answer (ids are unique across every kind), and its answer should the worker die. */
  private readonly pending = new Map<number, { resolve: (answer: never) => void; failed: () => unknown }>();
  private exited = false;
  private stopping = false;
  /** Producer ids [next, end) of the block in use; `spare` is the block fetched ahead. */
  private producerIds = { next: 0, end: 0, size: 0 };
  private spareBlock: ProducerIdBlock | undefined;
  private fetchingBlock: Promise<ProducerIdBlock> | undefined;
  private nextId = 1;
  private stopped: (() => void) | undefined;
  private first: Promise<MetadataSnapshot>;

  constructor(
    data: RaftWorkerData,
    private readonly logger: Logger,
    onMetadata: (s: MetadataSnapshot) => void,
    onExit: (code: number) => void,
  ) {
    this.worker = new Worker(new URL('../workers/raft/worker.js', import.meta.url), { workerData: data, name: 'raft-worker' });
    let resolveFirst!: (s: MetadataSnapshot) => void;
    let rejectFirst!: (e: Error) => void;
    this.first = new Promise((res, rej) => {
      resolveFirst = res;
      rejectFirst = rej;
    });
    // Start-up awaits `first` later; a failure before then must not count as unhandled.
    this.first.catch(() => undefined);
    this.worker.on('message', (m: RaftToMainMessage) => {
      switch (m.type) {
        case 'metadata':
          onMetadata(m.snapshot);
          resolveFirst(m.snapshot);
          break;
        case 'response':
          this.answer(m.id, m.results);
          break;
        case 'userResponse':
        case 'aclResponse':
        case 'configResponse':
        case 'electionResponse':
          this.answer(m.id, m.results);
          break;
        case 'alterPartitionResponse':
        case 'allocateProducerIdsResponse':
          this.answer(m.id, m.result);
          break;
        case 'stopped':
          this.stopped?.();
          break;
        case 'fatal':
          this.logger.error({ err: m.message }, 'raft worker failed');
          rejectFirst(new Error(`metadata quorum failed: ${m.message}`));
          break;
        default:
          break;
      }
    });
    this.worker.on('error', (e) => {
      this.logger.error({ err: e.message, stack: e.stack }, 'raft worker crashed');
      rejectFirst(e);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      rejectFirst(new Error(`raft worker exited with code ${code}`));
      this.stopped?.();
      if (this.stopping) return;
      this.logger.fatal({ code, waiting: this.pending.size }, 'raft worker exited');
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const p of waiting) p.resolve(p.failed() as never);
      onExit(code);
    });
  }

  /** Resolves once the raft worker has published its first snapshot (after its recovery). */
  firstMetadata(): Promise<void> {
    return this.first.then(() => undefined);
  }

  private answer(id: number, value: unknown): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.resolve(value as never);
  }

  /** Sends one request to the raft worker; resolves with the answer of the same id, or `failed()` once the worker is gone. */
  private call<T>(build: (id: number) => MainToRaftMessage, failed: () => T): Promise<T> {
    if (this.exited) return Promise.resolve(failed());
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, { resolve: resolve as (answer: never) => void, failed });
      this.worker.postMessage(build(id));
    });
  }

  request(req: AdminRequest): Promise<TopicResult[]> {
    return this.call((id) => ({ type: 'request', id, ...req }) as MainToRaftMessage, () => failAllTopics(req, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** SCRAM credential changes, answered per user once their records commit. */
  alterScram(req: Omit<AlterScramRequest, 'op'>): Promise<UserResult[]> {
    const msg = { op: 'alterUserScramCredentials', ...req } as AlterScramRequest;
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failUsers(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** ACL creations, answered one by one once their records commit. */
  createAcls(creations: CreateAclsRequest['creations'], timeoutMs: number): Promise<AclResult[]> {
    const msg: CreateAclsRequest = { op: 'createAcls', creations, timeoutMs };
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failAcls(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** ACL deletions, answered per filter (with the bindings removed) once their records commit. */
  deleteAcls(filters: DeleteAclsRequest['filters'], timeoutMs: number): Promise<AclResult[]> {
    const msg: DeleteAclsRequest = { op: 'deleteAcls', filters, timeoutMs };
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failAcls(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** Config changes, answered per resource once their records commit. */
  alterConfigs(req: Omit<AlterConfigsRequest, 'op'>): Promise<ConfigResult[]> {
    const msg: AlterConfigsRequest = { op: 'alterConfigs', ...req };
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failConfigs(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** Leader elections, answered per partition once their records commit. */
  electLeaders(req: Omit<ElectLeadersRequest, 'op'>): Promise<ElectionResult[]> {
    const msg: ElectLeadersRequest = { op: 'electLeaders', ...req };
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failElections(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** Reassignments started, replaced or cancelled, answered per partition once their records commit. */
  alterReassignments(req: Omit<AlterReassignmentsRequest, 'op'>): Promise<ReassignmentResult[]> {
    const msg: AlterReassignmentsRequest = { op: 'alterReassignments', ...req };
    return this.call((id) => ({ type: 'request', id, ...msg }), () => failElections(msg, ErrorCode.NOT_CONTROLLER, GONE));
  }

  /** Asks the controller to change a partition's ISR; this broker must lead the partition. */
  alterPartition(req: { topicId: string; partition: number; leaderEpoch: number; partitionEpoch: number; isr: number[] }): Promise<AlterPartitionResult> {
    return this.call(
      (id) => ({ type: 'request', id, op: 'alterPartition', brokerId: -1, brokerEpoch: -1, timeoutMs: 10_000, ...req }),
      () => ({ errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: GONE }),
    );
  }

  /** Asks the controller for a block of producer ids for this broker. */
  allocateProducerIds(timeoutMs: number): Promise<ProducerIdBlock> {
    return this.call(
      (id) => ({ type: 'request', id, op: 'allocateProducerIds', timeoutMs }),
      () => ({ errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: GONE, firstProducerId: -1, size: 0 }),
    );
  }

  /** A producer id no other producer of the cluster has, or the error that kept the controller from giving one. */
  async producerId(): Promise<{ errorCode: number; producerId: number }> {
    for (;;) {
      const ids = this.producerIds;
      if (ids.next < ids.end) {
        const producerId = ids.next++;
        if ((ids.end - ids.next) * 10 < ids.size && this.spareBlock === undefined) void this.fetchBlock();
        return { errorCode: ErrorCode.NONE, producerId };
      }
      const block = this.spareBlock ?? (await this.fetchBlock());
      if (block.errorCode !== ErrorCode.NONE) return { errorCode: block.errorCode, producerId: -1 };
      if (this.spareBlock === block) {
        this.spareBlock = undefined;
        this.producerIds = { next: block.firstProducerId, end: block.firstProducerId + block.size, size: block.size };
      }
    }
  }

  /** One block request at a time; a block that arrives is kept as the spare until needed. */
  private fetchBlock(): Promise<ProducerIdBlock> {
    this.fetchingBlock ??= this.allocateProducerIds(PRODUCER_ID_BLOCK_TIMEOUT_MS).then((block) => {
      this.fetchingBlock = undefined;
      if (block.errorCode === ErrorCode.NONE) this.spareBlock = block;
      return block;
    });
    return this.fetchingBlock;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    const done = new Promise<void>((r) => (this.stopped = r));
    this.worker.postMessage({ type: 'shutdown' } satisfies MainToRaftMessage);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await done;
    clearTimeout(timer);
    await this.worker.terminate();
  }
}

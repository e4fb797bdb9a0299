/**
 * The raft worker's answers to its main thread's requests: each kind of request has its
 * response message, and a request that is not carried out is answered with the error on
 * every item it named, so that every request gets its response.
 */
import { failAcls, failAllTopics, failConfigs, failElections, failUsers } from '../../shared/admin-results.js';
import type {
  AdminRequest,
  AllocateProducerIdsRequest,
  AlterConfigsRequest,
  AlterPartitionRequest,
  AlterReassignmentsRequest,
  AlterScramRequest,
  CreateAclsRequest,
  DeleteAclsRequest,
  ElectLeadersRequest,
  RaftToMainMessage,
} from '../../shared/metadata-types.js';
import type { ControllerRpc, RpcReplies } from './metadata/rpc.js';

export type WorkerRequest = AdminRequest | AlterPartitionRequest | AllocateProducerIdsRequest | AlterScramRequest | CreateAclsRequest | DeleteAclsRequest | AlterConfigsRequest | ElectLeadersRequest | AlterReassignmentsRequest;

/** Carries out a request through the controller, whichever node leads. */
export type CallController = <R extends ControllerRpc>(rpc: R) => Promise<RpcReplies[R['op']]>;

/**
 * Runs the request through `call` and answers with what the controller gave. The requests
 * that act for this broker (producer-id blocks, ISR changes) speak with its registration.
 */
export async function carryOut(
  msg: { id: number } & WorkerRequest,
  own: { brokerId: number; brokerEpoch: number },
  call: CallController,
): Promise<RaftToMainMessage> {
  const { id, ...rpc } = msg;
  switch (rpc.op) {
    case 'allocateProducerIds':
      return { type: 'allocateProducerIdsResponse', id, result: await call({ op: rpc.op, ...own }) };
    case 'alterPartition':
      return { type: 'alterPartitionResponse', id, result: await call({ ...rpc, ...own }) };
    case 'createAcls':
    case 'deleteAcls':
      return { type: 'aclResponse', id, results: await call(rpc) };
    case 'alterConfigs':
      return { type: 'configResponse', id, results: await call(rpc) };
    case 'electLeaders':
    case 'alterReassignments':
      return { type: 'electionResponse', id, results: await call(rpc) };
    case 'alterUserScramCredentials':
      return { type: 'userResponse', id, results: await call(rpc) };
    default:
      return { type: 'response', id, results: await call(rpc) };
  }
}

/** The answer to a request that failed, or will not be carried out. */
export function failedAnswer(msg: { id: number } & WorkerRequest, errorCode: number, errorMessage: string): RaftToMainMessage {
  if (msg.op === 'createAcls' || msg.op === 'deleteAcls') {
    return { type: 'aclResponse', id: msg.id, results: failAcls(msg, errorCode, errorMessage) };
  } else if (msg.op === 'electLeaders' || msg.op === 'alterReassignments') {
    return { type: 'electionResponse', id: msg.id, results: failElections(msg, errorCode, errorMessage) };
  } else if (msg.op === 'alterConfigs') {
    return { type: 'configResponse', id: msg.id, results: failConfigs(msg, errorCode, errorMessage) };
  } else if (msg.op === 'alterUserScramCredentials') {
    return { type: 'userResponse', id: msg.id, results: failUsers(msg, errorCode, errorMessage) };
  } else if (msg.op === 'allocateProducerIds') {
    return { type: 'allocateProducerIdsResponse', id: msg.id, result: { errorCode, errorMessage, firstProducerId: -1, size: 0 } };
  } else if (msg.op === 'alterPartition') {
    return { type: 'alterPartitionResponse', id: msg.id, result: { errorCode, errorMessage } };
  } else {
    return { type: 'response', id: msg.id, results: failAllTopics(msg, errorCode, errorMessage) };
  }
}

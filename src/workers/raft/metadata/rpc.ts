/**
 * Requests a broker sends to the controller (through the Raft leader, `callLeader`) and the
 * replies. Encoded as UTF-8 JSON: a handful of messages per heartbeat interval, between
 * cluster members only, so readability wins over compactness here.
 *
 *   request = ControllerRpc               ({ op: ..., ...fields })
 *   reply   = { status: 'ok', reply }     the op's result, after its records committed
 *           | { status: 'notController' } this node does not lead (any more): ask the new leader
 *           | { status: 'failed', message } the request could not be carried out
 */
import type {
  AclResult, AdminRequest, AlterConfigsRequest, ConfigResult, ElectionResult, ElectLeadersRequest, AlterReassignmentsRequest, ReassignmentResult, AlterPartitionRequest, CreateAclsRequest, DeleteAclsRequest, AlterPartitionResult, AlterScramRequest, ProducerIdBlock, TopicResult, UserResult,
} from '../../../shared/metadata-types.js';
import type { BrokerHeartbeat, BrokerRegistration, HeartbeatReply } from './broker-lifecycle.js';

export interface RegistrationReply { errorCode: number; brokerEpoch: number }

export type ControllerRpc =
  | { op: 'registerBroker'; registration: BrokerRegistration }
  | { op: 'heartbeat'; heartbeat: BrokerHeartbeat }
  | AdminRequest
  | AlterPartitionRequest
  | AlterScramRequest
  | CreateAclsRequest
  | DeleteAclsRequest
  | AlterConfigsRequest
  | ElectLeadersRequest
  | AlterReassignmentsRequest
  | { op: 'allocateProducerIds'; brokerId: number; brokerEpoch: number };

export interface RpcReplies {
  registerBroker: RegistrationReply;
  heartbeat: HeartbeatReply;
  createTopics: TopicResult[];
  deleteTopics: TopicResult[];
  createPartitions: TopicResult[];
  alterPartition: AlterPartitionResult;
  allocateProducerIds: ProducerIdBlock;
  alterUserScramCredentials: UserResult[];
  createAcls: AclResult[];
  deleteAcls: AclResult[];
  alterConfigs: ConfigResult[];
  electLeaders: ElectionResult[];
  alterReassignments: ReassignmentResult[];
}

export type RpcReply<K extends ControllerRpc['op'] = ControllerRpc['op']> =
  | { status: 'ok'; reply: RpcReplies[K] }
  | { status: 'notController' }
  | { status: 'failed'; message: string };

const OPS = new Set<string>([
  'registerBroker', 'heartbeat', 'createTopics', 'deleteTopics', 'createPartitions', 'alterPartition', 'allocateProducerIds',
  'alterUserScramCredentials', 'createAcls', 'deleteAcls', 'alterConfigs', 'electLeaders', 'alterReassignments',
]);
const STATUSES = new Set<string>(['ok', 'notController', 'failed']);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRpc(value: ControllerRpc | RpcReply): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Throws when the bytes are not a request this version knows. */
export function decodeRpc(data: Uint8Array): ControllerRpc {
  const v = JSON.parse(decoder.decode(data)) as { op?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.op !== 'string' || !OPS.has(v.op)) {
    throw new Error('not a controller request');
  }
  return v as ControllerRpc;
}

/** Throws when the bytes are not a reply. */
export function decodeRpcReply<K extends ControllerRpc['op']>(data: Uint8Array): RpcReply<K> {
  const v = JSON.parse(decoder.decode(data)) as { status?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.status !== 'string' || !STATUSES.has(v.status)) {
    throw new Error('not a controller reply');
  }
  return v as RpcReply<K>;
}

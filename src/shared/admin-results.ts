/** Answers for admin requests that will not be carried out: every item they name gets the same error. */
import type {
  AclResult, AdminRequest, AlterConfigsRequest, AlterReassignmentsRequest, AlterScramRequest, ConfigResult, CreateAclsRequest, DeleteAclsRequest,
  ElectionResult, ElectLeadersRequest, TopicResult, UserResult,
} from './metadata-types.js';

export function failAllTopics(req: AdminRequest, errorCode: number, errorMessage: string): TopicResult[] {
  if (req.op === 'deleteTopics') {
    return req.topics.map((t) => ('id' in t ? { name: '', id: t.id, errorCode, errorMessage } : { name: t.name, errorCode, errorMessage }));
  }
  return req.topics.map((t) => ({ name: t.name, errorCode, errorMessage }));
}

export function failAcls(req: CreateAclsRequest | DeleteAclsRequest, errorCode: number, errorMessage: string): AclResult[] {
  const n = req.op === 'createAcls' ? req.creations.length : req.filters.length;
  return Array.from({ length: n }, () => ({ errorCode, errorMessage, deleted: [] }));
}

export function failUsers(req: AlterScramRequest, errorCode: number, errorMessage: string): UserResult[] {
  const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.user))];
  return users.map((user) => ({ user, errorCode, errorMessage }));
}

/** Every named partition fails alike; with none named there is nothing to answer per partition. */
export function failElections(req: ElectLeadersRequest | AlterReassignmentsRequest, errorCode: number, errorMessage: string): ElectionResult[] {
  return (req.partitions ?? []).map((p) => ({ topic: p.topic, partition: p.partition, errorCode, errorMessage }));
}

export function failConfigs(req: AlterConfigsRequest, errorCode: number, errorMessage: string): ConfigResult[] {
  return req.resources.map(() => ({ errorCode, errorMessage }));
}

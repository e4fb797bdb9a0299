/**
 * CreateAcls, DescribeAcls and DeleteAcls. The bindings live in the metadata log: creations
 * and deletions go to the controller and are answered once committed; descriptions read the
 * committed ACLs of the metadata cache. Without an authorizer each answers SECURITY_DISABLED,
 * as Kafka does.
 */
import { filterMatches, type AclBinding, type AclFilter } from '../../shared/acl.js';
import { ErrorCode } from '../../shared/errors.js';
import type { CreateAclsRequest } from '../../shared/protocol/generated/create-acls-request.js';
import type { DeleteAclsRequest } from '../../shared/protocol/generated/delete-acls-request.js';
import type { DescribeAclsRequest } from '../../shared/protocol/generated/describe-acls-request.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { CreateAclsResponse } from '../../shared/protocol/generated/create-acls-response.js';
import type { DeleteAclsResponse } from '../../shared/protocol/generated/delete-acls-response.js';
import type { DescribeAclsResponse, DescribeAclsResponseAclDescription } from '../../shared/protocol/generated/describe-acls-response.js';

const DISABLED = 'No Authorizer is configured.';
const TIMEOUT_MS = 30_000;

export async function handleCreateAcls(ctx: BrokerContext, req: CreateAclsRequest): Promise<Encodable<CreateAclsResponse>> {
  if (ctx.access === null) return { results: req.creations.map(() => ({ errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: DISABLED })) };
  const creations: AclBinding[] = req.creations.map((c) => ({
    resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType,
    principal: c.principal, host: c.host, operation: c.operation, permissionType: c.permissionType,
  }));
  const results = await ctx.raft.createAcls(creations, TIMEOUT_MS);
  return { results: results.map((r) => ({ errorCode: r.errorCode, errorMessage: r.errorMessage })) };
}

function filterOf(f: DescribeAclsRequest | DeleteAclsRequest['filters'][number]): AclFilter {
  return {
    resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter, patternType: f.patternTypeFilter,
    principal: f.principalFilter, host: f.hostFilter, operation: f.operation, permissionType: f.permissionType,
  };
}

export function handleDescribeAcls(ctx: BrokerContext, req: DescribeAclsRequest): Encodable<DescribeAclsResponse> {
  if (ctx.access === null) return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: DISABLED, resources: [] };
  const filter = filterOf(req);
  const resources = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: Encodable<DescribeAclsResponseAclDescription>[] }>();
  for (const a of ctx.metadata.acls()) {
    if (!filterMatches(filter, a)) continue;
    const key = `${a.resourceType}\0${a.patternType}\0${a.resourceName}`;
    let r = resources.get(key);
    if (r === undefined) {
      r = { resourceType: a.resourceType, resourceName: a.resourceName, patternType: a.patternType, acls: [] };
      resources.set(key, r);
    }
    r.acls.push({ principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType });
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] };
}

export async function handleDeleteAcls(ctx: BrokerContext, req: DeleteAclsRequest): Promise<Encodable<DeleteAclsResponse>> {
  if (ctx.access === null) return { filterResults: req.filters.map(() => ({ errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: DISABLED, matchingAcls: [] })) };
  const results = await ctx.raft.deleteAcls(req.filters.map(filterOf), TIMEOUT_MS);
  return {
    filterResults: results.map((r) => ({
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      matchingAcls: (r.deleted ?? []).map((a) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...a })),
    })),
  };
}

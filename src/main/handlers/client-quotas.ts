/**
 * DescribeClientQuotas. This broker enforces no client quotas and stores none, so a valid
 * filter matches no entry; the filter is still checked as Kafka checks it. Admin tools ask for
 * quotas next to SCRAM credentials (`kafka-configs --describe --entity-type users`).
 */
import { ErrorCode } from '../../shared/errors.js';
import type { DescribeClientQuotasRequest } from '../../shared/protocol/generated/describe-client-quotas-request.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { DescribeClientQuotasResponse } from '../../shared/protocol/generated/describe-client-quotas-response.js';

const ENTITY_TYPES = new Set(['user', 'client-id', 'ip']);
/** Kafka's match types: the entity named by `match`, the default entity, any entity. */
const EXACT = 0;
const DEFAULT = 1;
const ANY = 2;

function filterError(req: DescribeClientQuotasRequest): string | null {
  const seen = new Set<string>();
  for (const c of req.components) {
    if (!ENTITY_TYPES.has(c.entityType)) return `Custom entity type '${c.entityType}' not supported`;
    if (seen.has(c.entityType)) return `Duplicate ${c.entityType} filter component entity type`;
    seen.add(c.entityType);
    if (c.matchType === EXACT && c.match === null) return `Filter of type EXACT for ${c.entityType} requires a match`;
    if ((c.matchType === DEFAULT || c.matchType === ANY) && c.match !== null) return `Filter of match type ${c.matchType} must not name an entity`;
    if (c.matchType < EXACT || c.matchType > ANY) return `Unknown match type ${c.matchType}`;
  }
  return null;
}

export function handleDescribeClientQuotas(_ctx: unknown, req: DescribeClientQuotasRequest): Encodable<DescribeClientQuotasResponse> {
  const error = filterError(req);
  if (error !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: error, entries: null };
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries: [] };
}

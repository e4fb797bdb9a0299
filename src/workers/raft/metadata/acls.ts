/**
 * The controller's decisions on ACLs (CreateAcls, DeleteAcls) against the committed image:
 * pure, the new ids passed in. A creation is checked as Kafka checks it and an identical stored
 * binding is not stored twice; a deletion filter removes every binding it matches, and
 * reports them.
 */
import { bindingError, filterMatches, sameBinding, type AclBinding, type AclFilter } from '../../../shared/acl.js';
import { ErrorCode } from '../../../shared/errors.js';
import type { AclResult } from '../../../shared/metadata-types.js';
import type { MetadataImage } from './image.js';
import type { Decision, MetadataRecord } from './records.js';

export function decideCreateAcls(image: MetadataImage, creations: readonly AclBinding[], newId: () => string): Decision<AclResult[]> {
  const records: MetadataRecord[] = [];
  const added: AclBinding[] = [];
  const result = creations.map((b): AclResult => {
    const error = bindingError(b);
    if (error !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: error };
    const exists = [...image.acls.values(), ...added].some((a) => sameBinding(a, b));
    if (!exists) {
      let id = newId();
      while (image.acls.has(id)) id = newId();
      const acl = { id, resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType };
      records.push({ type: 'accessControlEntry', ...acl });
      added.push(acl);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  });
  return { records, result };
}

export function decideDeleteAcls(image: MetadataImage, filters: readonly AclFilter[]): Decision<AclResult[]> {
  const removed = new Set<string>();
  const records: MetadataRecord[] = [];
  const result = filters.map((f): AclResult => {
    const deleted: AclBinding[] = [];
    for (const acl of image.acls.values()) {
      if (!filterMatches(f, acl)) continue;
      const { id, ...binding } = acl;
      deleted.push(binding);
      if (!removed.has(id)) {
        removed.add(id);
        records.push({ type: 'removeAccessControlEntry', id });
      }
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, deleted };
  });
  return { records, result };
}

/**
 * Kafka's StandardAuthorizer decision, as a pure function of the ACLs and settings: which
 * principal, from which host, may do which operation on which resource.
 *
 * - A super user (`super.users`, e.g. "User:admin;User:ops") may do anything.
 * - The ACLs that apply to a resource are those of its type whose pattern matches its name:
 *   LITERAL with the same name or the wildcard "*", PREFIXED with a prefix of the name.
 * - Among them, those naming the principal (or "User:*") and the host (or "*") decide:
 *   any DENY for the operation (or ALL) refuses; otherwise an ALLOW for the operation, for
 *   ALL, or for an operation that implies it (READ, WRITE, DELETE and ALTER imply DESCRIBE;
 *   ALTER_CONFIGS implies DESCRIBE_CONFIGS) permits.
 * - When no ACL at all applies to the resource, `allow.everyone.if.no.acl.found` decides;
 *   when some apply but none permits, the answer is no.
 */
import { AclOperation, AclPermission, PatternType, WILDCARD, type AclBinding } from './acl.js';

export interface AuthorizerSettings {
  superUsers: ReadonlySet<string>;
  allowEveryoneIfNoAclFound: boolean;
}

export interface Action {
  principal: string;
  host: string;
  operation: number;
  resourceType: number;
  resourceName: string;
}

const IMPLIED_BY: Partial<Record<number, number[]>> = {
  [AclOperation.DESCRIBE]: [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
  [AclOperation.DESCRIBE_CONFIGS]: [AclOperation.ALTER_CONFIGS],
};

function principalMatches(acl: AclBinding, principal: string): boolean {
  return acl.principal === principal || (acl.principal === 'User:*' && principal.startsWith('User:'));
}

function hostMatches(acl: AclBinding, host: string): boolean {
  return acl.host === WILDCARD || acl.host === host;
}

function resourceMatches(acl: AclBinding, type: number, name: string): boolean {
  if (acl.resourceType !== type) return false;
  if (acl.patternType === PatternType.LITERAL) return acl.resourceName === name || acl.resourceName === WILDCARD;
  return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
}

export class Authorizer {
  /** ACLs by resource type, so a check reads only its type's. */
  private readonly byType = new Map<number, AclBinding[]>();

  constructor(
    acls: readonly AclBinding[],
    private readonly settings: AuthorizerSettings,
  ) {
    for (const a of acls) {
      const list = this.byType.get(a.resourceType) ?? [];
      list.push(a);
      this.byType.set(a.resourceType, list);
    }
  }

  authorize(a: Action): boolean {
    if (this.settings.superUsers.has(a.principal)) return true;
    let applies = false;
    let allowed = false;
    for (const acl of this.byType.get(a.resourceType) ?? []) {
      if (!resourceMatches(acl, a.resourceType, a.resourceName)) continue;
      applies = true;
      if (!principalMatches(acl, a.principal) || !hostMatches(acl, a.host)) continue;
      if (acl.permissionType === AclPermission.DENY) {
        if (acl.operation === AclOperation.ALL || acl.operation === a.operation) return false;
      } else if (acl.operation === AclOperation.ALL || acl.operation === a.operation || (IMPLIED_BY[a.operation]?.includes(acl.operation) ?? false)) {
        allowed = true;
      }
    }
    return allowed || (!applies && this.settings.allowEveryoneIfNoAclFound);
  }

  /**
   * Whether the principal may do the operation on some resource of the type (Kafka's
   * authorizeByResourceType, used for idempotent producers): an ALLOW that no DENY covers
   * entirely, or no ACL of the type at all when everyone is allowed then.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.settings.superUsers.has(principal)) return true;
    const acls = (this.byType.get(resourceType) ?? []).filter((acl) => principalMatches(acl, principal) && hostMatches(acl, host));
    const denies = acls.filter((d) => d.permissionType === AclPermission.DENY && (d.operation === AclOperation.ALL || d.operation === operation));
    const covered = (allow: AclBinding): boolean => denies.some((d) =>
      (d.patternType === PatternType.LITERAL && (d.resourceName === WILDCARD || (allow.patternType === PatternType.LITERAL && d.resourceName === allow.resourceName)))
      || (d.patternType === PatternType.PREFIXED && allow.resourceName.startsWith(d.resourceName)));
    const allowed = acls.some((acl) => acl.permissionType === AclPermission.ALLOW
      && (acl.operation === AclOperation.ALL || acl.operation === operation) && !covered(acl));
    if (allowed) return true;
    return this.settings.allowEveryoneIfNoAclFound && (this.byType.get(resourceType)?.length ?? 0) === 0;
  }
}


/**
 * The broker's authorizer (`authorizer.class.name` set to Kafka's StandardAuthorizer): the
 * pure Authorizer over the ACLs of the latest committed metadata, rebuilt when they change,
 * asked with a connection's principal and host.
 */
import type { AclBinding } from '../../shared/acl.js';
import { Authorizer, type AuthorizerSettings } from '../../shared/authorizer.js';
import type { Connection } from '../connection.js';
import type { MetadataCache } from '../metadata-cache.js';

export class AccessControl {
  private built: { acls: readonly AclBinding[]; authorizer: Authorizer } | null = null;

  constructor(
    private readonly metadata: MetadataCache,
    private readonly settings: AuthorizerSettings,
  ) {}

  private authorizer(): Authorizer {
    const acls = this.metadata.acls();
    if (this.built?.acls !== acls) this.built = { acls, authorizer: new Authorizer(acls, this.settings) };
    return this.built.authorizer;
  }

  allowed(conn: Connection, operation: number, resourceType: number, resourceName: string): boolean {
    return this.authorizer().authorize({ principal: conn.principal, host: hostOf(conn), operation, resourceType, resourceName });
  }

  allowedOnAny(conn: Connection, operation: number, resourceType: number): boolean {
    return this.authorizer().authorizeAny(conn.principal, hostOf(conn), operation, resourceType);
  }
}

/** The client's address as ACL hosts name it (an IPv4 client on a dual-stack socket without its ::ffff: prefix). */
function hostOf(conn: Connection): string {
  const a = conn.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * The SASL state of one connection on a SASL listener, as a pure state machine (the
 * dispatcher feeds it SaslHandshake and SaslAuthenticate requests, or raw tokens after a v0
 * handshake; the clock and the credential lookups are passed in).
 *
 *   handshake ──SaslHandshake(enabled mechanism)──▶ authenticate ──last token ok──▶ authenticated
 *       │                                               │                             │
 *       └─unknown mechanism / out of order──▶ failed ◀──┴─bad token / credentials     │
 *   authenticated ──SaslHandshake (re-authentication, KIP-368)──▶ authenticate ───────┘
 *
 * Before `authenticated` only ApiVersions, SaslHandshake and SaslAuthenticate are served;
 * anything else closes the connection, as Kafka does. A failed session answers with Kafka's
 * error and the connection is closed. Re-authentication must keep the mechanism and the
 * principal. When `connections.max.reauth.ms` is set the session expires that long after
 * authentication: the client re-authenticates before, or its connection is closed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SaslMechanism, SaslSettings } from '../../shared/listener-security.js';
import { ErrorCode } from '../../shared/errors.js';
import { ScramError, ScramServer, type ScramCredential, type ScramMechanism } from '../../shared/scram.js';

export interface SaslDeps {
  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined;
  nonce(): string;
  nowMs(): number;
}

export type SaslState = 'handshake' | 'authenticate' | 'authenticated' | 'failed';

/** The answer to one token: bytes for the client, and whether and how the exchange ended. */
export interface TokenResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** 0, or how long the session lasts from now (SaslAuthenticate v1+). */
  sessionLifetimeMs: number;
  /** Set when this token completed a successful authentication. */
  principal?: string;
}

export class SaslSession {
  state: SaslState = 'handshake';
  mechanism: SaslMechanism | null = null;
  /** After a v0 SaslHandshake the tokens come as bare size-prefixed frames (no request header). */
  rawTokens = false;
  principal: string | null = null;
  /** The user the current or last exchange named, for the log ('' when none yet). */
  attemptedUser = '';
  /** Whether the last SCRAM exchange used the nonce form of librdkafka before 2.6.1. */
  repeatedClientNonce = false;
  /** When the authenticated session ends (Infinity: never). */
  expiresAtMs = Infinity;
  private scram: ScramServer | null = null;
  /** SCRAM messages received in this exchange: 0 before client-first, 1 after it. */
  private scramStep = 0;

  constructor(
    private readonly settings: SaslSettings,
    private readonly deps: SaslDeps,
  ) {}

  get authenticated(): boolean {
    return this.state === 'authenticated';
  }

  /** Whether other requests are served: authenticated once and not failed (also while re-authenticating). */
  get mayServe(): boolean {
    return this.principal !== null && this.state !== 'failed';
  }

  expired(): boolean {
    return this.state === 'authenticated' && this.deps.nowMs() >= this.expiresAtMs;
  }

  handshake(mechanism: string, version: number): { errorCode: number; mechanisms: string[] } {
    const mechanisms = [...this.settings.mechanisms];
    if (this.state !== 'handshake' && this.state !== 'authenticated') {
      this.state = 'failed';
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    const enabled = mechanisms.find((m) => m === mechanism);
    // Re-authentication keeps the mechanism it started with (KIP-368).
    if (enabled === undefined || (this.principal !== null && enabled !== this.mechanism)) {
      this.state = 'failed';
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    this.mechanism = enabled;
    this.state = 'authenticate';
    this.rawTokens = version === 0;
    this.scramStep = 0;
    this.scram = enabled === 'PLAIN' ? null : new ScramServer(enabled, {
      credential: (user) => this.deps.scramCredential(user, enabled),
      nonce: this.deps.nonce,
    });
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** One SaslAuthenticate token (or raw token). */
  authenticate(token: Buffer): TokenResult {
    if (this.state !== 'authenticate') {
      this.state = 'failed';
      return this.failure(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate is only valid after a SaslHandshake');
    }
    if (this.mechanism === 'PLAIN') return this.plain(token);
    try {
      if (this.scramStep === 0) {
        this.scramStep = 1;
        const serverFirst = this.scram!.first(token);
        this.attemptedUser = this.scram!.user;
        return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: serverFirst, sessionLifetimeMs: 0 };
      }
      const { serverFinal, user } = this.scram!.final(token);
      this.repeatedClientNonce = this.scram!.repeatedClientNonce;
      return this.succeed(user, serverFinal);
    } catch (e) {
      if (!(e instanceof ScramError)) throw e;
      const why = e.message === 'invalid credentials'
        ? `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`
        : `Authentication failed: ${e.message}`;
      this.state = 'failed';
      return this.failure(ErrorCode.SASL_AUTHENTICATION_FAILED, why);
    }
  }

  private plain(token: Buffer): TokenResult {
    this.state = 'failed';
    const parts = token.toString('utf8').split('\0');
    if (parts.length !== 3) return this.failure(ErrorCode.SASL_AUTHENTICATION_FAILED, 'Authentication failed: malformed PLAIN token');
    const [authzid, user, password] = parts as [string, string, string];
    this.attemptedUser = user;
    if (authzid !== '' && authzid !== user) {
      return this.failure(ErrorCode.SASL_AUTHENTICATION_FAILED, 'Authentication failed: Client requested an authorization id that is different from username');
    }
    const expected = Object.hasOwn(this.settings.plainUsers, user) ? this.settings.plainUsers[user]! : undefined;
    // Compared as digests, so the time taken says nothing about the password's length.
    const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
    const ok = expected !== undefined && user !== '' && timingSafeEqual(digest(password), digest(expected));
    if (!ok) return this.failure(ErrorCode.SASL_AUTHENTICATION_FAILED, 'Authentication failed: Invalid username or password');
    return this.succeed(user, Buffer.alloc(0));
  }

  private succeed(user: string, authBytes: Buffer): TokenResult {
    const principal = `User:${user}`;
    if (this.principal !== null && principal !== this.principal) {
      this.state = 'failed';
      return this.failure(ErrorCode.SASL_AUTHENTICATION_FAILED, 'Re-authentication must keep the principal');
    }
    this.state = 'authenticated';
    this.principal = principal;
    this.scramStep = 0;
    this.scram = null;
    const lifetime = this.settings.reauthMs;
    this.expiresAtMs = lifetime > 0 ? this.deps.nowMs() + lifetime : Infinity;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes, sessionLifetimeMs: lifetime, principal };
  }

  private failure(errorCode: number, errorMessage: string): TokenResult {
    return { errorCode, errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  }
}

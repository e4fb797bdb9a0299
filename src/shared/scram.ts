/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses them: the credential a
 * broker stores (salt, StoredKey, ServerKey, iterations: never the password), and the server's
 * side of one authentication exchange as a pure state machine (randomness and credential
 * lookup passed in).
 *
 *   client-first   n,[a=authzid],n=user,r=cnonce[,ext...]
 *   server-first   r=cnonce+snonce,s=base64(salt),i=iterations
 *   client-final   c=base64(gs2-header),r=cnonce+snonce,p=base64(ClientProof)
 *   server-final   v=base64(ServerSignature)
 *
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage), and the proof holds when
 * H(ClientKey) = StoredKey. AuthMessage = client-first-bare "," server-first ","
 * client-final-without-proof.
 *
 * The nonce of client-final must be the server's combined nonce (a replay of an old exchange
 * cannot carry it). librdkafka before 2.6.1 sends its own nonce once more in front of the
 * combined one (cnonce + cnonce + snonce): the server's fresh part is still there and the proof
 * covers the nonce as sent, so that form is accepted too. Kafka 4 brokers compare strictly and
 * refuse those clients with "invalid credentials".
 */
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's wire numbers for the mechanisms (DescribeUserScramCredentials, AlterUserScramCredentials). */
export const SCRAM_MECHANISM_CODES: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function mechanismOfCode(code: number): ScramMechanism | null {
  return code === 1 ? 'SCRAM-SHA-256' : code === 2 ? 'SCRAM-SHA-512' : null;
}

/** Iteration counts Kafka accepts for a stored credential. */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

export interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

function hashName(m: ScramMechanism): 'sha256' | 'sha512' {
  return m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

function hmac(m: ScramMechanism, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(hashName(m), key).update(data).digest();
}

export function saltedPassword(m: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, m === 'SCRAM-SHA-256' ? 32 : 64, hashName(m));
}

/** The stored credential from a salted password (what AlterUserScramCredentials carries). */
export function credentialFromSalted(m: ScramMechanism, salted: Buffer, salt: Buffer, iterations: number): ScramCredential {
  const clientKey = hmac(m, salted, 'Client Key');
  return {
    salt,
    storedKey: createHash(hashName(m)).update(clientKey).digest(),
    serverKey: hmac(m, salted, 'Server Key'),
    iterations,
  };
}

export function credentialFromPassword(m: ScramMechanism, password: string, salt: Buffer, iterations: number): ScramCredential {
  return credentialFromSalted(m, saltedPassword(m, password, salt, iterations), salt, iterations);
}

export class ScramError extends Error {}

/** Decodes a SCRAM user name (`=2C` is ',', `=3D` is '='); throws on other escapes. */
function decodeName(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new ScramError('invalid user name escape');
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(msg: string): { key: string; value: string }[] {
  return msg.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=') throw new ScramError(`malformed attribute '${part.slice(0, 20)}'`);
    return { key: part[0]!, value: part.slice(2) };
  });
}

export interface ScramServerDeps {
  /** The stored credential of a user for this mechanism, or undefined when it has none. */
  credential(user: string): ScramCredential | undefined;
  /** A fresh random nonce (printable, no ','). */
  nonce(): string;
}

/**
 * One server-side exchange. `first` takes client-first and returns server-first; `final`
 * takes client-final and returns server-final with the authenticated user. Either throws a
 * ScramError when the client is refused; the message names the reason, never a secret.
 */
export class ScramServer {
  private state: 'first' | 'final' | 'done' = 'first';
  /** The user named in client-first ('' before it). */
  user = '';
  /** Whether client-final carried the client nonce twice (librdkafka before 2.6.1). */
  repeatedClientNonce = false;
  private clientFirstBare = '';
  private serverFirst = '';
  private clientNonce = '';
  private nonce = '';
  private gs2Header = '';
  private credential: ScramCredential | undefined;
  /** Stand-in for an unknown user, so the exchange fails at the proof like a wrong password. */
  private readonly decoy: ScramCredential;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly deps: ScramServerDeps,
  ) {
    const zero = Buffer.alloc(mechanism === 'SCRAM-SHA-256' ? 32 : 64);
    this.decoy = { salt: createHash('sha256').update(deps.nonce()).digest(), storedKey: zero, serverKey: zero, iterations: MIN_ITERATIONS };
  }

  first(message: Buffer): Buffer {
    if (this.state !== 'first') throw new ScramError('unexpected client-first message');
    this.state = 'final';
    const text = message.toString('utf8');
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/.exec(text);
    if (!m) throw new ScramError('malformed client-first message');
    if (m[1]!.startsWith('p=')) throw new ScramError('channel binding is not supported');
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3]!;
    const attrs = attributes(this.clientFirstBare);
    if (attrs[0]?.key !== 'n' || attrs[1]?.key !== 'r') throw new ScramError('client-first message lacks n= and r=');
    if (attrs.slice(2).some((a) => a.key === 'm')) throw new ScramError('mandatory extensions are not supported');
    // Kafka's delegation-token extension: tokens are not issued by this broker.
    if (attrs.slice(2).some((a) => a.key === 't' || this.clientFirstBare.includes('tokenauth=true'))) {
      throw new ScramError('delegation tokens are not supported');
    }
    this.user = decodeName(attrs[0].value);
    this.clientNonce = attrs[1].value;
    if (this.user === '' || this.clientNonce === '') throw new ScramError('empty user name or nonce');
    const authzid = m[2] === undefined ? '' : decodeName(m[2].slice(2));
    if (authzid !== '' && authzid !== this.user) throw new ScramError('authorization id differs from the user name');
    this.credential = this.deps.credential(this.user);
    const c = this.credential ?? this.decoy;
    this.nonce = this.clientNonce + this.deps.nonce();
    this.serverFirst = `r=${this.nonce},s=${c.salt.toString('base64')},i=${c.iterations}`;
    return Buffer.from(this.serverFirst, 'utf8');
  }

  final(message: Buffer): { serverFinal: Buffer; user: string } {
    if (this.state !== 'final') throw new ScramError('unexpected client-final message');
    this.state = 'done';
    const text = message.toString('utf8');
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('client-final message lacks a proof');
    const withoutProof = text.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs[0]?.key !== 'c' || attrs[1]?.key !== 'r') throw new ScramError('client-final message lacks c= and r=');
    if (Buffer.from(attrs[0].value, 'base64').toString('utf8') !== this.gs2Header) throw new ScramError('channel binding differs from client-first');
    const nonce = attrs[1].value;
    if (nonce !== this.nonce && nonce !== this.clientNonce + this.nonce) throw new ScramError('nonce differs from the server\'s');
    this.repeatedClientNonce = nonce !== this.nonce;
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const c = this.credential ?? this.decoy;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.mechanism, c.storedKey, authMessage);
    if (this.credential === undefined || proof.length !== signature.length) throw new ScramError('invalid credentials');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const stored = createHash(hashName(this.mechanism)).update(clientKey).digest();
    if (!timingSafeEqual(stored, c.storedKey)) throw new ScramError('invalid credentials');
    const serverSignature = hmac(this.mechanism, c.serverKey, authMessage);
    return { serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), user: this.user };
  }
}

/**
 * The client's side of one exchange (a broker authenticating to another): client-first, then
 * client-final from server-first, then the check of the server's signature, which proves the
 * server holds the credential too.
 */
export class ScramClient {
  private readonly bare: string;
  private authMessage = '';
  private salted: Buffer = Buffer.alloc(0);

  constructor(
    private readonly mechanism: ScramMechanism,
    user: string,
    private readonly password: string,
    private readonly nonce: string,
  ) {
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.bare}`, 'utf8');
  }

  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString('utf8');
    const attrs = new Map(attributes(text).map((a) => [a.key, a.value]));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce === this.nonce) throw new ScramError('server nonce does not extend the client nonce');
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) throw new ScramError(`server asked for ${attrs.get('i')} iterations`);
    this.salted = saltedPassword(this.mechanism, this.password, salt, iterations);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
    this.authMessage = `${this.bare},${text},${withoutProof}`;
    const clientKey = hmac(this.mechanism, this.salted, 'Client Key');
    const storedKey = createHash(hashName(this.mechanism)).update(clientKey).digest();
    const signature = hmac(this.mechanism, storedKey, this.authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  verify(serverFinal: Buffer): void {
    const text = serverFinal.toString('utf8');
    if (text.startsWith('e=')) throw new ScramError(`server refused: ${text.slice(2)}`);
    const expected = hmac(this.mechanism, hmac(this.mechanism, this.salted, 'Server Key'), this.authMessage);
    const got = Buffer.from(text.startsWith('v=') ? text.slice(2) : '', 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new ScramError('the server signature does not match');
  }
}

/**
 * Java's JKS key store (keytool's format before PKCS#12): magic 0xFEEDFEED, version 1 or 2,
 * entries, and a SHA-1 digest over the password (UTF-16BE), the words "Mighty Aphrodite" and
 * everything before it. Private keys are PKCS#8 protected by Sun's KeyProtector: a keystream of
 * chained SHA-1 digests of the password and a 20-byte salt, XORed over the key, followed by a
 * SHA-1 of the password and the plain key that checks it. Without a password the digest is not
 * checked, as Java's KeyStore.load does with a null password (trust stores only).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { children, expect, oid, parseDer, TAG } from './der.js';
import { KeyStoreError, type StoreEntries } from './key-store-types.js';

const MAGIC = 0xfeedfeed;
const PRIVATE_KEY = 1;
const TRUSTED_CERT = 2;
const KEY_PROTECTOR = '1.3.6.1.4.1.42.2.17.1.1';

function utf16be(password: string): Buffer {
  const b = Buffer.alloc(2 * password.length);
  for (let i = 0; i < password.length; i++) b.writeUInt16BE(password.charCodeAt(i), 2 * i);
  return b;
}

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  take(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new KeyStoreError('format', 'truncated JKS file');
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  u16(): number { return this.take(2).readUInt16BE(0); }
  u32(): number { return this.take(4).readUInt32BE(0); }
  /** Java's writeUTF: a 2-byte length, then modified UTF-8 (aliases, certificate types). */
  utf(): string { return this.take(this.u16()).toString('utf8'); }

  certificate(version: number): Buffer {
    if (version === 2 && this.utf() !== 'X.509') throw new KeyStoreError('format', 'JKS certificate of a type other than X.509');
    return this.take(this.u32());
  }
}

/** Sun's KeyProtector.recover: the PKCS#8 key inside its EncryptedPrivateKeyInfo. */
function recoverKey(encryptedInfo: Buffer, password: string): Buffer {
  const [alg, data] = children(expect(parseDer(encryptedInfo), TAG.SEQUENCE, 'JKS key'));
  const algOid = oid(children(expect(alg, TAG.SEQUENCE, 'JKS key'))[0], 'JKS key');
  if (algOid !== KEY_PROTECTOR) throw new KeyStoreError('format', `JKS key protection ${algOid} is not supported`);
  const p = expect(data, TAG.OCTET_STRING, 'JKS key').contents;
  if (p.length < 40) throw new KeyStoreError('format', 'JKS key too short');
  const salt = p.subarray(0, 20);
  const encrypted = p.subarray(20, p.length - 20);
  const check = p.subarray(p.length - 20);
  const pw = utf16be(password);
  const plain = Buffer.alloc(encrypted.length);
  let digest = salt;
  for (let i = 0; i < encrypted.length; i += 20) {
    digest = createHash('sha1').update(pw).update(digest).digest();
    for (let j = 0; j < 20 && i + j < encrypted.length; j++) plain[i + j] = encrypted[i + j]! ^ digest[j]!;
  }
  if (!timingSafeEqual(createHash('sha1').update(pw).update(plain).digest(), check)) throw new KeyStoreError('key-password', 'private key: wrong password');
  return plain;
}

/**
 * The entries of a JKS file; `storePassword` null skips the integrity check, `keyPassword`
 * null skips the private keys (a trust store).
 */
export function readJks(file: Buffer, storePassword: string | null, keyPassword: string | null): StoreEntries {
  const r = new Reader(file);
  if (file.length < 12 || r.u32() !== MAGIC) throw new KeyStoreError('format', 'not a JKS file (no 0xFEEDFEED magic)');
  const version = r.u32();
  if (version !== 1 && version !== 2) throw new KeyStoreError('format', `JKS version ${version} is not supported`);
  if (storePassword !== null) {
    const body = file.subarray(0, file.length - 20);
    const digest = createHash('sha1').update(utf16be(storePassword)).update('Mighty Aphrodite', 'utf8').update(body).digest();
    if (!timingSafeEqual(digest, file.subarray(file.length - 20))) throw new KeyStoreError('store-password', 'integrity check failed');
  }
  const entries: StoreEntries = { keys: [], certificates: [], chains: [] };
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const tag = r.u32();
    r.utf();
    r.take(8);
    if (tag === PRIVATE_KEY) {
      const encrypted = r.take(r.u32());
      const chain = Array.from({ length: r.u32() }, () => r.certificate(version));
      if (keyPassword === null) continue;
      entries.keys.push(recoverKey(encrypted, keyPassword));
      entries.chains!.push(chain);
    } else if (tag === TRUSTED_CERT) {
      entries.certificates.push(r.certificate(version));
    } else {
      throw new KeyStoreError('format', `JKS entry type ${tag} is not supported (secret keys live in JCEKS)`);
    }
  }
  return entries;
}

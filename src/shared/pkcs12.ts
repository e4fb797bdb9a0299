/**
 * PKCS#12 (RFC 7292) stores as keytool and openssl write them: the integrity MAC checked with
 * the store password, safe contents plain or password-encrypted, shrouded private keys and
 * X.509 certificate bags. Encryption: PBES2 (PBKDF2 with an HMAC-SHA PRF, AES-CBC or 3DES),
 * what keytool (Java 11+) and openssl 3 use, and the older pbeWithSHAAnd3-KeyTripleDES-CBC.
 * RC2, openssl 1's default for certificates, is not in Node's crypto.
 */
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { children, expect, int, oid, parseDer, TAG, type Der } from './der.js';
import { KeyStoreError, type StoreEntries } from './key-store-types.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  sha1And3Des: '1.2.840.113549.1.12.1.3',
} as const;

const HASHES: Record<string, { name: string; block: number; size: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', block: 64, size: 20 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', block: 64, size: 28 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', block: 64, size: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', block: 128, size: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', block: 128, size: 64 },
};

const PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

/** The password as PKCS#12's own key derivation takes it: UTF-16BE with a terminating NUL. */
function bmpPassword(password: string): Buffer {
  const b = Buffer.alloc(2 * password.length + 2);
  for (let i = 0; i < password.length; i++) b.writeUInt16BE(password.charCodeAt(i), 2 * i);
  return b;
}

/** RFC 7292 appendix B.2: id 1 for keys, 2 for IVs, 3 for MAC keys. */
function pkcs12Kdf(hash: { name: string; block: number; size: number }, password: string, salt: Buffer, iterations: number, id: number, length: number): Buffer {
  const v = hash.block;
  const fill = (src: Buffer): Buffer => {
    const out = Buffer.alloc(src.length === 0 ? 0 : v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const pw = bmpPassword(password);
  const I = Buffer.concat([fill(salt), fill(pw)]);
  const D = Buffer.alloc(v, id);
  const out: Buffer[] = [];
  for (let produced = 0; produced < length; produced += hash.size) {
    let A = createHash(hash.name).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash(hash.name).update(A).digest();
    out.push(A);
    const B = fill(A);
    // I_j = (I_j + B + 1) mod 2^(8v), each v-byte block of I in turn.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

/** Decrypts data under an AlgorithmIdentifier of PBES2 or pbeWithSHAAnd3-KeyTripleDES-CBC. */
function decrypt(algorithm: Der, data: Buffer, password: string, what: string, wrong: 'store-password' | 'key-password'): Buffer {
  const [algOid, params] = children(algorithm);
  const alg = oid(algOid, what);
  let cipher: string;
  let key: Buffer;
  let iv: Buffer;
  if (alg === OID.pbes2) {
    const [kdf, scheme] = children(expect(params, TAG.SEQUENCE, what));
    const [kdfOid, kdfParams] = children(expect(kdf, TAG.SEQUENCE, what));
    if (oid(kdfOid, what) !== OID.pbkdf2) throw new KeyStoreError('format', `${what}: key derivation ${oid(kdfOid, what)} is not supported (PBKDF2 only)`);
    const [salt, iterations, ...rest] = children(expect(kdfParams, TAG.SEQUENCE, what));
    const prfDer = rest.find((d) => d.tag === TAG.SEQUENCE);
    const prf = prfDer === undefined ? 'sha1' : PRFS[oid(children(prfDer)[0], what)];
    const [schemeOid, ivDer] = children(expect(scheme, TAG.SEQUENCE, what));
    const c = CIPHERS[oid(schemeOid, what)];
    if (prf === undefined || c === undefined) throw new KeyStoreError('format', `${what}: PBES2 with ${prf === undefined ? 'this PRF' : oid(schemeOid, what)} is not supported`);
    cipher = c.name;
    key = pbkdf2Sync(Buffer.from(password, 'utf8'), expect(salt, TAG.OCTET_STRING, what).contents, int(iterations, what), c.keyLength, prf);
    iv = expect(ivDer, TAG.OCTET_STRING, what).contents;
  } else if (alg === OID.sha1And3Des) {
    const [salt, iterations] = children(expect(params, TAG.SEQUENCE, what));
    const s = expect(salt, TAG.OCTET_STRING, what).contents;
    const n = int(iterations, what);
    const sha1 = HASHES['1.3.14.3.2.26']!;
    cipher = 'des-ede3-cbc';
    key = pkcs12Kdf(sha1, password, s, n, 1, 24);
    iv = pkcs12Kdf(sha1, password, s, n, 2, 8);
  } else {
    throw new KeyStoreError('format', `${what}: encryption ${alg} is not supported (PBES2 or pbeWithSHAAnd3-KeyTripleDES-CBC)`);
  }
  try {
    const d = createDecipheriv(cipher, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    // A wrong password shows as bad padding.
    throw new KeyStoreError(wrong, `${what}: cannot decrypt`);
  }
}

/** The octets of a ContentInfo of type data: `[0] EXPLICIT OCTET STRING`. */
function dataContent(info: Der[], what: string): Buffer {
  return expect(children(expect(info[1], TAG.CONTEXT_0, what))[0], TAG.OCTET_STRING, what).contents;
}

function verifyMac(macData: Der, authSafe: Buffer, password: string): void {
  const [digestInfo, salt, iterations] = children(macData);
  const [alg, digest] = children(expect(digestInfo, TAG.SEQUENCE, 'MAC'));
  const hashOid = oid(children(expect(alg, TAG.SEQUENCE, 'MAC'))[0], 'MAC');
  const hash = HASHES[hashOid];
  if (hash === undefined) throw new KeyStoreError('format', `MAC digest ${hashOid} is not supported`);
  const key = pkcs12Kdf(hash, password, expect(salt, TAG.OCTET_STRING, 'MAC').contents, iterations === undefined ? 1 : int(iterations, 'MAC'), 3, hash.size);
  const mac = createHmac(hash.name, key).update(authSafe).digest();
  const stored = expect(digest, TAG.OCTET_STRING, 'MAC').contents;
  if (stored.length !== mac.length || !timingSafeEqual(stored, mac)) throw new KeyStoreError('store-password', 'integrity check failed');
}

/**
 * The private keys (PKCS#8 DER) and certificates (DER) of a PKCS#12 file. The store password
 * checks the MAC and opens encrypted contents; keys are opened with `keyPassword`, or skipped
 * when it is null (a trust store).
 */
export function readPkcs12(file: Buffer, storePassword: string, keyPassword: string | null): StoreEntries {
  const pfx = children(expect(parseDer(file), TAG.SEQUENCE, 'PFX'));
  if (int(pfx[0], 'PFX version') !== 3) throw new KeyStoreError('format', 'not a PKCS#12 version 3 file');
  const authInfo = children(expect(pfx[1], TAG.SEQUENCE, 'authSafe'));
  if (oid(authInfo[0], 'authSafe') !== OID.data) throw new KeyStoreError('format', 'public-key integrity mode is not supported (password MAC only)');
  const authSafe = dataContent(authInfo, 'authSafe');
  if (pfx[2] !== undefined) verifyMac(expect(pfx[2], TAG.SEQUENCE, 'MAC'), authSafe, storePassword);
  const entries: StoreEntries = { keys: [], certificates: [] };
  for (const info of children(expect(parseDer(authSafe), TAG.SEQUENCE, 'AuthenticatedSafe'))) {
    const parts = children(expect(info, TAG.SEQUENCE, 'ContentInfo'));
    const type = oid(parts[0], 'ContentInfo');
    let safe: Buffer;
    if (type === OID.data) safe = dataContent(parts, 'SafeContents');
    else if (type === OID.encryptedData) {
      const [, encrypted] = children(expect(children(expect(parts[1], TAG.CONTEXT_0, 'EncryptedData'))[0], TAG.SEQUENCE, 'EncryptedData'));
      const [, alg, content] = children(expect(encrypted, TAG.SEQUENCE, 'EncryptedContentInfo'));
      const octets = content?.tag === TAG.CONTEXT_0 ? Buffer.concat(children(content).map((d) => d.contents)) : expect(content, TAG.CONTEXT_0_PRIMITIVE, 'encrypted content').contents;
      safe = decrypt(expect(alg, TAG.SEQUENCE, 'EncryptedContentInfo'), octets, storePassword, 'encrypted contents', 'store-password');
    } else continue;
    for (const bag of children(expect(parseDer(safe), TAG.SEQUENCE, 'SafeContents'))) {
      const [bagOid, value] = children(expect(bag, TAG.SEQUENCE, 'SafeBag'));
      const bagType = oid(bagOid, 'SafeBag');
      const inner = children(expect(value, TAG.CONTEXT_0, 'SafeBag value'))[0];
      if (bagType === OID.keyBag || bagType === OID.shroudedKeyBag) {
        if (keyPassword === null) continue;
        if (bagType === OID.keyBag) entries.keys.push(expect(inner, TAG.SEQUENCE, 'key bag').encoded);
        else {
          const [alg, data] = children(expect(inner, TAG.SEQUENCE, 'shrouded key bag'));
          entries.keys.push(decrypt(expect(alg, TAG.SEQUENCE, 'key'), expect(data, TAG.OCTET_STRING, 'key').contents, keyPassword, 'private key', 'key-password'));
        }
      } else if (bagType === OID.certBag) {
        const [certType, certValue] = children(expect(inner, TAG.SEQUENCE, 'certificate bag'));
        if (oid(certType, 'certificate bag') !== OID.x509Certificate) continue;
        entries.certificates.push(expect(children(expect(certValue, TAG.CONTEXT_0, 'certificate'))[0], TAG.OCTET_STRING, 'certificate').contents);
      }
    }
  }
  return entries;
}

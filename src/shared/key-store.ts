/**
 * Kafka's binary key and trust stores (ssl.keystore.type / ssl.truststore.type PKCS12 and JKS)
 * turned into the PEM text Node's tls takes: the private key with the chain of its
 * certificate, or the trusted certificates.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readJks } from './jks.js';
import { KeyStoreError, type StoreEntries } from './key-store-types.js';
import { readPkcs12 } from './pkcs12.js';

export type StoreType = 'PEM' | 'PKCS12' | 'JKS';
export const STORE_TYPES: readonly StoreType[] = ['PEM', 'PKCS12', 'JKS'];
export { KeyStoreError };

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

function read(type: 'PKCS12' | 'JKS', file: Buffer, storePassword: string | null, keyPassword: string | null): StoreEntries {
  try {
    return type === 'PKCS12' ? readPkcs12(file, storePassword ?? '', keyPassword) : readJks(file, storePassword, keyPassword);
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw new KeyStoreError('format', (e as Error).message);
  }
}

/** The leaf certificate of `key` first, then each issuer found among `all` in turn. */
function chainOf(key: ReturnType<typeof createPrivateKey>, all: X509Certificate[]): X509Certificate[] {
  const leaf = all.find((c) => c.checkPrivateKey(key));
  if (leaf === undefined) throw new KeyStoreError('format', 'no certificate for the private key');
  const chain = [leaf];
  for (let cur = leaf; ;) {
    const issuer = all.find((c) => !chain.includes(c) && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (issuer === undefined) return chain;
    chain.push(issuer);
    cur = issuer;
  }
}

/** The first private key of a PKCS12 or JKS key store, with its certificate chain, in PEM. */
export function keyStorePem(type: 'PKCS12' | 'JKS', file: Buffer, storePassword: string, keyPassword: string): { key: string; cert: string } {
  const entries = read(type, file, storePassword, keyPassword);
  const der = entries.keys[0];
  if (der === undefined) throw new KeyStoreError('format', 'holds no private key');
  let key;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new KeyStoreError('format', `private key does not decode: ${(e as Error).message}`);
  }
  const chain = entries.chains?.[0]?.map((c) => new X509Certificate(c)) ?? chainOf(key, entries.certificates.map((c) => new X509Certificate(c)));
  if (chain.length === 0) throw new KeyStoreError('format', 'the private key has no certificate');
  return { key: key.export({ format: 'pem', type: 'pkcs8' }) as string, cert: chain.map((c) => pem(c.raw)).join('') };
}

/** The trusted certificates of a PKCS12 or JKS trust store, in PEM. */
export function trustStorePem(type: 'PKCS12' | 'JKS', file: Buffer, password: string | null): string {
  const entries = read(type, file, password, null);
  if (entries.certificates.length === 0) throw new KeyStoreError('format', 'holds no trusted certificate');
  return entries.certificates.map(pem).join('');
}

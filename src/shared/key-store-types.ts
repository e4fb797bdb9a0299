/** What a binary key store (PKCS#12, JKS) holds once opened, and why opening one failed. */

export interface StoreEntries {
  /** Private keys, PKCS#8 DER, decrypted. */
  keys: Buffer[];
  /** X.509 certificates, DER: every certificate of a PKCS#12 file; a JKS file's trusted ones. */
  certificates: Buffer[];
  /** A JKS file's private-key entries carry their own chains, leaf first. */
  chains?: Buffer[][];
}

export class KeyStoreError extends Error {
  constructor(readonly reason: 'store-password' | 'key-password' | 'format', message: string) {
    super(message);
  }
}

import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync } from 'node:crypto';

/** What a sealed value looks like in a table row: base64 of iv ‖ ciphertext ‖ tag. */
export interface SealedValue {
  sealed: string;
}

/**
 * node-discover's `key` encrypted every datagram. On the table the same promise holds: channel
 * payloads and advertisements are sealed with AES-256-GCM under a key derived from `key` by scrypt
 * (the legacy `key` is a passphrase, so a slow derivation resists offline guessing by a reader of the
 * table), and channel names are replaced by an HMAC. A reader without the key learns sizes and timing.
 */
export class Sealer {
  readonly #encryptionKey: Buffer;
  readonly #nameKey: Buffer;

  /** `context` (the cluster name) binds every sealed value to its cluster: rows cannot be replayed elsewhere. */
  constructor(
    passphrase: string,
    readonly context: string,
  ) {
    // One derivation per instance (~50 ms): scrypt's defaults (N = 2^14, r = 8) are OWASP's floor.
    const derived = scryptSync(passphrase, `gossipless/node-discover/v1/${context}`, 64);
    this.#encryptionKey = derived.subarray(0, 32);
    this.#nameKey = derived.subarray(32);
  }

  /** Encrypts `value` (as JSON); `purpose` is authenticated, so an advert cannot pass as a message. */
  seal(value: unknown, purpose: string): SealedValue {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, iv);
    cipher.setAAD(Buffer.from(`${this.context}/${purpose}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return { sealed: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64') };
  }

  /** Decrypts a sealed value; undefined when it was not sealed with this key and purpose (or was altered). */
  open(value: unknown, purpose: string): unknown {
    const text = (value as Partial<SealedValue> | null | undefined)?.sealed;
    if (typeof text !== 'string') return undefined;
    const raw = Buffer.from(text, 'base64');
    if (raw.length < 12 + 16) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${this.context}/${purpose}`));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const body = decipher.update(raw.subarray(12, raw.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([body, decipher.final()]);
    } catch {
      // With the tag set and the lengths checked above, final() throws only when authentication
      // fails (Node gives that error no code): a row sealed with another key, or altered.
      return undefined;
    }
    return JSON.parse(plain.toString('utf8')) as unknown;
  }

  /** A stable name for a channel that does not reveal it. */
  channelName(channel: string): string {
    return createHmac('sha256', this.#nameKey).update(channel).digest('hex').slice(0, 40);
  }
}
